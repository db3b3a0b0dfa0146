"""The AR-CNN and the melody Transformer: shapes, what each output may see, and rebuilding from a config."""

from __future__ import annotations

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.models import build_network, config_to_dict

TINY_ARCNN = {"n_tracks": 2, "n_bars": 1, "base_channels": 4, "max_channels": 8, "depth": 2}
TINY_TRANSFORMER = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 24, "dropout": 0.0}


def test_arcnn_sees_nothing_of_a_hidden_step() -> None:
    torch.manual_seed(0)
    network, _ = build_network("arcnn", TINY_ARCNN)
    network.eval()
    melody = (torch.rand(3, 16, 84) < 0.05).float()
    accompaniment = (torch.rand(3, 2, 16, 84) < 0.05).float()
    known = torch.ones(3, 3, 16)
    known[:, 1, 4:8] = 0
    logits = network(melody, accompaniment, known)
    assert logits.shape == (3, 3, 16, 84)
    changed = accompaniment.clone()
    changed[:, 0, 4:8] = 1.0 - changed[:, 0, 4:8]  # what a hidden step holds makes no difference
    assert torch.equal(network(melody, changed, known), logits)
    changed[:, 0, 9] = 1.0 - changed[:, 0, 9]  # a known one does
    assert not torch.equal(network(melody, changed, known), logits)


def test_arcnn_hears_a_pitch_class_three_octaves_away() -> None:
    """A low note changes the output at the same pitch class far above, beyond the convolutions' reach."""
    torch.manual_seed(0)
    network, _ = build_network("arcnn", {**TINY_ARCNN, "depth": 1, "base_channels": 16})  # 5 cells reach in pitch
    network.eval()
    melody = torch.zeros(1, 16, 84)
    accompaniment = torch.zeros(1, 2, 16, 84)
    known = torch.ones(1, 3, 16)
    base = network(melody, accompaniment, known)
    accompaniment[0, 1, 8, 0] = 1.0  # C1 in the last track
    moved = network(melody, accompaniment, known)
    far_cs = [36, 48, 60]  # C4, C5, C6 in the melody's map
    assert not torch.equal(moved[0, 0, 8, far_cs], base[0, 0, 8, far_cs])
    assert torch.equal(moved[0, 0, 8, 42], base[0, 0, 8, 42])  # F#4: no C within its reach


def test_transformer_is_causal_and_rebuilds_from_its_config() -> None:
    torch.manual_seed(0)
    network, cfg = build_network("transformer", TINY_TRANSFORMER)
    network.eval()
    tokens = torch.randint(0, cfg.vocab_size, (2, 20))
    logits = network(tokens)
    assert logits.shape == (2, 20, cfg.vocab_size)
    later = tokens.clone()
    later[:, 10:] = (later[:, 10:] + 1) % cfg.vocab_size
    assert torch.allclose(network(later)[:, :10], logits[:, :10], atol=1e-6)  # no peeking ahead
    again, _ = build_network("transformer", config_to_dict(cfg))
    again.load_state_dict(network.state_dict())
    assert torch.equal(again.eval()(tokens), logits)
    with pytest.raises(MuseforgeError, match="at most 24"):
        network(torch.zeros(1, 25, dtype=torch.long))


@pytest.mark.parametrize(
    ("architecture", "config", "message"),
    [
        ("transformer", {"n_embd": 10, "n_head": 3}, "not divisible"),
        ("transformer", {"dropout": 1.0}, "dropout"),
        ("arcnn", {"depth": 9}, "depth must be <= 5"),
        ("arcnn", {"wings": 2}, "unknown arcnn config key"),
    ],
)
def test_bad_configs_are_refused(architecture: str, config: dict, message: str) -> None:
    with pytest.raises(MuseforgeError, match=message):
        build_network(architecture, config)
