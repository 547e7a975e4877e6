"""Side-by-side report of several evaluated models: markdown tables + PNG plots.

    trendflow report --metrics runs/*/metrics.json --out runs/report

Writes report.md with (1) test MAE per head and the means (models sorted best first), with the mean
coverage of the prediction intervals, (2) Spearman and NDCG@10, (3) MAE per age bucket, (4) interval
coverage and width per head, (5) the modality ablation of the neural models, (6) the models a
comparison skipped and why; and pred_vs_actual.png, mae_by_bucket.png, ablation.png. Numbers come from
the metrics.json files written by `trendflow evaluate` (and their .predictions.parquet for the scatter
plots). Paths may be s3://.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
from typing import Any, Mapping, Sequence

import numpy as np

from train.data import AGE_BUCKETS
from train.evaluate import predictions_path

BUCKETS = ("all", *AGE_BUCKETS)


def load_runs(paths: Sequence[str], storage_options: dict | None = None) -> list[dict[str, Any]]:
    from train.uris import absolute_uri, read_file
    runs = []
    for p in paths:
        doc = json.loads(read_file(p, storage_options))
        doc["_path"] = p
        doc["_name"] = doc.get("model", {}).get("model_name") or posixpath.basename(posixpath.dirname(p))
        runs.append(doc)
    names = [r["_name"] for r in runs]
    if len(set(names)) != len(names):  # the same model twice (e.g. two configs): tell them apart by folder
        for r in runs:
            r["_name"] = f"{r['_name']} ({posixpath.basename(posixpath.dirname(absolute_uri(r['_path'])))})"
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


def _coverage(run: dict) -> tuple[float, float | None]:
    """(mean interval coverage over heads, level) of a run; NaN/None without intervals."""
    iv = run.get("intervals") or {}
    level = next((h.get("level") for h in iv.values()), None)
    return _mean(_val(h.get("coverage")) for h in iv.values()), level


def comparison_table(runs: list[dict]) -> str:
    """Markdown: test MAE per head (all videos), mean MAE, mean interval coverage, mean Spearman, mean
    NDCG@10; best first."""
    heads = list(runs[0]["metrics"])
    levels = {lv for r in runs if (lv := _coverage(r)[1]) is not None}
    cov_title = f"coverage ({', '.join(f'{lv:.0%}' for lv in sorted(levels))} interval)" if levels else "coverage"
    rows = []
    for r in runs:
        mae = _summary(r, "mae")
        rows.append((_mean(mae.values()), r["_name"], mae, _coverage(r)[0], _mean(_summary(r, "spearman").values()),
                     _mean(_summary(r, "ndcg@10").values())))
    rows.sort(key=lambda t: (math.isnan(t[0]), t[0]))
    lines = ["| model | " + " | ".join(f"MAE {h}" for h in heads) +
             f" | mean MAE | {cov_title} | mean Spearman | mean NDCG@10 |", "|---" * (len(heads) + 5) + "|"]
    for mean_mae, name, mae, cov, sp, nd in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(mae[h]) for h in heads) +
                     f" | **{_fmt(mean_mae)}** | {_fmt(cov, 2)} | {_fmt(sp)} | {_fmt(nd)} |")
    return "\n".join(lines)


def interval_table(runs: list[dict]) -> str | None:
    """Markdown: per head, the interval's empirical coverage / mean width (log1p) on the split."""
    with_iv = [r for r in runs if r.get("intervals")]
    if not with_iv:
        return None
    heads = list(with_iv[0]["intervals"])
    lines = ["| model | level | " + " | ".join(f"{h} coverage / width" for h in heads) + " |",
             "|---" * (len(heads) + 2) + "|"]
    for r in with_iv:
        iv = r["intervals"]
        cells = [f"{_fmt(_val(iv[h].get('coverage')), 2)} / {_fmt(_val(iv[h].get('mean_width')), 2)}"
                 if h in iv else "–" for h in heads]
        lines.append(f"| {r['_name']} | {_fmt(_coverage(r)[1], 2)} | " + " | ".join(cells) + " |")
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
# Each plot returns a matplotlib figure (None when there is nothing to draw); write_report stores it.

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_pred_vs_actual(runs: list[dict], storage_options: dict | None = None):
    import pyarrow.parquet as pq

    from train.uris import file_exists, read_file
    avail = [(r, predictions_path(r["_path"])) for r in runs
             if file_exists(predictions_path(r["_path"]), storage_options)]
    if not avail:
        return None
    heads = list(runs[0]["metrics"])
    fig, axes = _pyplot().subplots(len(avail), len(heads), figsize=(2.3 * len(heads), 2.3 * len(avail)),
                                   squeeze=False)
    for i, (r, pp) in enumerate(avail):
        t = pq.read_table(io.BytesIO(read_file(pp, storage_options)))
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
    return fig


