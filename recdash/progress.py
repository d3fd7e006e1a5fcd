"""The progress callback every long-running part of recdash reports through.

A callback receives (fraction done in 0..1, a short message). The library never prints: the CLI
draws a tqdm bar, the studio an `st.progress`, a job writes its row. `part` maps a callback onto a
sub-range, so one step of a longer task reports its own 0..1.
"""

from __future__ import annotations

from typing import Callable

Progress = Callable[[float, str], None]


def part(progress: Progress | None, low: float, high: float) -> Progress | None:
    """A callback that reports `progress`'s range low..high as 0..1 (None stays None)."""
    if progress is None:
        return None
    return lambda fraction, message: progress(low + (high - low) * fraction, message)
