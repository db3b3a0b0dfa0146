// museforge studio, step 3: the result. Its piano roll with a playhead, per-track mute/solo/instrument, regenerating
// some tracks (or bars) while keeping the rest, and the history of this melody's results with undo.
import { api, showError } from "./api.js";
import { $, el } from "./common.js";
import { drawPianoRoll, rollLegend } from "./draw.js";
import { choicesOf, instrumentSelect } from "./arrange.js";
import { audible, followAudio, placePlayhead, setMix, toggle } from "./player.js";

const TITLES = { compose: "Your composition", enhance: "Enhanced", extend: "Extended melody" };
const NEXT = {
  compose: "Enhance it to rewrite its accompaniment, or Extend its melody; the result below is now the input.",
  enhance: "Enhance again for another take, or Extend its melody; the result below is now the input.",
  extend: "Generate or Enhance now to accompany the longer melody; the result below is now the input.",
};
const MADE = { compose: "composed", enhance: "enhanced", extend: "extended" };

const view = {
  history: [], // this melody's results, oldest first
  index: -1, // the one shown
  mix: { muted: new Set(), solo: new Set() },
  onShow: () => {},
  busy: () => false,
  setBusy: () => {},
};

export function current() {
  return view.index >= 0 ? view.history[view.index] : null;
}

/** Wire the result card: `onShow(composition|null)` hears which result is shown; busy()/setBusy(name) share the
 * page's one-thing-at-a-time state. */
export function initResult(onShow, busy, setBusy) {
  view.onShow = onShow;
  view.busy = busy;
  view.setBusy = setBusy;
  $("#undo").addEventListener("click", () => view.index > 0 && show(view.index - 1));
  $("#regenerate").addEventListener("click", () => regenerate());
  followAudio($("#result-audio"), $("#result-roll"), $("#result-playhead"), () => current() && current().roll);
}

/** A short line naming a result: how it was made, from what, how long. */
export function describe(composition) {
  const s = composition.summary || {};
  const bars = s.bars ? `, ${s.bars} bars` : "";
  const redone = s.regenerated_tracks ? ` · new ${s.regenerated_tracks.join(", ")}` : s.instruments_changed ? " · instruments" : "";
  return `(${MADE[composition.technique] || "made"} ${composition.melody}${bars}${redone})`;
}

/** Add a new result to the history and show it. */
export function addResult(composition) {
  view.history = view.history.slice(0, view.index + 1).concat([composition]);
  show(view.history.length - 1);
}

/** Forget every result (a new melody was chosen): the card hides. */
export function clearResults() {
  view.history = [];
  view.index = -1;
  const card = $("#result-card");
  card.hidden = true;
  card.dataset.compositionId = "";
  const audio = $("#result-audio");
  audio.pause();
  audio.removeAttribute("src");
  view.onShow(null);
}

function show(index) {
  view.index = index;
  const composition = view.history[index];
  view.mix = { muted: new Set(), solo: new Set() };
  const card = $("#result-card");
  const technique = composition.technique || "compose";
  card.hidden = false;
  card.dataset.compositionId = composition.id;
  card.dataset.technique = technique;
  card.dataset.historyLength = String(view.history.length);
  $("#result-title").textContent = TITLES[technique] || TITLES.compose;
  $("#result-next").textContent = NEXT[technique] || "";
  drawPianoRoll($("#result-roll"), composition.roll);
  rollLegend($("#result-legend"), composition.roll);
  drawHistory();
  drawMixer(composition);
  const urls = composition.urls;
  const audio = $("#result-audio");
  audio.pause();
  placePlayhead($("#result-playhead"), $("#result-roll"), composition.roll, null); // the old result's position
  if (urls.wav) {
    audio.src = urls.wav;
    audio.dataset.tracks = "";
    audio.hidden = false;
  } else {
    audio.removeAttribute("src");
    audio.hidden = true;
  }
  const downloads = [
    ["#download-midi", urls.midi],
    ["#download-musicxml", urls.musicxml],
    ["#download-png", urls.png],
    ["#download-wav", urls.wav],
  ];
  for (const [selector, url] of downloads) {
    const link = $(selector);
    link.hidden = !url;
    if (url) link.href = url;
  }
  summarise(composition, technique);
  view.onShow(composition);
}

