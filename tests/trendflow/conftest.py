import numpy as np
import pytest

from trendflow import components
from trendflow.artifacts import ArtifactStore, RunKey
from trendflow.components import ArraySpec, ComponentSpec

# Contracts used only by the core tests; registered for the duration of a test, then removed,
# so the real registry (and `schemas check`) never sees them.
TOY = ComponentSpec(
    name="toy_shots", version="1.0", schema_version=1, description="test component",
    arrays=(
        ArraySpec("shot_start_sec", "float32", ("n_shots",), invariants=("sorted_unique", "nonneg")),
        ArraySpec("E_shot", "float32", ("n_shots", "D")),
        ArraySpec("E_shot_present", "bool", ("n_shots",)),
        ArraySpec("label", "str", (), optional=True),
    ))
RAW = ComponentSpec(name="toy_comments_raw", version="1.0", schema_version=1, description="raw text",
                    arrays=(ArraySpec("text", "str", ("n",)),), required=False, tier=1,
                    raw_text_kind="comments")


@pytest.fixture
def toy_components():
    components.all_specs()  # discover the real ones first
    for spec in (TOY, RAW):
        components.register(spec)
    yield TOY
    for spec in (TOY, RAW):
        components._REGISTRY.pop(spec.name, None)


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(str(tmp_path / "store"))


def toy_arrays(n=3, d=4):
    return {"shot_start_sec": np.arange(n, dtype=np.float32) * 2.0,
            "E_shot": np.random.default_rng(0).normal(size=(n, d)).astype(np.float32),
            "E_shot_present": np.ones(n, bool)}


def key(video="vid1", run="run-1"):
    return RunKey("youtube", video, run, "cfg123", "sp1")
