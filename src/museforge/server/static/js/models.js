// museforge studio, models page: train a model, watch its losses and metrics live, stop/resume, manage models
// (the epoch browser, a slider over the samples written after each epoch, is epochs.js).
import { api, showError, showHealth } from "./api.js";
import { $, el, formatTime } from "./common.js";
import { drawCharts as drawRecords } from "./charts.js";
import { chosenEpoch, setupEpochBrowser, showEpochs } from "./epochs.js";

const FINAL = ["completed", "failed", "stopped", "interrupted"];
const state = {
  options: null,
  watched: null, // {jobId, modelName} or {modelName}
  epochs: [],
  inside: [], // the loss chart's points inside the epoch being trained: {x, losses}
  stream: null,
};

// ------------------------------------------------------------------------------------------------ the form
function rangeHint(spec) {
  const parts = [];
  if (spec.min !== undefined && spec.max !== undefined) parts.push(`${spec.min}–${spec.max}`);
  if (spec.default !== undefined) parts.push(`default ${spec.default}`);
  return parts.join(", ");
}

async function loadOptions() {
  const options = await api("/api/training/options");
  state.options = options;
  const genre = $("#f-genre");
  genre.replaceChildren(...options.genres.map((g) =>
    el("option", { value: g.value, text: g.dataset_built === false ? `${g.value} (dataset not built)` : g.value })));
  $("#f-architecture").replaceChildren(...options.architectures.map((a) => el("option", { value: a.value, text: a.label })));
  $("#f-loss").replaceChildren(...options.losses.map((l) => el("option", { value: l.value, text: l.label })));
  for (const [name, spec] of Object.entries(options.fields)) {
    const input = $(`#f-${name}`);
    if (!input) continue;
    if (spec.min !== undefined) input.min = spec.min;
    if (spec.max !== undefined) input.max = spec.max;
    input.value = spec.default;
    const hint = $(`#f-${name}-hint`);
    if (hint) hint.textContent = rangeHint(spec);
  }
  $("#f-loss").value = options.fields.loss.default;
  if (options.fields.size) $("#f-size").value = options.fields.size.default;
  const syncArchitecture = () => {
    const chosen = options.genres.find((g) => g.value === genre.value);
    if (!chosen) return;
    $("#f-architecture").value = chosen.architecture;
    $("#f-architecture-hint").textContent = `default for ${chosen.value}: ${chosen.architecture}`;
    $("#f-genre-hint").textContent = chosen.dataset_built === false ? "not built yet: build it under Datasets below" : "";
  };
  genre.addEventListener("change", syncArchitecture);
  state.syncGenre = syncArchitecture;
  syncArchitecture();
  scheduleEstimate();
}

/** Mark the genre choices built or not (after a dataset build finishes). */
function markBuilt(datasets) {
  if (!state.options) return;
  for (const dataset of datasets) {
    const genre = state.options.genres.find((g) => g.value === dataset.genre);
    if (genre) genre.dataset_built = dataset.built;
    const option = $(`#f-genre option[value="${dataset.genre}"]`);
    if (option) option.textContent = dataset.built ? dataset.genre : `${dataset.genre} (dataset not built)`;
  }
  if (state.syncGenre) state.syncGenre();
}

function formBody() {
  const body = {
    name: $("#f-name").value.trim(),
    genre: $("#f-genre").value,
    architecture: $("#f-architecture").value,
    loss: $("#f-loss").value,
    size: $("#f-size").value,
  };
  for (const name of ["epochs", "learning_rate", "update_ratio", "batch_size", "max_steps", "seed"]) {
    const text = $(`#f-${name}`).value.trim();
    if (text !== "") body[name] = Number(text);
  }
  const config = $("#f-model_config").value.trim();
  if (config) {
    try {
      body.model_config = JSON.parse(config);
    } catch (_) {
      throw new Error("model config must be JSON, e.g. {\"base_channels\": 4}");
    }
  }
  return body;
}

/** Show the estimated length of the run the form describes (asked again a moment after each change). */
let estimateTimer = null;
function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(async () => {
    const line = $("#train-estimate");
    try {
      const body = formBody();
      if (!body.name) body.name = "estimate";
      const estimate = await api("/api/training/estimate", { method: "POST", json: body });
      line.textContent = estimate.text.replace(/^estimated time: /, "Estimated time: ");
    } catch (_) {
      line.textContent = ""; // the form is not valid yet; submitting says why
    }
  }, 300);
}
$("#train-form").addEventListener("input", scheduleEstimate);
$("#train-form").addEventListener("change", scheduleEstimate);

