"""Distributed training for real: two Gloo processes on the CPU started by torchrun, on real bach windows.

The runs go through ``python -m torch.distributed.run``: new runs through ``ddp_worker.py`` (train() with tiny
model configs, which the CLI does not take, each process's networks saved after it returns, and process 1
on a data home of its own, like a second machine), the resume through ``museforge train --resume
--distributed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from museforge.errors import MuseforgeError
from museforge.pipelines.compose import compose
from museforge.training import TrainConfig, resume_config, show_model, train
from museforge.training.distributed import (
    SINGLE,
    Context,
    choose_backend,
    launch_environment,
    shard,
    timeout_seconds,
)
from museforge.training.registry import model_dir, read_history

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
#: torchrun's own launcher with a rendezvous on a free local port.
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}
    return {**env, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1", "MUSEFORGE_DIST_TIMEOUT": "120", **extra}


def _run(args: list[str], timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=_env(**env), capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _other_home(home: Path, tmp_path: Path) -> Path:
    """A data home for process 1 with the same dataset and no models: the disk of a second machine."""
    other = tmp_path / "other_home"
    (other / "datasets").mkdir(parents=True)
    (other / "datasets" / "bach").symlink_to((home / "datasets" / "bach").resolve(), target_is_directory=True)
    return other


def _worker(settings: dict[str, Any], out: Path, other_home: Path, stop_after_epoch: int | None = None) -> None:
    """Train with two processes through the worker (process 1 on ``other_home``); assert both ended well."""
    extra = [] if stop_after_epoch is None else [str(stop_after_epoch)]
    args = [*TORCHRUN, str(WORKER), json.dumps(settings), str(out), *extra]
    done = _run(args, DDP_WORKER_OTHER_HOME=str(other_home))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert sorted(p.name for p in other_home.iterdir()) == ["datasets"]  # process 1 wrote nothing


def _ranks(out: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    return load_file(str(out / "rank0.safetensors")), load_file(str(out / "rank1.safetensors"))


def _assert_same_everywhere(name: str, out: Path, networks: tuple[str, ...] = ("generator", "critic")) -> None:
    """Both processes hold the same networks, and they are the checkpoint's."""
    first, second = _ranks(out)
    assert first.keys() == second.keys() and any(k.startswith("critic.") for k in first)
    assert all(torch.equal(first[k], second[k]) for k in first)
    for net in networks:
        saved = load_file(str(model_dir(name) / f"{net}.safetensors"))
        assert saved.keys() == {k.split(".", 1)[1] for k in first if k.startswith(net + ".")}
        assert all(torch.equal(saved[k], first[f"{net}.{k}"]) for k in saved)


def _single_steps_per_epoch(card: dict[str, Any]) -> int:
    hyper = card["hyperparameters"]
    return card["data"]["windows"]["train"] // hyper["batch_size"] // hyper["update_ratio"]


def _weights(name: str) -> dict[str, torch.Tensor]:
    return {
        f"{net}.{k}": v
        for net in ("generator", "critic")
        for k, v in load_file(str(model_dir(name) / f"{net}.safetensors")).items()
    }