function drawHistory() {
  $("#undo").disabled = view.index <= 0;
  $("#history-items").replaceChildren(...view.history.map((c, i) => el("button", {
    class: `small history-item${i === view.index ? " current" : ""}`,
    type: "button",
    text: String(i + 1),
    title: `${describe(c)} seed ${c.seed ?? "?"}`,
    "aria-current": i === view.index ? "true" : null,
    onclick: () => show(i),
  })));
}

/** One row per track: regenerate tick, colour and name, instrument, mute, solo. */
function drawMixer(composition) {
  const roll = composition.roll;
  const composed = composition.technique === "compose";
  const summary = Object.fromEntries(((composition.summary || {}).tracks || []).map((t) => [t.role, t]));
  $("#mixer").dataset.curated = "";
  const rows = roll.tracks.map((track, index) => {
    const melody = track.role === "melody";
    const choice = { role: track.role, is_drum: track.is_drum, default_program: track.program, suggested: [] };
    const instrument = !melody && composed
      ? instrumentSelect(choice, track.program, (program) => changeInstrument(track.role, program))
      : el("span", { class: "muted", text: (summary[track.role] || {}).instrument || "" });
    return el("div", { class: "mixer-row", "data-index": index, "data-role": track.role },
      el("input", { type: "checkbox", class: "regen-track", "data-role": track.role, disabled: melody || !composed,
        "aria-label": `regenerate ${track.role}`, title: melody ? "the melody stays" : "regenerate this track" }),
      el("span", { class: "swatch", style: `background:${track.color}` }),
      el("span", { class: "track-name", text: `${track.name}${track.name.toLowerCase().includes(track.role) ? "" : ` · ${track.role}`} (${track.notes.length})` }),
      instrument,
      toggle("M", "mute", false, (on) => mixChanged(index, "muted", on)),
      toggle("S", "solo", false, (on) => mixChanged(index, "solo", on)));
  });
  $("#mixer").replaceChildren(...rows);
  for (const box of document.querySelectorAll("#mixer .regen-track")) box.addEventListener("change", syncRegenerate);
  $("#regen-from").value = "";
  $("#regen-to").value = "";
  syncRegenerate();
  if (composed) {
    choicesOf(composition.model).then((choices) => curateInstruments(composition, choices)).catch(() => {});
  }
}

/** Give each track's instrument select the model's curated list (the suggestions first), as before generating. */
function curateInstruments(composition, choices) {
  if (current() !== composition) return;
  const mixer = $("#mixer");
  for (const old of mixer.querySelectorAll("select.instrument")) {
    const choice = choices.find((c) => c.role === old.dataset.role);
    if (!choice) continue;
    const program = Number(old.value);
    old.replaceWith(instrumentSelect(choice, program, (chosen) => changeInstrument(choice.role, chosen)));
  }
  mixer.dataset.curated = "1";
}

function syncRegenerate() {
  const composition = current();
  const ticked = document.querySelectorAll("#mixer .regen-track:checked").length;
  $("#regenerate").disabled = view.busy() || !composition || composition.technique !== "compose" || !ticked;
}

function mixChanged(index, kind, on) {
  if (on) view.mix[kind].add(index);
  else view.mix[kind].delete(index);
  const composition = current();
  if (!composition || !composition.urls.wav) return;
  const heard = audible(composition.roll.tracks, view.mix);
  for (const row of document.querySelectorAll("#mixer .mixer-row")) row.classList.toggle("silent", !heard.includes(Number(row.dataset.index)));
  setMix($("#result-audio"), composition.urls.wav, composition.roll.tracks, heard);
}

