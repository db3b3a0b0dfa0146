"""One process of a distributed test run, started by ``python -m torch.distributed.run ... ddp_worker.py``.

Usage: ``ddp_worker.py SETTINGS_JSON OUT_DIR [STOP_AFTER_EPOCH]``. Trains ``TrainConfig(**settings,
distributed=True)`` like ``museforge train --distributed`` would (the CLI takes no model-config overrides,
which the tiny test models need), then writes what this process holds to ``OUT_DIR``:
``rank<R>.safetensors`` (its generator's and critic's state, prefixed ``generator.`` / ``critic.``) and
``rank<R>.json`` (the summary train() returned). With STOP_AFTER_EPOCH, process 0 creates the model's STOP
file when that epoch is logged. With ``DDP_WORKER_OTHER_HOME`` set, the processes other than 0 use that
folder as MUSEFORGE_HOME, like a second machine with its own disk. Exit codes follow the CLI: 2 and one
line for a MuseforgeError.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, registry, trainer


def main(argv: list[str]) -> int:
    settings = json.loads(argv[0])
    out = Path(argv[1])
    stop_after = int(argv[2]) if len(argv) > 2 else None
    config = TrainConfig(**{**settings, "distributed": True})
    rank = int(os.environ["RANK"])
    if rank != 0 and os.environ.get("DDP_WORKER_OTHER_HOME"):
        os.environ["MUSEFORGE_HOME"] = os.environ["DDP_WORKER_OTHER_HOME"]
    held: dict[str, Any] = {}

    def on_epoch(record: dict[str, Any]) -> None:
        if stop_after is not None and record["epoch"] == stop_after:
            (registry.model_dir(config.name) / registry.STOP_FILE).touch()

    original = trainer.Trainer.run

    def run_and_keep(self: trainer.Trainer) -> dict[str, Any]:
        result = original(self)
        held.update(self.task.networks)
        return result

    trainer.Trainer.run = run_and_keep  # type: ignore[method-assign]  # to see the networks train() returns
    try:
        result = trainer.train(config, progress=False, on_epoch=on_epoch)
    except MuseforgeError as exc:
        print(f"museforge: error: {exc}", file=sys.stderr)
        return 2
    tensors = {f"{net}.{k}": v.detach().cpu().contiguous() for net in held for k, v in held[net].state_dict().items()}
    save_file(tensors, str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
