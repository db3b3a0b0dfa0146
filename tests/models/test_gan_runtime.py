"""Checkpoints, mixed precision and graph capture: what the trainer and the benchmarks rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from museforge.models import GAN_ARCHITECTURES as ARCHITECTURES
from museforge.models import build_gan, config_to_dict

from .conftest import random_melody, tiny


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_rebuild_from_config_dict_and_safetensors(architecture: str, tmp_path: Path) -> None:
    generator, critic, cfg = tiny(architecture, n_tracks=2)
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2)
    # a couple of training-mode passes so batch-norm running stats are not the defaults
    for _ in range(2):
        generator(melody, noise)
    generator.eval()
    expected = generator(melody, noise)
    expected_scores = critic(melody, expected.sigmoid())

    saved = json.dumps({"architecture": architecture, "config": config_to_dict(cfg)})
    save_file(generator.state_dict(), tmp_path / "g.safetensors")
    save_file(critic.state_dict(), tmp_path / "c.safetensors")

    meta = json.loads(saved)
    torch.manual_seed(123)  # different init, must be overwritten by the loaded weights
    g2, c2, cfg2 = build_gan(meta["architecture"], meta["config"])
    assert cfg2 == cfg
    g2.load_state_dict(load_file(tmp_path / "g.safetensors"))
    c2.load_state_dict(load_file(tmp_path / "c.safetensors"))
    g2.eval()
    got = g2(melody, noise)
    assert torch.equal(got, expected)
    assert torch.equal(c2(melody, got.sigmoid()), expected_scores)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_bf16_autocast_forward_and_backward(architecture: str) -> None:
    generator, critic, cfg = tiny(architecture)
    melody = random_melody(4, cfg.n_steps, cfg.n_pitches)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = generator(melody, generator.sample_noise(4))
        scores = critic(melody, generator.probabilities(logits))
    assert logits.shape == (4, cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
    assert scores.shape == (4,)
    scores.float().mean().backward()
    for name, p in [*generator.named_parameters(), *critic.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_traces_as_one_graph(architecture: str) -> None:
    """No graph breaks (e.g. ``.item()`` or data-dependent Python) in either forward."""
    generator, critic, cfg = tiny(architecture)
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2)
    compiled_g = torch.compile(generator, backend="eager", fullgraph=True)
    compiled_c = torch.compile(critic, backend="eager", fullgraph=True)
    out = compiled_g(melody, noise)
    torch.testing.assert_close(out, generator(melody, noise))
    torch.testing.assert_close(compiled_c(melody, out.sigmoid()), critic(melody, out.sigmoid()))