def _grouped_bars(groups: Sequence[str], series: dict[str, list[float]], title: str, width_in: float):
    """One bar per (group, series), series side by side within each group."""
    fig, ax = _pyplot().subplots(figsize=(width_in, 3.2))
    width = 0.8 / len(series)
    x = np.arange(len(groups))
    for k, (name, vals) in enumerate(series.items()):
        ax.bar(x + k * width, vals, width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, groups)
    ax.set_ylabel("mean MAE over heads (log1p)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def plot_mae_by_bucket(runs: list[dict]):
    series = {r["_name"]: [_mean(_summary(r, "mae", b).values()) for b in BUCKETS] for r in runs}
    return _grouped_bars(BUCKETS, series, "Test MAE per age bucket", 1.6 + 1.1 * len(runs) * len(BUCKETS) / 3)


def plot_ablation(runs: list[dict]):
    with_abl = [r for r in runs if r.get("ablations")]
    if not with_abl:
        return None
    variants = ["full", *with_abl[0]["ablations"]]
    series = {r["_name"]: [_mean(_summary(r, "mae").values())]
              + [_mean(_summary(r["ablations"][v], "mae").values()) for v in variants[1:]] for r in with_abl}
    return _grouped_bars(variants, series, "Modality ablation (inputs hidden at test time)", 5)


def _save_png(fig, storage, name: str) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    _pyplot().close(fig)
    storage.write_bytes(name, buf.getvalue())
    return storage.url(name)


def write_report(metrics_paths: Sequence[str], out_dir: str, skipped: Mapping[str, str] | None = None,
                 storage_options: dict | None = None) -> dict[str, Any]:
    """Write OUT/report.md and the PNGs (local or s3://); returns {"report": uri, "table": markdown,
    "plots": [uri...]}. `skipped`: models a comparison did not train, with the reason."""
    from trendflow.storage import Storage

    from train.uris import absolute_uri
    if not metrics_paths:
        raise ValueError("report needs at least one metrics.json")
    runs = load_runs(metrics_paths, storage_options)
    storage = Storage(absolute_uri(out_dir), storage_options)
    table = comparison_table(runs)
    figures = {"pred_vs_actual.png": plot_pred_vs_actual(runs, storage_options),
               "mae_by_bucket.png": plot_mae_by_bucket(runs), "ablation.png": plot_ablation(runs)}
    plots = [_save_png(fig, storage, name) for name, fig in figures.items() if fig is not None]
    split = runs[0].get("split", "test")
    parts = [f"# TrendFlow model comparison ({split} split)", "",
             "MAE/RMSE are on log1p(growth); lower is better. Spearman and NDCG@10 (within category): higher is better. "
             "Coverage: share of videos whose growth falls inside the model's split-conformal interval.",
             "", "## Overall", "", table, "", "## MAE with channel-grouped bootstrap 95% intervals", "", ci_table(runs),
             "", "## Per age bucket", "", bucket_table(runs), ""]
    intervals = interval_table(runs)
    if intervals:
        parts += ["## Prediction intervals", "",
                  "Empirical coverage on this split and mean width (log1p) per head; calibrated on the validation "
                  "split (split conformal, per age bucket where it has enough rows).", "", intervals, ""]
    abl = ablation_table(runs)
    if abl:
        parts += ["## Modality ablation (neural models)", "",
                  "Inputs hidden at test time: no_visual / no_audio hide E_shot / A_shot, meta_only hides both, "
                  "temporal_only also hides the content aggregates (as missing values).", "", abl, ""]
    if skipped:
        parts += ["## Skipped models", ""] + [f"- {name}: {reason}" for name, reason in skipped.items()] + [""]
    parts += ["## Plots", ""] + [f"![{name}]({name})" for name, fig in figures.items() if fig is not None]
    parts += ["", "## Models", ""] + [f"- {r['_name']}: training_data_version {r['model'].get('training_data_version')}, "
                                     f"commit {r['model'].get('code_commit')}, seed {r['model'].get('seed')} "
                                     f"({r['_path']})" for r in runs]
    storage.write_bytes("report.md", ("\n".join(parts) + "\n").encode())
    return {"report": storage.url("report.md"), "table": table, "plots": plots}
