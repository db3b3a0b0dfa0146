// museforge studio, models page: the loss chart and one chart per music metric, each with a short plain-language
// note for learners (what the number is and which way is good), drawn from a run's per-epoch records.
import { $, el } from "./common.js";
import { PALETTE, drawLineChart } from "./draw.js";

/** What each metric says, in a sentence a learner can follow (the metrics are in museforge.metrics). */
export const METRIC_HELP = {
  empty_bar_rate: "Share of bars where the track is silent. Near the training data's is right; far above means the model has not learnt to play yet.",
  used_pitch_classes: "How many of the 12 note names (C, C#, D…) a bar uses. Random noise uses nearly all 12; real music far fewer.",
  qualified_note_rate: "Share of notes at least a 32nd long. Early models write many flickering blips; this rises as notes become real.",
  one_step_note_rate: "Share of notes only one grid step long: flicker. It should fall toward the training data's.",
  in_scale_rate: "Share of notes that belong to the best-fitting major or minor scale: does the track sound in one key?",
  key_fit: "Share of notes in the melody's own key: does the accompaniment agree with the tune?",
  melody_in_scale_rate: "Share of notes in the melody's scale, measured bar by bar.",
  consonance: "Share of notes that sound pleasant against the melody note heard at the same time (octaves, thirds, fifths, sixths).",
  melody_doubling: "How often the track just plays the melody's own note. A little is normal; a lot means it copies the tune.",
  polyphonic_rate: "Share of moments with two or more notes at once: chords (a piano) against single lines (a bass).",
  semitone_cluster_rate: "Share of chords with two notes a semitone apart: a harsh clash that real accompaniment rarely has.",
  pitch_range: "Semitones between the lowest and highest note. Too wide sounds random; too narrow sounds stuck.",
  out_of_range_rate: "Share of notes the track's instrument cannot play (a bass note below the real bass's lowest string).",
  pitches_per_step: "Notes sounding at once, on average. Hundreds of tiny values at the start mean the model is still guessing.",
  drum_pattern_rate: "Share of drum hits on the 8th- and 16th-note grid: a steady groove rather than scattered hits.",
  drum_repetition: "How much one bar of drums repeats the bar before: real grooves repeat.",
  backbeat_rate: "Share of bars with a snare on the backbeat (beats 2 and 4 in 4/4): the feel of rock and pop.",
  crowded_window_rate: "Share of windows where all the tracks together play too many notes at once to sound like music.",
  notes_per_step: "Notes of all the tracks sounding at once, on average.",
  key_fit_with_prompt: "Share of the new notes in the key of the melody it continues.",
  mean_note_length: "Average length of the new notes, in beats.",
  short_note_rate: "Share of very short notes in the continuation: flicker against rhythm.",
  mean_interval: "Average jump between consecutive notes, in semitones: small steps sing, big leaps sound random.",
  notes_per_bar: "New notes per bar: how busy the continuation is.",
  repeated_bar_rate: "Share of new bars that repeat an earlier bar: a little repetition makes a tune; a lot is a loop.",
};

/** What the loss chart shows, for the caption under it. */
export const LOSS_HELP = {
  gan: "The discriminator (critic) learns to tell real music from the generator's; the generator learns to fool it. " +
    "The losses do not fall to zero as in other learning: they pull against each other. The Wasserstein estimate is " +
    "how far apart the critic finds real and generated music; it shrinks as the generator gets better.",
  other: "How wrong the model's guesses of held-back notes are, on the training data (loss) and on music it never trains " +
    "on (validation loss). Both should fall; a validation loss rising again means the model is memorising.",
};

export function flatMetrics(metrics) {
  // {role: {name: value}} or {name: value} -> Map "name" -> Map role -> value
  const out = new Map();
  if (!metrics || typeof metrics !== "object") return out;
  for (const [key, value] of Object.entries(metrics)) {
    if (value && typeof value === "object") {
      for (const [name, v] of Object.entries(value)) {
        if (!out.has(name)) out.set(name, new Map());
        out.get(name).set(key, Number(v));
      }
    } else {
      if (!out.has(key)) out.set(key, new Map());
      out.get(key).set("", Number(value));
    }
  }
  return out;
}

