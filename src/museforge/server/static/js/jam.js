// museforge studio, jam mode: play along with a band. The page keeps the time on the Web Audio clock: bar k starts
// at a known time of the AudioContext, and a little before it ends (the lookahead, a few times the server's recent
// answer times) the page sends the bar's notes over a WebSocket (/api/jam); the server answers with the band's next
// bar, which is scheduled on the same clock before that bar begins. Notes played after a bar was sent go with the
// next bar as pickups (before its downbeat), kept where they were played. The band's notes are [track, pitch,
// start_beat, duration_beats, velocity, tied]: a tied note goes on from the bar before (held over the bar line), so
// it is not struck again (jam_audio.js holds it). `window.museforgeJam.log` says, per bar, when its accompaniment was
// scheduled against when the bar began, and how many tied notes were held. A tempo change applies from the next bar
// whose timing is not fixed yet: the server counts beats, so it cannot break the jam.
import { api, showError } from "./api.js";
import { $, el } from "./common.js";
import { audioContext, listen, midi, setVoice } from "./keyboard.js";
import { METERS, metronome } from "./recorder.js";
import { loadBand, playNote, playerVoice, releaseHeld, setOutput, silence } from "./jam_audio.js";
import { clearCounter, drawJam, followJam, showCounter } from "./jam_view.js";

const LOOKAHEAD = { first: 0.25, least: 0.15, share: 0.25 }; // seconds; at most a quarter of the bar
const SNAP_BEATS = 0.125; // a note this little before a downbeat is played on it
const START_DELAY = 0.3; // seconds from the band being ready to the count-in's first click
const TRIPS_KEPT = 8;
const TEMPO_RANGE = [40, 240];
const TICK_MS = 10;
const HOLD_LIMIT = 0.02 + TICK_MS / 1000; // seconds: a MIDI note-off held at a bar line goes out this long before it

const jam = fresh();
let onSaved = () => {};

function fresh() {
  return {
    state: "idle", // idle | connecting | loading | count-in | playing | stopped | saving | saved
    socket: null,
    model: "",
    meter: METERS["4/4"],
    tempo: 120,
    countIn: 1,
    tracks: [],
    beatsPerBar: 4,
    t0: 0,
    bars: [], // bars[k] = {start, spb}: bar k's start on the audio clock and its seconds per beat
    nextSend: 0, // the bar whose notes go to the server next
    cut: 0, // the notes played from here on belong to bar nextSend
    notes: [], // the player's notes {pitch, velocity, on, off} in seconds of the audio clock
    sent: new Map(), // bar -> the notes sent for it, [[pitch, start_beat, duration_beats, velocity]]
    band: new Map(), // bar -> the band's notes [[track, pitch, start_beat, duration_beats, velocity, tied]]
    sentAt: new Map(), // bar -> when the message answered by its accompaniment was sent
    trips: [],
    lookahead: LOOKAHEAD.first,
    log: [],
    clicked: 0, // bars whose metronome clicks are scheduled
    loaded: false,
    firstServerMs: null,
    timer: null,
    frame: null,
    roll: null,
    drawn: null,
    dirty: true,
  };
}

const now = () => audioContext().currentTime;

/** Bar k's timing, fixed (at the tempo of the moment) the first time it is needed. */
function timing(k) {
  while (jam.bars.length <= k) {
    const last = jam.bars[jam.bars.length - 1];
    const start = last ? last.start + jam.beatsPerBar * last.spb : jam.t0;
    jam.bars.push({ start, spb: 60 / jam.tempo });
  }
  return jam.bars[k];
}

const barEnd = (k) => timing(k).start + jam.beatsPerBar * timing(k).spb;

/** The bar playing at time `t` of the audio clock (-1 in the count-in). */
function barAt(t) {
  if (t < jam.t0) return -1;
  let k = Math.max(0, jam.nextSend - 1);
  while (barEnd(k) <= t) k += 1;
  return k;
}

