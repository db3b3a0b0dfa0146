"""``critic_sees="notes"``: the critic is shown the notes the generator's probabilities decode to (0 or 1, as real
windows are), and the generator still learns through them (a straight-through gradient)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, show_model, train
from museforge.training.step import shown_to_critic
from tests.tiny_models import small_step

CONFIG = {"n_tracks": 3, "n_bars": 2, "steps_per_bar": 16, "z_dim": 8, "base_channels": 8, "melody_dim": 8}


def test_notes_are_the_threshold_and_the_gradient_passes_straight_through() -> None:
    probs = torch.tensor([0.2, 0.5, 0.7, 0.49], requires_grad=True)
    shown = shown_to_critic(probs, notes=True)
    assert shown.tolist() == [0.0, 1.0, 1.0, 0.0]
    (shown * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert probs.grad is not None and probs.grad.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert shown_to_critic(probs, notes=False) is probs


@pytest.mark.parametrize("notes", [False, True])
def test_the_critic_sees_only_notes_and_the_generator_still_learns(notes: bool) -> None:
    # real and fake in separate critic passes (plain): each pass shows one kind
    step = small_step("musegan", CONFIG, plain=True, critic_sees_notes=notes)
    generator, critic = step.generator, step.critic
    seen: list[torch.Tensor] = []
    critic.register_forward_pre_hook(lambda _module, args: seen.append(args[1].detach().clone()))
    data = torch.Generator().manual_seed(1)
    melody = (torch.rand((2, 4, 32, 84), generator=data) < 0.1).float()
    real = (torch.rand((2, 4, 3, 32, 84), generator=data) < 0.1).float()
    start = [p.detach().clone() for p in generator.parameters()]
    step(zip(melody, real, strict=True), torch.Generator().manual_seed(2))
    # per critic batch: real, fake, the gradient penalty's mix of the two; then the generator update's fake
    assert len(seen) == 7
    fakes = [seen[1], seen[4], seen[6]]
    binary = all(bool(((x == 0) | (x == 1)).all()) for x in fakes)
    assert binary == notes
    moved = max((p - s).abs().max().item() for p, s in zip(generator.parameters(), start, strict=True))
    assert moved > 1e-5


def test_a_run_records_what_its_critic_saw(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("notes", "unet", max_steps=2, epochs=1, critic_sees="notes"), progress=False)
    assert show_model("notes")["hyperparameters"]["critic_sees"] == "notes"
    with pytest.raises(MuseforgeError, match="--critic-sees"):
        TrainConfig(name="x", genre="bach", critic_sees="cells").validate()
    with pytest.raises(MuseforgeError, match="--critic-sees"):
        TrainConfig(name="x", genre="bach", architecture="arcnn", critic_sees="notes").validate()