async function post(body, working) {
  const composition = current();
  if (!composition || view.busy()) return;
  showError($("#generate-error"), null);
  view.setBusy(working);
  try {
    const result = await api(`/api/compositions/${composition.id}/regenerate`, { method: "POST", json: body });
    view.setBusy(null);
    addResult(result);
  } catch (error) {
    view.setBusy(null);
    showError($("#generate-error"), error);
    drawMixer(composition);
  }
}

function changeInstrument(role, program) {
  return post({ programs: { [role]: program } }, "instrument");
}

function regenerate() {
  const tracks = [...document.querySelectorAll("#mixer .regen-track:checked")].map((b) => b.dataset.role);
  const body = { tracks };
  const from = $("#regen-from").value.trim();
  const to = $("#regen-to").value.trim();
  if (from !== "" || to !== "") {
    const bars = current().summary.bars || 1;
    const first = from === "" ? 1 : Number(from);
    const last = to === "" ? bars : Number(to);
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > bars || first > last) {
      showError($("#generate-error"), new Error(`the bars to regenerate must lie from 1 to ${bars}, first before last`));
      return;
    }
    body.bars = [first, last];
    if ($("#regen-repeats").checked) body.with_repeats = true;
  }
  return post(body, "regenerate");
}

function summarise(composition, technique) {
  const s = composition.summary || {};
  const rows = [
    ["Technique", `${technique}${s.architecture ? ` (${s.architecture})` : ""}`],
    ["Input", composition.melody],
    ["Model", `${composition.model}${s.genre && s.genre !== composition.model ? ` (${s.genre})` : ""}`],
    ["Seed", composition.seed],
    ["Bars", s.meter ? `${s.bars} of ${s.meter}` : s.bars],
  ];
  if (technique === "enhance") {
    rows.push(["Controls", `${s.iterations} iterations, add ≤ ${Math.round(s.max_add * 100)} %, remove ≤ ${Math.round(s.max_remove * 100)} %, temperature ${s.temperature}${s.parallels ? `, parallel fifths and octaves ${s.parallels === "forbid" ? "forbidden" : "allowed"}` : ""}`]);
    rows.push(["Rewrote", `${(s.rewritten_tracks || []).join(", ")}: ${s.notes_added} notes added, ${s.notes_removed} removed`]);
  } else if (technique === "extend") {
    rows.push(["Controls", `temperature ${s.temperature}, top-k ${s.top_k}`]);
    rows.push(["Added", `${s.bars_added} bars after the melody's ${s.bars_in}: ${s.notes_added} notes`]);
  }
  if (technique === "compose" && s.parallels === "forbid") rows.push(["Voice leading", "no parallel fifths or octaves (the chorale rule)"]);
  if (s.repeated_bars) rows.push(["Repeats", `${s.repeated_bars} bars repeat earlier ones (variation ${s.variation})`]);
  if (s.regenerated_tracks) rows.push(["Regenerated", `${s.regenerated_tracks.join(", ")}${s.regenerated_bars ? `, bars ${s.regenerated_bars.join("–")}` : ""}`]);
  if (s.tempo) rows.push(["Tempo", `${Math.round(s.tempo)} bpm`]);
  if (s.tracks) rows.push(["Tracks", s.tracks.map((t) => `${t.name}${t.instrument ? ` on ${t.instrument}` : ""} (${t.notes})`).join(", ")]);
  const others = s.other_tracks && s.other_tracks.names && s.other_tracks.names.length ? s.other_tracks : null;
  if (others) rows.push(["Input's other tracks", `${others.names.join(", ")}: ${others.kept ? "kept as they were" : "not used (the model hears the melody alone; tick \u201cKeep my other tracks\u201d to keep them)"}`]);
  if (s.meter_note) rows.push(["Meter", s.meter_note]);
  if (s.changes_note) rows.push(["Note", s.changes_note]);
  $("#result-summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "" })]));
}

export function redrawResult() {
  const composition = current();
  if (composition) drawPianoRoll($("#result-roll"), composition.roll);
}

export { syncRegenerate };
