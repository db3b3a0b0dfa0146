// museforge studio, jam mode: the band's sound. Each instrument is a bank of notes the server renders with its
// General MIDI soundfont (GET /api/sounds); a note is cut out of its bank and pitched with playbackRate, at a time
// of the Web Audio clock. Without the server's synthesizer the band plays on small oscillator voices instead, and
// a chosen Web MIDI output gets the notes (with timestamps) in place of the page's sound.
//
// A note marked tied goes on from the bar before (the same track and pitch sounding up to the bar line): it is not
// struck again. In the page the voice that was to end at the bar line sounds on to the tied note's end (its
// release and stop moved later); a drum is simply not struck again. Where no such voice is left (its bar came too
// late to play) the note is struck, and where the bank's sample would run out before the tied note ends it is
// struck afresh at the bar line (a new attack rather than silence). On a MIDI output the note-off of a note that
// ends at a bar line is held back until the next bar is scheduled (`releaseHeld`), then sent at the tied note's end,
// or at the bar line when nothing is tied to it.
import { api } from "./api.js";
import { audioContext } from "./keyboard.js";

const PLAYER_PROGRAM = 0; // the player's notes on the acoustic grand piano
const RELEASE = 0.08; // seconds of a note's fade once released
const PITCHED_CHANNELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]; // MIDI channel 10 (9) is the drums'
const TIE_SLACK = 0.005; // seconds: a note ends at a bar line (or another goes on from it) within this
const band = {
  layout: null, // GET /api/sounds
  banks: new Map(), // url -> AudioBuffer
  tracks: [],
  channels: [], // MIDI channel per track
  output: null, // a Web MIDI output, or null
  out: null, // the band's gain node
  sources: new Set(), // what is scheduled, to silence it on Stop
  voices: new Map(), // "track:pitch" -> {voice, end}: the last note of each scheduled in the page, to hold on
  held: new Map(), // "track:pitch" -> {output, channel, pitch, at}: MIDI note-offs held back at a bar line
};

const noteKey = (index, pitch) => `${index}:${pitch}`;
const midiTime = (when) => performance.now() + (when - audioContext().currentTime) * 1000;

function bankUrl(program, isDrum) {
  return isDrum ? `/api/sounds/drums/${program}.wav` : `/api/sounds/${program}.wav`;
}

async function loadBank(url) {
  if (band.banks.has(url)) return;
  try {
    const response = await fetch(url);
    if (!response.ok) return; // this instrument plays on the fallback voice
    const buffer = await audioContext().decodeAudioData(await response.arrayBuffer());
    const layout = url.includes("/drums/") ? band.layout.drums : band.layout.pitched;
    band.banks.set(url, { buffer, audible: audibleNotes(buffer, layout) });
  } catch (_) {
    // undecodable: the fallback voice
  }
}

/** Which notes of a bank sound: a soundfont may have no sample for the top of an instrument's range. */
function audibleNotes(buffer, layout) {
  const data = buffer.getChannelData(0);
  return layout.notes.map((_, k) => {
    const from = Math.round(k * layout.slot_seconds * buffer.sampleRate);
    const to = Math.min(data.length, from + Math.round(layout.note_seconds * buffer.sampleRate));
    for (let i = from; i < to; i += 8) if (Math.abs(data[i]) > 0.01) return true;
    return false;
  });
}

/**
 * Get the band's instruments ready: `tracks` as the server's ready message lists them. Resolves to "samples" when
 * the soundfont's sounds are loaded, "synth" when the page's own voices play (no synthesizer on the server).
 */
export async function loadBand(tracks) {
  const ctx = audioContext();
  band.tracks = tracks;
  let next = 0;
  band.channels = tracks.map((t) => (t.is_drum ? 9 : PITCHED_CHANNELS[next++ % PITCHED_CHANNELS.length]));
  if (!band.out && ctx) {
    band.out = ctx.createGain();
    band.out.gain.value = 0.8;
    band.out.connect(ctx.destination);
  }
  if (!band.layout) {
    try {
      band.layout = await api("/api/sounds");
    } catch (_) {
      band.layout = { available: false };
    }
  }
  if (!band.layout.available || !ctx) return "synth";
  const urls = new Set([bankUrl(PLAYER_PROGRAM, false), ...tracks.map((t) => bankUrl(t.program, t.is_drum))]);
  await Promise.all([...urls].map(loadBank));
  return tracks.every((t) => band.banks.has(bankUrl(t.program, t.is_drum))) ? "samples" : "synth";
}

