"""Shared fixtures: paths to the real data beside the project (when present) and a once-per-session pipeline run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
EPW = SHARED / "weather" / "CHN_SH_Shanghai-Hongqiao.Intl.AP.583670_TMYx.2007-2021.epw"
DAPUQIAO_OSM = SHARED / "boundaries" / "dapuqiao_osm_relation12235958_wgs84.geojson"

needs_epw = pytest.mark.skipif(not EPW.exists(), reason="the real Shanghai EPW is not beside the project (../shared/data)")


@pytest.fixture(scope="session")
def dapuqiao_run(tmp_path_factory):
    """The embedded Dapuqiao pipeline, run once through the CLI into a temporary output folder."""
    from solarmap.cli import main

    out = tmp_path_factory.mktemp("out")
    assert main(["run", "dapuqiao", "--out", str(out), "-q"]) == 0
    return out


@pytest.fixture
def out_dir(tmp_path):
    d = tmp_path / "out"
    yield d
    shutil.rmtree(d, ignore_errors=True)
