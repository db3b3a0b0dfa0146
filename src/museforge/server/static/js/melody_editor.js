// museforge studio, compose page: the melody editor. "Edit" turns the melody's piano roll into an editor: click an
// empty cell to add a note, drag a note to move it, drag its right edge to lengthen it, right-click it (or select
// it and press Delete) to delete it, Ctrl/Cmd+Z to undo; "Done" saves the notes as a new melody through the
// recording endpoint (on its sixteenth-note grid, with the original tempo and meter) and makes it the active one.
import { api, showError } from "./api.js";
import { $ } from "./common.js";
import { fitCanvas, noteName } from "./draw.js";

const LEFT = 40;
const TOP = 6;
const RIGHT = 8;
const BOTTOM = 20;
const ROW_PX = 12; // one pitch
const MIN_SIXTEENTH_PX = 14; // the narrowest sixteenth note before the editor scrolls sideways
const MARGIN_PITCHES = 7;
const MIN_ROWS = 25;
const MAX_BARS = 64; // the recording endpoint's limit
const EDGE_PX = 5; // how near a note's right end a drag lengthens it
const DRAG_PX = 3; // a press that moves less than this is a click
const NOTE_COLOR = "#d62728";

const ed = {
  melody: null, // the melody being edited (studio.js's object)
  notes: [], // [{pitch, start, end}] in steps of roll.resolution
  undo: [],
  selected: -1,
  drag: null, // {mode: "move" | "resize", index, x, y, note, moved, before}
  geo: null,
  onSaved: null,
  onClose: null,
};

/** The editor's grid: steps per cell of the chosen snap (a sixteenth, an eighth or a quarter note). */
function gridSteps() {
  return Math.max(1, Math.round(ed.resolution * Number($("#edit-grid").value))); // the value is in beats
}

function pitchedTrack(roll) {
  const pitched = roll.tracks.filter((t) => !t.is_drum);
  return pitched.find((t) => t.role === "melody") || pitched[0] || { notes: [] };
}

/** Open the editor on `melody` (studio.js's {roll, meter, name, …}); `onSaved(userMelody, name)` takes the saved one. */
export function openEditor(melody, onSaved) {
  const roll = melody.roll;
  ed.melody = melody;
  ed.onSaved = onSaved;
  ed.resolution = roll.resolution;
  ed.notes = pitchedTrack(roll).notes.map(([pitch, start, end]) => ({ pitch, start, end }));
  ed.undo = [];
  ed.selected = -1;
  ed.drag = null;
  ed.barSteps = Math.round(roll.resolution * (roll.beats_per_bar || 4));
  ed.bars = Math.max(1, Math.ceil(roll.n_steps / ed.barSteps));
  ed.shownBars = Math.min(MAX_BARS, ed.bars + 1); // one bar more to write into
  const pitches = ed.notes.map((n) => n.pitch);
  let low = Math.max(0, (pitches.length ? Math.min(...pitches) : 60) - MARGIN_PITCHES);
  let high = Math.min(127, (pitches.length ? Math.max(...pitches) : 72) + MARGIN_PITCHES);
  while (high - low + 1 < MIN_ROWS && (low > 0 || high < 127)) {
    if (high < 127) high++;
    if (high - low + 1 < MIN_ROWS && low > 0) low--;
  }
  ed.low = low;
  ed.high = high;
  $("#melody-card").dataset.editing = "1";
  $("#melody-editor-box").hidden = false;
  $("#melody-roll-box").hidden = true;
  showError($("#editor-error"), null);
  draw();
  $("#melody-editor").focus({ preventScroll: true });
}

export function editing() {
  return Boolean(ed.melody);
}

/** Leave the editor without saving. */
export function closeEditor() {
  ed.melody = null;
  ed.drag = null;
  $("#melody-card").dataset.editing = "";
  $("#melody-editor-box").hidden = true;
  $("#melody-roll-box").hidden = false;
  showError($("#editor-error"), null);
  if (ed.onClose) ed.onClose();
}

