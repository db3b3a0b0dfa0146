// museforge studio, compose page: pick, record or upload a melody; compose, enhance or extend it (or the last result);
// see, hear, change, regenerate, download.
import { api, showError, showHealth } from "./api.js";
import { $, el } from "./common.js";
import { drawPianoRoll } from "./draw.js";
import { arrangement, fillKeys, loadInstruments } from "./arrange.js";
import { playRoll, previewing, stopPreview } from "./player.js";
import { initRecorder } from "./recorder.js";
import { initKeyboard } from "./keyboard.js";
import { initJam, leaveJam } from "./jam.js";
import { closeEditor, editing, initEditor, openEditor } from "./melody_editor.js";
import { addResult, clearResults, current, describe, initResult, redrawResult, syncRegenerate } from "./result.js";

// Each tab keeps its own melody: switching tabs brings it back, and the active tab's is what Generate uses.
const state = {
  tab: "sample",
  // {key, source: {melody | melody_id, melody_track}, title, name (the original title), meter, roll, keyName}
  melodies: { sample: null, record: null, upload: null, jam: null },
  samples: [],
};
const EMPTY = {
  record: "Record a melody on the keyboard below; it stays here when you switch tabs.",
  upload: "Upload a MIDI file; it stays here when you switch tabs.",
  jam: "Jam with the band above; a saved jam's melody shows here, its whole piece below.",
};

// ------------------------------------------------------------------------------------------------ tabs
for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tabs button")) other.classList.toggle("active", other === button);
    for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.dataset.panel !== button.dataset.tab;
    state.tab = button.dataset.tab;
    $("#keys-box").hidden = !["record", "jam"].includes(state.tab); // the keyboards play in these two
    if (state.tab !== "jam") leaveJam();
    showMelody();
  });
}

function activeMelody() {
  return state.melodies[state.tab];
}

/** Show the active tab's melody (or what to do to get one); a different melody than before clears the result. */
function showMelody() {
  stopPreview();
  const melody = activeMelody();
  const card = $("#melody-card");
  const before = card.dataset.melodyKey || "";
  card.dataset.melodyKey = melody ? melody.key : "";
  if (editing() && (melody ? melody.key : "") !== before) closeEditor(); // another melody: leave the edit unsaved
  card.dataset.tab = state.tab;
  $("#melody-title").textContent = melody ? melody.title : EMPTY[state.tab] || "Choose a melody";
  $("#melody-roll-box").hidden = state.tab === "jam" && !melody; // the jam draws its own roll until it is saved
  drawPianoRoll($("#melody-roll"), melody ? melody.roll : null);
  $("#play-melody").disabled = !melody || editing();
  $("#edit-melody").disabled = !melody;
  $("#upload-tracks").hidden = !(state.tab === "upload" && melody && melody.tracks && melody.tracks.length > 1);
  fillKeys(melody && melody.keyName);
  if ((melody ? melody.key : "") !== before) {
    $("#source-melody").checked = true; // a newly chosen melody is what the next technique works on
    clearResults();
  }
  showError($("#melody-error"), null);
}

function setMelody(tab, melody) {
  state.melodies[tab] = melody;
  if (tab === state.tab) showMelody();
}

async function loadSamples() {
  state.samples = await api("/api/melodies");
  const select = $("#sample-select");
  select.replaceChildren(
    ...state.samples.map((s) => el("option", { value: s.name, text: `${s.title} (${s.bars} bars, ${s.time_signature.join("/")})` })),
  );
  select.addEventListener("change", () => chooseSample(select.value));
  if (state.samples.length) await chooseSample(state.samples[0].name);
}

