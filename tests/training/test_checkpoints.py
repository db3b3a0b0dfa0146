"""Crash-safe checkpoint files: atomic writes, the commit protocol, recovery and corrupted files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from museforge.errors import MuseforgeError
from museforge.models import weights
from museforge.training import checkpoints as ckpt

NAMES = ("a.safetensors", "b.safetensors")


def test_atomic_write_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    ckpt.write_json(path, {"x": 1, "nan": float("nan"), "nested": [float("inf"), 2.5]})
    ckpt.write_json(path, {"x": 2, "nan": float("nan"), "nested": [float("inf"), 2.5]})
    assert json.loads(path.read_text()) == {"x": 2, "nan": None, "nested": [None, 2.5]}
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_atomic_write_into_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MuseforgeError, match="cannot write"):
        ckpt.atomic_write_bytes(tmp_path / "gone" / "x.json", b"{}")


def _files(value: float) -> dict:
    return {name: ({"w": torch.full((3,), value)}, {"architecture": "unet"}) for name in NAMES}


def test_save_commits_then_renames(tmp_path: Path) -> None:
    committed: list[str] = []
    first = ckpt.save_checkpoint(tmp_path, _files(1.0), committed.append)
    assert committed == [first]
    for name in NAMES:
        tensors, meta = weights.read_tensors(tmp_path / name)
        assert (
            torch.equal(tensors["w"], torch.ones(3)) and meta["checkpoint"] == first and meta["architecture"] == "unet"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)


def test_a_failed_commit_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    first = ckpt.save_checkpoint(tmp_path, _files(1.0), lambda _id: None)

    def fail(_id: str) -> None:
        raise MuseforgeError("disk full")

    with pytest.raises(MuseforgeError):
        ckpt.save_checkpoint(tmp_path, _files(2.0), fail)
    ckpt.recover(tmp_path, NAMES, first)
    assert torch.equal(weights.read_tensors(tmp_path / NAMES[0])[0]["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)


def test_recover_finishes_a_commit_interrupted_between_renames(tmp_path: Path) -> None:
    ckpt.save_checkpoint(tmp_path, _files(1.0), lambda _id: None)
    # what a kill leaves after the commit of checkpoint "new" and the first of its two renames
    (tmp_path / "a.safetensors").write_bytes(weights.tensors_bytes({"w": torch.full((3,), 2.0)}, {"checkpoint": "new"}))
    (tmp_path / "b.safetensors.tmp").write_bytes(
        weights.tensors_bytes({"w": torch.full((3,), 2.0)}, {"checkpoint": "new"})
    )
    with pytest.raises(MuseforgeError, match="does not belong"):
        ckpt.recover(tmp_path, ["a.safetensors"], "old-id")
    ckpt.recover(tmp_path, NAMES, "new")
    for name in NAMES:
        assert torch.equal(weights.read_tensors(tmp_path / name)[0]["w"], torch.full((3,), 2.0))
    assert not (tmp_path / "b.safetensors.tmp").exists()


def test_recover_drops_temps_of_an_uncommitted_checkpoint(tmp_path: Path) -> None:
    first = ckpt.save_checkpoint(tmp_path, _files(1.0), lambda _id: None)
    (tmp_path / "a.safetensors.tmp").write_bytes(b"half a file")
    ckpt.recover(tmp_path, NAMES, first)
    assert not (tmp_path / "a.safetensors.tmp").exists()
    with pytest.raises(MuseforgeError, match="expected 'musegan'"):
        ckpt.recover(tmp_path, NAMES, first, {"architecture": "musegan"})


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupted_files_are_one_line_errors(tmp_path: Path, damage: str) -> None:
    ckpt.save_checkpoint(tmp_path, _files(1.0), lambda _id: None)
    path = tmp_path / NAMES[0]
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00" * 64 + data, "empty": b""}[damage])
    with pytest.raises(MuseforgeError) as excinfo:
        weights.read_tensors(path)
    assert "\n" not in str(excinfo.value)


def test_foreign_safetensors_are_refused(tmp_path: Path) -> None:
    import safetensors.torch

    safetensors.torch.save_file({"w": torch.ones(2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(MuseforgeError, match="not a museforge weights file"):
        weights.read_tensors(tmp_path / "x.safetensors")


def test_module_and_optimizer_state_round_trip() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.9))
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 4)).pow(2).mean().backward()
        opt.step()
    data = weights.tensors_bytes({**weights.module_tensors(model), **ckpt.optimizer_tensors(opt, "opt")}, {})

    import safetensors.torch

    tensors = safetensors.torch.load(data)
    twin = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.9))
    weights.load_module(twin, {k: v for k, v in tensors.items() if not k.startswith("opt.")}, "weights")
    ckpt.load_optimizer(twin_opt, tensors, "opt")
    batch = torch.randn(8, 4)
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        m(batch).pow(2).mean().backward()
        o.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)


def test_weights_of_another_shape_are_refused() -> None:
    with pytest.raises(MuseforgeError, match="does not fit"):
        weights.load_module(nn.Linear(4, 3), weights.module_tensors(nn.Linear(5, 3)), "weights")
    with pytest.raises(MuseforgeError, match="does not fit"):
        weights.load_module(nn.Linear(4, 3), weights.module_tensors(nn.Sequential(nn.Linear(4, 3))), "weights")
