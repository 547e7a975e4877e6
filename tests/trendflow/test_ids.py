import pytest

from trendflow.artifacts import RunKey
from trendflow.ids import UnsafeIdError, config_hash, new_run_id, validate_video_id


@pytest.mark.parametrize("good", ["dQw4w9WgXcQ", "a", "abc_DEF-123", "v.1", "x" * 128, "-abc_123XYZ", "_xYz-1"])
def test_safe_ids_pass(good):
    assert validate_video_id(good) == good


@pytest.mark.parametrize("bad, reason", [
    ("", "empty"), ("..etc", "'..'"), ("../etc", "path separator"), ("a/b", "path separator"), ("a\\b", "path separator"),
    ("a\x00b", "control"), ("a\nb", "control"), ("x" * 129, "max 128"), ("..", "'..'"),
    (".hidden", "start with"), ("has space", "outside"), (None, "string"), (123, "string"),
])
def test_unsafe_ids_rejected_with_reason(bad, reason):
    with pytest.raises(UnsafeIdError, match=reason):
        validate_video_id(bad)


def test_platform_and_run_ids_must_start_with_a_letter_or_digit():
    from trendflow.ids import validate_platform_id, validate_run_id
    for bad in ("_tables", "-x"):
        with pytest.raises(UnsafeIdError, match="letter or digit"):
            validate_platform_id(bad)
        with pytest.raises(UnsafeIdError, match="letter or digit"):
            validate_run_id(bad)


def test_run_key_validates_every_part_before_any_path_is_built():
    with pytest.raises(UnsafeIdError, match="platform_id"):
        RunKey("you/tube", "vid", "run")
    with pytest.raises(UnsafeIdError, match="run_id"):
        RunKey("youtube", "vid", "../run")
    assert RunKey("youtube", "vid", "r1").run_dir == "youtube/vid/r1"


def test_config_hash_is_stable_and_order_independent():
    a = config_hash({"x": 1, "y": {"b": 2, "a": [1, 2]}})
    b = config_hash({"y": {"a": [1, 2], "b": 2}, "x": 1})
    assert a == b and len(a) == 16
    assert config_hash({"x": 2, "y": {"b": 2, "a": [1, 2]}}) != a


def test_generated_run_ids_are_unique_and_safe():
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    for r in ids:
        validate_video_id(r)
