"""How much work a request may ask of the rewriting sampler, and a word before a long rewrite starts.

A studio request runs inside ``work_limits(REQUEST_MAX_PASSES)``, the CLI inside ``work_limits(announce=...)``;
Enhance and compose's revision pass call :func:`check_rewrite_work` before rewriting. No numpy here: the CLI imports
this module at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from museforge.errors import MuseforgeError

#: Seconds one window pass of a rewrite (one window through one iteration of the AR-CNN) takes on this project's
#: 2-core CPU (AMD EPYC: 64 bars, 31 windows, 8 more iterations took 4.0-5.0 s more).
SECONDS_PER_PASS = 0.02
#: Most window passes one studio request may ask of a rewrite: about 10 s (32 bars at the default 32 iterations).
REQUEST_MAX_PASSES = 500
#: A rewrite expected to take longer than this is announced before it starts.
ANNOUNCE_SECONDS = 10.0

_max_passes: ContextVar[int | None] = ContextVar("max_passes", default=None)
_announce: ContextVar[Callable[[str], None] | None] = ContextVar("announce", default=None)


@contextmanager
def work_limits(max_passes: int | None = None, announce: Callable[[str], None] | None = None) -> Iterator[None]:
    """Within the block, rewrites (Enhance, compose's revision pass) of more than ``max_passes`` window passes are
    refused (:func:`check_rewrite_work`), and ``announce(line)`` hears of a long one before it starts."""
    limit_token, announce_token = _max_passes.set(max_passes), _announce.set(announce)
    try:
        yield
    finally:
        _max_passes.reset(limit_token)
        _announce.reset(announce_token)


def check_rewrite_work(windows: int, iterations: int) -> None:
    """Refuse a rewrite of ``windows`` windows x ``iterations`` past the block's limit (:func:`work_limits`), in
    one line that says what would fit; announce a long one."""
    passes = windows * iterations
    limit = _max_passes.get()
    if limit is not None and passes > limit:
        fits = max(1, limit // max(windows, 1))
        raise MuseforgeError(
            f"rewriting {windows} windows x {iterations} iterations is {passes:,} window passes, over the limit of "
            f"{limit:,} here: ask for at most {fits} iteration{'s' if fits > 1 else ''}, or rewrite fewer bars"
        )
    seconds = passes * SECONDS_PER_PASS
    announce = _announce.get()
    if announce is not None and seconds >= ANNOUNCE_SECONDS:
        minutes = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
        announce(f"rewriting {windows} windows x {iterations} iterations: about {minutes} on a 2-core CPU")