// ------------------------------------------------------------------------------------------------ drawing
function draw() {
  const canvas = $("#melody-editor");
  const steps = ed.shownBars * ed.barSteps;
  const rows = ed.high - ed.low + 1;
  const sixteenth = ed.resolution / 4;
  const boxWidth = $("#melody-editor-scroll").clientWidth || 600;
  const stepPx = Math.max(MIN_SIXTEENTH_PX / sixteenth, (boxWidth - LEFT - RIGHT - 2) / steps);
  canvas.style.width = `${Math.floor(LEFT + RIGHT + steps * stepPx)}px`;
  canvas.style.height = `${TOP + BOTTOM + rows * ROW_PX}px`;
  const [ctx, width] = fitCanvas(canvas);
  ed.geo = { stepPx, steps };
  Object.assign(canvas.dataset, {
    left: LEFT, top: TOP, stepPx, rowPx: ROW_PX, high: ed.high, low: ed.low, steps, resolution: ed.resolution,
    grid: gridSteps(), notes: ed.notes.length, selected: ed.selected, undo: ed.undo.length, ready: "1",
  });
  const x = (step) => LEFT + step * stepPx;
  const y = (pitch) => TOP + (ed.high - pitch) * ROW_PX;
  const bottom = TOP + rows * ROW_PX;
  ctx.font = "9px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  for (let pitch = ed.low; pitch <= ed.high; pitch++) {
    const black = [1, 3, 6, 8, 10].includes(pitch % 12);
    ctx.fillStyle = black ? "#eef0f5" : "#fbfbfd";
    ctx.fillRect(LEFT, y(pitch), width - LEFT - RIGHT, ROW_PX);
    ctx.fillStyle = black ? "#3d4454" : "#ffffff";
    ctx.fillRect(LEFT - 14, y(pitch), 14, ROW_PX);
    ctx.fillStyle = "#8a93a6";
    if (pitch % 12 === 0 || pitch === ed.low || pitch === ed.high) ctx.fillText(noteName(pitch), 2, y(pitch) + ROW_PX / 2);
  }
  ctx.fillStyle = "#f1f3f7"; // the bar after the melody's end: room to write, saved only if used
  ctx.fillRect(x(ed.bars * ed.barSteps), TOP, Math.max(0, x(steps) - x(ed.bars * ed.barSteps)), bottom - TOP);
  const grid = gridSteps();
  ctx.textBaseline = "top";
  for (let step = 0; step <= steps; step += grid) {
    const bar = step % ed.barSteps === 0;
    ctx.strokeStyle = bar ? "#9aa3b5" : step % ed.resolution === 0 ? "#d5d9e2" : "#e9ecf1";
    ctx.beginPath();
    ctx.moveTo(Math.round(x(step)) + 0.5, TOP);
    ctx.lineTo(Math.round(x(step)) + 0.5, bottom);
    ctx.stroke();
    if (bar && step < steps) {
      ctx.fillStyle = "#667085";
      ctx.fillText(String(step / ed.barSteps + 1), x(step) + 3, bottom + 4);
    }
  }
  ed.notes.forEach((note, index) => {
    const chosen = index === ed.selected;
    ctx.fillStyle = NOTE_COLOR;
    ctx.globalAlpha = chosen ? 1 : 0.8;
    const w = Math.max(2, x(note.end) - x(note.start) - 1);
    ctx.fillRect(x(note.start) + 0.5, y(note.pitch) + 1, w, ROW_PX - 2);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = chosen ? "#111827" : "#8f1d1e";
    ctx.lineWidth = chosen ? 2 : 1;
    ctx.strokeRect(x(note.start) + 0.5, y(note.pitch) + 1, w, ROW_PX - 2);
    ctx.fillStyle = "rgba(255,255,255,0.7)"; // the handle that lengthens
    ctx.fillRect(x(note.start) + w - 2.5, y(note.pitch) + 3, 2, ROW_PX - 6);
    ctx.lineWidth = 1;
  });
  $("#edit-undo").disabled = !ed.undo.length;
  const shown = ed.selected >= 0 ? ed.notes[ed.selected] : null;
  $("#editor-status").textContent = `${ed.notes.length} notes` +
    (shown ? ` · selected ${noteName(shown.pitch)}, beat ${formatBeat(shown.start)}, ${formatBeat(shown.end - shown.start)} beats long` : "");
}

