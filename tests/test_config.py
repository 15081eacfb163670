"""Pipeline files: strict keys and values, path resolution, subdistrict lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from solarmap.config import apply_overrides, load_config, resolve_pipeline
from solarmap.errors import ConfigError
from solarmap.resources import PIPELINES_DIR
from solarmap.sources.subdistricts import find_subdistrict


@pytest.mark.parametrize("name", ["dapuqiao", "Dapuqiao", "DAPUQIAO", "打浦桥", "打浦桥街道", "310101021"])
def test_subdistrict_by_any_name(name):
    assert find_subdistrict(name).slug == "dapuqiao"
    assert resolve_pipeline(name) == PIPELINES_DIR / "dapuqiao.toml"


@pytest.mark.parametrize("name", ["bansongyuan", "Bansongyuan Road", "半淞园路", "半淞园路街道", "bansongyuanlu"])
def test_bansongyuan_by_any_name(name):
    assert find_subdistrict(name).slug == "bansongyuan"


def test_unknown_subdistrict_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown subdistrict 'atlantis'.*dapuqiao \(打浦桥街道, Dapuqiao\)"):
        find_subdistrict("atlantis")


def _write(tmp_path, text) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_unknown_key_is_named_with_its_section(tmp_path):
    with pytest.raises(ConfigError, match=r"p.toml: unknown key 'roofs.edge_setback'"):
        load_config(_write(tmp_path, "[roofs]\nedge_setback = 2\n"))


def test_wrong_type_and_out_of_range(tmp_path):
    with pytest.raises(ConfigError, match=r"'roofs.obstruction_share' = 1.5 is outside"):
        load_config(_write(tmp_path, "[roofs]\nobstruction_share = 1.5\n"))
    with pytest.raises(ConfigError, match=r"'shading.enabled' must be bool"):
        load_config(_write(tmp_path, "[shading]\nenabled = 'yes'\n"))
    with pytest.raises(ConfigError, match=r"'output.tiles' = 'google' is not one of"):
        load_config(_write(tmp_path, "[output]\ntiles = 'google'\n"))


def test_relative_paths_resolve_against_the_file_and_defaults_against_the_cwd(tmp_path):
    cfg = load_config(_write(tmp_path, "[buildings]\npath = 'b.geojson'\n"))
    assert Path(cfg.buildings.path) == tmp_path / "b.geojson"
    assert cfg.output.dir == "outputs"


def test_overrides_are_validated():
    cfg = load_config(PIPELINES_DIR / "dapuqiao.toml")
    new = apply_overrides(cfg, {"output.lang": "zh", "weather.source": "clearsky"})
    assert new.output.lang == "zh" and new.weather.source == "clearsky" and cfg.output.lang == "both"
    with pytest.raises(ConfigError, match="output.lang"):
        apply_overrides(cfg, {"output.lang": "fr"})
