"""`trendflow synth --out DIR --videos N --seed S`: a synthetic dataset in the exact SPEC §2 layout.

Real data cannot ship with the project, so this writes a stand-in with the same structure and
quirks: real H.264/AAC mp4 files (PyAV, via trendflow.synth.video) with hard cuts, fades,
motion, colour and loudness/tempo that differ per video; metadata; 4 weekly snapshots (another
schedule with `snapshot_days`, e.g. 0, 1, 3, 5 days).

    generate_corpus("demo_data", n_videos=200, seed=0)             # ~1-3 min on 2 cores
    generate_corpus("bench_data", n_videos=100_000, write_videos=False)  # metadata + snapshots only
    generate_corpus("counters", 2000, write_videos=False, minimal_metadata=True)  # like a public counters set

Structure (fractions are expectations; the snapshot-2 gaps and the age ranges are exact):
- channels with several videos each (lognormal sizes, 1-80); 80% carry `channel_id`, the rest only
  `channelTitle`; 3% hide their subscriber count;
- age at snapshot 1 spread over 8 ranges from <1 day to >3 years, ~11.5% younger than 24 h;
- snapshot folders 7 days apart (by default) with their own `snapshot.json` time; 85% of the per-video files
  carry their own `collected_at`, jittered by a few hours (σ 2.5 h, at most 8 h); 1% of videos
  have snapshot 3 or 4 taken 1.3-3 days late (outside the default tolerance);
- snapshot 2 missing for 30% of videos, snapshots 3 and 4 for 1% each;
- 0.5% duplicated ids (a second metadata file `<id>_copy.json`: identical or conflicting),
  1% counter corrections (a later viewCount below snapshot 1), hidden likes (2%) and disabled
  comments (4%), counters written as strings for 30% of videos (as the YouTube API does),
  unknown extra fields in metadata;
- videos: mostly 4-20 s, some up to `max_video_seconds`, 160x90-class sizes, landscape,
  portrait and square, 12-60 fps, 5% variable frame rate, 3% rotated by metadata; audio:
  drums at a tempo (70%), pink-noise ambience without a beat (13%), a silent track (7%) or no
  audio track at all (10%), at -34..-14 LUFS, mono or stereo, 16-48 kHz.

Growth follows trendflow.synth.growth (documented there) and uses the content *as rendered*:
shot count from the written timeline, brightness and saturation measured on the decoded
frames, loudness measured on the waveform muxed into the file, the drum tempo.

`<root>/_synth_truth.parquet` (one row per unique video; never read by the loader) holds the
planted truth for tests and analysis: video_id, platform_id, channel_key, video_file,
content_source ("rendered" | "planned"), duration_s, fps, width, height, vfr, rotate_degrees,
n_shots, shots_per_min, cut_times_s, shot_kinds, transition_kinds, brightness, saturation,
motion, audio_kind ("drums" | "ambient" | "silent" | "none"), has_audio_track, sample_rate,
audio_channels, loudness_lufs (NaN when silent/none), tempo_bpm (NaN without a beat), appeal
and its terms (term_<name>), log_rate, alpha, boost, like_rate, like_drift, comment_rate, channel_effect,
corrected_snapshot / late_snapshot (-1 when none), duplicate ("" | "identical" | "conflicting"),
expected_y_views_<h> (noise-free oracle label for h = 7, 14, 21).
"""

from __future__ import annotations

import json
import math
import os
import string
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from trendflow.synth import growth as growth_model

TRUTH_FILE = "_synth_truth.parquet"
SNAPSHOT_DAYS = (0.0, 7.0, 14.0, 21.0)  # default schedule: 4 weekly snapshots (SPEC §2)
HORIZONS = (7, 14, 21)
SNAPSHOT1_TIME = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
CATEGORIES = ("Film & Animation", "Autos & Vehicles", "Music", "Pets & Animals", "Sports", "Travel & Events",
              "Gaming", "People & Blogs", "Comedy", "Entertainment", "News & Politics", "Howto & Style",
              "Education", "Science & Technology", "Nonprofits & Activism", "Food", "Beauty", "Kids")