/** Send the band to a Web MIDI output (null: play it in the page); its programs are set on their channels. */
export function setOutput(output) {
  releaseHeld(Infinity);
  band.output = output;
  if (!output) return;
  band.tracks.forEach((track, i) => {
    if (!track.is_drum) output.send([0xc0 | band.channels[i], track.program]);
  });
}

/** The index of the bank's note nearest to `pitch` among those that sound (-1: none does). */
function nearest(notes, audible, pitch) {
  let best = -1;
  for (let i = 0; i < notes.length; i++) {
    if (audible[i] && (best < 0 || Math.abs(notes[i] - pitch) < Math.abs(notes[best] - pitch))) best = i;
  }
  return best;
}

/** Start a cut of a bank for a note; returns {source, gain, end}, or null when the bank has nothing near it. */
function sample(bank, kind, pitch, when, velocity, destination) {
  const ctx = audioContext();
  const layout = band.layout[kind];
  const index = kind === "drums" ? layout.notes.indexOf(pitch) : nearest(layout.notes, bank.audible, pitch);
  if (index < 0 || !bank.audible[index]) return null;
  const buffer = bank.buffer;
  const rate = kind === "drums" ? 1 : Math.pow(2, (pitch - layout.notes[index]) / 12);
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.playbackRate.value = rate;
  const gain = ctx.createGain();
  const level = Math.pow(velocity / 127, 1.5);
  gain.gain.setValueAtTime(level, when);
  source.connect(gain).connect(destination);
  source.start(Math.max(when, ctx.currentTime), index * layout.slot_seconds + Math.max(0, ctx.currentTime - when) * rate);
  const end = when + (layout.slot_seconds - 0.02) / rate; // never into the next note of the bank
  return { source, gain, end };
}

/** A small oscillator voice (the fallback): a pluck for pitched notes, a short noise-like blip for drums. */
function synth(pitch, when, seconds, velocity, isDrum, destination) {
  const ctx = audioContext();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  const level = 0.18 * (velocity / 127);
  if (isDrum) {
    osc.type = "square";
    osc.frequency.setValueAtTime(pitch <= 36 ? 90 : 180 + (pitch % 12) * 40, when);
    osc.frequency.exponentialRampToValueAtTime(40, when + 0.08);
  } else {
    osc.type = pitch < 48 ? "sawtooth" : "triangle";
    osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
  }
  gain.gain.setValueAtTime(0, when);
  gain.gain.linearRampToValueAtTime(level, when + 0.005);
  gain.gain.setTargetAtTime(level * 0.5, when + 0.01, 0.2);
  osc.connect(gain).connect(destination);
  osc.start(when);
  return { source: osc, gain, end: isDrum ? when + 0.15 : Infinity }; // an oscillator never runs out
}

function release(voice, at) {
  const stop = Math.min(at + RELEASE * 4, voice.end);
  voice.gain.gain.setTargetAtTime(0, Math.min(at, stop - RELEASE), RELEASE / 2);
  voice.source.stop(stop);
  band.sources.add(voice.source);
  voice.source.onended = () => band.sources.delete(voice.source);
}

/** Keep a scheduled voice sounding from its release at `from` until `to`; false if its sample runs out first. */
function hold(voice, from, to) {
  if (to > voice.end - RELEASE) return false;
  try {
    voice.source.stop(Math.min(to + RELEASE * 4, voice.end)); // a later stop() replaces the earlier one
  } catch (_) {
    return false; // already stopped
  }
  voice.gain.gain.cancelScheduledValues(from); // the release that began at `from`
  release(voice, to);
  return true;
}