async function chooseSample(name) {
  if (!name) return;
  try {
    const sample = await api(`/api/melodies/${encodeURIComponent(name)}`);
    $("#sample-about").textContent = `${sample.composer}. ${sample.about}`;
    setMelody("sample", {
      key: `sample:${sample.name}`,
      source: { melody: sample.name },
      title: `Melody: ${sample.title} · ${sample.tempo} bpm · ${sample.key}`,
      name: sample.title,
      meter: sample.time_signature,
      roll: sample.roll,
      keyName: sample.key,
    });
  } catch (error) {
    showError($("#melody-error"), error);
  }
}

function userMelody(melody) {
  // a recording's name is "Recorded melody", an edited melody's "Edited · <original title>"
  const what = melody.kind === "recorded" ? melody.name || "Recorded melody" : `Uploaded: ${melody.name}`;
  const meter = melody.time_signature ? ` · ${melody.time_signature.join("/")}` : "";
  const key = melody.key ? ` · ${melody.key}` : "";
  return {
    key: `user:${melody.id}`,
    source: { melody_id: melody.id },
    title: `${what} · ${melody.bars} bars${meter} · ${melody.tempo} bpm${key} · ${melody.notes} notes`,
    name: melody.name,
    meter: melody.time_signature,
    keyName: melody.key,
    roll: melody.roll,
    fullRoll: melody.roll,
    tracks: melody.track_list || [],
  };
}

// ------------------------------------------------------------------------------------------------ uploads
/** Show the uploaded file's tracks; picking one makes it the melody (the roll shows that track alone). */
function showUploadTracks(melody) {
  const body = $("#upload-track-table tbody");
  body.replaceChildren(...melody.tracks.map((t) => el("tr", { "data-index": t.index, class: t.melody ? "selected" : "" },
    el("td", {}, el("input", { type: "radio", name: "melody-track", value: t.index, checked: t.melody, disabled: t.is_drum || !t.notes,
      "aria-label": `track ${t.index} is the melody`, onchange: () => pickTrack(melody, t.index) })),
    el("td", { text: t.index }),
    el("td", { text: t.name }),
    el("td", { text: t.instrument }),
    el("td", { text: t.notes }))));
  const picked = melody.tracks.find((t) => t.melody);
  if (picked) pickTrack(melody, picked.index, true);
}

function pickTrack(melody, index, first = false) {
  const chosen = { ...melody, source: { ...melody.source, melody_track: index }, key: `${melody.key.split("#")[0]}#${index}` };
  chosen.roll = { ...melody.fullRoll, tracks: melody.fullRoll.tracks.filter((_, i) => i === index).map((t) => ({ ...t, role: "melody" })) };
  chosen.title = `${melody.title.split(" · track")[0]} · track ${index}: ${melody.tracks[index].name}`;
  for (const row of document.querySelectorAll("#upload-track-table tbody tr")) row.classList.toggle("selected", Number(row.dataset.index) === index);
  if (first) chosen.key = melody.key; // the file's own guess: the same melody as just uploaded
  setMelody("upload", chosen);
}

// choosing the file uploads it: one step, as the tab's name says
$("#upload-file").addEventListener("change", async () => {
  const file = $("#upload-file").files[0];
  if (!file) return;
  showError($("#melody-error"), null);
  $("#upload-status").textContent = `uploading ${file.name}…`;
  const form = new FormData();
  form.append("file", file);
  try {
    const melody = userMelody(await api("/api/melodies/upload", { method: "POST", body: form }));
    setMelody("upload", melody);
    if (melody.tracks.length > 1) showUploadTracks(melody);
    $("#upload-status").textContent = "";
  } catch (error) {
    $("#upload-status").textContent = "";
    showError($("#melody-error"), error);
  }
});

// ------------------------------------------------------------------------------------------------ hear the melody
$("#play-melody").addEventListener("click", () => {
  const melody = activeMelody();
  if (previewing()) {
    stopPreview();
    return;
  }
  if (!melody) return;
  $("#play-melody").textContent = "■ Stop";
  $("#melody-card").dataset.playing = "1";
  playRoll(melody.roll, $("#melody-roll"), $("#melody-playhead"), () => {
    $("#play-melody").textContent = "▶ Hear the melody";
    $("#melody-card").dataset.playing = "";
  });
});