/** The player's notes from `jam.cut` until `until`, as bar k's notes in beats: a note before the downbeat is a
 * pickup (a negative start) unless it is only a hair early, or the jam's first bar; a key still down lasts to the
 * bar's end (or to `held`, for the view). */
function barNotes(k, until, held = null) {
  const { start, spb } = timing(k);
  const end = barEnd(k);
  const r = (x) => Math.round(x * 10000) / 10000;
  return jam.notes
    .filter((n) => n.on >= jam.cut && n.on < Math.min(until, end))
    .map((n) => {
      const played = (n.on - start) / spb;
      const first = played < 0 && (k === 0 || played > -SNAP_BEATS) ? 0 : played;
      const last = Math.min(jam.beatsPerBar, ((n.off === null ? held ?? end : n.off) - start) / spb);
      return [n.pitch, r(first), r(Math.max(0.05, last - first)), Math.max(1, Math.min(127, n.velocity))];
    });
}

function send(message) {
  if (jam.socket && jam.socket.readyState === WebSocket.OPEN) jam.socket.send(JSON.stringify(message));
}

function sendBar(k) {
  const t = now();
  const notes = barNotes(k, t);
  jam.cut = Math.min(t, barEnd(k));
  jam.sent.set(k, notes);
  jam.sentAt.set(k + 1, t);
  jam.nextSend = k + 1;
  send({ type: "bar", bar: k, notes });
}

/** Schedule the band's bar j on the audio clock (what is already past is dropped) and log how early it was, and
 * how many of its tied notes were held on (`tied`) or struck again (`tied_struck`: nothing left to hold). */
function schedule(j, notes, serverMs) {
  const t = now();
  const { start, spb } = timing(j);
  const barLine = barEnd(j);
  let dropped = 0;
  let tied = 0;
  let struck = 0;
  for (const [track, pitch, beat, length, velocity, tie] of notes) {
    const when = start + beat * spb;
    if (when < t) dropped += 1;
    else if (playNote(track, pitch, when, length * spb, velocity, { tied: tie === 1, barLine })) tied += 1;
    else if (tie === 1) struck += 1;
  }
  releaseHeld(start); // the MIDI note-offs at this downbeat that no tied note goes on from
  const trip = jam.sentAt.has(j) ? Math.round((t - jam.sentAt.get(j)) * 1000) : null;
  jam.log.push({ bar: j, scheduled_at: t, bar_start: start, lead_ms: (start - t) * 1000, server_ms: serverMs, round_trip_ms: trip, notes: notes.length, dropped, late: t > start, tied, tied_struck: struck });
}

/** The clock's work every few ms: send bars as their end comes near, clicks, count-in to playing. */
function tick() {
  const t = now();
  if (jam.state === "count-in" && t >= jam.t0) jam.state = "playing";
  if (t >= barEnd(jam.nextSend) + 0.5 * (barEnd(jam.nextSend) - timing(jam.nextSend).start)) {
    const k = barAt(t); // far behind (a sleeping tab): the bars missed go to the server as silent ones
    jam.nextSend = k;
    jam.cut = timing(k).start;
  }
  if (t >= barEnd(jam.nextSend) - jam.lookahead) sendBar(jam.nextSend);
  releaseHeld(t + HOLD_LIMIT); // the next bar's answer is late: its bar line's note-offs go out now
  while (jam.clicked <= Math.max(0, barAt(t)) + 1 && timing(jam.clicked).start < t + 0.5) {
    if ($("#jam-metronome").checked) clicks(timing(jam.clicked).start, 1, timing(jam.clicked).spb);
    jam.clicked += 1;
  }
}

/** Metronome clicks for `bars` bars from `from` (audio clock) at `spb` seconds a beat, with the meter's accents. */
function clicks(from, bars, spb) {
  const every = (jam.beatsPerBar * spb) / jam.meter.clicks;
  for (let i = 0; i < bars * jam.meter.clicks; i++) {
    const inBar = i % jam.meter.clicks;
    metronome(jam.meter.accents.includes(inBar) ? (inBar === 0 ? 2 : 1) : 0, from + i * every);
  }
}

