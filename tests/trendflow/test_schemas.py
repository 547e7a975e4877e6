import json
from pathlib import Path

from trendflow import schemas
from trendflow.components import all_specs

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_match_the_code():
    assert schemas.check(REPO / "schemas") == []


def test_generate_then_check(tmp_path, toy_components):
    written = schemas.generate(tmp_path)
    assert {p.name for p in written} == {f"{s.name}.schema.json" for s in all_specs()}
    assert schemas.check(tmp_path) == []
    doc = json.loads((tmp_path / "toy_shots.schema.json").read_text())
    assert doc["properties"]["arrays"]["properties"]["E_shot"]["x-shape"] == ["n_shots", "D"]
    assert "label" not in doc["properties"]["arrays"]["required"]


def test_drift_without_version_bump_is_reported(tmp_path, toy_components):
    schemas.generate(tmp_path)
    p = tmp_path / "toy_shots.schema.json"
    doc = json.loads(p.read_text())
    doc["properties"]["arrays"]["properties"]["E_shot"]["x-dtype"] = "float64"
    p.write_text(json.dumps(doc))
    (tmp_path / "gone.schema.json").write_text("{}")
    problems = schemas.check(tmp_path)
    assert any("toy_shots" in x and "bump it" in x for x in problems)
    assert any("gone.schema.json" in x and "stale" in x for x in problems)
