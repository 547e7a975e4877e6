"""Throttled progress lines for the dataset commands (validate-dataset, temporal, import-counters, synth).

    progress = Progress("validate-dataset: metadata files")
    for i, rec in enumerate(records, 1):
        progress(i, total)          # prints at most every `every_s` seconds, and always at the end

Lines go to stderr so that stdout keeps only the report; they are plain lines (no carriage
returns), so they read the same in a terminal, a log file or a CI console.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`label done/total (rate/s, ~ETA)` every `every_s` seconds and when done == total."""

    def __init__(self, label: str, every_s: float = 10.0, stream: TextIO | None = None):
        self.label, self.every_s = label, every_s
        self.stream = stream or sys.stderr
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.perf_counter()
        finished = total is not None and done >= total
        if not finished and now - self.last < self.every_s:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        text = f"  {self.label} {done:,}" + (f"/{total:,}" if total is not None else "")
        text += f" ({rate:,.0f}/s"
        if total and not finished and rate > 0:
            text += f", ~{(total - done) / rate:,.0f}s left"
        print(text + f", {elapsed:.1f}s)", file=self.stream, flush=True)