/** A record's metrics as [generated, training data] (either layout the runs have written). */
export function splitMetrics(record) {
  const m = record.metrics || {};
  if (m.generated || m.training_data) return [m.generated, m.training_data];
  return [record.metrics, record.train_metrics];
}

/** Draw the loss chart and the metric charts of `epochs` (a run's records, in order), each marked at the epoch
 * `marker` (the one chosen in the epoch browser; none when null). `inside` are points inside the epoch being
 * trained, `{x, losses}` (x: the epochs done plus the share of this one): the loss lines run through them. */
export function drawCharts(epochs, marker = null, inside = []) {
  const number = (v) => (v === null || v === undefined ? NaN : Number(v));
  // GANs log the generator's loss, the critic's whole loss (a WGAN-GP critic's includes 10x its gradient
  // penalty) and the Wasserstein estimate (mean critic score of real minus generated music); the AR-CNN and
  // Transformer one loss and its validation twin. Lines a run does not log are left out.
  const lines = [
    ["generator_loss", "generator loss", "#1f77b4"],
    ["discriminator_loss", "critic loss (with gradient penalty)", "#ff7f0e"],
    ["wasserstein_estimate", "Wasserstein estimate (real - generated score)", "#2ca02c"],
    ["loss", "loss", "#9467bd"],
    ["validation_loss", "validation loss", "#8c564b"],
  ];
  const drawn = lines
    .map(([key, label, color]) => ({
      key,
      label,
      color,
      points: epochs
        .map((r) => [r.epoch, number(r[key])])
        .concat(inside.map((p) => [p.x, number(p.losses[key])]))
        .sort((a, b) => a[0] - b[0]),
    }))
    .filter((s) => s.points.some((p) => Number.isFinite(p[1])));
  drawLineChart($("#loss-chart"), drawn, { xLabel: "epoch", marker });
  const gan = drawn.some((s) => s.key === "generator_loss");
  $("#loss-help").textContent = drawn.length ? LOSS_HELP[gan ? "gan" : "other"] : "";

  const generated = epochs.map((r) => flatMetrics(splitMetrics(r)[0]));
  const reference = epochs.map((r) => flatMetrics(splitMetrics(r)[1]));
  const names = [];
  const roles = [];
  for (const table of [...generated, ...reference]) {
    for (const [name, byRole] of table) {
      if (!names.includes(name)) names.push(name);
      for (const role of byRole.keys()) if (!roles.includes(role)) roles.push(role);
    }
  }
  const container = $("#metric-charts");
  const existing = new Map([...container.querySelectorAll("canvas")].map((c) => [c.dataset.metric, c]));
  for (const name of names) {
    let canvas = existing.get(name);
    if (!canvas) {
      canvas = el("canvas", { class: "chart mini", "data-metric": name });
      const help = METRIC_HELP[name];
      container.append(el("figure", { class: "metric-chart", "data-metric": name }, canvas,
        help ? el("figcaption", { class: "chart-help", text: help }) : null));
    }
    const series = [];
    roles.forEach((role, index) => {
      const color = PALETTE[index % PALETTE.length];
      const mine = epochs.map((r, i) => [r.epoch, generated[i].get(name)?.get(role) ?? NaN]);
      const target = epochs.map((r, i) => [r.epoch, reference[i].get(name)?.get(role) ?? NaN]);
      if (mine.some((p) => Number.isFinite(p[1]))) series.push({ label: role || "generated", color, points: mine });
      if (target.some((p) => Number.isFinite(p[1]))) {
        series.push({ label: "", color, dashed: true, step: true, points: target });
      }
    });
    if (series.some((s) => s.dashed)) series.push({ label: "training data", color: "#667085", dashed: true, points: [] });
    drawLineChart(canvas, series, { title: name.replaceAll("_", " "), marker });
  }
}
