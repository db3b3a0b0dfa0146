"""Timing, peak memory, FLOP counting and the machine's load for the benchmarks.

Timings alternate the variants being compared in rounds (A, B, A, B, ...), each variant running about the same
wall time per round, and report the median round, so a busy machine slows all alike and ratios stay meaningful;
the ratio of two variants is also taken round by round, to show its spread. Peak memory is the growth over the
level before the measured call: on CUDA from the caching allocator's peak, on the CPU from the process's resident
set sampled every millisecond in a child process where large tensors are mapped and unmapped directly
(:data:`MALLOC_ENV`), which would slow the timings down, so they run apart.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

#: glibc setting that makes every allocation above 64 KiB its own mapping, returned to the OS when freed.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def unpooled_malloc() -> bool:
    """Whether this process runs with :data:`MALLOC_ENV` (needed for CPU memory figures, bad for speed)."""
    return all(os.environ.get(k) == v for k, v in MALLOC_ENV.items())


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_memory(fn: Callable[[], Any], device: torch.device) -> int:
    """Bytes the call needs above what was allocated before it (device memory on CUDA, resident set on CPU)."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    before = _resident_bytes()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _resident_bytes())
            time.sleep(0.001)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    return max(peak[0], _resident_bytes()) - before


def load_average() -> float:
    """The machine's 1-minute load average (runnable processes; 2 on a busy 2-core machine), or -1 if unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


def interleaved_rounds(
    variants: dict[str, Callable[[], Any]], device: torch.device, rounds: int, calls: int | dict[str, int]
) -> dict[str, list[float]]:
    """Seconds per call of each variant in each of ``rounds`` alternating rounds.

    ``calls`` is the number of calls per round, for all variants or per variant (to give each about the same
    wall time per round).
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            n = calls[name] if isinstance(calls, dict) else calls
            synchronize(device)
            start = time.perf_counter()
            for _ in range(n):
                fn()
            synchronize(device)
            times[name].append((time.perf_counter() - start) / n)
    return times


def interleaved_seconds(
    variants: dict[str, Callable[[], Any]], device: torch.device, rounds: int, calls: int | dict[str, int]
) -> dict[str, float]:
    """Median seconds per call of each variant, timed in alternating rounds (:func:`interleaved_rounds`)."""
    times = interleaved_rounds(variants, device, rounds, calls)
    return {name: statistics.median(values) for name, values in times.items()}


class _FlopCounter(TorchDispatchMode):
    """Adds up the FLOPs of every operator PyTorch's flop counter knows (matrix products, convolutions).

    Unlike ``FlopCounterMode`` it tracks no modules, so it works under ``torch.autograd.grad`` (the penalty).
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += int(count(*args, **kwargs, out_val=out))
        return out


def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations of one call (matrix products and convolutions, forward and both backwards)."""
    counter = _FlopCounter()
    with counter:
        fn()
    return counter.total
