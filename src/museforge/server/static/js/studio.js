// museforge studio, compose page: pick, record or upload a melody; compose, enhance or extend it (or the last result);
// see, hear, download.
import { $, api, drawPianoRoll, el, noteName, rollLegend, showError, showHealth } from "./common.js";

const state = {
  melody: null, // {kind: "sample", name} or {kind: "user", id}
  samples: [],
  result: null, // the composition shown in step 3 (any technique's), the other choice of input
};

// ------------------------------------------------------------------------------------------------ tabs
for (const button of document.querySelectorAll(".tabs button")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".tabs button")) other.classList.toggle("active", other === button);
    for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.dataset.panel !== button.dataset.tab;
    if (button.dataset.tab === "sample") chooseSample($("#sample-select").value);
  });
}

// ------------------------------------------------------------------------------------------------ melody
function setMelody(melody, title, roll) {
  state.melody = melody;
  $("#source-melody").checked = true; // a newly chosen melody is what the next technique works on
  $("#melody-title").textContent = title;
  drawPianoRoll($("#melody-roll"), roll);
  showError($("#melody-error"), null);
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
    setMelody({ kind: "sample", name: sample.name }, `Melody: ${sample.title} · ${sample.tempo} bpm · ${sample.key}`, sample.roll);
  } catch (error) {
    showError($("#melody-error"), error);
  }
}

function useUserMelody(melody) {
  const what = melody.kind === "recorded" ? "Recorded melody" : `Uploaded: ${melody.name}`;
  setMelody({ kind: "user", id: melody.id }, `${what} · ${melody.bars} bars · ${melody.tempo} bpm · ${melody.notes} notes`, melody.roll);
}

$("#upload-button").addEventListener("click", async () => {
  const file = $("#upload-file").files[0];
  if (!file) {
    showError($("#melody-error"), new Error("choose a MIDI file first"));
    return;
  }
  const form = new FormData();
  form.append("file", file);
  try {
    useUserMelody(await api("/api/melodies/upload", { method: "POST", body: form }));
  } catch (error) {
    showError($("#melody-error"), error);
  }
});

// ------------------------------------------------------------------------------------------------ keyboard
const KEY_MAP = ["a", "w", "s", "e", "d", "f", "t", "g", "y", "h", "u", "j", "k", "o", "l", "p", ";", "'"];
const LOWEST = 60; // C4
const HIGHEST = 84; // C6
let octaveShift = 0;
let audio = null;
const sounding = new Map(); // pitch -> {osc, gain}
const held = new Map(); // pitch -> start time (ms)

function audioContext() {
  if (!audio) {
    try {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    } catch (_) {
      audio = null;
    }
  }
  if (audio && audio.state === "suspended") audio.resume();
  return audio;
}

function soundOn(pitch) {
  const ctx = audioContext();
  if (!ctx || sounding.has(pitch)) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "triangle";
  osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
  gain.gain.setValueAtTime(0, ctx.currentTime);
  gain.gain.linearRampToValueAtTime(0.25, ctx.currentTime + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.12, ctx.currentTime + 0.4);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  sounding.set(pitch, { osc, gain });
}

function soundOff(pitch) {
  const voice = sounding.get(pitch);
  if (!voice || !audio) return;
  sounding.delete(pitch);
  voice.gain.gain.cancelScheduledValues(audio.currentTime);
  voice.gain.gain.setTargetAtTime(0, audio.currentTime, 0.05);
  voice.osc.stop(audio.currentTime + 0.3);
}

function click(accent) {
  const ctx = audioContext();
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = accent ? 1500 : 1000;
  gain.gain.setValueAtTime(0.3, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.06);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.07);
}

