"""The moving average of a GAN generator's weights (``--ema``): the formula worked out by hand, the run that ships
the average and keeps the optimizer's own weights beside it, stop and resume, and bad settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from museforge.errors import MuseforgeError
from museforge.models.loading import load_model
from museforge.training import TrainConfig, resume_config, show_model, train
from museforge.training.averaging import WeightAverage
from museforge.training.registry import model_dir


def _weights(name: str, file: str) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir(name) / file))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_average_follows_the_formula_with_its_warm_up() -> None:
    """Two updates of a one-weight network: the average worked out by hand."""
    network = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    with torch.no_grad():
        network[0].weight.fill_(1.0)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.5)
    average = WeightAverage(network, decay=0.9, optimizer=optimizer)
    seen: list[float] = []
    for target in (3.0, 5.0):
        optimizer.zero_grad()
        loss = (network[0](torch.tensor([[1.0], [2.0]])) - target).pow(2).mean()
        loss.backward()
        optimizer.step()
        seen.append(float(network[0].weight.detach()))
        average.update()
    # update 1 keeps min(0.9, 2/11) of the start (1.0); update 2 keeps min(0.9, 3/12)
    first = 2 / 11 * 1.0 + 9 / 11 * seen[0]
    expected = 3 / 12 * first + 9 / 12 * seen[1]
    assert float(average.average[0].weight) == pytest.approx(expected)
    assert float(average.average[0].weight) != pytest.approx(seen[1])  # an average, not a copy
    assert not average.average[0].weight.requires_grad


def test_the_averages_batch_norm_statistics_are_its_own() -> None:
    """The statistics are the mean and variance of the average's own activations over the batches given, computed
    only when its weights moved since the last time."""
    network = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1, momentum=0.3))
    optimizer = torch.optim.Adam(network.parameters(), lr=0.1)
    average = WeightAverage(network, decay=0.5, optimizer=optimizer)
    network[0].weight.detach().fill_(3.0)  # the weights the optimizer left
    optimizer.state[network[0].weight]["step"] = torch.tensor(1000.0)  # warmed up: rate = decay
    with torch.no_grad():
        average.average[0].weight.fill_(1.0)
    average.update()  # 0.5 * 1 + 0.5 * 3
    assert float(average.average[0].weight) == pytest.approx(2.0)
    batches = [(torch.tensor([[1.0], [2.0]]),), (torch.tensor([[3.0], [6.0]]),)]
    average.average.eval()
    assert average.refresh_statistics(batches)
    activations = 2.0 * torch.tensor([1.0, 2.0, 3.0, 6.0])
    norm = average.average[1]
    # the mean of the batches' means and of their (unbiased) variances
    assert float(norm.running_mean) == pytest.approx(float((activations[:2].mean() + activations[2:].mean()) / 2))
    assert float(norm.running_var) == pytest.approx(float((activations[:2].var() + activations[2:].var()) / 2))
    assert norm.momentum == 0.3 and not average.average.training  # as they were
    assert not average.refresh_statistics(iter(()))  # nothing moved since: the same statistics
    average.update()  # 0.5 * 2 + 0.5 * 3
    assert average.refresh_statistics([(torch.tensor([[1.0], [1.5]]),)])
    assert float(norm.running_mean) == pytest.approx(2.5 * 1.25)


def test_the_warm_up_gives_way_to_the_decay() -> None:
    average = WeightAverage(nn.Linear(1, 1), 0.999, torch.optim.Adam(nn.Linear(1, 1).parameters()))
    assert average.rate(1) == pytest.approx(2 / 11)
    assert average.rate(100) == pytest.approx(101 / 110)
    assert average.rate(100_000) == 0.999


def test_a_run_with_an_average_ships_it_and_resumes_exactly(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    """The average is ``generator.safetensors`` (what composing loads), the optimizer's weights are
    ``generator_raw.safetensors`` and follow the same path as a run without the average; a stop and resume ends
    where an uninterrupted run does."""
    train(tiny("plain", "unet"), progress=False)
    train(tiny("avg", "unet", ema=0.9), progress=False)
    raw, average = _weights("avg", "generator_raw.safetensors"), _weights("avg", "generator.safetensors")
    assert _same(raw, _weights("plain", "generator.safetensors"))  # the average does not change the training
    assert not _same(raw, average)
    assert show_model("avg")["hyperparameters"]["ema"] == 0.9
    generator, _card = load_model("avg")
    loaded = generator.state_dict()
    assert all(torch.equal(loaded[k], average[k]) for k in average)

    stop = threading.Event()
    train(tiny("halted", "unet", ema=0.9), progress=False, stop_event=stop, on_epoch=lambda _r: stop.set())
    assert show_model("halted")["status"] == "stopped"
    train(resume_config("halted"), progress=False)
    for file in ("generator.safetensors", "generator_raw.safetensors", "critic.safetensors"):
        assert _same(_weights("avg", file), _weights("halted", file)), file


def test_an_average_is_locked_on_resume(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("no-average", "unet", max_steps=1, epochs=1), progress=False)
    with pytest.raises(MuseforgeError, match="ema"):
        train(resume_config("no-average", ema=0.99, max_steps=2), progress=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ema": 1.0}, "--ema"),
        ({"ema": -0.5}, "--ema"),
        ({"ema": float("nan")}, "--ema"),
        ({"ema": 0.99, "architecture": "arcnn"}, "--ema"),
    ],
)
def test_bad_averages_are_one_line_errors(changes: dict, message: str) -> None:
    with pytest.raises(MuseforgeError, match=message) as info:
        TrainConfig(name="m", genre="bach", **changes).validate()
    assert "\n" not in str(info.value)
