"""Progress of long work: a tqdm bar on a terminal, plain lines elsewhere (Slurm, nohup, CI logs).

Under a batch system stderr is a file, where a bar would print nothing useful until the end (or a flood of
carriage returns); :class:`LineProgress` writes one line every ``every`` steps, and at the end, with the rate,
the ETA and the latest losses.

Example:
    >>> import io
    >>> from mdfloss.common.progress import LineProgress
    >>> out = io.StringIO()
    >>> bar = LineProgress(total=4, desc="demo", every=2, stream=out, clock=iter(range(100)).__next__)
    >>> for _ in range(4):
    ...     bar.update(1)
    ...     bar.set_postfix(loss="0.5")
    >>> bar.close()
    >>> print(out.getvalue().strip())
    demo: 2/4 (50%), 2.00 it/s, ETA 0:00:01, loss=0.5
    demo: 4/4 (100%), 2.00 it/s, ETA 0:00:00, loss=0.5
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from typing import Callable, TextIO

from tqdm.auto import tqdm


class LineProgress:
    """The part of tqdm's interface the trainers use (``update``, ``set_postfix``, ``close``, a context manager),
    printing a line every ``every`` steps and at the last one."""

    def __init__(self, total: int, *, initial: int = 0, desc: str = "", every: int | None = None,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.n, self.desc = total, initial, desc
        # About 20 lines per run by default, and at least one per 10 steps' worth of work.
        self.every = every or max(1, min(100, (total - initial) // 20 or 1))
        self.stream = stream or sys.stderr
        self.clock = clock
        self.t0, self.n0 = clock(), initial
        self.postfix = ""
        self._printed_at = initial

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **values: object) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if self.n - self._printed_at >= self.every or self.n >= self.total:
            self._line()

    def _line(self) -> None:
        self._printed_at = self.n
        elapsed = max(self.clock() - self.t0, 1e-9)
        rate = (self.n - self.n0) / elapsed
        eta = datetime.timedelta(seconds=round((self.total - self.n) / rate)) if rate > 0 else "?"
        pct = 100 * self.n / self.total if self.total else 100
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} ({pct:.0f}%), {rate:.2f} it/s, ETA {eta}{tail}",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.n > self._printed_at:
            self._line()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def note(message: str, *, enabled: bool | None = None) -> None:
    """One line on stderr beside the progress (silent where ``enabled`` is False, as the bars are)."""
    if enabled is not False:
        print(message, file=sys.stderr, flush=True)


class WorkClock:
    """An ETA for work whose steps differ in cost: the measured seconds per unit of work so far, times the units
    left (Phase 1: an iteration's units are its scale's pixels, so the coarse scales' fast iterations do not
    promise a fast finish).

    Example:
        >>> clock = WorkClock(units_total=100, clock=iter([0.0, 10.0]).__next__)
        >>> clock.eta(units_done=20)  # 10 s for 20 units: 40 s for the 80 left
        '0:00:40'
    """

    def __init__(self, units_total: float, clock=time.perf_counter) -> None:
        self.total, self.clock, self.t0 = float(units_total), clock, clock()

    def eta(self, units_done: float) -> str:
        if units_done <= 0:
            return "?"
        left = max(0.0, (self.clock() - self.t0) / units_done * (self.total - units_done))
        return str(datetime.timedelta(seconds=round(left)))


def progress_bar(total: int, *, initial: int = 0, desc: str = "", enabled: bool | None = None, leave: bool = True):
    """A tqdm bar on a terminal, :class:`LineProgress` when stderr is not one, nothing when ``enabled`` is False.

    ``enabled``: True forces the bar, False silences, None (default) chooses by whether stderr is a terminal.
    """
    if enabled is False:
        return tqdm(total=total, initial=initial, disable=True)
    if enabled is None and not os.isatty(2):
        return LineProgress(total, initial=initial, desc=desc)
    return tqdm(total=total, initial=initial, desc=desc, leave=leave, unit="it")
