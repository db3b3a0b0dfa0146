// museforge studio, jam mode: what the player sees. A piano roll of the bar being played and the next one (the
// band's plan as soon as it arrives), the player's notes in red on top, a playhead, and the bar and beat counter.
import { $, el } from "./common.js";
import { drawPianoRoll, rollLegend } from "./draw.js";
import { placePlayhead } from "./player.js";

const RESOLUTION = 12; // steps per beat of the drawn roll
const MELODY_COLOR = "#e03131";
const COLORS = ["#1971c2", "#2f9e44", "#f08c00", "#7048e8", "#0c8599", "#c2255c", "#5c940d", "#495057"];

/**
 * The roll of bars `first` and `first + 1` of a jam. `jam` gives {tracks, beatsPerBar, band: Map(bar -> notes
 * [[track, pitch, start_beat, duration_beats, velocity, tied]]), melody(bar) -> [[pitch, start_beat,
 * duration_beats]]}.
 */
export function jamRoll(jam, first) {
  const barSteps = Math.round(jam.beatsPerBar * RESOLUTION);
  const steps = (beats, bar) => (bar - first) * barSteps + Math.round(beats * RESOLUTION);
  const melody = { name: "You", role: "melody", color: MELODY_COLOR, is_drum: false, notes: [] };
  const tracks = jam.tracks.map((t, i) => ({ name: t.name, role: t.role, color: COLORS[i % COLORS.length], is_drum: t.is_drum, notes: [] }));
  for (const bar of [first, first + 1]) {
    for (const [pitch, start, length] of jam.melody(bar)) {
      melody.notes.push([pitch, steps(start, bar), Math.max(steps(start, bar) + 1, steps(start + length, bar)), 100]);
    }
    for (const [track, pitch, start, length, velocity] of jam.band.get(bar) || []) {
      if (!tracks[track]) continue;
      tracks[track].notes.push([pitch, steps(start, bar), Math.max(steps(start, bar) + 1, steps(start + length, bar)), velocity]);
    }
  }
  return {
    resolution: RESOLUTION,
    tempo: 120,
    n_steps: 2 * barSteps,
    beats_per_bar: jam.beatsPerBar,
    downbeats: [0, barSteps],
    first_bar: first,
    tracks: [melody, ...tracks],
  };
}

/** Draw bars `first` and `first + 1` of the jam, with the legend (the band's instruments). */
export function drawJam(jam, first) {
  const roll = jamRoll(jam, first);
  drawPianoRoll($("#jam-roll"), roll);
  rollLegend($("#jam-legend"), roll);
  $("#jam-roll").dataset.firstBar = String(first);
  return roll;
}

/** Move the playhead to `beat` of bar `first` of the drawn roll (null hides it). */
export function followJam(roll, beat) {
  placePlayhead($("#jam-playhead"), $("#jam-roll"), roll, beat === null ? null : beat * RESOLUTION);
}

/** Show where the music is: bar (from 1) and beat, or the count-in; light the beat. */
export function showCounter(bar, beat, clicks, countIn) {
  $("#jam-bar").textContent = countIn ? "Count-in" : `Bar ${bar + 1}`;
  $("#jam-beat").textContent = countIn ? `${countIn}…` : `beat ${Math.floor(beat) + 1}`;
  const lights = $("#jam-lights");
  if (lights.children.length !== clicks) lights.replaceChildren(...Array.from({ length: clicks }, () => el("span")));
  const on = Math.floor(beat) % clicks;
  [...lights.children].forEach((light, i) => {
    light.className = i === on ? (i === 0 ? "on first" : "on") : "";
  });
}

/** Clear the counter and the lights (stopped). */
export function clearCounter(text) {
  $("#jam-bar").textContent = text;
  $("#jam-beat").textContent = "";
  for (const light of $("#jam-lights").children) light.className = "";
  $("#jam-playhead").hidden = true;
}
