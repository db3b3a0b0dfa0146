"""Jam mode in a real browser: a melody played at 120 bpm through the page's Web MIDI path, the band scheduled
ahead of every bar on the Web Audio clock, a tempo change on the way, and the saved jam's MIDI in time; notes the
band holds over a bar line (``tied``) held on, not struck again, in the page and on a MIDI output.

Chromium has no MIDI device here, so the page gets a MIDI input and output from an init script: a player that
listens to the jam's clock (``window.museforgeJam.whenBeat``) and sends note-on and note-off messages at the beats of
the tune, through ``onmidimessage`` as a keyboard would, and a synth that notes what it is sent and when, in beats
of the jam (``window.museforgeJam.beatAt``). The same script starts the jam with a fixed seed (a band that holds
notes over bar lines with this tune) and keeps the server's messages.
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
#: The band's seed: its ride cymbal rings over every bar line, and its piano and bass hold notes into bar 5.
SEED = 0
#: How far (in beats: 25 ms at 120 bpm) a MIDI message's time may be from its note's (the band's grid: 1/12 beat).
BEAT_SLACK = 0.05
FAKE_MIDI = """
(() => {
  const input = { id: "test-in", name: "Test keyboard", type: "input", state: "connected", onmidimessage: null };
  const sent = [];
  const output = { id: "test-out", name: "Test synth", type: "output", state: "connected",
                   send(data, at) {
                     const when = at ?? performance.now();
                     sent.push({ data: [...data], at: when, beat: window.museforgeJam.beatAt(when) });
                   } };
  const access = { inputs: new Map([[input.id, input]]), outputs: new Map([[output.id, output]]),
                   onstatechange: null, sysexEnabled: false };
  navigator.requestMIDIAccess = () => Promise.resolve(access);
  const received = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {  // the jam's messages: a fixed seed out, the answers kept
    const message = JSON.parse(data);
    if (message.type !== "start") return send.call(this, data);
    this.addEventListener("message", (event) => received.push(JSON.parse(event.data)));
    return send.call(this, JSON.stringify({ ...message, seed: __SEED__ }));
  };
  window.testPlayer = {
    sent,
    received,
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
""".replace("__SEED__", str(SEED))


def answers(page: object) -> tuple[list[dict], dict[int, list[list]]]:
    """The band's tracks (the ready message) and its notes per bar, as the server sent them."""
    received = page.evaluate("window.testPlayer.received")
    tracks = next(message["tracks"] for message in received if message["type"] == "ready")
    return tracks, {message["bar"]: message["notes"] for message in received if message["type"] == "accompaniment"}


def midi_channels(tracks: list[dict]) -> list[int]:
    """Each track's MIDI channel as the page gives them: drums on channel 10 (9), the others in turn on the rest."""
    pitched = iter(channel for channel in range(16) if channel != 9)
    return [9 if track["is_drum"] else next(pitched) for track in tracks]


def open_jam(page: object) -> None:
    """The studio's jam tab with the fake MIDI keyboard connected: the jazz band, 120 bpm, 4/4, one bar's count-in."""
    page.add_init_script(FAKE_MIDI)
    page.goto("/")
    page.click("#tab-jam")
    page.wait_for_function("document.querySelector('#jam-model').options.length > 0")
    page.select_option("#jam-model", "jazz")
    page.fill("#jam-tempo", "120")
    page.select_option("#jam-meter", "4/4")
    page.select_option("#jam-count-in", "1")
    page.wait_for_function("document.querySelector('#midi-status').dataset.midi === 'connected'")


def test_jam_along_at_120_bpm_through_web_midi_and_save(
    page: object, server_url: str, tmp_path: Path, screenshot: Shot
) -> None:
    open_jam(page)
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
    tracks, band = answers(page)
    for entry in log:  # tied notes held on in the page: a drum is not struck again, a voice sounds on (struck
        tied = [note for note in band[entry["bar"]] if note[5]]  # afresh only where its sample would run out)
        assert entry["tied"] + entry["tied_struck"] == len(tied), entry
        assert entry["tied"] >= sum(tracks[note[0]]["is_drum"] for note in tied), entry
    assert sum(entry["tied"] for entry in log) > 0, log

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


def test_notes_held_over_a_bar_line_are_not_struck_again_on_a_midi_output(page: object) -> None:
    open_jam(page)
    page.select_option("#jam-midi-out", "test-out")  # the band plays on the test synth, not in the page
    page.click("#jam-start")
    page.wait_for_function("['count-in', 'playing'].includes(window.museforgeJam.state)", timeout=60_000)
    page.evaluate(f"window.testPlayer.play({[list(note) for note in TUNE]})")
    page.wait_for_function(f"window.museforgeJam.log.length > {BARS}", timeout=30_000)
    page.click("#jam-stop")
    log = page.evaluate("window.museforgeJam.log")
    sent = page.evaluate("window.testPlayer.sent")
    tracks, band = answers(page)
    channels = midi_channels(tracks)

    # what the synth should get: each note struck once, a tied note being the one before it held on to its end
    notes: dict[tuple[int, int], list[list[float]]] = {}  # (channel, pitch) -> [[start, end], ...] in beats
    ties: list[tuple[tuple[int, int], float, list[float]]] = []  # (channel, pitch), bar line, the note held on
    assert [entry["bar"] for entry in log] == list(range(BARS + 1)), log
    for entry in log:
        bar = entry["bar"]
        tied = sum(note[5] for note in band[bar])
        held = entry["tied"] == tied  # else its answer came too late to hold: notes ended at the bar line
        assert entry["dropped"] == 0 and entry["tied"] + entry["tied_struck"] == tied, entry
        assert held or (entry["tied"] == 0 and entry["lead_ms"] < 40), entry
        for track, pitch, beat, length, _, tie in band[bar]:
            key, start, end = (channels[track], pitch), bar * 4 + beat, bar * 4 + beat + length
            runs = notes.setdefault(key, [])
            if tie and held:
                before = [run for run in runs if abs(run[1] - start) < 1e-3]
                assert beat == 0 and len(before) == 1, (bar, track, pitch)
                before[0][1] = end
                ties.append((key, start, before[0]))
            else:
                runs.append([start, end])
    assert ties, "the band held no note over a bar line"

    heard: dict[tuple[int, int], tuple[list[float], list[float]]] = {}  # (channel, pitch) -> (note-ons, note-offs)
    for message in sent:
        status, *data = message["data"]
        if status & 0xF0 in (0x80, 0x90):
            heard.setdefault((status & 0x0F, data[0]), ([], []))[status & 0xF0 == 0x80 or data[1] == 0].append(
                message["beat"]
            )
    for key, start, (_, end) in ties:  # not struck again at the bar line; the note before ends where the tied one
        ons, offs = heard[key]  # does (or the one tied to it in turn)
        assert not any(abs(on - start) < BEAT_SLACK for on in ons), (key, start, ons)
        assert not any(abs(off - start) < BEAT_SLACK for off in offs), (key, start, offs)
        assert any(abs(off - end) < BEAT_SLACK for off in offs), (key, end, offs)
    assert set(heard) == set(notes)
    for key, runs in notes.items():  # and every other note struck and ended once, in time
        ons, offs = heard[key]
        assert len(ons) == len(offs) == len(runs), (key, ons, offs, runs)
        for times, due in ((ons, [start for start, _ in runs]), (offs, [end for _, end in runs])):
            assert all(abs(a - b) < BEAT_SLACK for a, b in zip(sorted(times), sorted(due), strict=True)), (key, runs)
    silenced = {m["data"][0] & 0x0F for m in sent if m["data"][0] & 0xF0 == 0xB0 and m["data"][1] == 123}
    assert silenced == set(channels)  # Stop: all notes off
