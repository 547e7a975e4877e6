"""Visual-only extraction (`audio: {enabled: false}`): the real pipeline on a real local Ray cluster."""

import numpy as np
import pytest

from ray_pipelines.pipeline import VISUAL, Configs, build_dataset
from ray_pipelines.stages.audio_aggregates import AUDIO_SCALAR_NAMES
from tests.ray_pipelines.test_pipeline import TEST_CONFIG, extract
from trendflow.artifacts import ArtifactStore

VISUAL_ONLY_CONFIG = TEST_CONFIG.replace("audio:\n", "audio:\n  enabled: false\n")
AUDIO_COMPONENTS = ("video_audio_extractor", "loudness", "tempo", "clap_extractor")


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg_visual")
    full, visual = d / "full.yaml", d / "visual.yaml"
    full.write_text(TEST_CONFIG)
    visual.write_text(VISUAL_ONLY_CONFIG)
    return str(full), str(visual)


def test_visual_only_changes_config_hash(configs):
    full, visual = (Configs.load(p, None) for p in configs)
    assert visual.audio.enabled is False and full.audio.enabled is True
    assert visual.config_hash != full.config_hash
    assert visual.components == VISUAL and set(AUDIO_COMPONENTS) <= set(full.components)


def test_visual_only_plan_has_no_clap_stage(ray_cluster, configs, tmp_path):
    full, visual = (Configs.load(p, None) for p in configs)
    store = ArtifactStore(str(tmp_path / "store"))
    rows = [{"video_id": "x"}]
    assert "ClapEmbed" in str(build_dataset(rows, full, store))
    plan = str(build_dataset(rows, visual, store))
    assert "ClipEmbed" in plan and "ClapEmbed" not in plan


def test_visual_only_run_writes_no_audio_and_nan_audio_aggregates(ray_cluster, good_dataset, configs, tmp_path):
    root, _ = good_dataset
    full_cfg, visual_cfg = configs
    store_dir = tmp_path / "store"
    first = extract(root, store_dir, full_cfg, videos=["vidA"])
    assert first.done == ["vidA"]
    # Same store, visual-only: a different config_hash, so the full run's artifacts are not reused.
    summary = extract(root, store_dir, visual_cfg, videos=["vidA", "vidB"])
    assert summary.failed == {} and sorted(summary.done) == ["vidA", "vidB"] and summary.cached == []
    assert summary.config_hash != first.config_hash and summary.audio_seconds == 0.0
    store = ArtifactStore(str(store_dir))
    for vid in ("vidA", "vidB"):  # both have an audio track: it is ignored, not reported empty
        key = store.key_for("youtube", vid, summary.run_id)
        manifest = store.manifest(key)
        assert manifest["status"] == "ok" and store.verify_run(key) == []
        assert set(manifest["components"]) == set(VISUAL) | {"fusion_aggregates"}
        assert store.read(key, "core_clip").arrays["E_shot"].shape == (3, 128)
        agg = store.read(key, "fusion_aggregates").arrays
        names = list(agg["names"])
        audio_idx = [names.index(n) for n in AUDIO_SCALAR_NAMES]
        assert np.isnan(agg["values"][audio_idx]).all() and not agg["present"][audio_idx].any()
        assert agg["present"][names.index("quality_mean")] and agg["present"][names.index("n_shots")]
    # The full run's audio artifacts for vidA are still there, under their own config_hash.
    full_key = store.key_for("youtube", "vidA", first.run_id)
    assert store.read(full_key, "loudness").status == "ok"
    again = extract(root, store_dir, visual_cfg, videos=["vidA", "vidB"])
    assert again.done == [] and len(again.cached) == 2


def _map_ops(ds):
    """name → ray_remote_args of each map_batches stage of a lazy dataset (its logical plan)."""
    ops, op = {}, ds._logical_plan.dag
    while op is not None:
        if hasattr(op, "ray_remote_args"):
            ops[op.name] = op.ray_remote_args
        op = op.input_dependencies[0] if op.input_dependencies else None
    return ops


def test_decode_tasks_run_side_by_side_and_are_not_fused_into_the_model_actor(ray_cluster, configs, tmp_path):
    """On 2 CPUs two decode tasks fit next to the model actors, and their CPU request never equals the
    CLIP actor's (equal resources make Ray Data fuse decoding into the one model actor)."""
    store = ArtifactStore(str(tmp_path / "store"))
    for cfg in (Configs.load(p, None) for p in configs):
        ops = _map_ops(build_dataset([{"video_id": "x"}], cfg, store))
        decode = ops["MapBatches(prepare_batch)"]["num_cpus"]
        models = [args["num_cpus"] for name, args in ops.items() if name != "MapBatches(prepare_batch)"]
        assert 2 * decode + sum(models) <= 2.0 + 1e-9, (decode, models)
        assert all(abs(decode - m) > 1e-6 for m in models)
