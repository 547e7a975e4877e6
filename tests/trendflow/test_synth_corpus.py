"""`trendflow synth`: the SPEC §2 layout, realistic structure, real videos whose content is the planted one."""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from trendflow.dataset import validate_dataset
from trendflow.synth import audio
from trendflow.synth.corpus import TRUTH_FILE, generate_corpus, render_one
from trendflow.temporal import build_temporal_table


@pytest.fixture(scope="module")
def meta_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "meta"
    generate_corpus(root, 2500, seed=11, write_videos=False)
    return root


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.json")):
        h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_structure_matches_the_spec(meta_corpus):
    rep = validate_dataset(str(meta_corpus), require_videos=False)
    assert rep.ok, rep.format()
    n = 2500
    assert rep.n_metadata_files == n + 12  # 0.5% duplicated ids get a second metadata file
    assert rep.snapshot_counts[1] == rep.n_usable
    assert rep.n_missing_snapshot_2 / rep.n_usable == pytest.approx(0.30, abs=0.04)
    assert 6.5 < rep.gap_days[2]["p5"] and rep.gap_days[2]["p95"] < 7.5  # a few hours of jitter
    assert rep.gap_days[4]["max"] > 22.0  # some late snapshots fall outside the tolerance
    res = build_temporal_table(str(meta_corpus))
    s = res.summary
    assert s["age_buckets"]["lt_24h"] / s["rows"] == pytest.approx(0.115, abs=0.025)
    assert s["rows"] / s["channels"] > 2  # channels with several videos
    assert s["dropped"]["duplicate_id"] >= 12
    assert 0 < s["coverage"]["21"]["negative_views"] < 0.03 * s["rows"]  # rare counter corrections
    assert s["coverage"]["7"]["likes"] < s["coverage"]["7"]["views"]  # hidden likes: per-target masks


def test_truth_explains_quirks_in_the_table(meta_corpus):
    truth = pq.read_table(meta_corpus / TRUTH_FILE).to_pandas().set_index("video_id")
    table = build_temporal_table(str(meta_corpus)).table.to_pandas().set_index("video_id")
    both = table.join(truth, how="inner", rsuffix="_truth")
    corrected = both[(both["corrected_snapshot"] == 4) & both["has_horizon_21"]]
    assert len(corrected) > 0 and corrected["negative_delta_views_21"].all()
    late = both[both["late_snapshot"] == 4]
    assert len(late) > 0 and (~late["has_horizon_21"]).mean() > 0.8
    assert truth["duplicate"].isin(["identical", "conflicting"]).sum() == 12
    assert not table.index.duplicated().any()


