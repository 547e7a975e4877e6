"""Re-rank a sweep's best configs over several seeds, so best.yaml is not a lucky single run.

Why: one trial is one training run, and on small validation sets the run-to-run spread is as large as
the differences between configs. Measured on the `make demo` corpus (49 validation videos): the default
v1 config's val_head_loss ranged 0.170–0.206 over 5 seeds, and the single-run winners of two 20-trial
sweeps were *worse* than the default when retrained with 5 seeds (v1 0.204 vs 0.187, v2 0.195 vs
0.184). Picking the best of 20 noisy draws mostly picks noise (the winner's curse).

How: the `tune.rerank_top` best sweep trials and the default config (if it was a trial) each train
`tune.rerank_seeds` times with seeds `tune.rerank_seed`, +1, ... (full budget, no ASHA), as a second Tune
experiment ("rerank") on the same shared data, storage and resources; the candidate with the best mean
becomes best.yaml. Resumable like the sweep (Tuner.restore).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from tune.config import TuneConfig
from tune.trial import EPOCHS, run_trial

RERANK = "rerank"  # Tune experiment name of the stage, beside the sweep's
CANDIDATE, SEED = "candidate", "seed"


@dataclass
class Candidate:
    source: str  # the sweep trial it comes from
    default: bool
    params: dict[str, Any]  # the searched dimensions' values


@dataclass
class RerankOutcome:
    candidates: list[Candidate]
    rows: list[dict[str, Any]]  # one per candidate: mean/std of the metric over its seeds, best first
    runs: list[dict[str, Any]]  # one per (candidate, seed) run
    seeds: list[int]


def candidates(rows: list[dict[str, Any]], cfg: TuneConfig) -> list[Candidate]:
    """The top `rerank_top` trials with a finite metric, and the default trial (rows are best first)."""
    names = list(cfg.space.dimensions())
    ranked = [r for r in rows if math.isfinite(r[cfg.metric])]
    chosen = ranked[:cfg.rerank_top] + [r for r in ranked[cfg.rerank_top:] if r.get("default")]
    return [Candidate(r["trial_id"], bool(r.get("default")), {k: r[k] for k in names}) for r in chosen]


def seeds(cfg: TuneConfig) -> list[int]:
    return [cfg.rerank_seed + i for i in range(cfg.rerank_seeds)]


def run_rerank_trial(params: dict[str, Any], *, points: list[dict[str, Any]], **kwargs) -> None:
    """The Tune trainable of the stage: candidate `params["candidate"]` trained with `params["seed"]`."""
    run_trial({**points[params[CANDIDATE]], SEED: params[SEED]}, **kwargs)


def param_space(cands: list[Candidate], cfg: TuneConfig) -> dict[str, Any]:
    from ray import tune
    return {CANDIDATE: tune.grid_search(list(range(len(cands)))), SEED: tune.grid_search(seeds(cfg))}


def summarise(grid, cands: list[Candidate], cfg: TuneConfig) -> RerankOutcome:
    """Per run the best epoch's metric (as in the sweep's rows); per candidate the mean and std."""
    runs = []
    for result in grid:
        config, h = result.config or {}, result.metrics_dataframe
        ok = h is not None and not h.empty and cfg.metric in h
        value = (h[cfg.metric].min() if cfg.mode == "min" else h[cfg.metric].max()) if ok else math.nan
        runs.append({CANDIDATE: config.get(CANDIDATE), SEED: config.get(SEED), cfg.metric: float(value),
                     EPOCHS: int(h[EPOCHS].max()) if ok else 0})
    rows = []
    for i, cand in enumerate(cands):
        values = [r[cfg.metric] for r in runs if r[CANDIDATE] == i and math.isfinite(r[cfg.metric])]
        rows.append({"trial_id": cand.source, "default": cand.default, "seeds": len(values),
                     f"{cfg.metric}_mean": statistics.fmean(values) if values else math.nan,
                     f"{cfg.metric}_std": statistics.stdev(values) if len(values) > 1 else math.nan,
                     cfg.metric: statistics.fmean(values) if values else math.nan, **cand.params})
    sign = 1 if cfg.mode == "min" else -1
    rows.sort(key=lambda r: (not math.isfinite(r[cfg.metric]), sign * (r[cfg.metric] if math.isfinite(r[cfg.metric])
                                                                         else 0.0)))
    return RerankOutcome(cands, rows, sorted(runs, key=lambda r: (r[CANDIDATE], r[SEED])), seeds(cfg))