$("#train-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#train-form").classList.add("submitted"); // invalid fields turn red once the user has tried to submit
  showError($("#train-error"), null);
  try {
    const job = await api("/api/jobs", { method: "POST", json: formBody() });
    $("#train-status").textContent = `Job queued for ${job.model_name}.`;
    await refreshJobs();
    watchJob(job);
  } catch (error) {
    showError($("#train-error"), error);
  }
});

function drawCharts() {
  const done = state.epochs.length ? state.epochs[state.epochs.length - 1].epoch : 0;
  state.inside = (state.inside || []).filter((p) => p.x > done); // an epoch's record replaces its running means
  drawRecords(state.epochs, chosenEpoch(), state.inside);
}

/** A progress report's running mean losses, as a point of the loss chart inside the epoch it trains. */
function addInsidePoint(progress) {
  if (!progress.losses || !progress.steps_per_epoch || !progress.step_in_epoch) return;
  const x = progress.epoch - 1 + Math.min(1, progress.step_in_epoch / progress.steps_per_epoch);
  state.inside = (state.inside || []).filter((p) => p.x !== x).concat([{ x, losses: progress.losses }]);
  drawCharts();
}

function showSample(modelName, epoch) {
  const img = $("#latest-sample");
  if (!epoch) {
    img.hidden = true;
    $("#no-sample").hidden = false;
    return;
  }
  const probe = new Image();
  probe.onload = () => {
    img.src = probe.src;
    img.hidden = false;
    $("#no-sample").hidden = true;
  };
  probe.src = `/api/models/${encodeURIComponent(modelName)}/samples/latest.png?epoch=${epoch}`;
}

// ------------------------------------------------------------------------------------------------ watching
function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** Steps, samples/s and the time left inside the epoch (or the evaluation after it), from a progress report. */
function showProgress(progress) {
  const text = $("#watch-step-text");
  const bar = $("#watch-epoch-progress");
  $("#watch-card").dataset.phase = progress ? progress.phase : "";
  if (!progress) {
    text.textContent = "";
    bar.style.width = "0";
    return;
  }
  const inEpoch = `step ${progress.step_in_epoch} of ${progress.steps_per_epoch}`;
  const total = Number($("#watch-card").dataset.epochs) || progress.epoch;
  $("#watch-progress-text").textContent = `epoch ${Math.min(progress.epoch, total)} of ${total}`;
  // speed and time left in both phases: when epochs are short, a run spends most of its time evaluating
  const speed = progress.samples_per_s ? ` · ${progress.samples_per_s.toFixed(1)} samples/s` : "";
  const eta = progress.eta_s !== null && progress.eta_s !== undefined ? ` · about ${formatDuration(progress.eta_s)} left` : "";
  if (progress.phase === "evaluating") {
    text.textContent = `· ${inEpoch} done${speed}${eta} · evaluating the epoch: music metrics and a sample…`;
  } else {
    text.textContent = `· ${inEpoch}${speed}${eta}`;
  }
  bar.style.width = `${Math.min(100, (100 * progress.step_in_epoch) / Math.max(1, progress.steps_per_epoch))}%`;
  if (progress.total_steps) {
    $("#watch-progress").style.width = `${Math.min(100, (100 * progress.step) / progress.total_steps)}%`;
  }
}

function setStatus(job, totalEpochs) {
  const badge = $("#watch-status");
  badge.className = `badge ${job.status}`;
  badge.textContent = job.status + (job.stop_requested && job.status === "training" ? " (stopping…)" : "");
  $("#watch-card").dataset.status = job.status;
  const whole = state.epochs.filter((r) => r.complete !== false); // a run ended by max steps logs a partial epoch
  const done = whole.length ? Math.max(...whole.map((r) => r.epoch)) : job.epochs_done || 0;
  const total = totalEpochs || (job.config && job.config.epochs) || done || 1;
  $("#watch-progress").style.width = `${Math.min(100, (100 * done) / total)}%`;
  $("#watch-card").dataset.epochs = String(total);
  // while it trains, the epoch under way ("epoch 1 of 2", as showProgress says it); else the epochs finished
  $("#watch-progress-text").textContent = job.status === "training" ? `epoch ${Math.min(done + 1, total)} of ${total}` : `${done} of ${total} epochs done`;
  if (job.status !== "training") showProgress(null);
  $("#stop-job").hidden = !(job.status === "queued" || job.status === "training");
  $("#resume-job").hidden = !(job.status === "interrupted" || job.status === "stopped");
  const compose = $("#compose-with");
  compose.hidden = !canCompose(job.status);
  compose.href = `/?model=${encodeURIComponent(job.model_name)}`;
  showError($("#watch-error"), job.error ? new Error(job.error) : null);
}

