// museforge studio, models page: the epoch browser. After every epoch the trainer writes a sample, the generator's
// accompaniment of the same melody (MIDI and a piano-roll picture); a slider goes through them, each playable, with
// the epoch's losses and a few metrics, the charts marked at the chosen epoch, and a second pane with the latest
// epoch beside it to compare.
import { api, showError } from "./api.js";
import { $, el } from "./common.js";
import { LOSS_HELP, METRIC_HELP, flatMetrics, splitMetrics } from "./charts.js";
import { playRoll, stopPreview } from "./player.js";

// The losses a pane shows (those the run logs) and the metrics it picks, the first three the run measures.
const LOSSES = [
  ["generator_loss", "generator loss"],
  ["discriminator_loss", "critic loss"],
  ["loss", "loss"],
  ["validation_loss", "validation loss"],
];
const KEY_METRICS = ["empty_bar_rate", "key_fit", "consonance", "in_scale_rate", "qualified_note_rate",
  "key_fit_with_prompt", "short_note_rate", "notes_per_bar"];
const SHOWN_METRICS = 3;
const NOT_PERCENT = ["used_pitch_classes", "pitch_range", "pitches_per_step", "notes_per_step", "mean_note_length",
  "mean_interval", "notes_per_bar"];

const browser = {
  model: null,
  records: [], // the run's records that have a sample, in epoch order
  index: 0, // the slider's position in `records`
  metrics: [], // the metrics the panes show
  rolls: new Map(), // MIDI address -> its piano roll (fetched once, to play)
  onChoose: () => {},
};

/** The sample files of a record: its `sample` paths, or (older records) the epoch's names in `files`. */
function sampleOf(record, files) {
  const base = (path) => (path ? String(path).split("/").pop() : null);
  if (record.sample && record.sample.png) return { png: base(record.sample.png), midi: base(record.sample.midi) };
  const name = `epoch_${String(record.epoch).padStart(3, "0")}`;
  if (files && files.includes(`${name}.png`)) return { png: `${name}.png`, midi: files.includes(`${name}.mid`) ? `${name}.mid` : null };
  return null;
}

function sampleUrl(file) {
  return `/api/models/${encodeURIComponent(browser.model)}/samples/${file}`;
}

