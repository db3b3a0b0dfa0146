"""A real training process killed with SIGKILL mid-epoch, then resumed, ends with the same weights."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from museforge.training import TrainConfig, resume_config, show_model, train
from museforge.training.registry import model_dir, read_history
from tests.helpers import wait_for

pytestmark = pytest.mark.slow


def _wait_for_checkpoint(proc: subprocess.Popen[bytes], card: Path, step: int, timeout: float = 120.0) -> None:
    """Poll the model card until a checkpoint at ``step`` or later is committed."""

    def committed() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the training process ended early: {proc.stderr.read().decode()[-2000:]}")
        try:
            saved = json.loads(card.read_text()).get("checkpoint") or {}
        except (OSError, ValueError):
            saved = {}
        return saved.get("step", 0) >= step

    wait_for(committed, timeout=timeout, interval=0.002, message=f"a checkpoint at step {step}")


def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(
    bach: Path,
    tiny: Callable[..., TrainConfig],
    settings: Callable[[TrainConfig], dict[str, Any]],
    run_child: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # a checkpoint after every step, so the kill can land in the middle of writing one
    train(tiny("whole", "unet", checkpoint_every=1, samples_per_epoch=1), progress=False)

    proc = run_child(settings(tiny("killed", "unet", checkpoint_every=1, samples_per_epoch=1)))
    try:
        _wait_for_checkpoint(proc, model_dir("killed") / "model.json", step=1)
    finally:
        proc.kill()  # SIGKILL: no handler runs, no file is closed cleanly
        proc.wait()
    card = show_model("killed")
    spe = card["steps_per_epoch"]
    assert card["status"] == "stopped"  # "training" on disk, but its process is gone
    # wherever the kill landed (inside an epoch, at its end, while a checkpoint or a sample was being written),
    # the folder holds one whole checkpoint from which the run goes on to the same end
    landed = card["checkpoint"]["step"]
    assert 0 < landed < 2 * spe and card["epochs_done"] == landed // spe

    result = train(resume_config("killed"), progress=False)
    assert result["status"] == "completed" and result["step"] == 2 * spe
    for file in ("generator.safetensors", "critic.safetensors"):
        whole, killed = load_file(str(model_dir("whole") / file)), load_file(str(model_dir("killed") / file))
        assert whole.keys() == killed.keys()
        assert all(torch.equal(whole[k], killed[k]) for k in whole)
    keys = ("epoch", "step", "generator_loss", "discriminator_loss", "real_score", "fake_score", "gradient_penalty")
    history = [[r[k] for k in keys] for r in read_history(model_dir("killed"))]
    assert history == [[r[k] for k in keys] for r in read_history(model_dir("whole"))]
    assert sorted(p.name for p in model_dir("killed").iterdir() if p.name.endswith(".tmp")) == []


def test_a_model_trained_before_the_common_key_resumes_in_its_own_keys(
    bach: Path, tiny: Callable[..., TrainConfig]
) -> None:
    """New runs train in the common key; a card written before the setting existed means the earlier recipe, and a
    resume keeps it (a resume that switched keys would change the data under the weights)."""
    assert tiny("new").common_key is True
    train(tiny("old", common_key=False, epochs=1, max_steps=1), progress=False)
    card_path = model_dir("old") / "model.json"
    card = json.loads(card_path.read_text())
    del card["hyperparameters"]["common_key"]
    card_path.write_text(json.dumps(card))
    config = resume_config("old", epochs=2, max_steps=2)
    assert config.common_key is False
    train(config, progress=False)
    resumed = show_model("old")
    assert resumed["step"] == 2 and resumed["data"]["common_key"] is False