function buildKeyboard() {
  const board = $("#keyboard");
  board.replaceChildren();
  const whites = [];
  for (let p = LOWEST; p <= HIGHEST; p++) if (![1, 3, 6, 8, 10].includes(p % 12)) whites.push(p);
  const whiteWidth = 100 / whites.length;
  for (let p = LOWEST; p <= HIGHEST; p++) {
    const black = [1, 3, 6, 8, 10].includes(p % 12);
    const index = whites.filter((w) => w < p).length;
    const key = el("div", {
      class: `key ${black ? "black" : "white"}`,
      "data-pitch": p,
      title: noteName(p),
      style: black
        ? `left:calc(${index * whiteWidth}% - ${whiteWidth * 0.3}%);width:${whiteWidth * 0.6}%`
        : `left:${index * whiteWidth}%;width:${whiteWidth}%`,
    });
    const shortcut = KEY_MAP[p - LOWEST];
    key.append(el("span", { class: "shortcut", text: shortcut ? shortcut.toUpperCase() : "" }));
    key.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      key.setPointerCapture(event.pointerId);
      press(p);
    });
    key.addEventListener("pointerup", () => release(p));
    key.addEventListener("pointercancel", () => release(p));
    board.append(key);
  }
}

function keyElement(pitch) {
  return document.querySelector(`.key[data-pitch="${pitch}"]`);
}

function press(pitch) {
  if (held.has(pitch)) return;
  held.set(pitch, performance.now());
  soundOn(pitch);
  const key = keyElement(pitch);
  if (key) key.classList.add("down");
}

function release(pitch) {
  const start = held.get(pitch);
  if (start === undefined) return;
  held.delete(pitch);
  soundOff(pitch);
  const key = keyElement(pitch);
  if (key) key.classList.remove("down");
  recorder.addNote(pitch, start, performance.now());
}

function pitchForKey(key) {
  const index = KEY_MAP.indexOf(key.toLowerCase());
  return index < 0 ? null : LOWEST + index + octaveShift;
}

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($('[data-panel="record"]').hidden) return;
  const lower = event.key.toLowerCase();
  if (lower === "z" || lower === "x") {
    octaveShift = Math.max(-24, Math.min(24, octaveShift + (lower === "x" ? 12 : -12)));
    $("#record-status").textContent = `Octave shift: ${octaveShift / 12 >= 0 ? "+" : ""}${octaveShift / 12}`;
    return;
  }
  const pitch = pitchForKey(event.key);
  if (pitch === null || event.repeat) return;
  event.preventDefault();
  press(pitch);
});

document.addEventListener("keyup", (event) => {
  const pitch = pitchForKey(event.key);
  if (pitch !== null) release(pitch);
});

