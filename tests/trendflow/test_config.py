import pytest

from trendflow.config import ConfigError, RetentionConfig, StorageConfig, load_section


def write(tmp_path, text):
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return p


def test_defaults_without_a_file():
    cfg = load_section(None, "storage", StorageConfig)
    assert cfg.store == "result_store" and cfg.storage_options == {}


def test_yaml_then_env_then_explicit_overrides(tmp_path, monkeypatch):
    p = write(tmp_path, "storage:\n  store: /data/a\n  storage_options: {anon: false}\n")
    assert load_section(p, "storage", StorageConfig).store == "/data/a"
    monkeypatch.setenv("TRENDFLOW__STORAGE__STORE", "s3://bucket/x")
    monkeypatch.setenv("TRENDFLOW__STORAGE__STORAGE_OPTIONS__ANON", "true")
    cfg = load_section(p, "storage", StorageConfig)
    assert cfg.store == "s3://bucket/x" and cfg.storage_options == {"anon": True}
    assert load_section(p, "storage", StorageConfig, {"store": "/z"}).store == "/z"


def test_errors_name_the_file_and_the_field(tmp_path):
    p = write(tmp_path, "index:\n  capacity: -5\n")
    from trendflow.config import IndexConfig
    with pytest.raises(ConfigError, match=r"cfg.yaml: index.capacity: .*greater than or equal to 1"):
        load_section(p, "index", IndexConfig)


def test_typos_are_rejected(tmp_path):
    p = write(tmp_path, "storage:\n  stor: /x\n")
    with pytest.raises(ConfigError, match=r"storage.stor: Extra inputs are not permitted"):
        load_section(p, "storage", StorageConfig)
    p = write(tmp_path, "storag:\n  store: /x\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml: unknown section 'storag': no installed package registers"):
        load_section(p, "storage", StorageConfig)


@pytest.mark.parametrize("text, match", [
    ("storage: [1, 2\n", "not valid YAML"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("storage: 5\n", "must be a mapping"),
])
def test_malformed_files(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_section(write(tmp_path, text), "storage", StorageConfig)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_section("/nonexistent/cfg.yaml", "storage", StorageConfig)


def test_retention_rules(tmp_path):
    assert not load_section(None, "retention", RetentionConfig).retain_raw_comments
    with pytest.raises(ConfigError, match="retention_days is required"):
        load_section(write(tmp_path, "retention: {retain_raw_comments: true}\n"), "retention", RetentionConfig)
    with pytest.raises(ConfigError, match="exceeds hard_cap_days=30"):
        load_section(write(tmp_path, "retention: {retain_raw_ocr_text: true, retention_days: 90}\n"),
                     "retention", RetentionConfig)
    ok = load_section(write(tmp_path, "retention: {retain_raw_comments: true, retention_days: 7}\n"),
                      "retention", RetentionConfig)
    assert ok.retention_days == 7


def test_every_registered_section_is_a_strict_section():
    from trendflow.config import Section, registered_sections, section_model

    names = registered_sections()
    assert {"storage", "index", "retention", "run", "targets", "sampling", "extract", "audio", "train"} <= set(names)
    for name in names:
        model = section_model(name)
        assert issubclass(model, Section) and model.model_config["extra"] == "forbid", name


def test_every_section_of_the_file_is_checked_not_only_the_one_loaded(tmp_path):
    p = write(tmp_path, "storage: {store: /x}\ntrain: {max_epoch: 3}\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml: train.max_epoch: Extra inputs are not permitted"):
        load_section(p, "storage", StorageConfig)
    p = write(tmp_path, "storage: {store: /x}\ntargets: {horizons_days: [0]}\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml: targets.horizons_days"):
        load_section(p, "storage", StorageConfig)


def test_env_overrides_are_checked_with_the_file(tmp_path, monkeypatch):
    p = write(tmp_path, "storage: {store: /x}\nindex: {capacity: 5}\n")
    monkeypatch.setenv("TRENDFLOW__INDEX__CAPACTY", "7")
    with pytest.raises(ConfigError, match=r"index.capacty: Extra inputs"):
        load_section(p, "storage", StorageConfig)


@pytest.mark.parametrize("section", ["tune", "serve"])
def test_a_section_without_a_registered_model_is_an_error(tmp_path, section):
    p = write(tmp_path, f"storage: {{store: /x}}\n{section}: {{anything: 1}}\n")
    with pytest.raises(ConfigError, match=rf"cfg.yaml: unknown section '{section}': no installed package"):
        load_section(p, "storage", StorageConfig)
    with pytest.raises(ConfigError, match=rf"unknown section '{section}'"):
        load_section(None, section, StorageConfig)