LANGUAGES = ("en", "ru", "es", "pt", "de", "hi", "ja", "fr")
COUNTRIES = ("US", "RU", "BR", "IN", "DE", "GB", "JP", "FR", "ES", "MX")
WORDS = ("best", "new", "how", "to", "make", "the", "ultimate", "guide", "top", "ten", "funny", "moments",
         "review", "unboxing", "live", "music", "video", "tutorial", "easy", "fast", "cat", "dog", "car",
         "game", "play", "win", "fail", "epic", "travel", "vlog", "day", "night", "city", "food", "recipe",
         "cake", "workout", "home", "diy", "tech", "phone", "news", "today", "why", "what", "secret",
         "лучший", "новый", "как", "сделать", "видео", "музыка", "обзор", "игра", "кот", "день")
# Age at snapshot 1: (low, high) hours and weight; ~11.5% younger than 24 h (SPEC §2: 10-13%).
AGE_RANGES = (((0.3, 24), 0.115), ((24, 168), 0.125), ((168, 720), 0.155), ((720, 2160), 0.18),
              ((2160, 4320), 0.135), ((4320, 8760), 0.115), ((8760, 26280), 0.10), ((26280, 70080), 0.075))
# (width, height, weight): landscape, portrait and square; all even, small for speed.
SIZES = ((160, 90, 0.35), (192, 108, 0.15), (128, 72, 0.10), (90, 160, 0.22), (72, 128, 0.08), (96, 96, 0.10))
FPS = ((25.0, 0.3), (30.0, 0.25), (24.0, 0.15), (30000 / 1001, 0.1), (15.0, 0.1), (12.0, 0.05), (60.0, 0.05))
SHOT_KINDS = (("noise", 0.18), ("gradient", 0.2), ("text", 0.14), ("shapes", 0.2), ("texture", 0.22),
              ("solid", 0.06))
AUDIO_KINDS = (("drums", 0.70), ("ambient", 0.13), ("silent", 0.07), ("none", 0.10))
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: np.random.Generator, table, size: int) -> np.ndarray:
    values = [v for v, _ in table]
    p = np.array([w for _, w in table], dtype=float)
    idx = rng.choice(len(values), size=size, p=p / p.sum())
    out = np.empty(size, dtype=object)
    out[:] = [values[i] for i in idx]
    return out


def _video_ids(rng: np.random.Generator, n: int) -> list[str]:
    """YouTube-like 11-character ids that start with a letter or digit (trendflow.ids rejects others)."""
    ids: set[str] = set()
    chars = np.array(list(_ID_CHARS))
    while len(ids) < n:
        block = rng.integers(0, len(chars), (n - len(ids), 11))
        block[:, 0] = rng.integers(0, 62, len(block))
        ids.update("".join(row) for row in chars[block])
    return sorted(ids)  # sorted: set order changes between processes, the corpus must not


def _words(rng: np.random.Generator, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS, size=int(rng.integers(lo, hi + 1))))