@pytest.mark.slow
def test_two_processes_train_stop_resume_and_compose(
    bach: Path, tmp_path: Path, tiny: Callable[..., TrainConfig], settings: Callable[[TrainConfig], dict[str, Any]]
) -> None:
    whole, halted = tmp_path / "whole", tmp_path / "halted"
    whole.mkdir(), halted.mkdir()
    _worker(settings(tiny("duo", "unet", epochs=3)), whole, _other_home(bach, whole))

    card = show_model("duo")
    spe = card["steps_per_epoch"]
    assert card["status"] == "completed" and (card["epochs_done"], card["step"]) == (3, 3 * spe)
    assert spe >= 2 and spe == _single_steps_per_epoch(card) // 2  # each process takes half of every epoch
    assert (card["world_size"], card["backend"], card["hyperparameters"]["distributed"]) == (2, "gloo", True)
    assert card["process"]["pid"] != os.getpid()
    records = read_history(model_dir("duo"))
    assert [(r["epoch"], r["step"]) for r in records] == [(1, spe), (2, 2 * spe), (3, 3 * spe)]
    assert all(r["samples_per_second"] > 0 for r in records)
    _assert_same_everywhere("duo", whole)
    # every process returns process 0's summary
    summaries = [json.loads((whole / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert summaries[0] == summaries[1] and summaries[0]["status"] == "completed"
    result = compose("ode_to_joy", "duo", out_midi=tmp_path / "duo.mid", seed=1)
    assert result.summary["model"] == "duo" and (tmp_path / "duo.mid").stat().st_size > 0
    assert sum(t["notes"] for t in result.summary["tracks"][1:]) > 0

    # the same run planned for 2 epochs; process 0 creates STOP when epoch 1 is logged: both processes stop
    # after the next step, saved there
    _worker(settings(tiny("halt", "unet", epochs=2)), halted, _other_home(bach, halted), stop_after_epoch=1)
    card = show_model("halt")
    assert card["status"] == "stopped" and card["checkpoint"]["step"] == card["step"] == spe + 1
    assert [r["epoch"] for r in read_history(model_dir("halt"))] == [1]
    assert not (model_dir("halt") / "STOP").exists()
    _assert_same_everywhere("halt", halted)

    # stopped mid-epoch by two processes: one process may not take over before the epoch ends
    with pytest.raises(MuseforgeError, match="resume it with 2") as excinfo:
        train(resume_config("halt"), progress=False)
    assert "\n" not in str(excinfo.value)
    assert show_model("halt")["status"] == "stopped"

    # two processes resume it through the CLI, for one more epoch than planned: process 0 alone reports, and the
    # run ends where the uninterrupted one did
    cli = ["-m", "museforge.cli", "train", "--name", "halt", "--resume", "--epochs", "3", "--distributed"]
    done = _run([*TORCHRUN, *cli])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(f"model halt: completed at step {3 * spe} (3 whole epochs)") == 1
    card = show_model("halt")
    assert (card["status"], card["epochs_done"], card["step"], card["world_size"]) == ("completed", 3, 3 * spe, 2)
    keys = ("epoch", "step", "generator_loss", "discriminator_loss", "gradient_penalty")
    assert [[r[k] for k in keys] for r in read_history(model_dir("halt"))] == [[r[k] for k in keys] for r in records]
    duo, halt = _weights("duo"), _weights("halt")
    assert duo.keys() == halt.keys() and all(torch.equal(duo[k], halt[k]) for k in duo)


@pytest.mark.slow
def test_two_processes_train_a_musegan(
    bach: Path, tmp_path: Path, tiny: Callable[..., TrainConfig], settings: Callable[[TrainConfig], dict[str, Any]]
) -> None:
    """Two processes train a MuseGAN with a weight average (--ema): the average, its batch-norm statistics and the
    optimizer's own weights are the same on both and the checkpoint's."""
    band = tiny("band", "musegan", epochs=1, samples_per_epoch=1, ema=0.9)
    _worker(settings(band), tmp_path, _other_home(bach, tmp_path))
    card = show_model("band")
    spe = card["steps_per_epoch"]
    assert (card["status"], card["step"], card["world_size"]) == ("completed", spe, 2)
    assert spe == _single_steps_per_epoch(card) // 2
    assert [r["epoch"] for r in read_history(model_dir("band"))] == [1]
    assert card["samples"] == ["epoch_001.mid", "epoch_001.png"]
    _assert_same_everywhere("band", tmp_path, ("generator", "generator_raw", "critic"))
    average, raw = (load_file(str(model_dir("band") / f"{n}.safetensors")) for n in ("generator", "generator_raw"))
    assert not all(torch.equal(average[k], raw[k]) for k in average)


@pytest.mark.slow
def test_distributed_needs_torchrun(bach: Path) -> None:
    done = _run([sys.executable, "-m", "museforge.cli", "train", "--genre", "bach", "--name", "x", "--distributed"])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "torchrun" in lines[0] and lines[0].startswith("museforge: error:")
    assert not model_dir("x").exists()


def test_torchrun_without_the_flag_is_refused(
    bach: Path, tiny: Callable[..., TrainConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(MuseforgeError, match="pass --distributed"):
        train(tiny("solo"), progress=False)
    assert not model_dir("solo").exists()


def test_distributed_is_a_checked_flag_not_a_locked_setting(tiny: Callable[..., TrainConfig]) -> None:
    with pytest.raises(MuseforgeError, match="distributed must be true or false"):
        tiny("x", distributed="yes").validate()
    from museforge.training.config import LOCKED_ON_RESUME

    assert "distributed" not in LOCKED_ON_RESUME


def test_each_process_takes_its_own_slice_of_the_epoch() -> None:
    order = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    per_update, world = 4, 3
    steps = len(order) // (per_update * world)
    slices = [
        shard(order, update, per_update, Context(rank=rank, world_size=world, backend="gloo"))
        for update in range(steps)
        for rank in range(world)
    ]
    taken = torch.cat(slices)
    assert all(len(s) == per_update for s in slices)
    assert torch.equal(taken, order[: steps * per_update * world])  # disjoint, in order, nothing skipped but the tail
    assert torch.equal(shard(order, 2, per_update, SINGLE), order[8:12])  # one process: the plain batches


def test_the_launch_environment_is_read_and_checked() -> None:
    env = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    assert launch_environment(env) == {"rank": 1, "local_rank": 1, "world_size": 2, "master": "127.0.0.1:29500"}
    for change, message in [
        ({"RANK": ""}, "RANK missing"),
        ({"WORLD_SIZE": "two"}, "whole numbers"),
        ({"RANK": "2"}, "bad torchrun environment"),
    ]:
        with pytest.raises(MuseforgeError, match=message):
            launch_environment({**env, **change})
    assert choose_backend("cpu", 0) == ("gloo", torch.device("cpu"))
    assert timeout_seconds({}) == 600.0 and timeout_seconds({"MUSEFORGE_DIST_TIMEOUT": "30"}) == 30.0
    with pytest.raises(MuseforgeError, match="MUSEFORGE_DIST_TIMEOUT"):
        timeout_seconds({"MUSEFORGE_DIST_TIMEOUT": "-1"})