/** Whether a model in this state composes: a finished run, or one stopped at a checkpoint (stop saves first). */
function canCompose(status) {
  return status === "completed" || status === "stopped";
}

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

function watchJob(job) {
  closeStream();
  state.watched = { jobId: job.id, modelName: job.model_name, job };
  state.epochs = [];
  state.inside = [];
  $("#watch-card").hidden = false;
  $("#watch-card").dataset.jobId = job.id;
  $("#watch-title").textContent = `Training ${job.model_name} (${job.config.architecture || job.config.model} on ${job.config.genre})`;
  $("#metric-charts").replaceChildren();
  setStatus(job);
  showEpochs(job.model_name, []);
  drawCharts();
  showSample(job.model_name, 0);
  const stream = new EventSource(`/api/jobs/${job.id}/events`);
  state.stream = stream;
  stream.addEventListener("status", (event) => {
    const current = JSON.parse(event.data);
    state.watched.job = current;
    setStatus(current);
    refreshJobs();
  });
  stream.addEventListener("progress", (event) => {
    if (!state.watched || state.watched.job.status !== "training") return;
    const progress = JSON.parse(event.data);
    showProgress(progress);
    if (progress.phase === "training") addInsidePoint(progress);
  });
  stream.addEventListener("epoch", (event) => {
    const record = JSON.parse(event.data);
    state.epochs = state.epochs.filter((r) => r.epoch !== record.epoch).concat([record]).sort((a, b) => a.epoch - b.epoch);
    showEpochs(job.model_name, state.epochs);
    drawCharts();
    setStatus(state.watched.job);
    showSample(job.model_name, record.epoch);
  });
  stream.addEventListener("end", (event) => {
    const current = JSON.parse(event.data);
    state.watched.job = current;
    setStatus(current);
    closeStream();
    refreshJobs();
    refreshModels();
  });
  stream.onerror = () => {
    if (state.watched && FINAL.includes(state.watched.job.status)) closeStream();
  };
}

async function showModel(name) {
  closeStream();
  try {
    const model = await api(`/api/models/${encodeURIComponent(name)}`);
    state.watched = { modelName: name, job: { ...model, model_name: name, status: model.status, config: model.hyperparameters } };
    state.epochs = model.epochs || [];
    state.inside = [];
    $("#watch-card").hidden = false;
    $("#watch-card").dataset.jobId = "";
    $("#watch-title").textContent = `Model ${name} (${model.architecture} on ${model.genre})`;
    $("#metric-charts").replaceChildren();
    setStatus(state.watched.job, model.hyperparameters && model.hyperparameters.epochs);
    $("#stop-job").hidden = true;
    $("#resume-job").hidden = true;
    showEpochs(name, state.epochs, model.samples);
    drawCharts();
    showSample(name, state.epochs.length ? state.epochs[state.epochs.length - 1].epoch : 0);
  } catch (error) {
    showError($("#models-error"), error);
  }
}

$("#stop-job").addEventListener("click", async () => {
  const watched = state.watched;
  if (!watched || !watched.jobId) return;
  try {
    const job = await api(`/api/jobs/${watched.jobId}/stop`, { method: "POST" });
    watched.job = job;
    setStatus(job);
  } catch (error) {
    showError($("#watch-error"), error);
  }
});

$("#resume-job").addEventListener("click", async () => {
  const watched = state.watched;
  if (!watched || !watched.jobId) return;
  try {
    watchJob(await resumeWhenReady(watched.jobId));
    refreshJobs();
  } catch (error) {
    showError($("#watch-error"), error);
  }
});

