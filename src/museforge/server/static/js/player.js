// museforge studio: hearing music in the page. A playhead over a piano roll that follows whatever plays, the
// melody alone through a small Web Audio synth, and the result's tracks muted or soloed (the server renders the mix).
import { $, el } from "./common.js";
import { audioContext } from "./keyboard.js";

// The piano roll's plot margins (draw.js drawPianoRoll): the playhead lines up with its steps.
const ROLL_LEFT = 34;
const ROLL_RIGHT = 6;

/** Put the playhead `line` over `canvas` at `step` of `roll` (null hides it). */
export function placePlayhead(line, canvas, roll, step) {
  if (step === null || !roll || !roll.n_steps) {
    line.hidden = true;
    return;
  }
  const width = canvas.clientWidth;
  const x = ROLL_LEFT + (Math.min(step, roll.n_steps) / roll.n_steps) * (width - ROLL_LEFT - ROLL_RIGHT);
  line.style.left = `${x}px`;
  line.hidden = false;
  line.dataset.step = String(Math.round(step));
}

/** Steps of `roll` played after `seconds` at its tempo. */
export function stepAt(roll, seconds) {
  return (seconds * roll.tempo * roll.resolution) / 60;
}

// ------------------------------------------------------------------------------------------------ the melody alone
let preview = null; // {stop()} of the melody being played

/**
 * Play `roll`'s pitched notes with a soft synth, moving `line` over `canvas`; `done()` when it ends or stops.
 * `place(line, canvas, roll, step)` shows where the music is (step null: stopped): the playhead over a drawn roll
 * unless told otherwise (the models page fills a bar under a sample's picture).
 */
export function playRoll(roll, canvas, line, done, place = placePlayhead) {
  stopPreview();
  const ctx = audioContext();
  if (!ctx || !roll) return;
  const start = ctx.currentTime + 0.05;
  const secondsPerStep = 60 / (roll.tempo * roll.resolution);
  const voices = [];
  for (const track of roll.tracks.filter((t) => !t.is_drum)) {
    for (const [pitch, first, last] of track.notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const on = start + first * secondsPerStep;
      const off = start + last * secondsPerStep;
      osc.type = "triangle";
      osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
      gain.gain.setValueAtTime(0, on);
      gain.gain.linearRampToValueAtTime(0.2, on + 0.01);
      gain.gain.setTargetAtTime(0.1, on + 0.02, 0.2);
      gain.gain.setTargetAtTime(0, off - 0.01, 0.03);
      osc.connect(gain).connect(ctx.destination);
      osc.start(on);
      osc.stop(off + 0.2);
      voices.push(osc);
    }
  }
  const total = roll.n_steps * secondsPerStep;
  let frame = null;
  const follow = () => {
    const seconds = ctx.currentTime - start;
    if (seconds >= total) {
      stopPreview();
      return;
    }
    place(line, canvas, roll, Math.max(0, seconds / secondsPerStep));
    frame = requestAnimationFrame(follow);
  };
  preview = {
    stop() {
      cancelAnimationFrame(frame);
      for (const osc of voices) {
        try {
          osc.stop();
        } catch (_) {
          // already stopped
        }
      }
      place(line, canvas, roll, null);
      preview = null;
      done();
    },
  };
  follow();
}

export function stopPreview() {
  if (preview) preview.stop();
}

export function previewing() {
  return preview !== null;
}

// ------------------------------------------------------------------------------------------------ the result's audio
/** Keep `line` over `canvas` at the audio element's position while it plays. */
export function followAudio(audio, canvas, line, getRoll) {
  let frame = null;
  const move = () => {
    const roll = getRoll();
    if (roll) placePlayhead(line, canvas, roll, stepAt(roll, audio.currentTime));
    if (!audio.paused) frame = requestAnimationFrame(move);
  };
  audio.addEventListener("play", () => {
    cancelAnimationFrame(frame);
    move();
  });
  audio.addEventListener("seeked", move);
  // paused: the playhead stays where the music stopped, marked as paused; a new source (another result, a mix)
  // hides it until its position is known again
  audio.addEventListener("pause", () => {
    cancelAnimationFrame(frame);
    if (!line.hidden) move();
  });
  audio.addEventListener("emptied", () => placePlayhead(line, canvas, getRoll(), null));
  audio.addEventListener("ended", () => placePlayhead(line, canvas, getRoll(), null));
  window.addEventListener("resize", () => {
    if (!line.hidden) move(); // the roll was drawn again at another width
  });
  for (const event of ["play", "pause", "emptied"]) {
    audio.addEventListener(event, () => {
      line.dataset.state = audio.paused ? "paused" : "playing";
    });
  }
}

/**
 * Mute and solo per track. `tracks` is the roll's tracks; `state` {muted: Set, solo: Set} of track indices.
 * Returns the indices heard: the soloed ones if any, else all but the muted.
 */
export function audible(tracks, state) {
  const all = tracks.map((_, i) => i);
  if (state.solo.size) return all.filter((i) => state.solo.has(i));
  return all.filter((i) => !state.muted.has(i));
}

/** Point the audio element at the mix of `heard` tracks, keeping the position and whether it was playing. */
export function setMix(audio, wavUrl, tracks, heard) {
  const url = heard.length === tracks.length ? wavUrl : `${wavUrl}?tracks=${heard.join(",")}`;
  audio.dataset.tracks = heard.join(",");
  if (audio.getAttribute("src") === url) return;
  const position = audio.currentTime || 0;
  const playing = !audio.paused;
  audio.src = url;
  if (!heard.length) {
    audio.removeAttribute("src");
    return;
  }
  audio.addEventListener(
    "loadedmetadata",
    () => {
      audio.currentTime = Math.min(position, audio.duration || position);
      if (playing) audio.play().catch(() => {});
    },
    { once: true },
  );
}

/** A small toggle button (M or S) whose pressed state lives in `aria-pressed`. */
export function toggle(text, title, pressed, onChange) {
  const button = el("button", { class: "small toggle", type: "button", text, title, "aria-pressed": String(pressed) });
  button.addEventListener("click", () => {
    const now = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(now));
    onChange(now);
  });
  return button;
}
