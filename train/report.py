"""Side-by-side report of several evaluated models: markdown tables + PNG plots.

    trendflow report --metrics runs/*/metrics.json --out runs/report

Writes report.md with (1) test MAE per head and the means (models sorted best first), (2) Spearman
and NDCG@10, (3) MAE per age bucket, (4) the modality ablation of the neural models; and
pred_vs_actual.png, mae_by_bucket.png, ablation.png. Numbers come from the metrics.json files
written by `trendflow evaluate` (and their .predictions.parquet for the scatter plots).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Sequence

import numpy as np

from train.data import AGE_BUCKETS
from train.evaluate import predictions_path

BUCKETS = ("all", *AGE_BUCKETS)


def load_runs(paths: Sequence[str]) -> list[dict[str, Any]]:
    runs = []
    for p in paths:
        with open(p) as f:
            doc = json.load(f)
        doc["_path"] = p
        doc["_name"] = doc.get("model", {}).get("model_name") or os.path.basename(os.path.dirname(p))
        runs.append(doc)
    names = [r["_name"] for r in runs]
    if len(set(names)) != len(names):  # the same model twice (e.g. two configs): tell them apart by folder
        for r in runs:
            r["_name"] = f"{r['_name']} ({os.path.basename(os.path.dirname(os.path.abspath(r['_path'])))})"
    return runs


def _val(x) -> float:
    return float("nan") if x is None else float(x)


def _mean(values) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _summary(run: dict, metric: str, bucket: str = "all") -> dict[str, float]:
    return {head: _val(b.get(bucket, {}).get(metric)) for head, b in run["metrics"].items()}


def comparison_table(runs: list[dict]) -> str:
    """Markdown: test MAE per head (all videos), mean MAE, mean Spearman, mean NDCG@10; best first."""
    heads = list(runs[0]["metrics"])
    rows = []
    for r in runs:
        mae = _summary(r, "mae")
        rows.append((_mean(mae.values()), r["_name"], mae, _mean(_summary(r, "spearman").values()),
                     _mean(_summary(r, "ndcg@10").values())))
    rows.sort(key=lambda t: (math.isnan(t[0]), t[0]))
    lines = ["| model | " + " | ".join(f"MAE {h}" for h in heads) + " | mean MAE | mean Spearman | mean NDCG@10 |",
             "|---" * (len(heads) + 4) + "|"]
    for mean_mae, name, mae, sp, nd in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(mae[h]) for h in heads) +
                     f" | **{_fmt(mean_mae)}** | {_fmt(sp)} | {_fmt(nd)} |")
    return "\n".join(lines)


def ci_table(runs: list[dict]) -> str:
    heads = list(runs[0]["metrics"])
    lines = ["| model | " + " | ".join(f"{h} MAE [95% CI]" for h in heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for r in runs:
        cells = []
        for h in heads:
            m = r["metrics"][h]["all"]
            ci = m.get("mae_ci") or [None, None]
            cells.append(f"{_fmt(_val(m.get('mae')))} [{_fmt(_val(ci[0]))}, {_fmt(_val(ci[1]))}]")
        lines.append(f"| {r['_name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bucket_table(runs: list[dict]) -> str:
    lines = ["| model | " + " | ".join(f"mean MAE {b} (n)" for b in BUCKETS) + " |", "|---" * (len(BUCKETS) + 1) + "|"]
    for r in runs:
        cells = []
        for b in BUCKETS:
            n = max((int(v.get(b, {}).get("n") or 0) for v in r["metrics"].values()), default=0)
            cells.append(f"{_fmt(_mean(_summary(r, 'mae', b).values()))} ({n})")
        lines.append(f"| {r['_name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ablation_table(runs: list[dict]) -> str | None:
    with_abl = [r for r in runs if r.get("ablations")]
    if not with_abl:
        return None
    variants = ["full", *with_abl[0]["ablations"]]
    lines = ["| model | " + " | ".join(f"mean MAE {v}" for v in variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for r in with_abl:
        vals = [_mean(_summary(r, "mae").values())]
        vals += [_mean(_summary(r["ablations"][v], "mae").values()) for v in variants[1:]]
        lines.append(f"| {r['_name']} | " + " | ".join(_fmt(v) for v in vals) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- plots

def plot_pred_vs_actual(runs: list[dict], path: str) -> str | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyarrow.parquet as pq
    avail = [(r, predictions_path(r["_path"])) for r in runs if os.path.exists(predictions_path(r["_path"]))]
    if not avail:
        return None
    heads = list(runs[0]["metrics"])
    fig, axes = plt.subplots(len(avail), len(heads), figsize=(2.3 * len(heads), 2.3 * len(avail)), squeeze=False)
    for i, (r, pp) in enumerate(avail):
        t = pq.read_table(pp)
        for j, h in enumerate(heads):
            ax = axes[i][j]
            y = t[f"y_{h}"].to_numpy(zero_copy_only=False).astype(float)
            p = t[f"pred_{h}"].to_numpy(zero_copy_only=False).astype(float)
            ok = np.isfinite(y) & np.isfinite(p)
            ax.scatter(y[ok], p[ok], s=4, alpha=0.5)
            if ok.any():
                lo, hi = min(y[ok].min(), p[ok].min()), max(y[ok].max(), p[ok].max())
                ax.plot([lo, hi], [lo, hi], "k--", lw=0.7)
            ax.set_title(f"{r['_name']}: {h}", fontsize=7)
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel("predicted log1p Δ", fontsize=7)
            if i == len(avail) - 1:
                ax.set_xlabel("actual log1p Δ", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _grouped_bars(groups: Sequence[str], series: dict[str, list[float]], title: str, width_in: float,
                  path: str) -> str:
    """One bar per (group, series), series side by side within each group; saved as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(width_in, 3.2))
    width = 0.8 / len(series)
    x = np.arange(len(groups))
    for k, (name, vals) in enumerate(series.items()):
        ax.bar(x + k * width, vals, width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, groups)
    ax.set_ylabel("mean MAE over heads (log1p)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_mae_by_bucket(runs: list[dict], path: str) -> str:
    series = {r["_name"]: [_mean(_summary(r, "mae", b).values()) for b in BUCKETS] for r in runs}
    return _grouped_bars(BUCKETS, series, "Test MAE per age bucket", 1.6 + 1.1 * len(runs) * len(BUCKETS) / 3, path)


def plot_ablation(runs: list[dict], path: str) -> str | None:
    with_abl = [r for r in runs if r.get("ablations")]
    if not with_abl:
        return None
    variants = ["full", *with_abl[0]["ablations"]]
    series = {r["_name"]: [_mean(_summary(r, "mae").values())]
              + [_mean(_summary(r["ablations"][v], "mae").values()) for v in variants[1:]] for r in with_abl}
    return _grouped_bars(variants, series, "Modality ablation (inputs hidden at test time)", 5, path)


def write_report(metrics_paths: Sequence[str], out_dir: str) -> dict[str, Any]:
    """Write OUT/report.md and the PNGs; returns {"report": path, "table": markdown, "plots": [...]}."""
    if not metrics_paths:
        raise ValueError("report needs at least one metrics.json")
    runs = load_runs(metrics_paths)
    os.makedirs(out_dir, exist_ok=True)
    table = comparison_table(runs)
    plots = [p for p in (plot_pred_vs_actual(runs, os.path.join(out_dir, "pred_vs_actual.png")),
                         plot_mae_by_bucket(runs, os.path.join(out_dir, "mae_by_bucket.png")),
                         plot_ablation(runs, os.path.join(out_dir, "ablation.png"))) if p]
    split = runs[0].get("split", "test")
    parts = [f"# TrendFlow model comparison ({split} split)", "",
             "MAE/RMSE are on log1p(growth); lower is better. Spearman and NDCG@10 (within category): higher is better.",
             "", "## Overall", "", table, "", "## MAE with channel-grouped bootstrap 95% intervals", "", ci_table(runs),
             "", "## Per age bucket", "", bucket_table(runs), ""]
    abl = ablation_table(runs)
    if abl:
        parts += ["## Modality ablation (neural models)", "",
                  "Inputs hidden at test time: no_visual / no_audio hide E_shot / A_shot, meta_only hides both, "
                  "temporal_only also hides the content aggregates (as missing values).", "", abl, ""]
    parts += ["## Plots", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in plots]
    parts += ["", "## Models", ""] + [f"- {r['_name']}: training_data_version {r['model'].get('training_data_version')}, "
                                     f"commit {r['model'].get('code_commit')}, seed {r['model'].get('seed')} "
                                     f"({r['_path']})" for r in runs]
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return {"report": path, "table": table, "plots": plots}