function formatBeat(steps) {
  return String(Number((steps / ed.resolution).toFixed(2)));
}

// ------------------------------------------------------------------------------------------------ editing
/** The cell under a pointer event: {step (fractional), pitch}, or null outside the grid. */
function cellAt(event) {
  const box = $("#melody-editor").getBoundingClientRect();
  const px = event.clientX - box.left;
  const py = event.clientY - box.top;
  const step = (px - LEFT) / ed.geo.stepPx;
  const pitch = ed.high - Math.floor((py - TOP) / ROW_PX);
  if (step < 0 || step >= ed.geo.steps || pitch < ed.low || pitch > ed.high) return null;
  return { step, pitch, px };
}

/** The topmost note under a cell (the last drawn), or -1. */
function noteAt(cell) {
  for (let i = ed.notes.length - 1; i >= 0; i--) {
    const n = ed.notes[i];
    if (n.pitch === cell.pitch && cell.step >= n.start && cell.step < n.end) return i;
  }
  return -1;
}

function snapshot() {
  return ed.notes.map((n) => ({ ...n }));
}

function change(before) {
  ed.undo.push(before);
  if (ed.undo.length > 200) ed.undo.shift();
}

function undo() {
  if (!ed.undo.length) return;
  ed.notes = ed.undo.pop();
  ed.selected = -1;
  draw();
}

function remove(index) {
  if (index < 0) return;
  change(snapshot());
  ed.notes.splice(index, 1);
  ed.selected = -1;
  draw();
}

function pointerDown(event) {
  if (!ed.melody || event.button !== 0) return;
  const cell = cellAt(event);
  if (!cell) return;
  event.preventDefault();
  $("#melody-editor").focus({ preventScroll: true });
  const index = noteAt(cell);
  if (index < 0) {
    const grid = gridSteps();
    const start = Math.floor(cell.step / grid) * grid;
    change(snapshot());
    ed.notes.push({ pitch: cell.pitch, start, end: Math.min(ed.geo.steps, start + grid) });
    ed.selected = ed.notes.length - 1;
    draw();
    return;
  }
  const note = ed.notes[index];
  const endPx = LEFT + note.end * ed.geo.stepPx;
  const resize = endPx - cell.px <= Math.min(EDGE_PX, ((note.end - note.start) * ed.geo.stepPx) / 3);
  ed.selected = index;
  ed.drag = { mode: resize ? "resize" : "move", index, x: event.clientX, y: event.clientY, note: { ...note }, moved: false, before: snapshot() };
  $("#melody-editor").setPointerCapture(event.pointerId);
  draw();
}

function pointerMove(event) {
  const canvas = $("#melody-editor");
  if (!ed.drag) {
    const cell = ed.melody ? cellAt(event) : null;
    const index = cell ? noteAt(cell) : -1;
    const edge = index >= 0 && LEFT + ed.notes[index].end * ed.geo.stepPx - cell.px <= EDGE_PX;
    canvas.style.cursor = edge ? "ew-resize" : index >= 0 ? "grab" : "crosshair";
    return;
  }
  const drag = ed.drag;
  const dx = event.clientX - drag.x;
  const dy = event.clientY - drag.y;
  if (!drag.moved && Math.hypot(dx, dy) < DRAG_PX) return;
  drag.moved = true;
  const grid = gridSteps();
  const original = drag.note;
  const length = original.end - original.start;
  const note = ed.notes[drag.index];
  if (drag.mode === "move") {
    const start = Math.round((original.start + dx / ed.geo.stepPx) / grid) * grid;
    note.start = Math.max(0, Math.min(ed.geo.steps - length, start));
    note.end = note.start + length;
    note.pitch = Math.max(ed.low, Math.min(ed.high, original.pitch - Math.round(dy / ROW_PX)));
  } else {
    const end = Math.round((original.end + dx / ed.geo.stepPx) / grid) * grid;
    const shortest = Math.ceil((original.start + 1) / grid) * grid;
    note.end = Math.min(ed.geo.steps, Math.max(shortest, end));
  }
  draw();
}