// ------------------------------------------------------------------------------------------------ recorder
const recorder = {
  active: false,
  start: 0, // ms of the first recorded downbeat (after the count-in)
  beatMs: 600,
  beats: 16,
  beatsPerBar: 4,
  notes: [],
  timer: null,

  begin() {
    const tempo = Number($("#record-tempo").value);
    if (!(tempo >= 40 && tempo <= 240)) {
      showError($("#melody-error"), new Error("the tempo must be between 40 and 240 bpm"));
      return;
    }
    audioContext();
    this.beatMs = 60000 / tempo;
    this.bars = Number($("#record-bars").value);
    this.beats = this.bars * this.beatsPerBar;
    this.notes = [];
    this.active = true;
    this.start = performance.now() + this.beatsPerBar * this.beatMs; // one bar of count-in
    $("#record-start").disabled = true;
    $("#record-stop").disabled = false;
    showError($("#melody-error"), null);
    const lights = $("#beat-lights");
    lights.replaceChildren(...Array.from({ length: this.beatsPerBar }, () => el("span")));
    let beat = -this.beatsPerBar;
    const tick = () => {
      if (!this.active) return;
      if (beat >= this.beats) {
        this.finish();
        return;
      }
      const inBar = ((beat % this.beatsPerBar) + this.beatsPerBar) % this.beatsPerBar;
      if (beat < 0 || $("#record-metronome").checked) click(inBar === 0);
      [...lights.children].forEach((light, i) => {
        light.className = i === inBar ? (i === 0 ? "on first" : "on") : "";
      });
      $("#record-status").textContent =
        beat < 0
          ? `Count-in: ${-beat}…`
          : `Recording bar ${Math.floor(beat / this.beatsPerBar) + 1} of ${this.bars}, beat ${inBar + 1}`;
      beat += 1;
      const next = this.start + beat * this.beatMs;
      this.timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  },

  addNote(pitch, startMs, endMs) {
    if (!this.active) return;
    const startBeat = (startMs - this.start) / this.beatMs;
    const endBeat = (endMs - this.start) / this.beatMs;
    if (endBeat <= 0 || startBeat >= this.beats) return;
    const begin = Math.max(0, startBeat);
    this.notes.push({ pitch, start_beat: begin, duration_beats: Math.max(0.05, Math.min(endBeat, this.beats) - begin) });
  },

  async finish() {
    if (!this.active) return;
    const now = performance.now();
    for (const [pitch, start] of [...held.entries()]) {
      this.addNote(pitch, start, now);
      held.set(pitch, now);
    }
    this.active = false;
    clearTimeout(this.timer);
    $("#record-start").disabled = false;
    $("#record-stop").disabled = true;
    for (const light of $("#beat-lights").children) light.className = "";
    if (!this.notes.length) {
      $("#record-status").textContent = "Nothing was recorded.";
      showError($("#melody-error"), new Error("no notes were played while recording"));
      return;
    }
    $("#record-status").textContent = `Recorded ${this.notes.length} notes; saving…`;
    try {
      const melody = await api("/api/melodies/record", {
        method: "POST",
        json: { tempo: 60000 / this.beatMs, bars: this.bars, beats_per_bar: this.beatsPerBar, notes: this.notes },
      });
      $("#record-status").textContent = `Recorded ${this.notes.length} notes (snapped to sixteenths).`;
      useUserMelody(melody);
    } catch (error) {
      showError($("#melody-error"), error);
    }
  },
};

$("#record-start").addEventListener("click", () => recorder.begin());
$("#record-stop").addEventListener("click", () => recorder.finish());

// ------------------------------------------------------------------------------------------------ techniques
// Compose, Enhance and Extend all take the input chosen in step 2 (the melody of step 1, or the result shown in
// step 3) and give a stored composition, shown in step 3; the next one can then start from it.
const ACTIONS = {
  compose: { button: "#generate", endpoint: "/api/compositions", working: "composing…" },
  enhance: { button: "#enhance", endpoint: "/api/enhancements", working: "enhancing…" },
  extend: { button: "#extend", endpoint: "/api/extensions", working: "extending…" },
};
const TITLES = { compose: "Your composition", enhance: "Enhanced", extend: "Extended melody" };
const NEXT = {
  compose: "Enhance it to rewrite its accompaniment, or Extend its melody; the result below is now the input.",
  enhance: "Enhance again for another take, or Extend its melody; the result below is now the input.",
  extend: "Generate or Enhance now to accompany the longer melody; the result below is now the input.",
};
let working = false;

function modelOption(c) {
  if (c.kind === "pretrained") return el("option", { value: c.name, text: `${c.name} (pretrained ${c.architecture || ""})` });
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
  button.disabled = working || !models.length;
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
  if ($("#source-result").checked && state.result) return { composition_id: state.result.id };
  if (!state.melody) return null;
  return state.melody.kind === "sample" ? { melody: state.melody.name } : { melody_id: state.melody.id };
}

let elapsedTimer = null;

/** Mark the page busy with technique `name` (null: idle): buttons and input choice disabled, a spinner, the time. */
function setWorking(name) {
  working = Boolean(name);
  clearInterval(elapsedTimer);
  $("#model-card").dataset.working = name || "";
  for (const [key, action] of Object.entries(ACTIONS)) {
    const button = $(action.button);
    button.disabled = working || button.dataset.noModel === "1";
    button.classList.toggle("busy", key === name);
  }
  for (const radio of document.querySelectorAll('input[name="source"]')) radio.disabled = working || (radio.value === "result" && !state.result);
  if (!name) {
    $("#generate-status").textContent = "";
    return;
  }
  const elapsed = el("span", { class: "elapsed" });
  $("#generate-status").replaceChildren(el("span", { class: "spinner" }), ` ${ACTIONS[name].working}`, elapsed);
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

const MADE = { compose: "composed", enhance: "enhanced", extend: "extended" };

/** A short line naming a result: how it was made, from what, how long. */
function describe(composition) {
  const s = composition.summary || {};
  const bars = s.bars ? `, ${s.bars} bars` : "";
  return `(${MADE[composition.technique] || "made"} ${composition.melody}${bars})`;
}

function showResult(composition) {
  const card = $("#result-card");
  const technique = composition.technique || "compose";
  card.hidden = false;
  card.dataset.compositionId = composition.id;
  card.dataset.technique = technique;
  state.result = composition;
  $("#source-result-name").textContent = describe(composition);
  $("#source-result").disabled = false;
  $("#source-result").checked = true;
  $("#result-title").textContent = TITLES[technique] || TITLES.compose;
  $("#result-next").textContent = NEXT[technique] || "";
  drawPianoRoll($("#result-roll"), composition.roll);
  rollLegend($("#result-legend"), composition.roll);
  const urls = composition.urls;
  const audioEl = $("#result-audio");
  if (urls.wav) {
    audioEl.src = urls.wav;
    audioEl.hidden = false;
  } else {
    audioEl.removeAttribute("src");
    audioEl.hidden = true;
  }
  const links = [["#download-midi", urls.midi], ["#download-png", urls.png], ["#download-wav", urls.wav]];
  for (const [selector, url] of links) {
    const link = $(selector);
    link.hidden = !url;
    if (url) link.href = url;
  }
  const s = composition.summary || {};
  const rows = [
    ["Technique", `${technique}${s.architecture ? ` (${s.architecture})` : ""}`],
    ["Input", composition.melody],
    ["Model", `${composition.model}${s.genre && s.genre !== composition.model ? ` (${s.genre})` : ""}`],
    ["Seed", composition.seed],
    ["Bars", s.meter ? `${s.bars} of ${s.meter}` : s.bars],
  ];
  if (technique === "enhance") {
    rows.push(["Controls", `${s.iterations} iterations, add ≤ ${Math.round(s.max_add * 100)} %, remove ≤ ${Math.round(s.max_remove * 100)} %, temperature ${s.temperature}`]);
    rows.push(["Rewrote", `${(s.rewritten_tracks || []).join(", ")}: ${s.notes_added} notes added, ${s.notes_removed} removed`]);
  } else if (technique === "extend") {
    rows.push(["Controls", `temperature ${s.temperature}, top-k ${s.top_k}`]);
    rows.push(["Added", `${s.bars_added} bars after the melody's ${s.bars_in}: ${s.notes_added} notes`]);
  }
  if (s.tempo) rows.push(["Tempo", `${Math.round(s.tempo)} bpm`]);
  if (s.tracks) rows.push(["Tracks", s.tracks.map((t) => `${t.name} (${t.notes})`).join(", ")]);
  if (s.meter_note) rows.push(["Meter", s.meter_note]);
  $("#result-summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "" })]));
  card.scrollIntoView({ behavior: "smooth", block: "start" });
}

window.addEventListener("resize", () => chooseRedraw());
let redrawTimer = null;
function chooseRedraw() {
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(() => {
    const id = $("#result-card").dataset.compositionId;
    if (id) api(`/api/compositions/${id}/roll`).then((roll) => drawPianoRoll($("#result-roll"), roll)).catch(() => {});
  }, 200);
}

buildKeyboard();
showHealth();
loadSamples().catch((error) => showError($("#melody-error"), error));
loadComposers();
loadTechniques();
