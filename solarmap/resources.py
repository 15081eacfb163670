"""The package's own data (``solarmap/data/``), found through :mod:`importlib.resources` so that it works the
same from a checkout and from an installed wheel.

``solarmap/data/`` holds the embedded sample buildings, the typical weather year, the subdistrict outlines, the
shipped pipelines and the shipped rule sets. ``data/build.py`` in the repository makes the data files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    """The folder of the package data (a real folder: solarmap is installed unzipped)."""
    return Path(str(resources.files("solarmap") / "data"))


DATA_DIR = data_dir()
PIPELINES_DIR = DATA_DIR / "pipelines"
RULES_DIR = DATA_DIR / "rules"
BUILDINGS_DIR = DATA_DIR / "buildings"
SUBDISTRICTS_FILE = DATA_DIR / "subdistricts.geojson"
EMBEDDED_WEATHER = DATA_DIR / "weather" / "shanghai_typical_year.csv"


def sample_buildings(slug: str = "dapuqiao") -> Path:
    """Path of an embedded sample footprint file (``dapuqiao`` or ``bansongyuan``)."""
    path = BUILDINGS_DIR / f"{slug}.geojson"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BUILDINGS_DIR.glob("*.geojson")))
        msg = f"no embedded sample '{slug}' (embedded: {known})"
        raise FileNotFoundError(msg)
    return path