function pointerUp() {
  if (!ed.drag) return;
  const drag = ed.drag;
  ed.drag = null;
  const note = ed.notes[drag.index];
  const same = note.pitch === drag.note.pitch && note.start === drag.note.start && note.end === drag.note.end;
  if (drag.moved && !same) change(drag.before);
  draw();
}

function keyDown(event) {
  if (!ed.melody) return;
  const target = event.target;
  if (target !== document.body && !$("#melody-card").contains(target)) return; // keys meant for another card
  const typing = target.closest && target.closest("input, select, textarea");
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z" && !typing) {
    event.preventDefault();
    undo();
  } else if ((event.key === "Delete" || event.key === "Backspace") && !typing && ed.selected >= 0) {
    event.preventDefault();
    remove(ed.selected);
  } else if (event.key === "Escape" && !typing && ed.selected >= 0) {
    ed.selected = -1;
    draw();
  }
}

// ------------------------------------------------------------------------------------------------ saving
/** Save the notes as a new melody ("Edited · <original title>") and hand it to the page. */
async function save() {
  const melody = ed.melody;
  if (!melody) return;
  showError($("#editor-error"), null);
  if (!ed.notes.length) {
    showError($("#editor-error"), new Error("the melody has no notes: add one, or Cancel"));
    return;
  }
  const notes = [...ed.notes].sort((a, b) => a.start - b.start || a.pitch - b.pitch);
  const lastEnd = Math.max(...notes.map((n) => n.end));
  const bars = Math.max(ed.bars, Math.ceil(lastEnd / ed.barSteps));
  const name = `Edited · ${String(melody.name || "melody").replace(/^(Edited · )+/, "")}`.slice(0, 64);
  const body = {
    tempo: Math.min(300, Math.max(30, Number(melody.roll.tempo) || 100)),
    time_signature: melody.meter,
    bars,
    name,
    notes: notes.map((n) => ({ pitch: n.pitch, start_beat: n.start / ed.resolution, duration_beats: (n.end - n.start) / ed.resolution })),
  };
  $("#edit-done").disabled = true;
  try {
    const saved = await api("/api/melodies/record", { method: "POST", json: body });
    closeEditor();
    ed.onSaved(saved);
  } catch (error) {
    showError($("#editor-error"), error);
  } finally {
    $("#edit-done").disabled = false;
  }
}

/** Wire the editor's canvas and buttons; `onClose()` runs whenever it closes (saved or not). */
export function initEditor(onClose) {
  ed.onClose = onClose;
  const canvas = $("#melody-editor");
  canvas.addEventListener("pointerdown", pointerDown);
  canvas.addEventListener("pointermove", pointerMove);
  canvas.addEventListener("pointerup", pointerUp);
  canvas.addEventListener("pointercancel", pointerUp);
  canvas.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    const cell = ed.melody ? cellAt(event) : null;
    if (cell) remove(noteAt(cell));
  });
  document.addEventListener("keydown", keyDown);
  $("#edit-undo").addEventListener("click", undo);
  $("#edit-cancel").addEventListener("click", closeEditor);
  $("#edit-done").addEventListener("click", save);
  $("#edit-grid").addEventListener("change", () => ed.melody && draw());
  window.addEventListener("resize", () => ed.melody && draw());
}
