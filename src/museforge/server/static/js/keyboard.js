// museforge studio: the instruments the player plays: the on-screen keyboard, the computer keyboard and MIDI
// keyboards through Web MIDI (where the browser offers it). The recorder and the jam listen to the same notes.
import { $, el } from "./common.js";
import { noteName } from "./draw.js";

const KEY_MAP = ["a", "w", "s", "e", "d", "f", "t", "g", "y", "h", "u", "j", "k", "o", "l", "p", ";", "'"];
const LOWEST = 60; // C4
const HIGHEST = 84; // C6
const KEYBOARD_VELOCITY = 100;
let octaveShift = 0;
let audio = null;
const sounding = new Map(); // pitch -> {osc, gain} of the built-in voice
const held = new Map(); // pitch -> start time (ms, performance.now())
const listeners = new Set();
let voice = null; // {on(pitch, velocity), off(pitch)} replacing the built-in voice, or null

/** The page's one AudioContext (resumed: call it from a click or a key). */
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

/**
 * Hear every note played: `listener({on: true, pitch, velocity, time})` when a key goes down and
 * `listener({on: false, pitch, start, time})` when it comes up (times in ms of performance.now()).
 * Returns a function that stops listening.
 */
export function listen(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The keys held now: [[pitch, start ms], ...]. */
export function heldKeys() {
  return [...held.entries()];
}

/** Sound the player's notes with `next` ({on(pitch, velocity), off(pitch)}); null: the built-in synth. */
export function setVoice(next) {
  for (const pitch of [...sounding.keys()]) soundOff(pitch);
  voice = next;
}

/** Whether the computer keyboard plays notes now (the Record or Jam panel is shown, with its keyboard). */
function playing() {
  const box = $("#keys-box");
  return Boolean(box) && !box.hidden;
}

function soundOn(pitch, velocity) {
  if (voice) {
    voice.on(pitch, velocity);
    return;
  }
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
  if (voice) {
    voice.off(pitch);
    return;
  }
  const sound = sounding.get(pitch);
  if (!sound || !audio) return;
  sounding.delete(pitch);
  sound.gain.gain.cancelScheduledValues(audio.currentTime);
  sound.gain.gain.setTargetAtTime(0, audio.currentTime, 0.05);
  sound.osc.stop(audio.currentTime + 0.3);
}

/** Build the on-screen keyboard (C4 to C6, the computer keys written on it) in `#keyboard`. */
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

function press(pitch, velocity = KEYBOARD_VELOCITY) {
  if (held.has(pitch)) return;
  const time = performance.now();
  held.set(pitch, time);
  soundOn(pitch, velocity);
  const key = keyElement(pitch);
  if (key) key.classList.add("down");
  for (const listener of listeners) listener({ on: true, pitch, velocity, time });
}

function release(pitch) {
  const start = held.get(pitch);
  if (start === undefined) return;
  held.delete(pitch);
  soundOff(pitch);
  const key = keyElement(pitch);
  if (key) key.classList.remove("down");
  for (const listener of listeners) listener({ on: false, pitch, start, time: performance.now() });
}

function pitchForKey(key) {
  const index = KEY_MAP.indexOf(key.toLowerCase());
  return index < 0 ? null : LOWEST + index + octaveShift;
}

/** Where the keyboard says what it does (the octave shift): the shown panel's status line. */
function statusLine() {
  return document.querySelector(".tab-panel:not([hidden]) .keys-status");
}

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!playing()) return;
  const lower = event.key.toLowerCase();
  if (lower === "z" || lower === "x") {
    octaveShift = Math.max(-24, Math.min(24, octaveShift + (lower === "x" ? 12 : -12)));
    const status = statusLine();
    if (status) status.textContent = `Octave shift: ${octaveShift / 12 >= 0 ? "+" : ""}${octaveShift / 12}`;
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
let midiAccess = null;
const midiWatchers = new Set();

/** The browser's MIDI access once granted (null before, or without Web MIDI); `watch(access)` hears changes. */
export function midi(watch) {
  if (watch) midiWatchers.add(watch);
  return midiAccess;
}

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
  midiAccess = access;
  const changed = () => {
    const inputs = [...access.inputs.values()];
    for (const input of inputs) input.onmidimessage = (event) => midiMessage(event.data);
    status.textContent = inputs.length
      ? `MIDI keyboard: ${inputs.map((i) => i.name).join(", ")}`
      : "Connect a MIDI keyboard to play it here, or use the on-screen keyboard.";
    status.dataset.midi = inputs.length ? "connected" : "none";
    for (const watch of midiWatchers) watch(access);
  };
  access.onstatechange = changed;
  changed();
}

/** One MIDI message: note on (velocity > 0) presses, note off (or note on at velocity 0) releases. */
export function midiMessage(data) {
  const kind = data[0] & 0xf0;
  const pitch = data[1];
  if (kind === 0x90 && data[2] > 0) press(pitch, data[2]);
  else if (kind === 0x80 || (kind === 0x90 && data[2] === 0)) release(pitch);
}
window.museforgeMidiMessage = midiMessage; // the browser tests play through the same path as a MIDI input

/** Build the on-screen keyboard and connect MIDI keyboards (once, for the whole page). */
export function initKeyboard() {
  buildKeyboard();
  connectMidi();
}
