"""What a finished sweep leaves in OUT: best.yaml, trials.csv, trials.md and trials.png.

- best.yaml: the best trial's `train` section, ready for `trendflow train --config OUT/best.yaml`.
- trials.csv / trials.md: one row per trial, sorted by the metric (its best epoch), with the trial's
  parameters, epochs trained, why it ended, its time, and the other validation metrics at that epoch.
- trials.png: the metric of every trial against the trial's training time (the default config dashed).
- rerank.csv / rerank.md (with `tune.rerank_top`): every re-ranking run, and per candidate the metric's
  mean ± std over the seeds; the best mean is best.yaml.
- summary.json: trials and epochs, the time from the first trial's start to the last one's end and the
  trials/hour it gives (across a resume, so including the time the driver was down), this driver's wall
  time, the best and the default trial's metric (what bench/tune.py and the README report).
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any

import yaml

from train.config import TrainConfig
from tune.config import TuneConfig
from tune.rerank import RerankOutcome
from tune.space import default_point, trial_train_config
from tune.trial import EPOCHS

VAL_METRICS = ("val_head_loss", "val_loss", "val_mae", "val_spearman_views_14")


def trial_rows(grid, cfg: TuneConfig, base: TrainConfig, model_name: str) -> list[dict[str, Any]]:
    """One row per trial, best first (trials without a finite metric last)."""
    default = default_point(cfg.space, base, model_name) if cfg.include_default else None
    rows = []
    for result in grid:
        history = result.metrics_dataframe
        config = dict(result.config or {})
        row: dict[str, Any] = {"trial_id": (result.metrics or {}).get("trial_id", os.path.basename(result.path)),
                               "default": config == default}
        if history is None or history.empty or cfg.metric not in history:
            rows.append({**row, "ended": f"error: {result.error}" if result.error else "no result",
                         EPOCHS: 0, cfg.metric: math.nan, **config})
            continue
        scores = history[cfg.metric]
        at = scores.idxmin() if cfg.mode == "min" else scores.idxmax()
        best = history.loc[at]
        epochs = int(history[EPOCHS].max())
        row.update({cfg.metric: float(best[cfg.metric]), "best_epoch": int(best[EPOCHS]), EPOCHS: epochs,
                    "ended": _ended(result, epochs, history, cfg, base),
                    "time_s": round(float(history["time_total_s"].max()), 1)})
        row.update({m: float(best[m]) for m in VAL_METRICS if m in history and m != cfg.metric})
        row["checkpoint_path"] = best.get("checkpoint_path")
        rows.append({**row, **config})
    sign = 1 if cfg.mode == "min" else -1
    return sorted(rows, key=lambda r: (not math.isfinite(r[cfg.metric]), sign * _finite(r[cfg.metric])))


def _finite(v: float) -> float:
    return v if math.isfinite(v) else 0.0


def _ended(result, epochs: int, history, cfg: TuneConfig, base: TrainConfig) -> str:
    """Why a trial stopped: the epoch budget, Lightning's early stopping (patience on val_loss), or ASHA."""
    if result.error:
        return f"error: {type(result.error).__name__}"
    if epochs >= cfg.max_epochs:
        return "budget"
    best_val_epoch = int(history.loc[history["val_loss"].idxmin(), EPOCHS])
    return "patience" if epochs - best_val_epoch >= base.early_stopping_patience else "asha"


def best_train_config(row: dict[str, Any], cfg: TuneConfig, base: TrainConfig) -> TrainConfig:
    params = {k: row[k] for k in cfg.space.dimensions()}
    return trial_train_config(base, params, max_epochs=cfg.max_epochs)


def write_best_yaml(path: str, train_cfg: TrainConfig, row: dict[str, Any], cfg: TuneConfig, model_name: str,
                    train_dir: str) -> None:
    body = yaml.safe_dump({"train": train_cfg.model_dump(mode="json", exclude_defaults=True)}, sort_keys=False)
    if "seeds" in row:  # a re-ranked candidate
        how = (f"{cfg.metric} {row[cfg.metric]:.4f} ± {row[f'{cfg.metric}_std']:.4f}, mean of {row['seeds']} seeds "
               f"(re-ranking{', the default config' if row.get('default') else ''})")
    else:
        how = f"{cfg.metric} {row[cfg.metric]:.4f} at epoch {row.get('best_epoch')}"
    header = (f"# Best trial {row['trial_id']} of a {model_name} sweep on {train_dir}: {how}.\n"
              f"# used by: trendflow train --model {model_name} --data {train_dir} --out MODEL_DIR "
              f"--config {path}\n")
    with open(path, "w") as f:
        f.write(header + body)