# ------------------------------------------------------------------------------------ plan
def _exact_shares(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    """(n,) category indices with counts as close to weights·n as integers allow, shuffled."""
    w = np.asarray(weights, float) / np.sum(weights)
    counts = np.floor(w * n).astype(int)
    counts[np.argsort(-(w * n - counts))[: n - counts.sum()]] += 1  # largest remainders
    return rng.permutation(np.repeat(np.arange(len(w)), counts))


@dataclass
class Plan:
    """Everything decided before rendering: per-video arrays (N,) and per-channel arrays (C,)."""

    v: dict[str, np.ndarray]
    ch: dict[str, np.ndarray]


def plan_corpus(n: int, seed: int, *, max_video_seconds: float = 150.0, write_videos: bool = True,
                snapshot_days: tuple[float, ...] = SNAPSHOT_DAYS) -> Plan:
    days = _check_snapshot_days(snapshot_days)
    n_snap = len(days)
    rng = np.random.default_rng(seed)
    # Channel sizes: most channels have a few videos, some dozens (lognormal, capped).
    sizes = np.clip(np.round(np.exp(rng.normal(0.6, 0.9, n))), 1, 80).astype(int)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]
    sizes[-1] -= sizes.sum() - n
    n_ch = len(sizes)
    ch = {
        "subscribers": np.round(10 ** rng.normal(4.2, 1.1, n_ch)).clip(0, 5e7),
        "videos": np.round(10 ** rng.normal(2.2, 0.6, n_ch)).clip(1, 50_000),
        "effect": rng.normal(0, 0.5, n_ch),
        "has_id": rng.uniform(size=n_ch) < 0.8,
        "hidden_subs": rng.uniform(size=n_ch) < 0.03,
        "sub_growth_week": rng.uniform(0.001, 0.02, n_ch),
        "uploads_week": rng.integers(0, 5, n_ch),
        "id": np.array(["UC" + "".join(rng.choice(list(_ID_CHARS[:62]), 22)) for _ in range(n_ch)], dtype=object),
        "title": np.array([f"{_words(rng, 1, 2).title()} {i}" for i in range(n_ch)], dtype=object),
    }
    p = growth_model.GrowthParams()
    ch["views_per_video"] = np.exp(p.c0 + p.c_subs * np.log10(1 + ch["subscribers"]) + ch["effect"]
                                   + rng.normal(0, 0.3, n_ch)) * 3.0
    v: dict[str, np.ndarray] = {"video_id": np.array(_video_ids(rng, n), dtype=object),
                                "channel": rng.permutation(np.repeat(np.arange(n_ch), sizes))}
    ranges = [r for r, _ in AGE_RANGES]
    which = _exact_shares(rng, [w for _, w in AGE_RANGES], n)
    lo = np.log([ranges[i][0] for i in which])
    hi = np.log([ranges[i][1] for i in which])
    v["age_hours_s1"] = np.exp(rng.uniform(lo, hi))
    # Snapshot times: folder time + per-video jitter (when the file carries its own collected_at).
    folder_offset_h = np.r_[0.0, rng.uniform(-3, 3, n_snap - 1)]
    v["folder_times"] = np.array([SNAPSHOT1_TIME.timestamp() + (days[k] * 24 + folder_offset_h[k]) * 3600
                                  for k in range(n_snap)])
    own = rng.uniform(size=(n, n_snap)) < 0.85
    jitter_h = np.clip(rng.normal(0, 2.5, (n, n_snap)), -8, 8) * own
    late = np.full(n, -1)
    late_rows = np.flatnonzero(rng.uniform(size=n) < 0.01)
    late[late_rows] = rng.integers(2, n_snap, late_rows.size)  # snapshot index 3 or later (0-based 2, ...)
    own[late_rows, late[late_rows]] = True
    late_scale = min(1.0, float(np.min(np.diff(days))) / 7.0)  # "late" shrinks with a denser schedule
    jitter_h[late_rows, late[late_rows]] += rng.uniform(1.3, 3.0, late_rows.size) * 24 * late_scale
    v["own_time"], v["late_snapshot"] = own, np.where(late >= 0, late + 1, -1)
    v["snap_times"] = v["folder_times"][None, :] + jitter_h * 3600  # (N, K) epoch seconds
    v["published"] = v["snap_times"][:, 0] - v["age_hours_s1"] * 3600
    present = np.ones((n, n_snap), bool)
    present[rng.choice(n, size=int(round(0.30 * n)), replace=False), 1] = False  # exactly 30%, even for small n
    present[:, 2:] = rng.uniform(size=(n, n_snap - 2)) >= 0.01
    v["present"] = present
    # Content as planned (rendering replaces these with what is measured on the file).
    if write_videos:
        long = rng.uniform(size=n)
        v["duration_s"] = np.where(long < 0.80, rng.uniform(4, 20, n),
                                   np.where(long < 0.95, rng.uniform(20, 60, n),
                                            rng.uniform(60, max(60.0, max_video_seconds), n)))
        v["duration_s"] = np.round(np.minimum(v["duration_s"], max(4.0, max_video_seconds)), 2)
    else:
        v["duration_s"] = np.round(np.clip(np.exp(rng.normal(np.log(150), 1.1, n)), 4, 1200), 0)
    v["shots_per_min"] = np.exp(rng.uniform(np.log(2), np.log(60), n))
    v["brightness"] = rng.uniform(0.15, 0.85, n)
    v["saturation"] = rng.uniform(0.05, 0.9, n)
    v["motion"] = rng.uniform(0, 1, n)
    v["hue"] = rng.uniform(0, 1, n)
    v["audio_kind"] = _pick(rng, AUDIO_KINDS, n)
    v["tempo_bpm"] = np.where(v["audio_kind"] == "drums", rng.uniform(70, 175, n), np.nan)
    v["loudness_lufs"] = np.where(np.isin(v["audio_kind"], ["drums", "ambient"]), rng.uniform(-34, -14, n), np.nan)
    v["sample_rate"] = rng.choice([16000, 22050, 44100, 48000], size=n, p=[0.3, 0.2, 0.3, 0.2])
    v["audio_channels"] = rng.choice([1, 2], size=n, p=[0.4, 0.6])
    sizes = rng.choice(len(SIZES), size=n, p=np.array([s[2] for s in SIZES]) / sum(s[2] for s in SIZES))
    v["width"] = np.array([SIZES[i][0] for i in sizes])
    v["height"] = np.array([SIZES[i][1] for i in sizes])
    v["fps"] = _pick(rng, FPS, n).astype(float)
    v["fps"] = np.where((v["fps"] >= 60) & (v["duration_s"] > 20), 30.0, v["fps"])  # long 60 fps is slow to write
    v["vfr"] = rng.uniform(size=n) < 0.05
    v["rotate_degrees"] = np.where(rng.uniform(size=n) < 0.03, 90, 0)
    v["n_shots"] = np.maximum(1, np.round(v["duration_s"] * v["shots_per_min"] / 60)).astype(int)
    v["seed"] = rng.integers(0, 2**31 - 1, n)
    # Data quirks.
    v["hidden_likes"] = rng.uniform(size=n) < 0.02
    v["comments_off"] = rng.uniform(size=n) < 0.04
    v["string_counters"] = rng.uniform(size=n) < 0.30
    corrected = np.full(n, -1)
    rows = np.flatnonzero(rng.uniform(size=n) < 0.01)
    corrected[rows] = rng.integers(2, n_snap + 1, rows.size)
    v["corrected_snapshot"] = corrected
    dup = np.full(n, "", dtype=object)
    n_dup = int(round(0.005 * n)) if n >= 100 else 0
    if n_dup:
        rows = rng.choice(n, size=n_dup, replace=False)
        dup[rows] = np.where(rng.uniform(size=n_dup) < 0.6, "identical", "conflicting")
    v["duplicate"] = dup
    return Plan(v=v, ch=ch)


