"""`trendflow validate-dataset DIR`: check a dataset root against the contract of SPEC §2.

Reports every problem with its file and field (codes and severities: `loader.PROBLEM_CODES`)
and a summary: metadata files, usable videos, videos per snapshot, how many lack snapshot 2,
the distribution of the gaps t_k - t_1 in days, duplicates. Problems in one video never stop the
others. Any "error" is fatal: `report.ok` is False and the command exits with code 1. Missing
optional metadata fields are warnings, counted per field (`missing_optional_field`). A dataset
without video files is counters-only: it passes, and the report says that only the tabular
models apply.

    report = validate_dataset("data/", require_videos=False)
    print(report.format())
"""

from __future__ import annotations

import json
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from trendflow.dataset.loader import PROBLEM_CODES, DatasetReader, Problem
from trendflow.dataset.models import EXPECTED_OPTIONAL_FIELDS


@dataclass
class ValidationReport:
    root: str
    problems: list[Problem] = field(default_factory=list)
    n_metadata_files: int = 0
    n_usable: int = 0  # valid metadata + a timed snapshot 1, after dropping duplicates
    n_duplicate_ids: int = 0
    snapshot_counts: dict[int, int] = field(default_factory=dict)  # usable snapshot files per k
    n_missing_snapshot_2: int = 0  # usable videos without a usable snapshot 2
    gap_days: dict[int, dict[str, float]] = field(default_factory=dict)  # k -> quantiles of t_k - t_1
    counters_only: bool = False  # no video file at all: only the tabular models apply
    missing_optional: dict[str, int] = field(default_factory=dict)  # field -> metadata files without it

    @property
    def n_errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def n_warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    @property
    def ok(self) -> bool:
        return self.n_errors == 0

    def codes(self) -> Counter:
        return Counter(p.code for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "ok": self.ok, "n_errors": self.n_errors, "n_warnings": self.n_warnings,
                "n_metadata_files": self.n_metadata_files, "n_usable": self.n_usable,
                "n_duplicate_ids": self.n_duplicate_ids, "counters_only": self.counters_only,
                "missing_optional": dict(self.missing_optional),
                "snapshot_counts": {str(k): v for k, v in sorted(self.snapshot_counts.items())},
                "n_missing_snapshot_2": self.n_missing_snapshot_2,
                "gap_days": {str(k): v for k, v in sorted(self.gap_days.items())},
                "problem_counts": dict(self.codes()),
                "problems": [p.to_dict() for p in self.problems]}

    def format(self, max_per_code: int = 10) -> str:
        """Human-readable report: summary, then problems grouped by code (first `max_per_code` each)."""
        lines = [f"dataset {self.root}: {'OK' if self.ok else 'FAILED'} "
                 f"({self.n_errors} errors, {self.n_warnings} warnings)",
                 f"  metadata files {self.n_metadata_files}, usable videos {self.n_usable}, "
                 f"duplicated ids {self.n_duplicate_ids}"]
        if self.counters_only:
            lines.append("  counters-only dataset: no video files, so there are no content features and only "
                         "the tabular models apply")
        lines += ["  snapshot  videos  gap_days(min / p5 / median / p95 / max)"]
        for k in sorted(self.snapshot_counts):
            g = self.gap_days.get(k)
            gap = ("-" if not g else " / ".join(f"{g[q]:.2f}" for q in ("min", "p5", "p50", "p95", "max")))
            lines.append(f"  {k:>8d}  {self.snapshot_counts[k]:>6d}  {gap}")
        lines.append(f"  usable videos without snapshot 2: {self.n_missing_snapshot_2}"
                     + (f" ({self.n_missing_snapshot_2 / self.n_usable:.1%})" if self.n_usable else ""))
        by_code: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            by_code[p.code].append(p)
        for code in sorted(by_code, key=lambda c: (PROBLEM_CODES[c][0] != "error", c)):
            items = by_code[code]
            lines.append(f"{PROBLEM_CODES[code][0]} {code} x{len(items)}: {PROBLEM_CODES[code][1]}")
            lines.extend(f"    {p.file}" + (f" [{p.field}]" if p.field else "") + f": {p.message}"
                         for p in items[:max_per_code])
            if len(items) > max_per_code:
                lines.append(f"    ... {len(items) - max_per_code} more (see --report)")
        return "\n".join(lines)

    def write_json(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1, default=str)


def validate_dataset(root: str, storage_options: dict[str, Any] | None = None, *,
                     require_videos: bool = True, parse_comments: bool = True, workers: int = 1,
                     progress: Callable[[int, int], None] | None = None) -> ValidationReport:
    """Read the whole dataset once (streaming) and collect every problem plus the summary.

    progress(done, total) is called after each metadata file.
    """
    reader = DatasetReader(root, storage_options, require_videos=require_videos,
                           parse_comments=parse_comments, workers=workers)
    report = ValidationReport(root=str(root), problems=list(reader.problems),
                              n_metadata_files=len(reader.metadata_files), counters_only=reader.counters_only)
    # Compact per-record facts (file, snapshots present, gaps) so duplicates can be dropped at the end.
    usable: list[tuple[str, tuple[int, ...], tuple[float, ...]]] = []
    missing: Counter = Counter()
    example: dict[str, str] = {}
    for i, rec in enumerate(reader, 1):
        if progress:
            progress(i, report.n_metadata_files)
        report.problems.extend(rec.problems)
        missing.update(rec.missing_optional)
        for f in rec.missing_optional:
            example.setdefault(f, rec.metadata_file)
        if not rec.usable:
            continue
        t0 = rec.snapshot_times[1]
        ks = tuple(sorted(rec.snapshots))
        gaps = tuple((rec.snapshot_times[k] - t0).total_seconds() / 86400.0 for k in ks)
        usable.append((rec.metadata_file, ks, gaps))
    scan = reader.finish()
    report.problems.extend(scan.problems)
    report.problems.extend(_missing_optional_problems(missing, example, report.n_metadata_files))
    report.missing_optional = {f: missing[f] for f in EXPECTED_OPTIONAL_FIELDS if missing[f]}
    report.n_duplicate_ids = scan.n_duplicate_keys
    gaps_by_k: dict[int, array] = defaultdict(lambda: array("d"))
    counts: Counter = Counter()
    for file, ks, gaps in usable:
        if file in scan.drop_files:
            continue
        report.n_usable += 1
        counts.update(ks)
        report.n_missing_snapshot_2 += 2 not in ks
        for k, g in zip(ks, gaps):
            if k > 1:
                gaps_by_k[k].append(g)
    report.snapshot_counts = {k: counts.get(k, 0) for k in sorted(set(reader.folders) | set(counts))}
    for k, values in gaps_by_k.items():
        v = np.frombuffer(values, dtype=np.float64)
        report.gap_days[k] = {"min": float(v.min()), "p5": float(np.quantile(v, 0.05)),
                              "p50": float(np.median(v)), "p95": float(np.quantile(v, 0.95)),
                              "max": float(v.max())}
    return report


def _missing_optional_problems(missing: Counter, example: dict[str, str], n_files: int) -> list[Problem]:
    """One warning per absent optional field, with its count: a per-file list would repeat one fact 100k times."""
    return [Problem("missing_optional_field", "metadata/",
                    f"absent in {missing[f]} of {n_files} metadata files (e.g. {example[f]})", f)
            for f in EXPECTED_OPTIONAL_FIELDS if missing[f]]