/** A tied note on the MIDI output: true when the note-off held back at `when` is now the tied note's to send. */
function tiedOnOutput(key, when) {
  const held = band.held.get(key);
  if (!held || held.output !== band.output || Math.abs(held.at - when) > TIE_SLACK) return false;
  band.held.delete(key);
  return true;
}

/** A tied note in the page: true when the voice that was to end at `when` sounds on until `end` instead. */
function tiedInPage(key, when, end, isDrum) {
  const last = band.voices.get(key);
  if (!last || Math.abs(last.end - when) > TIE_SLACK) return false;
  if (!isDrum && !hold(last.voice, last.end, end)) return false; // a drum is simply not struck again
  last.end = end;
  return true;
}

/**
 * Play track `index`'s `pitch` at `when` (seconds of the audio clock) for `seconds`, or send it to the MIDI out.
 * `tied`: the note goes on from the bar before, held rather than struck; `barLine`: when the note's bar ends (a
 * MIDI note-off there waits for `releaseHeld`). Returns true when a tied note was held, false when it was struck.
 */
export function playNote(index, pitch, when, seconds, velocity, { tied = false, barLine = null } = {}) {
  const ctx = audioContext();
  const track = band.tracks[index];
  if (!ctx || !track) return false;
  const key = noteKey(index, pitch);
  const end = when + seconds;
  if (band.output) {
    const channel = band.channels[index];
    const held = tied && tiedOnOutput(key, when);
    if (!held) {
      releaseHeld(Infinity, key); // a note-off held at this bar line goes before the note struck on it
      band.output.send([0x90 | channel, pitch, velocity], midiTime(when));
    }
    if (barLine !== null && Math.abs(end - barLine) <= TIE_SLACK) {
      band.held.set(key, { output: band.output, channel, pitch, at: end });
    } else band.output.send([0x80 | channel, pitch, 0], midiTime(end));
    return held;
  }
  if (tied && tiedInPage(key, when, end, track.is_drum)) return true;
  const bank = band.banks.get(bankUrl(track.program, track.is_drum));
  const voice =
    (bank && sample(bank, track.is_drum ? "drums" : "pitched", pitch, when, velocity, band.out)) ||
    synth(pitch, when, seconds, velocity, track.is_drum, band.out);
  release(voice, track.is_drum ? voice.end : end);
  band.voices.set(key, { voice, end });
  return false;
}

/**
 * Send the MIDI note-offs held back at bar lines up to `until` (seconds of the audio clock), at their bar lines:
 * once the next bar is scheduled (what is not tied to them ends there), or when its answer is late. `only`: the
 * one track and pitch ("track:pitch").
 */
export function releaseHeld(until, only = null) {
  for (const [key, held] of band.held) {
    if (held.at > until + TIE_SLACK || (only !== null && key !== only)) continue;
    band.held.delete(key);
    held.output.send([0x80 | held.channel, held.pitch, 0], midiTime(held.at));
  }
}

/** Silence everything scheduled (Stop): the page's voices now, the MIDI output with "all notes off". */
export function silence() {
  for (const source of band.sources) {
    try {
      source.stop();
    } catch (_) {
      // not started yet or already stopped
    }
  }
  band.sources.clear();
  band.voices.clear();
  releaseHeld(Infinity); // a note already sent to the output still gets its note-off
  if (band.output) for (const channel of new Set(band.channels)) band.output.send([0xb0 | channel, 123, 0]);
}

/** The player's own notes on the piano bank while jamming (keyboard.js setVoice); null without the bank. */
export function playerVoice() {
  const bank = band.banks.get(bankUrl(PLAYER_PROGRAM, false));
  const ctx = audioContext();
  if (!bank || !ctx) return null;
  const down = new Map();
  return {
    on(pitch, velocity) {
      const voice = down.has(pitch) ? null : sample(bank, "pitched", pitch, ctx.currentTime, velocity, ctx.destination);
      if (voice) down.set(pitch, voice);
    },
    off(pitch) {
      const voice = down.get(pitch);
      if (!voice) return;
      down.delete(pitch);
      release(voice, ctx.currentTime);
    },
  };
}