def write_results(grid, cfg: TuneConfig, base: TrainConfig, model_name: str, train_dir: str, out_dir: str,
                  wall_s: float, concurrency: int, resumed: bool = False,
                  rerank: RerankOutcome | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """Write every output file; returns ({kind: path}, the chosen row: the re-ranking's best candidate,
    or without re-ranking the sweep's best trial)."""
    rows = trial_rows(grid, cfg, base, model_name)
    if not rows or not math.isfinite(rows[0][cfg.metric]):
        raise RuntimeError(f"no trial reported {cfg.metric}; see the trial logs under {grid.experiment_path}")
    chosen = rerank.rows[0] if rerank and math.isfinite(rerank.rows[0][cfg.metric]) else rows[0]
    files = {"best": os.path.join(out_dir, "best.yaml"), "csv": os.path.join(out_dir, "trials.csv"),
             "markdown": os.path.join(out_dir, "trials.md"), "plot": os.path.join(out_dir, "trials.png"),
             "summary": os.path.join(out_dir, "summary.json")}
    write_best_yaml(files["best"], best_train_config(chosen, cfg, base), chosen, cfg, model_name, train_dir)
    _write_csv(files["csv"], rows)
    with open(files["markdown"], "w") as f:
        f.write(markdown_table(rows, cfg) + "\n")
    plot_trials(grid, rows, cfg, files["plot"])
    if rerank:
        files.update(rerank_csv=os.path.join(out_dir, "rerank.csv"), rerank_md=os.path.join(out_dir, "rerank.md"))
        _write_csv(files["rerank_csv"], rerank.runs)
        with open(files["rerank_md"], "w") as f:
            f.write(rerank_table(rerank, cfg) + "\n")
    default = next((r for r in rows if r.get("default")), None)
    span = trial_span_s(grid)
    with open(files["summary"], "w") as f:
        json.dump({"model": model_name, "metric": cfg.metric, "mode": cfg.mode, "trials": len(rows),
                   "epochs": sum(int(r.get(EPOCHS, 0)) for r in rows), "concurrency": concurrency,
                   "driver_wall_s": round(wall_s, 1), "resumed": resumed, "trial_span_s": round(span, 1),
                   "trials_per_hour": round(len(rows) / span * 3600, 1) if span > 0 else None,
                   "best": {k: rows[0].get(k) for k in ("trial_id", cfg.metric, "best_epoch", EPOCHS)},
                   "default": {k: default.get(k) for k in ("trial_id", cfg.metric, "best_epoch", EPOCHS)}
                   if default else None,
                   "rerank": {"seeds": rerank.seeds, "candidates": [_rerank_summary(r, cfg) for r in rerank.rows]}
                   if rerank else None,
                   "chosen": chosen["trial_id"]}, f, indent=2)
    return files, chosen


def _rerank_summary(row: dict[str, Any], cfg: TuneConfig) -> dict[str, Any]:
    keys = ("trial_id", "default", "seeds", f"{cfg.metric}_mean", f"{cfg.metric}_std")
    return {k: (None if isinstance(row[k], float) and math.isnan(row[k]) else row[k]) for k in keys}


def _write_csv(path: str, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def trial_span_s(grid) -> float:
    """Seconds from the first trial's start to the last trial's last report."""
    starts, ends = [], []
    for result in grid:
        h = result.metrics_dataframe
        if h is not None and not h.empty and "timestamp" in h:
            starts.append(float((h["timestamp"] - h["time_total_s"]).min()))
            ends.append(float(h["timestamp"].max()))
    return max(ends) - min(starts) if starts else 0.0


def markdown_table(rows: list[dict[str, Any]], cfg: TuneConfig) -> str:
    params = list(cfg.space.dimensions())
    others = [m for m in VAL_METRICS if m != cfg.metric and any(m in r for r in rows)]
    head = ["rank", "trial", cfg.metric, *others, "epochs", "ended", "time (s)", *params]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rank, r in enumerate(rows, 1):
        trial = r["trial_id"] + (" (default)" if r.get("default") else "")
        cells = [str(rank), trial, *(_fmt(r.get(m)) for m in (cfg.metric, *others)), str(r.get(EPOCHS, "")),
                 str(r.get("ended", "")), _fmt(r.get("time_s")), *(_fmt(r.get(p)) for p in params)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rerank_table(rerank: RerankOutcome, cfg: TuneConfig) -> str:
    """Candidates best first: the metric's mean ± std over the seeds, and the value of each seed."""
    params = list(cfg.space.dimensions())
    head = ["rank", "sweep trial", f"{cfg.metric} mean ± std", *(f"seed {s}" for s in rerank.seeds), *params]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    index = {c.source: i for i, c in enumerate(rerank.candidates)}
    for rank, r in enumerate(rerank.rows, 1):
        per_seed = {run["seed"]: run[cfg.metric] for run in rerank.runs if run["candidate"] == index[r["trial_id"]]}
        trial = r["trial_id"] + (" (default)" if r["default"] else "")
        cells = [str(rank), trial, f"{_fmt(r[f'{cfg.metric}_mean'])} ± {_fmt(r[f'{cfg.metric}_std'])}",
                 *(_fmt(per_seed.get(s)) for s in rerank.seeds), *(_fmt(r.get(p)) for p in params)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


def plot_trials(grid, rows: list[dict[str, Any]], cfg: TuneConfig, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    by_id = {r["trial_id"]: r for r in rows}
    best_id = rows[0]["trial_id"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for result in grid:
        h = result.metrics_dataframe
        if h is None or h.empty or cfg.metric not in h:
            continue
        tid = h["trial_id"].iloc[-1]
        row = by_id.get(tid, {})
        style = {"lw": 2.5, "color": "C3", "zorder": 3} if tid == best_id else {"lw": 1, "alpha": 0.6}
        if row.get("default"):
            style.update(ls="--")
        label = "best" if tid == best_id else ("default config" if row.get("default") else None)
        ax.plot(h["time_total_s"], h[cfg.metric], marker=".", label=label, **style)
    ax.set_xlabel("trial training time (s)")
    ax.set_ylabel(cfg.metric)
    ax.set_title(f"{len(rows)} trials, ASHA (grace {cfg.grace_period}, factor {cfg.reduction_factor}, "
                 f"≤ {cfg.max_epochs} epochs)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
