"""clap_extractor: windowing, the offline CLAP audio encoder, the Ray Data actor pool, A_shot pooling and masks."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from ray_pipelines.audio_config import AudioConfig, ClapConfig
from ray_pipelines.encoders import clap as clap_encoder
from ray_pipelines.stages import audio_aggregates, clap_extractor, loudness, tempo
from ray_pipelines.stages.audio_extract import extract_audio, from_array
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.config import ConfigError
from trendflow.synth import audio as synth
from trendflow.synth.video import Shot, write_video

TINY = AudioConfig(clap=ClapConfig(model_name="trendflow-clap-tiny", batch_size=4), windows_per_row=2)


def track_of(seconds, rate=48000, cfg=TINY):
    return from_array(synth.noise(seconds, rate, amplitude=0.2), rate, cfg)


# ---------------------------------------------------------------- windows

def test_windows_cover_the_track_and_the_tail_window_ends_at_the_end():
    w, start, end = clap_extractor.window_audio(track_of(5.0), TINY)
    assert w.shape == (4, 96000) and np.allclose(start, [0, 1, 2, 3]) and np.allclose(end, [2, 3, 4, 5])
    track = track_of(5.5)
    w, start, end = clap_extractor.window_audio(track, TINY)
    assert np.allclose(start, [0, 1, 2, 3, 3.5]) and end[-1] == pytest.approx(5.5)
    assert np.array_equal(w[-1], track.mono[-96000:]) and np.array_equal(w[1], track.mono[48000:144000])


def test_audio_shorter_than_a_window_gives_one_repeated_window():
    track = track_of(0.7)
    w, start, end = clap_extractor.window_audio(track, TINY)
    m = len(track.mono)
    assert w.shape == (1, 96000) and start[0] == 0 and end[0] == pytest.approx(0.7)
    assert np.array_equal(w[0, :m], track.mono) and np.array_equal(w[0, m:2 * m], track.mono)


@pytest.mark.parametrize("seconds", [0.7, 5.5, 9.0])
def test_streamed_rows_equal_the_all_at_once_rows(seconds):
    track = track_of(seconds)
    eager = clap_extractor.chunk_rows(*clap_extractor.window_audio(track, TINY), TINY, video_id="v")
    lazy = list(clap_extractor.iter_window_rows(track, TINY, video_id="v"))
    assert len(lazy) == len(eager) > 0
    for a, b in zip(eager, lazy):
        assert a.keys() == b.keys() and a["chunk_index"] == b["chunk_index"] and b["video_id"] == "v"
        for key in ("windows", "window_start_sec", "window_end_sec"):
            np.testing.assert_array_equal(a[key], b[key])


def test_no_audio_gives_no_windows_and_a_masked_a_shot():
    track = from_array(np.zeros((1, 0), np.float32), 16000, TINY)
    w, start, end = clap_extractor.window_audio(track, TINY)
    assert w.shape == (0, 96000) and list(clap_extractor.iter_window_rows(track, TINY)) == []
    art = clap_extractor.build_artifact(start, end, np.zeros((0, 0)), np.array([0.0, 2.0]), np.array([2.0, 3.0]),
                                        embed_dim=clap_encoder.embed_dim("trendflow-clap-tiny"))
    assert art["A_shot"].shape == (2, 128) and np.isnan(art["A_shot"]).all()
    assert not art["A_shot_present"].any() and np.all(art["A_shot_coverage"] == 0)


def test_a_shot_weights_windows_by_overlap_and_masks_shots_without_audio():
    emb = np.eye(3, 4, dtype=np.float32)  # window k's embedding is the k-th unit vector
    start, end = np.array([0.0, 1.0, 2.0]), np.array([2.0, 3.0, 4.0])
    shots_start, shots_end = np.array([0.0, 1.5, 3.5, 4.0]), np.array([1.5, 3.5, 5.0, 6.0])
    art = clap_extractor.build_artifact(start, end, emb, shots_start, shots_end)
    a = art["A_shot"]
    assert a.shape == (4, 4) and art["A_shot_present"].tolist() == [True, True, True, False]
    np.testing.assert_allclose(a[0], [1.5 / 2, 0.5 / 2, 0, 0], atol=1e-6)  # 1.5 s of w0, 0.5 s of w1
    np.testing.assert_allclose(a[1], [0.5 / 3.5, 1.5 / 3.5, 1.5 / 3.5, 0], atol=1e-6)
    np.testing.assert_allclose(a[2], [0, 0, 1, 0], atol=1e-6)
    assert np.isnan(a[3]).all()
    np.testing.assert_allclose(art["A_shot_coverage"], [1, 1, 0.5 / 1.5, 0], atol=1e-6)
    assert art["window_shot_index"].tolist() == [0, 1, 1]


# ---------------------------------------------------------------- encoder

def test_repeat_pad_follows_laion():
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert clap_encoder.repeat_pad(x, 8).tolist() == [[1, 2, 3, 1, 2, 3, 0, 0]]
    assert clap_encoder.repeat_pad(x, 2).tolist() == [[1, 2]]


def test_htsat_tiny_random_init_embeds_windows():
    enc = clap_encoder.load_clap(ClapConfig(model_name="HTSAT-tiny"))
    assert enc.weights == enc.model_version == "random-init" and enc.sample_rate == 48000
    w, _, _ = clap_extractor.window_audio(track_of(3.0), AudioConfig())
    e = enc.embed(w[:2], batch_size=2)
    assert e.shape == (2, 512) and np.all(np.isfinite(e))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert not np.allclose(e[0], e[1])  # different audio, different embeddings


def test_random_init_is_reproducible_and_audio_dependent():
    w, _, _ = clap_extractor.window_audio(track_of(3.0), TINY)
    a = clap_encoder.load_clap(TINY.clap).embed(w)
    b = clap_encoder.load_clap(TINY.clap).embed(w)
    np.testing.assert_array_equal(a, b)
    tone = clap_extractor.window_audio(from_array(synth.sine(440, 3.0, 48000), 48000, TINY), TINY)[0]
    assert np.abs(clap_encoder.load_clap(TINY.clap).embed(tone) - a).max() > 1e-3


def test_laion_style_checkpoint_loads_by_key(tmp_path):
    enc = clap_encoder.load_clap(TINY.clap)
    with torch.no_grad():
        for p in enc.model.parameters():
            p.add_(0.01 * torch.randn_like(p))  # weights that differ from random-init
    w, _, _ = clap_extractor.window_audio(track_of(2.0), TINY)
    expected = enc.embed(w)
    state = {f"module.{k}": v for k, v in enc.model.state_dict().items()}
    state["module.text_branch.embeddings.word_embeddings.weight"] = torch.zeros(3, 2)  # ignored: audio only
    path = tmp_path / "clap-tiny.pt"
    torch.save({"epoch": 3, "state_dict": state}, path)
    loaded = clap_encoder.load_clap(ClapConfig(model_name="trendflow-clap-tiny", pretrained=str(path)))
    assert loaded.weights == str(path) and loaded.model_version == "trendflow-clap-tiny:clap-tiny.pt"
    np.testing.assert_allclose(loaded.embed(w), expected, atol=1e-5)
    with pytest.raises(ConfigError, match="does not fit HTSAT-tiny"):
        clap_encoder.load_clap(ClapConfig(model_name="HTSAT-tiny", pretrained=str(path)))


def test_offline_refusals():
    with pytest.raises(ConfigError, match="allow_download"):
        clap_encoder.load_clap(ClapConfig(model_name="trendflow-clap-tiny", pretrained="630k-audioset-best"))
    with pytest.raises(ConfigError, match="unknown CLAP audio model"):
        clap_encoder.embed_dim("HTSAT-huge")
    with pytest.raises(ValueError, match="hop_s"):
        AudioConfig(window_s=1.0, hop_s=2.0)
    with pytest.raises(ConfigError, match="takes 48000 Hz"):
        clap_extractor.check_config(AudioConfig(sample_rate=16000))
    clap_extractor.check_config(TINY)


def test_loading_the_encoder_never_imports_laion_clap_top_level():
    # laion_clap/__init__ fetches tokenizers from the hub at import time; run without HF_HUB_OFFLINE to prove
    # we never go there (it would hang or download).
    code = ("import sys; from ray_pipelines.encoders.clap import load_clap; from ray_pipelines.audio_config import "
            "ClapConfig; load_clap(ClapConfig(model_name='trendflow-clap-tiny'));"
            "bad = [m for m in sys.modules if m in ('laion_clap.hook', 'transformers', 'clap_module')];"
            "print('BAD', bad)")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BAD []" in out.stdout


# ---------------------------------------------------------------- pipeline

def test_actor_pool_end_to_end_a_shot_rows_and_masks(ray_cluster, tmp_path):
    import ray
    from ray.data import ActorPoolStrategy

    rate = 44100  # stereo 44.1 kHz audio that stops at 3.6 s in a 6 s video with three shots
    audio = synth.drum_pattern(120, 3.6, rate, channels=2)
    path = tmp_path / "v.mp4"
    write_video(path, [Shot("noise", 2.0), Shot("text", 2.0), Shot("shapes", 2.0)], fps=10, width=32, height=32,
                audio=audio, sample_rate=rate)
    track = extract_audio(path, TINY)
    windows, start, end = clap_extractor.window_audio(track, TINY)
    rows = list(clap_extractor.iter_window_rows(track, TINY, video_id="v"))
    assert len(rows) == 2 and len(rows[-1]["windows"]) == 1  # ragged last chunk
    ds = ray.data.from_items(rows).map_batches(
        clap_extractor.ClapEmbed, fn_constructor_args=(TINY.model_dump_json(),), batch_size=1,
        batch_format="numpy", compute=ActorPoolStrategy(size=1), num_cpus=1)
    out = ds.take_all()
    assert all("windows" not in r for r in out) and {str(r["clap_weights"]) for r in out} == {"random-init"}
    ws, we, emb = clap_extractor.collect(out)
    np.testing.assert_allclose(ws, start)
    np.testing.assert_allclose(emb, clap_encoder.load_clap(TINY.clap).embed(windows), atol=1e-5)

    shot_start, shot_end = np.array([0.0, 2.0, 4.0]), np.array([2.0, 4.0, 6.0])
    arrays = clap_extractor.build_artifact(ws, we, emb, shot_start, shot_end)
    assert arrays["A_shot"].shape == (3, 128)
    assert arrays["A_shot_present"].tolist() == [True, True, False]  # no audio under the last shot
    assert np.isnan(arrays["A_shot"][2]).all() and np.isfinite(arrays["A_shot"][:2]).all()
    store = ArtifactStore(str(tmp_path / "store"))
    key = RunKey("youtube", "v", "run-1")
    store.write(key, "clap_extractor", arrays, status=track.status, empty_reason=track.empty_reason,
                model_name=TINY.clap.model_name, model_version=str(out[0]["clap_model_version"]),
                weights=str(out[0]["clap_weights"]), extra_meta=clap_extractor.meta(TINY, 128))
    back = store.read(key, "clap_extractor")
    assert back.meta["weights"] == "random-init" and back.arrays["A_shot"].shape == (3, 128)

    scalars = audio_aggregates.audio_scalars(loudness.compute(track, TINY), tempo.compute(track, TINY), arrays)
    assert scalars["audio_clap_present_share"] == pytest.approx(2 / 3)
    assert np.isfinite(scalars["audio_integrated_lufs"]) and np.isnan(scalars["audio_bpm"])  # 3.6 s < 4 s


def test_audio_scalars_names_are_stable_and_nan_when_absent():
    empty = audio_aggregates.audio_scalars(None, None, None)
    assert tuple(empty) == audio_aggregates.AUDIO_SCALAR_NAMES and all(np.isnan(v) for v in empty.values())
    track = from_array(synth.click_track(120, 8.0, 22050, channels=2), 22050, TINY)
    full = audio_aggregates.audio_scalars(loudness.compute(track, TINY), tempo.compute(track, TINY), None)
    assert tuple(full) == audio_aggregates.AUDIO_SCALAR_NAMES
    assert abs(full["audio_bpm"] - 120) < 2.4 and np.isnan(full["audio_clap_present_share"])
    assert full["audio_dynamics_db"] > 0 and 0 <= full["audio_silence_share"] <= 1