/** The mean of a metric over the tracks (the roles) that measure it; NaN when none does. */
function meanOf(byRole) {
  const values = byRole ? [...byRole.values()].filter(Number.isFinite) : [];
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function formatMetric(name, value) {
  if (!Number.isFinite(value)) return "–";
  return NOT_PERCENT.includes(name) ? value.toFixed(1) : `${Math.round(100 * value)} %`;
}

function formatLoss(value) {
  const number = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(number) ? number.toFixed(3) : "–";
}

/** The metrics the panes show: the first of KEY_METRICS the run measures (else its first ones). */
function shownMetrics(records) {
  const names = new Set(records.flatMap((r) => [...flatMetrics(splitMetrics(r)[0]).keys()]));
  const known = KEY_METRICS.filter((name) => names.has(name) && name !== "empty_bar_rate");
  // empty bars first when the run measures it: the plainest sign of a model that has not learnt to play yet
  const picked = (names.has("empty_bar_rate") ? ["empty_bar_rate"] : []).concat(known);
  const rest = [...names].filter((name) => !picked.includes(name));
  return picked.concat(rest).slice(0, SHOWN_METRICS);
}

// ------------------------------------------------------------------------------------------------ the panes
function makePane(role) {
  const pane = el("figure", { class: "epoch-pane", "data-pane": role, hidden: role === "latest" });
  const title = el("strong", { class: "epoch-title" });
  const play = el("button", { class: "small epoch-play", type: "button", text: "▶ Play" });
  const img = el("img", { class: "sample-img epoch-img", alt: "" });
  const bar = el("div", { class: "progress thin epoch-listen", title: "where the music is" }, el("div"));
  const facts = el("dl", { class: "epoch-facts" });
  pane.append(el("figcaption", { class: "epoch-head" }, title, play), el("div", { class: "epoch-picture" }, img, bar), facts);
  play.addEventListener("click", () => togglePlay(pane));
  return pane;
}

/** Show `record` (and the epoch it is, of the last one) in `pane`. */
function fillPane(pane, record, latest) {
  const sample = record.sample_files;
  const changed = pane.dataset.epoch !== String(record.epoch);
  if (changed && pane.dataset.playing) stopPreview();
  pane.dataset.epoch = String(record.epoch);
  pane.dataset.midi = sample.midi || "";
  const partial = record.complete === false ? " (partial)" : "";
  $(".epoch-title", pane).textContent = `Epoch ${record.epoch}${partial}${record === latest ? " · latest" : ""}`;
  const img = $(".epoch-img", pane);
  const src = sampleUrl(sample.png);
  if (img.getAttribute("src") !== src) img.src = src;
  img.alt = `the piano roll the generator wrote after epoch ${record.epoch}`;
  $(".epoch-play", pane).disabled = !sample.midi;

  const facts = [];
  for (const [key, label] of LOSSES) {
    if (record[key] === null || record[key] === undefined) continue;
    facts.push([label, [formatLoss(record[key])], key]);
  }
  const [generated, reference] = splitMetrics(record).map(flatMetrics);
  for (const name of browser.metrics) {
    const value = [formatMetric(name, meanOf(generated.get(name)))];
    const target = meanOf(reference.get(name));
    if (Number.isFinite(target)) {
      value.push(" ", el("span", { class: "reference", text: `(training data ${formatMetric(name, target)})` }));
    }
    facts.push([name.replaceAll("_", " "), value, name]);
  }
  $(".epoch-facts", pane).replaceChildren(...facts.flatMap(([label, value, key]) => [
    el("dt", { text: label, title: METRIC_HELP[key] || "" }),
    el("dd", { "data-key": key }, ...value),
  ]));
}

/** Fill the bar under a sample's picture as it plays (the player's `place`). */
function showListened(fill, _canvas, roll, step) {
  if (step === null) {
    fill.style.width = "0";
    delete fill.dataset.step;
    return;
  }
  fill.style.width = `${(100 * Math.min(step, roll.n_steps)) / Math.max(1, roll.n_steps)}%`;
  fill.dataset.step = String(Math.round(step));
}

async function rollOf(url) {
  if (!browser.rolls.has(url)) browser.rolls.set(url, await api(url));
  return browser.rolls.get(url);
}

async function togglePlay(pane) {
  const button = $(".epoch-play", pane);
  if (pane.dataset.playing) {
    stopPreview();
    return;
  }
  showError($("#epoch-error"), null);
  const midi = pane.dataset.midi;
  if (!midi) return;
  button.disabled = true;
  let roll;
  try {
    roll = await rollOf(`${sampleUrl(midi)}/roll`);
  } catch (error) {
    showError($("#epoch-error"), error);
    return;
  } finally {
    button.disabled = false;
  }
  if (pane.dataset.midi !== midi) return; // the slider moved on while the roll loaded
  const fill = $(".epoch-listen > div", pane);
  playRoll(roll, null, fill, () => {
    button.textContent = "▶ Play";
    delete pane.dataset.playing;
  }, showListened);
  button.textContent = "■ Stop";
  pane.dataset.playing = "1";
}

// ------------------------------------------------------------------------------------------------ the browser
function render() {
  const records = browser.records;
  const card = $("#epoch-browser");
  card.hidden = records.length === 0;
  if (!records.length) return;
  const chosen = records[browser.index];
  const latest = records[records.length - 1];
  const slider = $("#epoch-slider");
  slider.max = String(records.length - 1);
  slider.value = String(browser.index);
  slider.disabled = records.length < 2;
  slider.setAttribute("aria-valuetext", `epoch ${chosen.epoch}`);
  $("#epoch-label").textContent = `Epoch ${chosen.epoch} of ${latest.epoch}`;
  $("#epoch-first").textContent = `epoch ${records[0].epoch}`;
  $("#epoch-last").textContent = `epoch ${latest.epoch}`;
  card.dataset.epoch = String(chosen.epoch);
  const compare = $("#epoch-compare").checked;
  card.dataset.compare = compare ? "1" : "";
  fillPane($('.epoch-pane[data-pane="chosen"]'), chosen, latest);
  const other = $('.epoch-pane[data-pane="latest"]');
  other.hidden = !compare;
  if (compare) fillPane(other, latest, latest);
  else if (other.dataset.playing) stopPreview();
}

/** What the numbers of the panes say, from the charts' own notes (the losses, then each metric shown). */
function fillHelp(records) {
  const gan = records.some((r) => r.generator_loss !== null && r.generator_loss !== undefined);
  const items = [["losses", LOSS_HELP[gan ? "gan" : "other"]]];
  for (const name of browser.metrics) if (METRIC_HELP[name]) items.push([name.replaceAll("_", " "), METRIC_HELP[name]]);
  $("#epoch-numbers").replaceChildren(...items.flatMap(([label, text]) => [el("dt", { text: label }), el("dd", { text })]));
}

/** The epoch chosen on the slider, or null when the model has no sample yet. */
export function chosenEpoch() {
  const record = browser.records[browser.index];
  return record ? record.epoch : null;
}

/**
 * Show the epochs of `model` that have a sample (`epochs`: its records in order; `files`: the model's sample file
 * names, for records that do not name theirs). The chosen epoch stays chosen; a slider at the last epoch follows
 * new ones as training adds them.
 */
export function showEpochs(model, epochs, files = null) {
  const sameModel = model === browser.model;
  const before = sameModel ? chosenEpoch() : null;
  const atLatest = !sameModel || browser.index >= browser.records.length - 1;
  if (!sameModel) {
    stopPreview();
    browser.rolls.clear();
    showError($("#epoch-error"), null);
  }
  browser.model = model;
  browser.records = epochs
    .map((record) => ({ ...record, sample_files: sampleOf(record, files) }))
    .filter((record) => record.sample_files);
  browser.metrics = shownMetrics(browser.records);
  const kept = browser.records.findIndex((r) => r.epoch === before);
  browser.index = atLatest || kept < 0 ? Math.max(0, browser.records.length - 1) : kept;
  fillHelp(browser.records);
  render();
}

/** Wire the slider and the compare box; `onChoose(epoch)` runs when the chosen epoch changes (to mark the charts). */
export function setupEpochBrowser(onChoose) {
  browser.onChoose = onChoose;
  $("#epoch-panes").replaceChildren(makePane("chosen"), makePane("latest"));
  $("#epoch-slider").addEventListener("input", (event) => {
    browser.index = Math.min(Number(event.target.value), browser.records.length - 1);
    render();
    browser.onChoose(chosenEpoch());
  });
  $("#epoch-compare").addEventListener("change", render);
}