// ------------------------------------------------------------------------------------------------ edit the melody
// The editor saves a new melody (a recording named "Edited · <original title>"): it becomes this tab's melody.
$("#edit-melody").addEventListener("click", () => {
  const melody = activeMelody();
  if (editing()) {
    closeEditor();
    return;
  }
  if (!melody) return;
  stopPreview();
  $("#edit-melody").setAttribute("aria-pressed", "true");
  $("#play-melody").disabled = true;
  openEditor(melody, (saved) => setMelody(state.tab, userMelody(saved)));
});

function editorClosed() {
  const melody = activeMelody();
  $("#edit-melody").setAttribute("aria-pressed", "false");
  $("#play-melody").disabled = !melody;
  drawPianoRoll($("#melody-roll"), melody ? melody.roll : null); // drawn at its size again, now that it shows
}

// ------------------------------------------------------------------------------------------------ techniques
// Compose, Enhance and Extend all take the input chosen in step 2 (the melody of step 1, or the result shown in
// step 3) and give a stored composition, shown in step 3; the next one can then start from it.
const ACTIONS = {
  compose: { button: "#generate", endpoint: "/api/compositions", working: "composing…" },
  enhance: { button: "#enhance", endpoint: "/api/enhancements", working: "enhancing…" },
  extend: { button: "#extend", endpoint: "/api/extensions", working: "extending…" },
};

let working = false;

function modelOption(c) {
  if (c.kind === "pretrained") {
    const meters = c.meters && c.meters.length ? `; ${c.meters.join(", ")}` : "";
    return el("option", { value: c.name, text: `${c.name} (pretrained ${c.architecture || ""}${meters})` });
  }
  return el("option", { value: c.name, text: `${c.name} (${c.genre || c.architecture}, ${c.epochs_done ?? "?"} epochs)` });
}

function fillModels(select, models, preferred, button, shippedLabel = "Shipped models") {
  const pretrained = models.filter((c) => c.kind === "pretrained");
  const mine = models.filter((c) => c.kind !== "pretrained");
  const group = (label, items) => el("optgroup", { label }, ...items.map(modelOption));
  select.replaceChildren(
    ...[pretrained.length ? group(shippedLabel, pretrained) : null, mine.length ? group("Your models", mine) : null].filter(Boolean),
  );
  if (!models.length) select.append(el("option", { value: "", text: "no models available" }));
  button.dataset.noModel = models.length ? "" : "1";
  syncButton(button);
  if (preferred && models.some((c) => c.name === preferred)) select.value = preferred;
}

async function loadComposers() {
  const select = $("#model-select");
  try {
    const composers = await api("/api/composers");
    const wanted = new URLSearchParams(location.search).get("model");
    fillModels(select, composers, wanted, $("#generate"), "Genre models");
  } catch (error) {
    showError($("#generate-error"), error);
  }
}

/** Set each control's limits and default from the API, and fill the Enhance and Extend model lists. */
async function loadTechniques() {
  try {
    const techniques = await api("/api/techniques");
    const byName = Object.fromEntries(techniques.map((t) => [t.name, t]));
    const wanted = new URLSearchParams(location.search);
    for (const name of ["enhance", "extend"]) {
      const technique = byName[name];
      if (!technique) continue;
      fillModels($(`#${name}-model`), technique.models, wanted.get(`${name}_model`) || technique.default_model, $(ACTIONS[name].button));
      for (const [field, spec] of Object.entries(technique.fields || {})) {
        const control = CONTROLS[name].find((c) => c.field === field);
        if (!control) continue;
        const input = $(control.input);
        const scale = control.scale || 1;
        input.min = spec.exclusive_min ? String(spec.min * scale + 0.01) : String(spec.min * scale);
        input.max = String(spec.max * scale);
        input.value = String(Number((spec.default * scale).toPrecision(6)));
        const hint = $(`${control.input}-hint`);
        if (hint) {
          const range = spec.exclusive_min ? `above ${spec.min * scale}, at most ${spec.max * scale}` : `${spec.min * scale}–${spec.max * scale}`;
          hint.textContent = `${control.hint ? `${control.hint}, ` : ""}${range}`;
        }
      }
    }
  } catch (error) {
    showError($("#generate-error"), error);
  } finally {
    $("#model-card").dataset.techniques = "loaded";
  }
}