def test_content_is_learnable_from_the_table(meta_corpus):
    """A model given the planted content beats the same model without it: the signal is real."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    truth = pq.read_table(meta_corpus / TRUTH_FILE).to_pandas().set_index("video_id")
    table = build_temporal_table(str(meta_corpus)).table.to_pandas().set_index("video_id")
    d = table.join(truth, how="inner", rsuffix="_truth")
    d = d[d["has_y_views_14"]]
    base = ["views_s1", "subscribers_s1", "channel_views_s1", "channel_videos_s1", "video_age_hours_at_snapshot1",
            "views_per_video_channel", "views_per_hour"]
    content = ["shots_per_min", "brightness", "saturation", "loudness_lufs", "tempo_bpm", "motion"]
    train, test = d[d["split"] == "train"], d[d["split"] != "train"]
    err = {}
    for name, cols in (("base", base), ("content", base + content)):
        m = HistGradientBoostingRegressor(max_iter=150, random_state=0).fit(train[cols], train["y_views_14"])
        err[name] = np.mean(np.abs(m.predict(test[cols]) - test["y_views_14"]))
    assert err["content"] < 0.93 * err["base"], err


def test_same_seed_same_corpus(tmp_path):
    generate_corpus(tmp_path / "a", 60, seed=3, write_videos=False)
    generate_corpus(tmp_path / "b", 60, seed=3, write_videos=False)
    generate_corpus(tmp_path / "c", 60, seed=4, write_videos=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    with pytest.raises(FileExistsError):
        generate_corpus(tmp_path / "a", 5, write_videos=False)


def _spec(tmp_path, kind, **over):
    spec = {"index": 0, "path": str(tmp_path / f"{kind}.mp4"), "title": "t", "duration_s": 4.5, "n_shots": 3,
            "fps": 25.0, "width": 96, "height": 160, "vfr": False, "rotate_degrees": 0, "seed": 5,
            "brightness": 0.5, "saturation": 0.5, "motion": 0.4, "hue": 0.3, "audio_kind": kind,
            "tempo_bpm": 120.0 if kind == "drums" else np.nan,
            "loudness_lufs": -20.0 if kind in ("drums", "ambient") else np.nan,
            "sample_rate": 22050, "audio_channels": 2}
    spec.update(over)
    return spec


def _decoded_audio(path):
    with av.open(path) as c:
        if not c.streams.audio:
            return None, None
        s = c.streams.audio[0]
        chunks = [f.to_ndarray() for f in c.decode(audio=0)]
        return np.concatenate(chunks, axis=1), s.rate


@pytest.mark.parametrize("kind", ["drums", "ambient", "silent", "none"])
def test_rendered_audio_is_what_the_truth_says(tmp_path, kind):
    r = render_one(_spec(tmp_path, kind))
    wave, rate = _decoded_audio(str(tmp_path / f"{kind}.mp4"))
    assert r["has_audio_track"] == (kind != "none") == (wave is not None)
    if kind == "none":
        return
    assert rate == 22050 and wave.shape[0] == 2
    if kind == "silent":
        assert np.max(np.abs(wave)) < 1e-3 and np.isnan(r["loudness_lufs"])
    else:
        assert r["loudness_lufs"] == pytest.approx(-20.0, abs=0.1)
        assert audio.integrated_lufs(wave, rate) == pytest.approx(r["loudness_lufs"], abs=1.0)  # after AAC


def test_rendered_video_matches_the_truth(tmp_path):
    dark = render_one(_spec(tmp_path, "none", brightness=0.2, n_shots=4, path=str(tmp_path / "dark.mp4")))
    bright = render_one(_spec(tmp_path, "none", brightness=0.8, n_shots=1, path=str(tmp_path / "bright.mp4")))
    assert dark["brightness"] < 0.35 < 0.6 < bright["brightness"]
    assert dark["n_shots"] == 4 and len(dark["cut_times_s"]) == 3 and bright["n_shots"] == 1
    with av.open(str(tmp_path / "dark.mp4")) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.width, v.height) == ("h264", 96, 160)
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == dark["n_frames"] == 113  # ceil(4.5 s * 25 fps)


def test_small_corpus_with_videos_end_to_end(tmp_path):
    root = tmp_path / "demo"
    summary = generate_corpus(root, 4, seed=2, max_video_seconds=6, workers=2)
    assert summary["video_files"] == 4
    rep = validate_dataset(str(root))
    assert rep.ok, rep.format()
    truth = pq.read_table(root / TRUTH_FILE).to_pandas()
    for row in truth.itertuples():
        with av.open(str(root / row.video_file)) as c:
            assert bool(c.streams.audio) == row.has_audio_track
            assert float(c.duration / 1e6) == pytest.approx(row.duration_s, abs=0.2)
            assert (c.streams.video[0].width, c.streams.video[0].height) == (row.width, row.height)
        assert len(row.cut_times_s) == row.n_shots - 1 and row.content_source == "rendered"
    table = build_temporal_table(str(root)).table.to_pandas()
    assert sorted(table["video_id"]) == sorted(truth["video_id"])
    assert np.allclose(table.set_index("video_id").loc[truth["video_id"], "duration_seconds"], truth["duration_s"])


def test_likes_are_not_a_copy_of_views_on_the_corpus(meta_corpus):
    """Issue #15: y_likes_14 correlated 0.997 with log1p(like_rate_s1 · Δviews_14) on this corpus (videos with
    ≥ 100 likes at snapshot 1) when likes were like_rate·views; with a drifting like rate it is 0.951."""
    t = build_temporal_table(str(meta_corpus)).table.to_pandas()
    d = t[t["has_y_likes_14"] & t["has_y_views_14"] & (t["likes_s1"] >= 100)]
    proxy = np.log1p(d["like_rate"] * np.expm1(d["y_views_14"]))
    corr = np.corrcoef(d["y_likes_14"], proxy)[0, 1]
    assert len(d) > 300 and 0.93 < corr < 0.97, (len(d), corr)


def test_minimal_metadata_is_a_counters_only_dataset_that_validates(tmp_path, capsys):
    import json

    from trendflow.cli import main

    root = tmp_path / "counters"
    assert main(["synth", "--out", str(root), "--videos", "40", "--seed", "5", "--no-video-files",
                 "--minimal-metadata"]) == 0
    files = sorted((root / "metadata").glob("*.json"))
    assert files and all(set(json.loads(f.read_text())) <= {"video_id", "platform_id", "publishedAt",
                                                            "channelTitle", "channel_id"} for f in files)
    assert main(["validate-dataset", str(root)]) == 0
    out = capsys.readouterr().out
    assert "counters-only dataset" in out and "missing_optional_field x3" in out
    assert f"[duration_seconds]: absent in {len(files)} of {len(files)} metadata files" in out
    # Same seed, same counters as the full corpus: only the metadata differ.
    assert main(["synth", "--out", str(tmp_path / "full"), "--videos", "40", "--seed", "5", "--no-video-files"]) == 0
    for snap in (root / "snapshots" / "2").glob("*.json"):
        assert snap.read_text() == (tmp_path / "full" / "snapshots" / "2" / snap.name).read_text()
    assert main(["synth", "--out", str(root), "--videos", "4", "--no-video-files"]) == 2
    assert "is not empty" in capsys.readouterr().err