/** Redraw and move the playhead every frame. */
function frame() {
  if (!["count-in", "playing"].includes(jam.state)) return;
  const t = now();
  const bar = barAt(t);
  const first = Math.max(0, bar);
  if (jam.dirty || jam.drawn !== first || jam.notes.some((n) => n.off === null)) { // a held note grows
    jam.roll = drawJam(view(), first);
    jam.drawn = first;
    jam.dirty = false;
  }
  const { start, spb } = timing(first);
  const beat = (t - start) / spb;
  const clickBeats = jam.beatsPerBar / jam.meter.clicks;
  if (bar < 0) {
    showCounter(0, Math.floor((beat + jam.countIn * jam.beatsPerBar) / clickBeats), jam.meter.clicks, Math.ceil(-beat));
    followJam(jam.roll, null);
  } else {
    showCounter(bar, Math.floor(beat / clickBeats), jam.meter.clicks, 0);
    followJam(jam.roll, beat);
  }
  jam.frame = requestAnimationFrame(frame);
}

function view() {
  const t = now();
  const melody = (bar) => jam.sent.get(bar) || (bar === jam.nextSend && jam.bars[bar] ? barNotes(bar, t, t) : []);
  return { tracks: jam.tracks, beatsPerBar: jam.beatsPerBar, band: jam.band, melody };
}

// ------------------------------------------------------------------------------------------------ messages
function received(message) {
  if (message.type === "ready") {
    jam.tracks = message.tracks;
    jam.beatsPerBar = message.beats_per_bar;
    prepare();
  } else if (message.type === "accompaniment") accompaniment(message);
  else if (message.type === "saved") saved(message.composition);
  else if (message.type === "error") failed(message);
}

async function prepare() {
  jam.state = "loading";
  status("Loading the band's instruments…");
  const sound = await loadBand(jam.tracks);
  if (jam.state !== "loading") return; // stopped meanwhile
  $("#jam-sound").textContent = sound === "samples" ? "the studio's General MIDI sounds" : "the page's simple synth";
  setVoice(playerVoice());
  chooseOutput();
  jam.loaded = true;
  begin();
}

/** Start the clock once the band is loaded and its first bar is here: count-in, then bar 0. */
function begin() {
  if (jam.state !== "loading" || !jam.loaded || !jam.band.has(0)) return;
  const barSeconds = jam.beatsPerBar * (60 / jam.tempo);
  jam.t0 = now() + START_DELAY + jam.countIn * barSeconds;
  jam.lookahead = Math.min(LOOKAHEAD.first, LOOKAHEAD.share * barSeconds);
  jam.cut = jam.t0 - jam.lookahead;
  clicks(jam.t0 - jam.countIn * barSeconds, jam.countIn, 60 / jam.tempo);
  jam.state = "count-in";
  schedule(0, jam.band.get(0), jam.firstServerMs);
  jam.timer = setInterval(tick, TICK_MS);
  status(jam.countIn ? "Count-in: play from the next downbeat." : "Play!");
  buttons();
  jam.frame = requestAnimationFrame(frame);
}

function accompaniment(message) {
  jam.band.set(message.bar, message.notes);
  jam.dirty = true;
  if (message.bar === 0) {
    jam.firstServerMs = message.server_ms;
    begin();
    return;
  }
  if (!["count-in", "playing"].includes(jam.state)) return;
  const trip = now() - (jam.sentAt.get(message.bar) ?? now());
  jam.trips = [...jam.trips, trip].slice(-TRIPS_KEPT);
  const most = LOOKAHEAD.share * jam.beatsPerBar * (60 / jam.tempo);
  jam.lookahead = Math.min(most, Math.max(LOOKAHEAD.least, 2 * Math.max(...jam.trips) + 0.05));
  schedule(message.bar, message.notes, message.server_ms);
  status(`Playing · the band answered bar ${message.bar} in ${Math.round(message.server_ms)} ms`);
}

