// museforge studio: canvas drawing shared by both pages (the piano roll, its legend and line charts).

import { el } from "./common.js";

/** A canvas sized to its CSS box at the device pixel ratio; returns [context, width, height] in CSS pixels. */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 240;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return [ctx, width, height];
}

const NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
export function noteName(pitch) {
  return `${NOTE_NAMES[pitch % 12]}${Math.floor(pitch / 12) - 1}`;
}

/**
 * Draw a piano roll: pitched tracks on a shared pitch axis, drum tracks in a lane below, each track in its colour.
 * `roll` is the API's piano-roll JSON: {resolution, n_steps, beats_per_bar, downbeats, tracks: [{color, is_drum,
 * notes: [[pitch, start, end, velocity]]}]}.
 */
export function drawPianoRoll(canvas, roll) {
  const [ctx, width, height] = fitCanvas(canvas);
  canvas.dataset.drawn = "0";
  if (!roll || !roll.tracks || !roll.tracks.length) return;
  const left = 34;
  const right = 6;
  const top = 6;
  const bottom = 18;
  const pitched = roll.tracks.filter((t) => !t.is_drum);
  const drums = roll.tracks.filter((t) => t.is_drum);
  let low = 127;
  let high = 0;
  for (const track of pitched) {
    for (const [pitch] of track.notes) {
      low = Math.min(low, pitch);
      high = Math.max(high, pitch);
    }
  }
  if (low > high) {
    low = 60;
    high = 72;
  }
  low = Math.max(0, low - 2);
  high = Math.min(127, high + 2);
  const drumPitches = [...new Set(drums.flatMap((t) => t.notes.map((n) => n[0])))].sort((a, b) => a - b);
  const drumRows = drumPitches.length;
  const pitchRows = high - low + 1;
  const totalRows = pitchRows + (drumRows ? drumRows * 1.4 + 1.5 : 0);
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const rowHeight = plotHeight / totalRows;
  const steps = Math.max(1, roll.n_steps);
  const x = (step) => left + (step / steps) * plotWidth;
  const yPitch = (pitch) => top + (high - pitch) * rowHeight;

  // keyboard stripes for black keys, octave labels
  ctx.font = "10px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  for (let pitch = low; pitch <= high; pitch++) {
    if ([1, 3, 6, 8, 10].includes(pitch % 12)) {
      ctx.fillStyle = "#eef0f5";
      ctx.fillRect(left, yPitch(pitch), plotWidth, rowHeight);
    }
    if (pitch % 12 === 0 && rowHeight * 12 > 18) {
      ctx.fillStyle = "#8a93a6";
      ctx.fillText(noteName(pitch), 2, yPitch(pitch) + rowHeight / 2);
    }
  }
  // bar and beat lines
  const beatSteps = roll.resolution;
  const barSteps = roll.resolution * (roll.beats_per_bar || 4);
  const downbeats = roll.downbeats && roll.downbeats.length ? roll.downbeats : [];
  ctx.lineWidth = 1;
  if (plotWidth / (steps / beatSteps) > 8) {
    ctx.strokeStyle = "#eceef3";
    for (let step = 0; step <= steps; step += beatSteps) {
      ctx.beginPath();
      ctx.moveTo(x(step) + 0.5, top);
      ctx.lineTo(x(step) + 0.5, top + plotHeight);
      ctx.stroke();
    }
  }
  const bars = downbeats.length ? downbeats : Array.from({ length: Math.ceil(steps / barSteps) }, (_, i) => i * barSteps);
  ctx.strokeStyle = "#b8bfcc";
  ctx.fillStyle = "#667085";
  ctx.textBaseline = "top";
  bars.forEach((step, index) => {
    ctx.beginPath();
    ctx.moveTo(x(step) + 0.5, top);
    ctx.lineTo(x(step) + 0.5, top + plotHeight);
    ctx.stroke();
    const number = index + 1 + (roll.first_bar || 0); // a roll of a piece's later bars (the jam's) counts on
    if (plotWidth / bars.length > 16 || index % 4 === 0) ctx.fillText(String(number), x(step) + 3, top + plotHeight + 3);
  });
  // drum lane separator
  const drumTop = top + pitchRows * rowHeight + rowHeight * 1.5;
  if (drumRows) {
    ctx.fillStyle = "#f6f1e9";
    ctx.fillRect(left, drumTop, plotWidth, drumRows * 1.4 * rowHeight);
  }
  // notes: accompaniment first, the melody on top with an outline
  const order = [...roll.tracks].sort((a, b) => (a.role === "melody") - (b.role === "melody"));
  for (const track of order) {
    ctx.fillStyle = track.color || "#1f77b4";
    ctx.globalAlpha = 0.88;
    for (const [pitch, start, end] of track.notes) {
      let y;
      let h;
      if (track.is_drum) {
        const row = drumPitches.indexOf(pitch);
        y = drumTop + row * 1.4 * rowHeight + rowHeight * 0.2;
        h = rowHeight;
      } else {
        y = yPitch(pitch) + 0.5;
        h = Math.max(1.5, rowHeight - 1);
      }
      const w = Math.max(1.5, x(end) - x(start) - 1);
      ctx.fillRect(x(start), y, w, h);
      if (track.role === "melody") {
        ctx.globalAlpha = 1;
        ctx.strokeStyle = "#5c0b0b";
        ctx.strokeRect(x(start) + 0.5, y + 0.5, Math.max(1, w - 1), Math.max(1, h - 1));
        ctx.globalAlpha = 0.88;
      }
    }
  }
  ctx.globalAlpha = 1;
  canvas.dataset.drawn = String(roll.tracks.reduce((sum, t) => sum + t.notes.length, 0));
}

