"""Jam mode in a real browser: a melody played at 120 bpm through the page's Web MIDI path, the band scheduled
ahead of every bar on the Web Audio clock, a tempo change on the way, and the saved jam's MIDI in time.

Chromium has no MIDI device here, so the page gets a MIDI input from an init script: a player that listens to the
jam's clock (``window.museforgeJam.whenBeat``) and sends note-on and note-off messages at the beats of the tune,
through ``onmidimessage`` as a keyboard would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from museforge.music.midi import read_midi

pytestmark = [pytest.mark.web, pytest.mark.slow]

Shot = Callable[[object, str], Path]
#: The tune: per bar of 4/4, quarter notes on beats 1 to 3 (the fourth beat rests): (bar, beat, beats, pitch).
TUNE = [
    (bar, beat, 0.8, pitch)
    for bar, pitches in enumerate([(60, 62, 64), (65, 64, 62), (67, 65, 64), (62, 60, 60)])
    for beat, pitch in enumerate(pitches)
]
BARS = 4
FAKE_MIDI = """
(() => {
  const input = { id: "test-in", name: "Test keyboard", type: "input", state: "connected", onmidimessage: null };
  const sent = [];
  const output = { id: "test-out", name: "Test synth", type: "output", state: "connected",
                   send(data, at) { sent.push([...data]); } };
  const access = { inputs: new Map([[input.id, input]]), outputs: new Map([[output.id, output]]),
                   onstatechange: null, sysexEnabled: false };
  navigator.requestMIDIAccess = () => Promise.resolve(access);
  window.testPlayer = {
    sent,
    played: [],
    /** Play `tune` ([bar, beat, beats, pitch]) on the jam's clock, each bar once the one before it has begun. */
    play(tune) {
      const events = tune.flatMap(([bar, beat, beats, pitch]) => [
        { bar, beat, data: [0x90, pitch, 96] },
        { bar, beat: beat + beats, data: [0x80, pitch, 0] },
      ]);
      const timer = setInterval(() => {
        const jam = window.museforgeJam;
        if (!["count-in", "playing"].includes(jam.state)) return;
        for (const event of events) {
          if (event.done || event.bar > Math.max(0, jam.bar) + 1) continue;
          if (performance.now() >= jam.whenBeat(event.bar, event.beat)) {
            event.done = true;
            input.onmidimessage({ data: new Uint8Array(event.data), timeStamp: performance.now() });
            this.played.push([event.bar, event.beat, event.data[1], event.data[0]]);
          }
        }
        if (events.every((e) => e.done)) clearInterval(timer);
      }, 4);
    },
  };
})();
"""


def test_jam_along_at_120_bpm_through_web_midi_and_save(
    page: object, server_url: str, tmp_path: Path, screenshot: Shot
) -> None:
    page.add_init_script(FAKE_MIDI)
    page.goto("/")
    page.click("#tab-jam")
    page.wait_for_function("document.querySelector('#jam-model').options.length > 0")
    page.select_option("#jam-model", "jazz")
    page.fill("#jam-tempo", "120")
    page.select_option("#jam-meter", "4/4")
    page.select_option("#jam-count-in", "1")
    page.wait_for_function("document.querySelector('#midi-status').dataset.midi === 'connected'")
    outputs = page.eval_on_selector_all("#jam-midi-out option", "options => options.map(o => o.textContent)")
    assert "Test synth" in outputs  # the band may go to a MIDI synth instead of the page's sound

    page.click("#jam-start")
    page.wait_for_function("['count-in', 'playing'].includes(window.museforgeJam.state)", timeout=60_000)
    assert page.text_content("#jam-sound") == "the studio's General MIDI sounds"
    page.evaluate(f"window.testPlayer.play({[list(note) for note in TUNE]})")
    page.wait_for_function("window.museforgeJam.bar >= 1", timeout=30_000)
    screenshot(page, "jam_playing")
    page.fill("#jam-tempo", "132")  # a tempo change while playing: from the next bar not yet fixed
    page.wait_for_function(f"window.museforgeJam.log.length > {BARS}", timeout=30_000)
    page.click("#jam-stop")
    assert page.evaluate("window.testPlayer.played.length") == 2 * len(TUNE)

    log = page.evaluate("window.museforgeJam.log")
    assert [entry["bar"] for entry in log] == list(range(BARS + 1)), log
    for entry in log:  # every bar's accompaniment was on the audio clock before its bar began
        assert not entry["late"] and entry["lead_ms"] > 0 and entry["dropped"] == 0, entry
        assert entry["scheduled_at"] < entry["bar_start"]
    assert all(entry["notes"] > 0 for entry in log)

    page.fill("#jam-name", "Browser jam")
    page.click("#jam-save")
    page.wait_for_selector("#result-card:not([hidden])", timeout=60_000)
    page.wait_for_function("Number(document.querySelector('#result-roll').dataset.drawn) > 0")
    assert page.text_content("#melody-title").startswith("Jammed: Browser jam · 4 bars · 4/4 · 120 bpm")
    assert page.get_attribute("#result-card", "data-technique") == "compose"  # regenerate, enhance, extend it
    assert page.is_checked("#source-result")
    screenshot(page, "jam_saved")

    composition_id = page.get_attribute("#result-card", "data-composition-id")
    composition = httpx.get(f"{server_url}/api/compositions/{composition_id}", timeout=30).json()
    assert composition["melody"] == "jammed:Browser jam" and composition["summary"]["jam"] is True
    midi = httpx.get(f"{server_url}/api/compositions/{composition_id}/midi", timeout=30)
    path = tmp_path / "jam.mid"
    path.write_bytes(midi.content)
    music = read_midi(path, resolution=12)
    bar_steps = 4 * 12
    assert music.meter == (4, 4) and music.n_steps == BARS * bar_steps
    tempos = [(step // bar_steps, round(bpm)) for step, bpm in music.tempos]  # as played: 120, then 132 from a bar
    assert tempos[0] == (0, 120) and tempos[-1][1] == 132 and len(tempos) == 2 and music.tempos[-1][0] % bar_steps == 0
    melody = music.notes(music.track_index("melody"))
    assert [p for p, _, _, _ in melody] == [pitch for _, _, _, pitch in TUNE]
    for (pitch, start, end, _), (bar, beat, beats, _) in zip(melody, TUNE, strict=True):
        assert start // bar_steps == bar, (pitch, start, bar)  # in the bar it was played in
        assert abs(start - (bar * 4 + beat) * 12) <= 3, (pitch, start, bar, beat)  # within a sixteenth
        assert abs((end - start) - beats * 12) <= 3
    band = [i for i in range(music.n_tracks) if music.roles[i] != "melody"]
    assert band and {start // bar_steps for i in band for _, start, _, _ in music.notes(i)} == set(range(BARS))
