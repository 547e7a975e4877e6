"""The `serve:` section: registered, documented, a typo is an error (also through `trendflow serve`)."""

import pytest

from serve_apps.config import DEFAULT_CACHE_CAPACITY, ServeConfig
from trendflow.cli import main
from trendflow.config import ConfigError, StorageConfig, load_section


def test_defaults_and_every_field_documented():
    cfg = ServeConfig()
    assert cfg.cache_capacity == DEFAULT_CACHE_CAPACITY == 10_000 and cfg.default_locale == "ru"
    assert all(f.description for f in ServeConfig.model_fields.values())


def test_a_typo_under_serve_is_an_error(tmp_path):
    p = tmp_path / "cfg.yaml"
    p.write_text("storage: {store: /x}\nserve: {prot: 8001}\n")
    with pytest.raises(ConfigError, match=r"serve.*prot"):
        load_section(str(p), "storage", StorageConfig)  # any command reading the file fails on it


def test_trendflow_serve_user_mistakes_exit_2(tmp_path, capsys):
    p = tmp_path / "cfg.yaml"
    p.write_text("serve: {cache_capacity: 0}\n")
    assert main(["serve", "--models", str(tmp_path), "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "serve.cache_capacity" in err
    assert main(["serve", "--models", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --models") and "Traceback" not in err
    assert main(["serve", "--models", str(tmp_path), "--store", str(tmp_path / "nostore")]) == 2
    assert capsys.readouterr().err.startswith("error: --store")