/** A legend of the roll's tracks: colour, name, role and note count. */
export function rollLegend(container, roll) {
  container.replaceChildren();
  for (const track of roll.tracks) {
    const name = track.name || track.role || "track";
    const said = name.toLowerCase();
    const label = track.role && said !== track.role && !said.includes(`(${track.role})`) ? `${name} (${track.role})` : name;
    container.append(
      el("span", { class: "legend-item" },
        el("span", { class: "swatch", style: `background:${track.color}` }),
        `${label}: ${track.notes.length} notes`),
    );
  }
}

function niceTicks(min, max, count = 5) {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const span = max - min;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * step0).find((s) => span / s <= count) || step0 * 10;
  const first = Math.floor(min / step) * step;
  const ticks = [];
  for (let v = first; ; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= max - step * 1e-9 || ticks.length > 50) break; // the last tick is at or above the highest value
  }
  return { ticks, min: ticks[0], max: ticks[ticks.length - 1] };
}

function formatTick(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/**
 * A line chart on a canvas. `series`: [{label, color, dashed, step, points: [[x, y], ...]}]; options {title,
 * xLabel, marker}. Non-finite y values leave gaps; a `step` series (a reference value) is drawn as steps held across
 * the whole width; `marker` (an x value, e.g. the epoch chosen in the epoch browser) gets a vertical line.
 * Returns the number of points drawn.
 */
export function drawLineChart(canvas, series, options = {}) {
  const [ctx, width, height] = fitCanvas(canvas);
  delete canvas.dataset.marker;
  delete canvas.dataset.markerX;
  const left = 48;
  const right = 10;
  const top = options.title ? 24 : 10;
  ctx.font = "11px system-ui, sans-serif";
  const labelled = series.filter((s) => s.label);
  const legend = legendLayout(ctx, labelled.map((s) => s.label), width);
  const legendRows = legend.rows;
  const bottom = 26 + legendRows * 15;
  const points = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[1])));
  if (options.title) {
    ctx.fillStyle = "#1d2330";
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(options.title, left, 5);
    ctx.font = "11px system-ui, sans-serif";
  }
  canvas.dataset.points = String(points.length);
  if (!points.length) {
    ctx.fillStyle = "#98a2b3";
    ctx.textBaseline = "middle";
    ctx.fillText(options.empty || "no epochs yet", left + 10, top + (height - top - bottom) / 2);
    return 0;
  }
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (xMax - xMin < 1) {
    // one epoch so far: centre it
    xMin -= 1;
    xMax += 1;
  }
  const yLow = Math.min(...ys);
  const yHigh = Math.max(...ys);
  const yPad = (yHigh - yLow) * 0.06;
  const yScale = niceTicks(yLow - yPad, yHigh + yPad);
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const px = (v) => left + ((v - xMin) / (xMax - xMin)) * plotW;
  const py = (v) => top + plotH - ((v - yScale.min) / (yScale.max - yScale.min)) * plotH;

  ctx.strokeStyle = "#eceef3";
  ctx.fillStyle = "#667085";
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  for (const tick of yScale.ticks) {
    ctx.beginPath();
    ctx.moveTo(left, py(tick) + 0.5);
    ctx.lineTo(left + plotW, py(tick) + 0.5);
    ctx.stroke();
    ctx.fillText(formatTick(tick), left - 5, py(tick));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const xStep = Math.max(1, Math.ceil((xMax - xMin) / 8));
  for (let v = Math.ceil(xMin); v <= xMax; v += xStep) ctx.fillText(String(v), px(v), top + plotH + 4);
  ctx.textAlign = "left";
  if (options.xLabel) {
    ctx.textAlign = "right";
    ctx.fillText(options.xLabel, left + plotW, top + plotH + 4 + 12);
    ctx.textAlign = "left";
  }
  ctx.strokeStyle = "#b8bfcc";
  ctx.strokeRect(left + 0.5, top + 0.5, plotW, plotH);

  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.dashed ? 1.3 : 2;
    ctx.setLineDash(s.dashed ? [6, 4] : []);
    ctx.beginPath();
    let pen = false;
    let last = null;
    for (const [vx, vy] of s.points) {
      if (!Number.isFinite(vy)) {
        pen = false;
        continue;
      }
      if (pen && s.step) ctx.lineTo(px(vx), py(last));
      if (pen) ctx.lineTo(px(vx), py(vy));
      else ctx.moveTo(s.step ? left : px(vx), py(vy));
      pen = true;
      last = vy;
    }
    if (s.step && last !== null) ctx.lineTo(left + plotW, py(last)); // a reference value holds to the right edge
    ctx.stroke();
    ctx.setLineDash([]);
    if (!s.dashed && s.points.length <= 40) {
      for (const [vx, vy] of s.points) {
        if (!Number.isFinite(vy)) continue;
        ctx.beginPath();
        ctx.arc(px(vx), py(vy), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
  const marker = options.marker === null || options.marker === undefined ? NaN : Number(options.marker);
  if (Number.isFinite(marker) && marker >= xMin && marker <= xMax) drawMarker(ctx, Math.round(px(marker)), top, plotH);
  if (Number.isFinite(marker)) {
    canvas.dataset.marker = String(marker);
    canvas.dataset.markerX = String(Math.round(px(marker)));
  }
  // legend: as many entries a row as fit the width, whole (a narrow chart gets more rows, never cut words)
  ctx.textBaseline = "middle";
  const legendTop = height - legendRows * 15 - 2;
  labelled.forEach((s, index) => {
    const [lx, row] = legend.positions[index];
    const ly = legendTop + row * 15;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dashed ? [5, 3] : []);
    ctx.beginPath();
    ctx.moveTo(lx, ly + 6);
    ctx.lineTo(lx + 18, ly + 6);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#344054";
    ctx.fillText(s.label, lx + 22, ly + 6);
  });
  canvas.dataset.legendRight = String(Math.round(Math.max(0, ...labelled.map((s, i) => legend.positions[i][0] + 22 + ctx.measureText(s.label).width))));
  return points.length;
}

/** A vertical line at `x` across the plot, with a small flag at its top: the chosen epoch. */
function drawMarker(ctx, x, top, plotH) {
  ctx.strokeStyle = "#e8590c";
  ctx.fillStyle = "#e8590c";
  ctx.lineWidth = 1.5;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x + 0.5, top);
  ctx.lineTo(x + 0.5, top + plotH);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.beginPath();
  ctx.moveTo(x - 4, top);
  ctx.lineTo(x + 5, top);
  ctx.lineTo(x + 0.5, top + 6);
  ctx.closePath();
  ctx.fill();
}

/** Where each legend entry goes, `[x, row]`, laid out left to right and wrapped at `width`; and the rows used. */
function legendLayout(ctx, labels, width) {
  const start = 8;
  const positions = [];
  let x = start;
  let row = 0;
  for (const label of labels) {
    const entry = 22 + ctx.measureText(label).width;
    if (x > start && x + entry > width - 4) {
      x = start;
      row += 1;
    }
    positions.push([x, row]);
    x += entry + 14;
  }
  return { positions, rows: labels.length ? row + 1 : 0 };
}

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
