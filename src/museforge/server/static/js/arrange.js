// museforge studio: Compose's arrangement controls. Which accompaniment tracks to generate and on which General MIDI
// instrument (the model's defaults and the suggestions whose range fits what it plays first), the tempo and the key.
import { api, showError } from "./api.js";
import { $, el } from "./common.js";

let programs = []; // every General MIDI program and drum kit: {program, name, is_drum}
let choices = []; // the chosen model's tracks: {role, is_drum, default_program, suggested: [{program, name, fit}]}

/** An instrument select for one track: the suggested programs first, then every other one. */
export function instrumentSelect(choice, selected, onChange) {
  const fits = (s) => (s.fit < 1 ? ` · plays ${Math.round(s.fit * 100)} %` : "");
  const suggested = (choice.suggested || []).map((s) =>
    el("option", { value: s.program, text: `${s.name}${s.program === choice.default_program ? " (default)" : ""}${fits(s)}` }));
  const known = new Set((choice.suggested || []).map((s) => s.program));
  const others = programs.filter((p) => p.is_drum === Boolean(choice.is_drum) && !known.has(p.program))
    .map((p) => el("option", { value: p.program, text: `${p.name}` }));
  const select = el("select", { class: "instrument", "data-role": choice.role, "aria-label": `${choice.role} instrument` },
    el("optgroup", { label: "Suggested for this track" }, ...suggested),
    others.length ? el("optgroup", { label: choice.is_drum ? "Other kits" : "Every instrument" }, ...others) : null);
  select.value = String(selected ?? choice.default_program);
  if (onChange) select.addEventListener("change", () => onChange(Number(select.value)));
  return select;
}

export function programList() {
  return programs;
}

/** The tracks of `model` with their instrument choices; draws Compose's track list. */
export async function loadInstruments(model) {
  const list = $("#compose-tracks");
  list.dataset.model = model || "";
  list.dataset.loaded = "";
  if (!model) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(el("span", { class: "muted", text: `loading the tracks of ${model}…` }));
  try {
    if (!programs.length) programs = await api("/api/instruments");
    const loaded = await choicesOf(model);
    if (list.dataset.model !== model) return; // another model was chosen meanwhile
    choices = loaded;
    list.replaceChildren(
      el("span", { class: "muted", text: "Tracks and instruments" }),
      ...choices.map((choice) => el("label", { class: "instrument-row", "data-role": choice.role },
        el("input", { type: "checkbox", class: "generate-track", checked: true, "data-role": choice.role, "aria-label": `generate ${choice.role}` }),
        el("span", { class: "role", text: choice.role }),
        instrumentSelect(choice))),
    );
    list.dataset.loaded = "1";
  } catch (error) {
    if (list.dataset.model !== model) return;
    list.replaceChildren();
    list.dataset.loaded = "failed"; // compose with the model's own tracks and instruments
    showError($("#generate-error"), error);
  }
}

const choiceCache = new Map(); // model -> Promise of its instrument choices

/** The tracks of a composing `model` with their instrument choices (asked once per page). */
export function choicesOf(model) {
  if (!choiceCache.has(model)) {
    const request = api(`/api/composers/${encodeURIComponent(model)}/instruments`);
    request.catch(() => choiceCache.delete(model)); // a failure is asked again next time
    choiceCache.set(model, request);
  }
  return choiceCache.get(model);
}

/** Compose's request fields from the controls for `model`: tracks (when not all), programs, tempo, transpose,
 * repeats, parallel fifths and octaves. Throws while another model's tracks are shown (they are not this model's). */
export function arrangement(model) {
  const body = {};
  const list = $("#compose-tracks");
  if (model && (list.dataset.model !== model || list.dataset.loaded === "")) {
    throw new Error(`the tracks of ${model} are still loading: try again in a moment`);
  }
  const boxes = [...document.querySelectorAll("#compose-tracks .generate-track")];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.dataset.role);
  if (boxes.length && !chosen.length) throw new Error("tick at least one track to generate");
  if (chosen.length < boxes.length) body.tracks = chosen;
  const selects = [...document.querySelectorAll("#compose-tracks select.instrument")];
  if (selects.length) body.programs = Object.fromEntries(selects.map((s) => [s.dataset.role, Number(s.value)]));
  const tempo = $("#tempo").value.trim();
  if (tempo !== "") {
    const value = Number(tempo);
    if (!(value >= 30 && value <= 300)) throw new Error("Tempo must be a number from 30 to 300 bpm");
    body.tempo = value;
  }
  body.transpose = Number($("#transpose").value || 0);
  const variation = $("#variation").value;
  if (variation !== "") body.variation = Number(variation);
  const parallels = $("#compose-parallels").value;
  if (parallels !== "") body.parallels = parallels;
  return body;
}

const TONICS = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/** Fill the Key select for a melody in `key` (e.g. "G major"; null: semitones only). */
export function fillKeys(key) {
  const select = $("#transpose");
  const before = select.value || "0";
  const spelled = (key || "").replace("-flat", "b").replace("-sharp", "#"); // "D-flat major" is "Db major"
  const match = /^([A-G][#b]?)\s+(major|minor)/i.exec(spelled);
  const tonic = match ? TONICS.indexOf(match[1].replace("Db", "C#").replace("Gb", "F#")) : -1;
  const options = [];
  for (let shift = -6; shift <= 6; shift++) {
    const sign = shift > 0 ? `+${shift}` : String(shift);
    const name = tonic >= 0 ? `${TONICS[(tonic + shift + 12) % 12]} ${match[2].toLowerCase()}` : "";
    const label = shift === 0 ? `${name || "as written"}${name ? " (as written)" : ""}` : `${name ? `${name}, ` : ""}${sign} semitones`;
    options.push(el("option", { value: shift, text: label }));
  }
  select.replaceChildren(...options);
  select.value = before;
  $("#transpose-hint").textContent = tonic >= 0 ? "the melody's key, and the accompaniment's with it" : "move the melody up or down";
}
