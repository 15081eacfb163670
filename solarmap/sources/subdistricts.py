"""The embedded Huangpu subdistricts (街道): codes, names and approximate outlines (data/subdistricts.geojson)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from solarmap.errors import ConfigError
from solarmap.resources import SUBDISTRICTS_FILE


@dataclass(frozen=True)
class Subdistrict:
    code: str
    name_zh: str
    name_en: str
    slug: str
    area_km2: float
    outline: BaseGeometry | None  # WGS84; None where no outline is embedded

    @property
    def label(self) -> str:
        return f"{self.name_en} ({self.name_zh})"


@lru_cache(maxsize=1)
def load_subdistricts() -> gpd.GeoDataFrame:
    """All embedded subdistricts as a GeoDataFrame in WGS84 (geometry null where no outline is embedded)."""
    return gpd.read_file(SUBDISTRICTS_FILE)


def _norm(text: str) -> str:
    text = text.lower().strip()
    text = re.sub(r"[\s_\-.'’]", "", text)
    for suffix in ("街道", "subdistrict", "street"):
        text = text.removesuffix(suffix)
    return text


def _keys(row) -> set[str]:
    zh = row["name_zh"]
    en = row["name_en"]
    keys = {_norm(zh), _norm(zh.removesuffix("街道")), _norm(en), _norm(row["slug"]), str(row["code"])}
    for tail in ("road", "rd", "lu"):
        keys.add(_norm(en).removesuffix(tail))
        keys.add(_norm(row["slug"]).removesuffix(tail))
    if _norm(en).endswith("road"):  # pinyin: 路 = lu
        keys.add(_norm(en).removesuffix("road") + "lu")
        keys.add(_norm(row["slug"]) + "lu")
    return keys


def find_subdistrict(name: str) -> Subdistrict:
    """Look up an embedded subdistrict by Chinese name, English name, pinyin or code (case-insensitive).

    Raises :class:`ConfigError` listing the known names when nothing matches.
    """
    table = load_subdistricts()
    wanted = _norm(name)
    for _, row in table.iterrows():
        if wanted in _keys(row):
            geom = row.geometry if row.geometry is not None and not row.geometry.is_empty else None
            return Subdistrict(
                code=str(row["code"]),
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                slug=row["slug"],
                area_km2=float(row["area_km2"]),
                outline=geom,
            )
    known = ", ".join(f"{r.slug} ({r.name_zh}, {r.name_en})" for r in table.itertuples())
    msg = f"unknown subdistrict '{name}'. Known subdistricts: {known}"
    raise ConfigError(msg)


def subdistrict_of(centres_wgs84: np.ndarray) -> np.ndarray:
    """Slug of the embedded subdistrict outline containing each point, '' where none does."""
    subs = load_subdistricts()
    subs = subs[subs.geometry.notna()]
    out = np.full(len(centres_wgs84), "", dtype=object)
    tree = shapely.STRtree(subs.geometry.to_numpy())
    pts, polys = tree.query(centres_wgs84, predicate="within")
    out[pts] = subs["slug"].to_numpy()[polys]
    return out