/** Resume a job; right after a stop its worker may still be saving and leaving (409), so try again for a while. */
async function resumeWhenReady(jobId, tries = 40) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api(`/api/jobs/${jobId}/resume`, { method: "POST" });
    } catch (error) {
      if (error.status !== 409 || attempt >= tries) throw error;
      $("#watch-error").textContent = "waiting for the stopped run to finish saving…";
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

// ------------------------------------------------------------------------------------------------ tables
async function refreshJobs() {
  const jobs = await api("/api/jobs");
  const body = $("#jobs-table tbody");
  $("#no-jobs").hidden = jobs.length > 0;
  body.replaceChildren(...jobs.map((job) => {
    const row = el("tr", { "data-job-id": job.id, class: state.watched && state.watched.jobId === job.id ? "selected" : "" },
      el("td", { text: job.model_name, "data-label": "Model" }),
      el("td", { text: `${job.config.genre} · ${job.config.architecture || job.config.model}`, "data-label": "Genre" }),
      el("td", { "data-label": "Status" },
        el("span", { class: `badge ${job.status}`, text: job.status }),
        job.error && job.status !== "completed" ? el("div", { class: "job-error", text: job.error }) : null),
      el("td", { text: `${job.epochs_done} / ${job.config.epochs}`, "data-label": "Epochs" }),
      el("td", { text: formatTime(job.started_at || job.created_at), "data-label": "Started" }),
      el("td", { class: "actions" },
        el("button", { class: "small", text: "Watch", onclick: () => watchJob(job) })));
    return row;
  }));
  showHealth();
}

async function refreshModels() {
  try {
    const models = await api("/api/models");
    $("#no-models").hidden = models.length > 0;
    $("#models-table tbody").replaceChildren(...models.map((m) => el("tr", { "data-model": m.name },
      el("td", { text: m.name, "data-label": "Name" }),
      el("td", { text: m.genre || "", "data-label": "Genre" }),
      el("td", { text: m.architecture || "", "data-label": "Architecture" }),
      el("td", { "data-label": "Status" }, el("span", { class: `badge ${m.status}`, text: m.status || "" })),
      el("td", { text: m.epochs_done, "data-label": "Epochs" }),
      el("td", { class: "actions" },
        el("button", { class: "small", text: "Show", onclick: () => showModel(m.name) }), " ",
        canCompose(m.status) ? el("a", { class: "button small", href: `/?model=${encodeURIComponent(m.name)}`, text: "Compose" }) : null, " ",
        el("button", { class: "small danger", text: "Delete", onclick: () => deleteModel(m.name) })))));
  } catch (error) {
    showError($("#models-error"), error);
  }
}

// ------------------------------------------------------------------------------------------------ datasets
let datasetTimer = null;

function datasetRow(d) {
  const build = d.build;
  const building = build && build.status === "building";
  let status;
  if (building) {
    const counted = build.total ? `${build.done} of ${build.total} songs` : "starting";
    status = el("span", {},
      el("span", { class: "badge training", text: "building" }), ` ${counted}`,
      el("div", { class: "progress thin" }, el("div", { style: `width:${build.total ? (100 * build.done) / build.total : 0}%` })));
  } else if (build && build.status === "failed") {
    status = el("span", {}, el("span", { class: "badge failed", text: "build failed" }), el("div", { class: "job-error", text: build.error }));
  } else {
    status = el("span", { class: `badge ${d.built ? "completed" : "queued"}`, text: d.built ? "built" : "not built" });
  }
  const windows = d.built ? `${d.windows.train} / ${d.windows.valid} / ${d.windows.test}` : "";
  return el("tr", { "data-genre": d.genre, "data-status": building ? "building" : d.built ? "built" : "missing" },
    el("td", { text: d.genre }),
    el("td", {}, status),
    el("td", { text: windows }),
    el("td", { class: "actions" },
      el("button", { class: "small", text: d.built ? "Rebuild" : "Build", disabled: building, onclick: () => buildDataset(d.genre) })));
}

async function refreshDatasets() {
  clearTimeout(datasetTimer);
  try {
    const datasets = await api("/api/datasets");
    $("#datasets-table tbody").replaceChildren(...datasets.map(datasetRow));
    markBuilt(datasets);
    if (datasets.some((d) => d.build && d.build.status === "building")) datasetTimer = setTimeout(refreshDatasets, 700);
  } catch (error) {
    showError($("#datasets-error"), error);
  }
}

async function buildDataset(genre) {
  showError($("#datasets-error"), null);
  const source = $("#dataset-source").value.trim();
  try {
    await api(`/api/datasets/${encodeURIComponent(genre)}/build`, { method: "POST", json: source ? { source } : {} });
  } catch (error) {
    showError($("#datasets-error"), error);
  }
  refreshDatasets();
}

async function deleteModel(name) {
  if (!window.confirm(`Delete model ${name} and its checkpoints?`)) return;
  try {
    await api(`/api/models/${encodeURIComponent(name)}`, { method: "DELETE" });
    showError($("#models-error"), null);
    refreshModels();
    refreshJobs();
  } catch (error) {
    showError($("#models-error"), error);
  }
}

window.addEventListener("resize", () => drawCharts());
setupEpochBrowser(() => drawCharts());
showHealth();
loadOptions().catch((error) => showError($("#train-error"), error));
refreshJobs().catch(() => {});
refreshModels();
refreshDatasets();
setInterval(() => {
  if (document.hidden) return;
  refreshJobs().catch(() => {});
  refreshModels();
}, 5000);
