// museforge studio: the recorder, with its count-in and metronome in 4/4, 3/4, 6/8 and the other meters of the
// Meter select; the notes come from the keyboards (keyboard.js).
import { api, showError } from "./api.js";
import { $, el } from "./common.js";
import { audioContext, heldKeys, listen } from "./keyboard.js";

let onRecorded = () => {};

/** Start the recorder; `recorded(melody)` gets each saved recording. */
export function initRecorder(recorded) {
  onRecorded = recorded;
  listen((note) => {
    if (!note.on) recorder.addNote(note.pitch, note.start, note.time);
  });
  $("#record-start").addEventListener("click", () => recorder.begin());
  $("#record-stop").addEventListener("click", () => recorder.finish());
}

/**
 * A metronome click: level 2 the downbeat, 1 a secondary accent (beat 4 of 6/8), 0 the other beats; at `when`
 * (seconds of the AudioContext's clock), now by default.
 */
export function metronome(level, when = null) {
  const ctx = audioContext();
  if (!ctx) return;
  const at = when === null ? ctx.currentTime : when;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = [1000, 1250, 1500][level];
  gain.gain.setValueAtTime(level ? 0.3 : 0.22, at);
  gain.gain.exponentialRampToValueAtTime(0.001, at + 0.06);
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + 0.07);
}

// ------------------------------------------------------------------------------------------------ recorder
/** A meter's bar in quarter-note beats and its clicks: [numerator, denominator, clicks per bar, accents]. */
export const METERS = {
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
    for (const [pitch, start] of heldKeys()) this.addNote(pitch, start, now); // a key still down ends with the recording
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
