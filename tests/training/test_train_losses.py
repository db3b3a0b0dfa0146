"""The four adversarial losses and the gradient penalty, checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.training.losses import critic_loss, generator_loss, gradient_penalty

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([-1.0, 1.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(
    ("kind", "critic", "generator"),
    [
        # E[D(fake)] - E[D(real)] = 0 - 1
        ("wgan-gp", -1.0, 0.0),
        # relu(1 - real) = [0, 1] -> 0.5 ; relu(1 + fake) = [0, 2] -> 1.0
        ("hinge", 1.5, 0.0),
        (
            "nonsaturating",
            (softplus(-2) + softplus(0)) / 2 + (softplus(-1) + softplus(1)) / 2,
            (softplus(1) + softplus(-1)) / 2,
        ),
        # 0.5 * mean([1, 1]) + 0.5 * mean([1, 1]) ; 0.5 * mean([4, 0])
        ("lsgan", 1.0, 1.0),
    ],
)
def test_loss_values(kind: str, critic: float, generator: float) -> None:
    assert critic_loss(kind, REAL, FAKE).item() == pytest.approx(critic, abs=1e-6)
    assert generator_loss(kind, FAKE).item() == pytest.approx(generator, abs=1e-6)


@pytest.mark.parametrize("kind", ["wgan-gp", "hinge", "nonsaturating", "lsgan"])
def test_generator_gains_from_higher_fake_scores(kind: str) -> None:
    low, high = torch.zeros(4), torch.full((4,), 0.5)
    assert generator_loss(kind, high) < generator_loss(kind, low)
    assert critic_loss(kind, REAL, high) > critic_loss(kind, REAL, low)


def test_unknown_loss() -> None:
    with pytest.raises(MuseforgeError):
        critic_loss("wasserstein", REAL, FAKE)


class LinearCritic(nn.Module):
    """D(melody, x) = sum(w * x) + sum(melody): its gradient in x is w everywhere."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, melody: Tensor, accompaniment: Tensor) -> Tensor:
        return (accompaniment * self.weight).flatten(1).sum(1) + melody.flatten(1).sum(1)


def test_gradient_penalty_of_a_linear_critic() -> None:
    weight = torch.zeros(2, 3, 4)
    weight[0, 0, 0], weight[1, 2, 3] = 3.0, 4.0  # ||w|| = 5 -> penalty (5 - 1)^2 = 16 for every mix
    critic = LinearCritic(weight)
    real, fake = torch.rand(5, 2, 3, 4), torch.rand(5, 2, 3, 4)
    penalty = gradient_penalty(critic, torch.rand(5, 3, 4), real, fake, torch.rand(5))
    assert penalty.item() == pytest.approx(16.0)
    penalty.backward()  # differentiable w.r.t. the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert critic.weight.grad[0, 0, 0].item() == pytest.approx(2 * 4 * 3 / 5)