def _check_snapshot_days(snapshot_days) -> tuple[float, ...]:
    days = tuple(float(d) for d in snapshot_days)
    if len(days) < 3 or days[0] != 0 or any(b <= a for a, b in zip(days, days[1:])):
        raise ValueError(f"snapshot days must start with 0, increase, and hold at least 3 snapshots; got {list(days)}")
    return days


# ------------------------------------------------------------------------------- rendering
def _shots_for(spec: dict[str, Any]):
    """The Shot list of one video, from its planned content."""
    from trendflow.synth.video import Shot

    rng = np.random.default_rng(spec["seed"])
    d, fps = spec["duration_s"], spec["fps"]
    min_len = max(0.3, 2.5 / fps)
    n = int(max(1, min(spec["n_shots"], math.floor(d / min_len))))
    lengths = min_len + rng.dirichlet(np.full(n, 2.0)) * (d - n * min_len)
    lengths[-1] = d - lengths[:-1].sum()  # exact total duration
    kinds = _pick(rng, SHOT_KINDS, n)
    shots = []
    for k in range(n):
        hue = (spec["hue"] + rng.normal(0, 0.08)) % 1.0
        sat = float(np.clip(spec["saturation"] + rng.normal(0, 0.05), 0, 1))
        rgb = np.array(_hsv_to_rgb(hue, sat, 1.0)) * 255
        luma = max(1.0, 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
        target = float(np.clip(spec["brightness"] + rng.normal(0, 0.05), 0.02, 0.98)) * 255
        transition, trans_s = "cut", 0.0
        if k < n - 1:
            r = rng.uniform()
            transition = "dissolve" if r < 0.10 else "fade" if r < 0.15 else "cut"
            trans_s = min(0.6, 0.8 * min(lengths[k], lengths[k + 1])) if transition != "cut" else 0.0
        shots.append(Shot(kind=str(kinds[k]), duration_s=float(lengths[k]), color=tuple(int(c) for c in rgb),
                          brightness=float(np.clip(target / luma, 0.05, 2.0)),
                          motion=float(np.clip(spec["motion"] + rng.normal(0, 0.1), 0, 1)),
                          transition=transition, transition_s=float(trans_s), seed=int(rng.integers(1 << 30)),
                          text=spec.get("title")))
    return shots


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _audio_for(spec: dict[str, Any]) -> np.ndarray | None:
    from trendflow.synth import audio

    kind, d, sr, ch = spec["audio_kind"], spec["duration_s"], int(spec["sample_rate"]), int(spec["audio_channels"])
    if kind == "none":
        return None
    if kind == "silent":
        return audio.silence(d, sr, ch)
    if kind == "ambient":
        return audio.noise(d, sr, ch, color="pink", lufs=spec["loudness_lufs"], seed=spec["seed"], on_clip="reduce")
    return audio.drum_pattern(spec["tempo_bpm"], d, sr, ch, seed=spec["seed"], lufs=spec["loudness_lufs"],
                              on_clip="reduce")


def _measure_frames(path: str, every_s: float = 0.25) -> tuple[float, float]:
    """Mean luma and mean HSV saturation (0..1) of frames decoded from the written file."""
    import av

    lumas, sats, next_t = [], [], 0.0
    with av.open(path) as c:
        for frame in c.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            next_t = t + every_s
            rgb = frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0  # (H, W, 3)
            lumas.append(float((rgb @ np.array([0.299, 0.587, 0.114], np.float32)).mean()))
            mx, mn = rgb.max(axis=2), rgb.min(axis=2)
            sats.append(float(np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0).mean()))
    if not lumas:
        raise RuntimeError(f"{path}: no frame could be decoded")
    return float(np.mean(lumas)), float(np.mean(sats))