// Each control: the request field, the input, the label shown in messages, and the percent scale if any.
const CONTROLS = {
  compose: [{ field: "seed", input: "#seed", label: "Seed", optional: true, integer: true }],
  enhance: [
    { field: "iterations", input: "#enhance-iterations", label: "Iterations", integer: true },
    { field: "max_add", input: "#enhance-add", label: "Max notes to add (%)", scale: 100, hint: "of the input's notes" },
    { field: "max_remove", input: "#enhance-remove", label: "Max notes to remove (%)", scale: 100, hint: "of the input's notes" },
    { field: "temperature", input: "#enhance-temperature", label: "Temperature", hint: "creative risk" },
    { field: "seed", input: "#enhance-seed", label: "Seed", optional: true, integer: true },
  ],
  extend: [
    { field: "bars", input: "#extend-bars", label: "Bars to add", integer: true },
    { field: "temperature", input: "#extend-temperature", label: "Temperature", hint: "creative risk" },
    { field: "top_k", input: "#extend-top-k", label: "Top-k", integer: true, hint: "0: no limit" },
    { field: "seed", input: "#extend-seed", label: "Seed", optional: true, integer: true },
  ],
};

/** The request fields of a technique's controls; throws an Error naming the first invalid one. */
function readControls(name) {
  const body = {};
  for (const control of CONTROLS[name]) {
    const input = $(control.input);
    const text = input.value.trim();
    if (text === "" && control.optional) continue;
    const value = Number(text);
    const low = input.min === "" ? -Infinity : Number(input.min);
    const high = input.max === "" ? Infinity : Number(input.max);
    if (text === "" || !Number.isFinite(value) || value < low || value > high || (control.integer && !Number.isInteger(value))) {
      const range = Number.isFinite(high) ? ` from ${input.min} to ${input.max}` : input.min !== "" ? ` of at least ${input.min}` : "";
      throw new Error(`${control.label} must be a ${control.integer ? "whole number" : "number"}${range}`);
    }
    body[control.field] = control.scale ? value / control.scale : value;
  }
  return body;
}

function source() {
  if ($("#source-result").checked && current()) return { composition_id: current().id };
  const melody = activeMelody();
  return melody ? { ...melody.source } : null;
}

/** A technique's button is enabled when nothing runs, it has a model, and that model's tracks are loaded. */
function syncButton(button) {
  button.disabled = working || button.dataset.noModel === "1" || button.dataset.loading === "1";
}

/** A new Compose model: Generate waits until its tracks and instruments are in (the old ones are not its own). */
async function chooseComposer() {
  const button = $("#generate");
  const model = $("#model-select").value;
  button.dataset.loading = "1";
  syncButton(button);
  await loadInstruments(model);
  if ($("#model-select").value !== model) return; // another model was chosen meanwhile: its load decides
  button.dataset.loading = "";
  syncButton(button);
}

let elapsedTimer = null;
const WORKING = { regenerate: "regenerating…", instrument: "changing the instrument…" };

