// museforge studio, compose page: pick, record or upload a melody; pick a model; generate; see, hear, download.
import { $, api, drawPianoRoll, el, noteName, rollLegend, showError, showHealth } from "./common.js";

const state = {
  melody: null, // {kind: "sample", name} or {kind: "user", id}
  samples: [],
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

// ------------------------------------------------------------------------------------------------ compose
async function loadComposers() {
  const select = $("#model-select");
  try {
    const composers = await api("/api/composers");
    const pretrained = composers.filter((c) => c.kind === "pretrained");
    const mine = composers.filter((c) => c.kind !== "pretrained");
    const group = (label, items) =>
      el("optgroup", { label }, ...items.map((c) =>
        el("option", { value: c.name, text: c.kind === "pretrained" ? `${c.name} (pretrained ${c.architecture || ""})` : `${c.name} (${c.genre}, ${c.epochs_done ?? "?"} epochs)` })));
    select.replaceChildren(...[pretrained.length ? group("Genre models", pretrained) : null, mine.length ? group("Your models", mine) : null].filter(Boolean));
    if (!composers.length) {
      select.append(el("option", { value: "", text: "no models available" }));
      $("#generate").disabled = true;
    }
    const wanted = new URLSearchParams(location.search).get("model");
    if (wanted && composers.some((c) => c.name === wanted)) select.value = wanted;
  } catch (error) {
    showError($("#generate-error"), error);
  }
}

$("#generate").addEventListener("click", async () => {
  const button = $("#generate");
  showError($("#generate-error"), null);
  if (!state.melody) {
    showError($("#generate-error"), new Error("choose a melody first"));
    return;
  }
  const body = { model: $("#model-select").value };
  if (state.melody.kind === "sample") body.melody = state.melody.name;
  else body.melody_id = state.melody.id;
  const seed = $("#seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  button.disabled = true;
  $("#generate-status").replaceChildren(el("span", { class: "spinner" }), " composing…");
  try {
    showResult(await api("/api/compositions", { method: "POST", json: body }));
    $("#generate-status").textContent = "";
  } catch (error) {
    $("#generate-status").textContent = "";
    showError($("#generate-error"), error);
  } finally {
    button.disabled = false;
  }
});

function showResult(composition) {
  const card = $("#result-card");
  card.hidden = false;
  card.dataset.compositionId = composition.id;
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
    ["Model", `${composition.model}${s.genre && s.genre !== composition.model ? ` (${s.genre})` : ""}`],
    ["Seed", composition.seed],
    ["Bars", s.meter ? `${s.bars} of ${s.meter}` : s.bars],
    ["Tempo", s.tempo ? `${Math.round(s.tempo)} bpm` : ""],
    ["Tracks", (s.tracks || []).map((t) => `${t.name} (${t.notes})`).join(", ")],
  ];
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