def render_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Write one video (worker process) and return what was actually rendered."""
    from trendflow.synth import audio as audio_mod
    from trendflow.synth.video import write_video

    shots = _shots_for(spec)
    wave = _audio_for(spec)
    truth = write_video(spec["path"], shots, fps=float(spec["fps"]), width=int(spec["width"]),
                        height=int(spec["height"]), audio=wave, sample_rate=int(spec["sample_rate"]),
                        vfr=bool(spec["vfr"]), rotate_degrees=int(spec["rotate_degrees"]), seed=int(spec["seed"]))
    brightness, saturation = _measure_frames(spec["path"])
    lufs = float("nan")
    if wave is not None and np.any(wave):
        lufs = audio_mod.integrated_lufs(wave, int(spec["sample_rate"]))
    return {"index": spec["index"], "duration_s": truth.duration_s, "n_shots": len(shots),
            "shots_per_min": len(shots) / truth.duration_s * 60.0, "brightness": brightness,
            "saturation": saturation, "motion": float(np.mean([s.motion for s in shots])),
            "loudness_lufs": lufs, "has_audio_track": truth.has_audio,
            "cut_times_s": list(truth.cut_times_s), "shot_kinds": list(truth.shot_kinds),
            "transition_kinds": list(truth.transition_kinds), "n_frames": truth.n_frames}


def render_videos(plan: Plan, root: Path, workers: int = 2, progress=None) -> dict[int, dict[str, Any]]:
    """Render every video (longest first, ≤ `workers` processes); returns index -> measured content."""
    v = plan.v
    specs = []
    for i in np.argsort(-v["duration_s"]):
        i = int(i)
        specs.append({"index": i, "path": str(root / "videos" / f"{v['video_id'][i]}.mp4"),
                      "title": v["video_id"][i], **{k: _py(v[k][i]) for k in (
                          "duration_s", "n_shots", "fps", "width", "height", "vfr", "rotate_degrees", "seed",
                          "brightness", "saturation", "motion", "hue", "audio_kind", "tempo_bpm",
                          "loudness_lufs", "sample_rate", "audio_channels")}})
    (root / "videos").mkdir(parents=True, exist_ok=True)
    out: dict[int, dict[str, Any]] = {}
    if workers <= 1:
        for spec in specs:
            out[spec["index"]] = render_one(spec)
            if progress:
                progress(len(out), len(specs))
        return out
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(render_one, s) for s in specs]
        for fut in as_completed(futures):
            r = fut.result()
            out[r["index"]] = r
            if progress:
                progress(len(out), len(specs))
    return out


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


# ------------------------------------------------------------------------------- counters
def simulate_counters(plan: Plan, seed: int) -> tuple[growth_model.Growth, dict[str, np.ndarray]]:
    """Views/likes/comments per snapshot (growth model) and the channel counters beside them."""
    v, ch = plan.v, plan.ch
    rng = np.random.default_rng(seed + 1)
    c = v["channel"]
    ages_days = (v["snap_times"] - v["published"][:, None]) / 86400.0  # (N, K)
    content = {k: v[k] for k in growth_model.CONTENT_KEYS}
    g = growth_model.simulate(content, ch["subscribers"][c], ch["views_per_video"][c], ch["effect"][c],
                              ages_days, rng)
    weeks = (v["snap_times"] - v["folder_times"][0]) / (7 * 86400.0)  # (N, K) since snapshot 1
    stats = {
        "subscriberCount": np.round(ch["subscribers"][c][:, None] * (1 + ch["sub_growth_week"][c][:, None]) ** weeks),
        "videoCount": ch["videos"][c][:, None] + np.floor(ch["uploads_week"][c][:, None] * np.maximum(weeks, 0)),
        "viewCount_channel": np.round(ch["views_per_video"][c][:, None] * ch["videos"][c][:, None]
                                      * (1 + 0.01 * weeks)),
    }
    # Counter corrections: the platform removes invalid views, so a later count drops below snapshot 1.
    for i in np.flatnonzero(v["corrected_snapshot"] > 0):
        k = v["corrected_snapshot"][i] - 1
        g.views[i, k] = max(0, g.views[i, 0] - max(1, int(0.02 * g.views[i, 0])))
        g.likes[i, k] = min(g.likes[i, k], g.likes[i, 0])
    return g, stats


# ------------------------------------------------------------------------------- writing
def _write_json(path: Path, obj: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False))


def _metadata(i: int, plan: Plan, rng: np.random.Generator, platform_id: str) -> dict[str, Any]:
    v, ch = plan.v, plan.ch
    c = int(v["channel"][i])
    vid = v["video_id"][i]
    d = float(v["duration_s"][i])
    meta: dict[str, Any] = {"video_id": vid, "title": _words(rng, 2, 12).capitalize(),
                            "madeForKids": bool(rng.uniform() < 0.05),
                            "publishedAt": _iso(datetime.fromtimestamp(v["published"][i], timezone.utc)),
                            "channelTitle": ch["title"][c], "duration_seconds": d}
    if rng.uniform() < 0.9:  # the default platform is sometimes left implicit
        meta["platform_id"] = platform_id
    if ch["has_id"][c]:
        meta["channel_id"] = ch["id"][c]
    if rng.uniform() < 0.85:
        meta["description"] = _words(rng, 0, 60)
    if rng.uniform() < 0.8:
        meta["tags"] = sorted(set(rng.choice(WORDS, size=int(rng.integers(1, 15))).tolist()))
    if rng.uniform() < 0.9:
        meta["language"] = str(rng.choice(LANGUAGES))
    if rng.uniform() < 0.7:
        meta["country"] = str(rng.choice(COUNTRIES))
    if rng.uniform() < 0.9:
        meta["age_limit"] = 18 if rng.uniform() < 0.01 else 0
    if rng.uniform() < 0.95:
        meta["category"] = str(rng.choice(CATEGORIES))
    url = f"https://i.ytimg.com/vi/{vid}"
    meta["thumbnails"] = {"default": {"url": f"{url}/default.jpg", "width": 120, "height": 90},
                          "high": {"url": f"{url}/hqdefault.jpg", "width": 480, "height": 360}}
    meta["thumbnails_ytdlp"] = [{"url": f"{url}/maxresdefault.jpg", "width": 1280, "height": 720}]
    meta["webpage_url"] = f"https://www.youtube.com/watch?v={vid}"
    if rng.uniform() < 0.3:
        meta["subtitles"] = {"en": [{"ext": "vtt", "url": f"https://example.invalid/{vid}.en.vtt"}]}
    if rng.uniform() < 0.6:
        meta["automatic_captions"] = {lang: [{"ext": "vtt"}] for lang in ("en", "ru")[: int(rng.integers(1, 3))]}
    if d > 60 and rng.uniform() < 0.3:
        cuts = np.linspace(0, d, int(rng.integers(2, 6)) + 1)
        meta["chapters"] = [{"start_time": float(a), "end_time": float(b), "title": _words(rng, 1, 4)}
                            for a, b in zip(cuts[:-1], cuts[1:])]
    w, h, fps = int(v["width"][i]), int(v["height"][i]), float(v["fps"][i])
    meta["formats"] = [{"format_id": "134", "ext": "mp4", "width": w, "height": h, "fps": round(fps, 3),
                        "vcodec": "avc1.4d401e", "acodec": "none"}]
    if v["audio_kind"][i] != "none":
        meta["formats"].append({"format_id": "140", "ext": "m4a", "vcodec": "none", "acodec": "mp4a.40.2",
                                "asr": int(v["sample_rate"][i]), "audio_channels": int(v["audio_channels"][i])})
    if rng.uniform() < 0.1:  # unknown extra fields must survive
        meta["_crawl"] = {"batch": int(rng.integers(1, 9)), "source": "synth"}
    return meta


def _comments(rng: np.random.Generator, n: int, published: float, until: float) -> list[dict[str, Any]]:
    times = np.sort(rng.uniform(published, max(published + 60, until), n))
    return [{"text": _words(rng, 1, 20), "author": f"@user{int(rng.integers(1e6))}",
             "likeCount": int(rng.integers(0, 500)), "replyCount": int(rng.integers(0, 20)),
             "publishedAt": _iso(datetime.fromtimestamp(t, timezone.utc))} for t in times]


def _counter(value: float, as_string: bool) -> int | str:
    return str(int(value)) if as_string else int(value)


# What a public counters table has: the ids, the publish time and the channel (SPEC §2's required fields).
MINIMAL_METADATA_FIELDS = ("video_id", "platform_id", "publishedAt", "channelTitle", "channel_id")


def write_dataset(root: Path, plan: Plan, g: growth_model.Growth, stats: dict[str, np.ndarray], *,
                  seed: int, platform_id: str, max_comments: int, minimal_metadata: bool = False) -> None:
    """metadata/, snapshots/<k>/ (with snapshot.json) and the duplicate copies.

    minimal_metadata: keep only MINIMAL_METADATA_FIELDS (the same draws are made, so the counters,
    snapshots and comments are those of the full corpus).
    """
    v = plan.v
    rng = np.random.default_rng(seed + 2)
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    n_snap = len(v["folder_times"])
    for k in range(1, n_snap + 1):
        (root / "snapshots" / str(k)).mkdir(parents=True, exist_ok=True)
        _write_json(root / "snapshots" / str(k) / "snapshot.json",
                    {"snapshot_index": k,
                     "collected_at": _iso(datetime.fromtimestamp(v["folder_times"][k - 1], timezone.utc))})
    for i in range(len(v["video_id"])):
        vid = v["video_id"][i]
        meta = _metadata(i, plan, rng, platform_id)
        if minimal_metadata:
            meta = {k: v for k, v in meta.items() if k in MINIMAL_METADATA_FIELDS}
        _write_json(root / "metadata" / f"{vid}.json", meta)
        if v["duplicate"][i]:
            copy = dict(meta)
            if v["duplicate"][i] == "conflicting":
                copy["title"] = meta.get("title", "") + " (re-upload)"  # minimal metadata has no title
            _write_json(root / "metadata" / f"{vid}_copy.json", copy)
        c = int(v["channel"][i])
        n_comments = int(rng.integers(1, max_comments + 1)) if max_comments and rng.uniform() < 0.6 else 0
        pool = _comments(rng, n_comments, v["published"][i], v["snap_times"][i, -1]) if n_comments else []
        as_str = bool(v["string_counters"][i])
        for k in range(n_snap):
            if not v["present"][i, k]:
                continue
            t = v["snap_times"][i, k]
            snap: dict[str, Any] = {"video_id": vid}
            if v["own_time"][i, k]:
                snap["collected_at"] = _iso(datetime.fromtimestamp(t, timezone.utc))
            snap["viewCount"] = _counter(g.views[i, k], as_str)
            if not v["hidden_likes"][i]:
                snap["likeCount"] = _counter(g.likes[i, k], as_str)
            if not v["comments_off"][i]:
                snap["commentCount"] = _counter(g.comments[i, k], as_str)
            if not plan.ch["hidden_subs"][c]:
                snap["subscriberCount"] = _counter(stats["subscriberCount"][i, k], as_str)
            snap["videoCount"] = _counter(stats["videoCount"][i, k], as_str)
            snap["viewCount_channel"] = _counter(stats["viewCount_channel"][i, k], as_str)
            if pool and not v["comments_off"][i]:
                until = _iso(datetime.fromtimestamp(t, timezone.utc))
                n_max = min(100, int(g.comments[i, k]))  # never more listed than counted
                snap["comments"] = [cm for cm in pool if cm["publishedAt"] <= until][:n_max]
            _write_json(root / "snapshots" / str(k + 1) / f"{vid}.json", snap)


def write_truth(root: Path, plan: Plan, g: growth_model.Growth, rendered: dict[int, dict[str, Any]],
                platform_id: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trendflow.temporal.table import channel_key

    v, ch = plan.v, plan.ch
    n = len(v["video_id"])
    c = v["channel"]
    terms = growth_model.appeal_terms({k: v[k] for k in growth_model.CONTENT_KEYS})
    age1 = (v["snap_times"][:, 0] - v["published"]) / 86400.0
    cols: dict[str, Any] = {
        "video_id": v["video_id"].tolist(),
        "platform_id": [platform_id] * n,
        "channel_key": [channel_key(platform_id, ch["id"][j] if ch["has_id"][j] else None, ch["title"][j])
                        for j in c],
        "video_file": [f"videos/{vid}.mp4" if i in rendered else None for i, vid in enumerate(v["video_id"])],
        "content_source": ["rendered" if i in rendered else "planned" for i in range(n)],
    }
    for k in ("duration_s", "fps", "width", "height", "vfr", "rotate_degrees", "n_shots", "shots_per_min",
              "brightness", "saturation", "motion", "audio_kind", "sample_rate", "audio_channels",
              "loudness_lufs", "tempo_bpm", "corrected_snapshot", "late_snapshot", "duplicate"):
        cols[k] = v[k].tolist()
    for key in ("cut_times_s", "shot_kinds", "transition_kinds"):
        cols[key] = [rendered[i][key] if i in rendered else None for i in range(n)]
    cols["has_audio_track"] = [rendered[i]["has_audio_track"] if i in rendered else v["audio_kind"][i] != "none"
                               for i in range(n)]
    cols["appeal"] = g.appeal
    for name, values in terms.items():
        cols[f"term_{name}"] = values
    for name in ("log_rate", "alpha", "boost", "like_rate", "like_drift", "comment_rate"):
        cols[name] = getattr(g, name)
    cols["channel_effect"] = ch["effect"][c]
    for h in HORIZONS:
        cols[f"expected_y_views_{h}"] = growth_model.expected_log_increase(g, age1, h)
    pq.write_table(pa.table(cols), root / TRUTH_FILE)


# ------------------------------------------------------------------------------- entry point
def generate_corpus(out: str | os.PathLike, n_videos: int = 200, seed: int = 0, *, write_videos: bool = True,
                    workers: int = 2, max_video_seconds: float = 150.0, max_comments: int = 20,
                    platform_id: str = "youtube", minimal_metadata: bool = False,
                    snapshot_days: tuple[float, ...] = SNAPSHOT_DAYS, progress=None) -> dict[str, Any]:
    """Write a synthetic dataset to `out` (must be empty or absent); returns a small summary.

    minimal_metadata: metadata files with only the ids, publishedAt and the channel (like public
    counters data sets, which lack duration_seconds, madeForKids, title, ...).
    snapshot_days: days of the snapshots after the first (default 0, 7, 14, 21; e.g. 0, 1, 3, 5 for a
    daily-collected set). The default schedule gives the same corpus for a seed as before the option.
    """
    if n_videos < 1:
        raise ValueError("n_videos must be >= 1")
    _check_snapshot_days(snapshot_days)
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; choose a new folder (nothing is overwritten)")
    root.mkdir(parents=True, exist_ok=True)
    plan = plan_corpus(n_videos, seed, max_video_seconds=max_video_seconds, write_videos=write_videos,
                       snapshot_days=snapshot_days)
    rendered: dict[int, dict[str, Any]] = {}
    if write_videos:
        rendered = render_videos(plan, root, workers=max(1, min(int(workers), 2)), progress=progress)
        for i, r in rendered.items():  # growth must see the content as rendered
            for k in ("duration_s", "n_shots", "shots_per_min", "brightness", "saturation", "motion",
                      "loudness_lufs"):
                plan.v[k][i] = r[k]
    g, stats = simulate_counters(plan, seed)
    write_dataset(root, plan, g, stats, seed=seed, platform_id=platform_id, max_comments=max_comments,
                  minimal_metadata=minimal_metadata)
    write_truth(root, plan, g, rendered, platform_id)
    v = plan.v
    return {"root": str(root), "videos": n_videos, "video_files": len(rendered),
            "channels": int(len(np.unique(v["channel"]))), "duplicates": int((v["duplicate"] != "").sum()),
            "without_snapshot_2": int((~v["present"][:, 1]).sum()),
            "younger_than_24h": int((v["age_hours_s1"] < 24).sum()),
            "total_video_seconds": float(v["duration_s"].sum()) if write_videos else 0.0}