function failed(message) {
  showError($("#jam-error"), new Error(message.detail));
  if (message.request === "start") finish("idle", "The band could not start.");
  else if (message.request === "save") {
    jam.state = "stopped";
    buttons();
  }
}

function saved(composition) {
  finish("saved", `Saved as “${composition.melody.replace(/^jammed:/, "")}”: it is the result below, to regenerate, enhance or extend.`);
  onSaved(composition);
}

// ------------------------------------------------------------------------------------------------ controls
function status(text) {
  $("#jam-status").textContent = text;
  $("#jam-card").dataset.state = jam.state;
}

function buttons() {
  const running = ["connecting", "loading", "count-in", "playing"].includes(jam.state);
  $("#jam-start").disabled = running || jam.state === "saving";
  $("#jam-stop").disabled = !running;
  $("#jam-save").disabled = jam.state !== "stopped" || jam.nextSend < 1;
  $("#jam-card").dataset.state = jam.state;
}

function start() {
  const tempo = Number($("#jam-tempo").value);
  if (!(tempo >= TEMPO_RANGE[0] && tempo <= TEMPO_RANGE[1])) {
    showError($("#jam-error"), new Error(`the tempo must be between ${TEMPO_RANGE[0]} and ${TEMPO_RANGE[1]} bpm`));
    return;
  }
  if (!$("#jam-model").value) {
    showError($("#jam-error"), new Error("no model can play along: none is available"));
    return;
  }
  audioContext();
  closeSocket();
  Object.assign(jam, fresh(), { state: "connecting", tempo, model: $("#jam-model").value });
  jam.meter = METERS[$("#jam-meter").value] || METERS["4/4"];
  jam.countIn = Number($("#jam-count-in").value);
  showError($("#jam-error"), null);
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/jam`);
  jam.socket = socket;
  socket.onopen = () => {
    const [numerator, denominator] = jam.meter.ts;
    send({ type: "start", model: jam.model, numerator, denominator, seed: null, variation: null });
  };
  socket.onmessage = (event) => socket === jam.socket && received(JSON.parse(event.data));
  socket.onclose = (event) => socket === jam.socket && closed(event);
  status("Connecting to the band…");
  buttons();
}

/** Stop playing; the bar under way goes to the server if anything was played in it, so Save keeps it. */
function stop() {
  if (["count-in", "playing"].includes(jam.state)) {
    const t = now();
    const bar = barAt(t);
    if (bar >= jam.nextSend && barNotes(bar, t).length) sendBar(bar);
  }
  finish("stopped", jam.nextSend ? `Stopped after ${jam.nextSend} bars: save the jam, or start again.` : "Stopped.");
}

/** Leave the running state: timers off, the band silent, the player's voice back. */
function finish(state, text) {
  clearInterval(jam.timer);
  cancelAnimationFrame(jam.frame);
  silence();
  setVoice(null);
  jam.state = state;
  clearCounter(state === "saved" ? "Saved" : "Stopped");
  if (state !== "stopped" || jam.nextSend === 0) {
    send({ type: "stop" }); // nothing to save: the server frees the jam now
    closeSocket();
  }
  status(text);
  buttons();
}

/** The jam's tempo as played: the first bar's, and each change as [bar, bpm] (bars sent to the server only). */
function tempoMap() {
  const bpm = (k) => Math.round((60 / jam.bars[k].spb) * 1000) / 1000;
  const changes = [];
  for (let k = 1; k < Math.min(jam.nextSend, jam.bars.length); k++) if (bpm(k) !== bpm(k - 1)) changes.push([k, bpm(k)]);
  return { tempo: jam.bars.length ? bpm(0) : jam.tempo, tempos: changes };
}

function save() {
  if (jam.state !== "stopped") return;
  jam.state = "saving";
  send({ type: "save", name: $("#jam-name").value, ...tempoMap() });
  status("Saving the jam…");
  buttons();
}

function closed(event) {
  jam.socket = null;
  if (["saved", "idle"].includes(jam.state)) return;
  const why = event.reason ? `: ${event.reason}` : "";
  finish("idle", `The connection to the band closed (${event.code}${why}).`);
}

function closeSocket() {
  const socket = jam.socket;
  jam.socket = null;
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
}

function chooseOutput() {
  const access = midi();
  const id = $("#jam-midi-out").value;
  setOutput(access && id ? access.outputs.get(id) || null : null);
}

function fillOutputs(access) {
  const select = $("#jam-midi-out");
  const chosen = select.value;
  const outputs = [...access.outputs.values()];
  select.replaceChildren(el("option", { value: "", text: "none: play in the page" }), ...outputs.map((o) => el("option", { value: o.id, text: o.name })));
  select.value = outputs.some((o) => o.id === chosen) ? chosen : "";
}

function setTempo() {
  const tempo = Number($("#jam-tempo").value);
  if (!(tempo >= TEMPO_RANGE[0] && tempo <= TEMPO_RANGE[1])) return;
  jam.tempo = tempo;
  if (["count-in", "playing"].includes(jam.state)) status(`Tempo ${tempo} bpm from bar ${jam.bars.length + 1}.`);
}

/** The player's notes while the band plays, on the audio clock (a key event is handled as it happens). */
function heard(note) {
  if (!["count-in", "playing"].includes(jam.state)) return;
  const at = now() - (performance.now() - note.time) / 1000;
  if (note.on) jam.notes.push({ pitch: note.pitch, velocity: note.velocity, on: at, off: null });
  else {
    const open = jam.notes.findLast((n) => n.pitch === note.pitch && n.off === null);
    if (open) open.off = at;
  }
  jam.dirty = true;
}

/** Stop the jam if it runs (the page leaves jam mode). */
export function leaveJam() {
  if (["connecting", "loading", "count-in", "playing"].includes(jam.state)) stop();
}

/** Wire jam mode: `saved(composition)` gets each saved jam, to show it as the studio's result. */
export async function initJam(savedJam) {
  onSaved = savedJam;
  listen(heard);
  midi(fillOutputs);
  $("#jam-start").addEventListener("click", start);
  $("#jam-stop").addEventListener("click", stop);
  $("#jam-save").addEventListener("click", save);
  $("#jam-tempo").addEventListener("input", setTempo);
  $("#jam-midi-out").addEventListener("change", chooseOutput);
  buttons();
  try {
    const composers = await api("/api/composers");
    $("#jam-model").replaceChildren(...composers.map((c) => el("option", { value: c.name, text: c.kind === "pretrained" ? `${c.name} (genre)` : `${c.name} (your model)` })));
  } catch (error) {
    showError($("#jam-error"), error);
  }
}

// what the browser tests read: the per-bar log, the state, and when a beat of the jam falls (performance.now() ms)
window.museforgeJam = {
  get log() {
    return jam.log;
  },
  get state() {
    return jam.state;
  },
  get lookahead() {
    return jam.lookahead;
  },
  get bar() {
    return jam.state === "playing" ? barAt(now()) : -1;
  },
  whenBeat(bar, beat) {
    const { start, spb } = timing(bar);
    return performance.now() + (start + beat * spb - now()) * 1000;
  },
  /** The jam's beat at `ms` of performance.now(), counted from bar 0's downbeat in whole bars (fixes no bar). */
  beatAt(ms) {
    const t = now() + (ms - performance.now()) / 1000;
    let k = 0;
    while (k < jam.bars.length - 1 && t >= jam.bars[k + 1].start) k += 1;
    const { start, spb } = jam.bars[k] || { start: jam.t0, spb: 60 / jam.tempo };
    return k * jam.beatsPerBar + (t - start) / spb;
  },
};
