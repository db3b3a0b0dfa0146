// museforge studio: the on-screen keyboard, a MIDI keyboard through Web MIDI (where the browser offers it), and the
// recorder with its count-in and metronome in 4/4, 3/4, 6/8 and the other meters of the Meter select.
import { api, showError } from "./api.js";
import { $, el } from "./common.js";
import { noteName } from "./draw.js";

let onRecorded = () => {};

/** Start the keyboard, Web MIDI and the recorder; `recorded(melody)` gets each saved recording. */
export function initRecorder(recorded) {
  onRecorded = recorded;
  buildKeyboard();
  connectMidi();
  $("#record-start").addEventListener("click", () => recorder.begin());
  $("#record-stop").addEventListener("click", () => recorder.finish());
}

const KEY_MAP = ["a", "w", "s", "e", "d", "f", "t", "g", "y", "h", "u", "j", "k", "o", "l", "p", ";", "'"];
const LOWEST = 60; // C4
const HIGHEST = 84; // C6
let octaveShift = 0;
let audio = null;
const sounding = new Map(); // pitch -> {osc, gain}
const held = new Map(); // pitch -> start time (ms)

export function audioContext() {
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

/** A metronome click: level 2 the downbeat, 1 a secondary accent (beat 4 of 6/8), 0 the other beats. */
function metronome(level) {
  const ctx = audioContext();
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = [1000, 1250, 1500][level];
  gain.gain.setValueAtTime(level ? 0.3 : 0.22, ctx.currentTime);
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

// ------------------------------------------------------------------------------------------------ Web MIDI
/** Listen to every MIDI input the browser offers (note on/off on any channel); say what was found. */
async function connectMidi() {
  const status = $("#midi-status");
  if (!navigator.requestMIDIAccess) {
    status.textContent = "No MIDI keyboard support in this browser: use the on-screen keyboard.";
    status.dataset.midi = "unsupported";
    return;
  }
  let access;
  try {
    access = await navigator.requestMIDIAccess();
  } catch (_) {
    status.textContent = "MIDI keyboards are not allowed on this page: use the on-screen keyboard.";
    status.dataset.midi = "denied";
    return;
  }
  const listen = () => {
    const inputs = [...access.inputs.values()];
    for (const input of inputs) input.onmidimessage = (event) => midiMessage(event.data);
    status.textContent = inputs.length
      ? `MIDI keyboard: ${inputs.map((i) => i.name).join(", ")}`
      : "Connect a MIDI keyboard to play it here, or use the on-screen keyboard.";
    status.dataset.midi = inputs.length ? "connected" : "none";
  };
  access.onstatechange = listen;
  listen();
}

/** One MIDI message: note on (velocity > 0) presses, note off (or note on at velocity 0) releases. */
export function midiMessage(data) {
  const kind = data[0] & 0xf0;
  const pitch = data[1];
  if (kind === 0x90 && data[2] > 0) press(pitch);
  else if (kind === 0x80 || (kind === 0x90 && data[2] === 0)) release(pitch);
}
window.museforgeMidiMessage = midiMessage; // the browser tests play through the same path as a MIDI input

// ------------------------------------------------------------------------------------------------ recorder
/** A meter's bar in quarter-note beats and its clicks: [numerator, denominator, clicks per bar, accents]. */
const METERS = {
  "4/4": { ts: [4, 4], clicks: 4, accents: [0] },
  "3/4": { ts: [3, 4], clicks: 3, accents: [0] },
  "2/4": { ts: [2, 4], clicks: 2, accents: [0] },
  "6/8": { ts: [6, 8], clicks: 6, accents: [0, 3] },
};

const recorder = {
  active: false,
  start: 0, // ms of the first recorded downbeat (after the count-in)
  clickMs: 600,
  beatMs: 600, // a quarter note
  bars: 4,
  meter: METERS["4/4"],
  notes: [],
  timer: null,

  get barBeats() {
    return (this.meter.ts[0] * 4) / this.meter.ts[1];
  },

  begin() {
    const tempo = Number($("#record-tempo").value);
    if (!(tempo >= 40 && tempo <= 240)) {
      showError($("#melody-error"), new Error("the tempo must be between 40 and 240 bpm"));
      return;
    }
    audioContext();
    this.meter = METERS[$("#record-meter").value] || METERS["4/4"];
    this.beatMs = 60000 / tempo;
    this.clickMs = (this.barBeats * this.beatMs) / this.meter.clicks;
    this.bars = Number($("#record-bars").value);
    this.notes = [];
    this.active = true;
    const clicksPerBar = this.meter.clicks;
    this.start = performance.now() + clicksPerBar * this.clickMs; // one bar of count-in
    $("#record-start").disabled = true;
    $("#record-stop").disabled = false;
    showError($("#melody-error"), null);
    const lights = $("#beat-lights");
    lights.replaceChildren(...Array.from({ length: clicksPerBar }, () => el("span")));
    const total = this.bars * clicksPerBar;
    let click = -clicksPerBar;
    const tick = () => {
      if (!this.active) return;
      if (click >= total) {
        this.finish();
        return;
      }
      const inBar = ((click % clicksPerBar) + clicksPerBar) % clicksPerBar;
      if (click < 0 || $("#record-metronome").checked) metronome(this.meter.accents.includes(inBar) ? (inBar === 0 ? 2 : 1) : 0);
      [...lights.children].forEach((light, i) => {
        light.className = i === inBar ? (i === 0 ? "on first" : "on") : "";
      });
      $("#record-status").textContent =
        click < 0
          ? `Count-in: ${-click}…`
          : `Recording bar ${Math.floor(click / clicksPerBar) + 1} of ${this.bars}, beat ${inBar + 1} of ${clicksPerBar}`;
      $("#record-status").dataset.meter = this.meter.ts.join("/");
      click += 1;
      const next = this.start + click * this.clickMs;
      this.timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  },

  addNote(pitch, startMs, endMs) {
    if (!this.active) return;
    const beats = this.bars * this.barBeats;
    const startBeat = (startMs - this.start) / this.beatMs;
    const endBeat = (endMs - this.start) / this.beatMs;
    if (endBeat <= 0 || startBeat >= beats) return;
    const begin = Math.max(0, startBeat);
    this.notes.push({ pitch, start_beat: begin, duration_beats: Math.max(0.05, Math.min(endBeat, beats) - begin) });
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
        json: { tempo: 60000 / this.beatMs, bars: this.bars, time_signature: this.meter.ts, notes: this.notes },
      });
      $("#record-status").textContent = `Recorded ${this.notes.length} notes in ${this.meter.ts.join("/")} (snapped to sixteenths).`;
      onRecorded(melody);
    } catch (error) {
      showError($("#melody-error"), error);
    }
  },
};