/** Mark the page busy with technique `name` (null: idle): buttons and input choice disabled, a spinner, the time. */
function setWorking(name) {
  working = Boolean(name);
  clearInterval(elapsedTimer);
  $("#model-card").dataset.working = name || "";
  for (const [key, action] of Object.entries(ACTIONS)) {
    syncButton($(action.button));
    $(action.button).classList.toggle("busy", key === name);
  }
  for (const radio of document.querySelectorAll('input[name="source"]')) radio.disabled = working || (radio.value === "result" && !current());
  syncRegenerate();
  if (!name) {
    $("#generate-status").textContent = "";
    return;
  }
  const elapsed = el("span", { class: "elapsed" });
  const doing = ACTIONS[name] ? ACTIONS[name].working : WORKING[name];
  $("#generate-status").replaceChildren(el("span", { class: "spinner" }), ` ${doing}`, elapsed);
  const started = performance.now();
  elapsedTimer = setInterval(() => {
    elapsed.textContent = ` ${Math.round((performance.now() - started) / 1000)} s`;
  }, 1000);
}

async function run(name) {
  if (working) return;
  showError($("#generate-error"), null);
  const input = source();
  if (!input) {
    showError($("#generate-error"), new Error("choose a melody first"));
    return;
  }
  let body;
  try {
    body = { ...input, ...readControls(name) };
    if (name === "compose") {
      Object.assign(body, arrangement($("#model-select").value));
      const tracksShown = state.tab === "upload" && !$("#upload-tracks").hidden;
      if (body.melody_id && tracksShown && $("#keep-tracks").checked) body.keep_tracks = true; // an upload's other tracks
    } else delete body.melody_track; // Enhance and Extend take the file's own melody
    if (name === "enhance" && $("#enhance-parallels").value) body.parallels = $("#enhance-parallels").value;
  } catch (error) {
    showError($("#generate-error"), error);
    return;
  }
  body.model = $(name === "compose" ? "#model-select" : `#${name}-model`).value;
  if (!body.model) {
    showError($("#generate-error"), new Error(`no ${name} model is available`));
    return;
  }
  setWorking(name);
  try {
    const result = await api(ACTIONS[name].endpoint, { method: "POST", json: body });
    setWorking(null);
    showResult(result);
  } catch (error) {
    setWorking(null);
    showError($("#generate-error"), error);
  }
}

for (const name of Object.keys(ACTIONS)) $(ACTIONS[name].button).addEventListener("click", () => run(name));

function showResult(composition) {
  addResult(composition);
}

/** The result card tells the input choice what it shows (null: nothing). */
function resultShown(composition) {
  $("#source-result-name").textContent = composition ? describe(composition) : "(none yet)";
  $("#source-result").disabled = !composition || working;
  if (composition) $("#source-result").checked = true;
  else $("#source-melody").checked = true;
  if (composition) $("#result-card").scrollIntoView({ behavior: "smooth", block: "start" });
}

window.addEventListener("resize", () => {
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(() => {
    const melody = activeMelody();
    drawPianoRoll($("#melody-roll"), melody ? melody.roll : null);
    redrawResult();
  }, 200);
});
let redrawTimer = null;

/** A saved jam as the jam tab's melody: its melody track, and the composition as the input of what comes next. */
function jamMelody(composition) {
  const s = composition.summary || {};
  const name = composition.melody.replace(/^jammed:/, "");
  return {
    key: `jam:${composition.id}`,
    source: { composition_id: composition.id },
    title: `Jammed: ${name} · ${s.bars} bars · ${s.meter} · ${Math.round(s.tempo)} bpm with ${composition.model}`,
    name,
    meter: String(s.meter || "4/4").split("/").map(Number),
    roll: { ...composition.roll, tracks: composition.roll.tracks.filter((t) => t.role === "melody") },
    keyName: null,
  };
}

initResult(resultShown, () => working, (name) => setWorking(name));
initKeyboard();
initRecorder((melody) => setMelody("record", userMelody(melody)));
initJam((composition) => {
  setMelody("jam", jamMelody(composition));
  showResult(composition);
});
initEditor(editorClosed);
$("#model-select").addEventListener("change", chooseComposer);
showHealth();
loadSamples().catch((error) => showError($("#melody-error"), error));
loadComposers().then(chooseComposer);
loadTechniques();
