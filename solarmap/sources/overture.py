"""Overture Maps buildings (the ``buildings`` theme, type ``building``) mapped to solarmap's columns.

A table is taken to be in Overture's schema when it has ``id``, ``sources`` and at least one of ``subtype``,
``class``, ``num_floors``, ``has_parts`` or ``names`` (GeoParquet from ``overturemaps download --type=building``,
``solarmap fetch overture``, or DuckDB reading the release). The mapping:

- ``building_id`` = ``id`` (the GERS id); ``name`` = ``names.primary``.
- ``height_m`` = ``height`` when plausible, else ``num_floors`` × storey height (plus ``roof_height`` when given);
  ``min_height_m`` = ``min_height`` else ``min_floor`` × storey height; ``floors`` = ``num_floors``;
  ``height_rule`` says which; ``roof_shape`` is kept.
- ``category`` (a use class): ``class`` read as an OSM ``building``/``amenity`` value through the OSM scheme
  (``school`` → education, ``hospital`` → medical, ``government``/``civic``/``public``/``fire_station``/``police``
  → government, ...), else ``subtype``: ``education``, ``medical``, ``civic`` (→ government) and ``service``
  (→ public_service) are public institutions; ``religious`` other_public; ``transportation`` transport;
  ``commercial`` and ``entertainment`` commercial; ``industrial``; ``residential``; ``agricultural``,
  ``military`` and ``outbuilding`` unknown. ``category_tag`` says which (``class=school``, ``subtype=civic``).
- ``sources`` (which data sets the footprint and its properties came from: OpenStreetMap, Microsoft, Google,
  Esri community, ...) kept as JSON text; other nested columns (``bbox``, ``names``) are left out or made text.
- ``is_underground`` buildings are kept as ``excluded`` / ``underground`` (no roof to equip).

Overture carries no PV, so ``existing_pv_kwp`` is 0 for every roof.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from solarmap.errors import InputDataError
from solarmap.sources import categories

STOREY_HEIGHT_M = 3.0
MAX_HEIGHT_M = 650.0
SUBTYPE_USE = {
    "education": "education", "medical": "medical", "civic": "government", "service": "public_service",
    "religious": "other_public", "transportation": "transport", "commercial": "commercial",
    "entertainment": "commercial", "industrial": "industrial", "residential": "residential",
    "agricultural": "unknown", "military": "unknown", "outbuilding": "unknown",
}
_MARKERS = ("subtype", "class", "num_floors", "has_parts", "names")


def is_overture_frame(df: pd.DataFrame) -> bool:
    cols = set(df.columns)
    return {"id", "sources"} <= cols and any(c in cols for c in _MARKERS)


def _plain(v):
    """Arrow/numpy values (structs as dicts, lists as arrays) → plain Python for JSON."""
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _nested(values: pd.Series) -> bool:
    return values.map(lambda v: isinstance(v, (dict, list, tuple, np.ndarray))).any()


def _primary_name(v) -> str:
    if isinstance(v, str) and v.lstrip().startswith("{"):
        try:
            v = json.loads(v)
        except ValueError:
            return ""
    if isinstance(v, dict):
        return str(v.get("primary") or "")
    return ""


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def overture_heights(df: pd.DataFrame, *, storey_height_m: float = STOREY_HEIGHT_M) -> pd.DataFrame:
    """``height_m``, ``min_height_m``, ``floors`` and ``height_rule`` from Overture's height columns."""
    height, floors, roof_h = _num(df, "height"), _num(df, "num_floors"), _num(df, "roof_height")
    min_h, min_floor = _num(df, "min_height"), _num(df, "min_floor")
    n = len(df)
    out = np.full(n, np.nan)
    rule = np.full(n, "", dtype=object)
    ok = np.isfinite(height) & (height > 0) & (height <= MAX_HEIGHT_M)
    out[ok], rule[ok] = height[ok], "height"
    fl = ~ok & np.isfinite(floors) & (floors >= 1) & (floors <= 200)
    with_roof = fl & np.isfinite(roof_h) & (roof_h > 0)
    out[fl] = floors[fl] * storey_height_m + np.where(with_roof, roof_h, 0.0)[fl]
    rule[fl & ~with_roof], rule[with_roof] = "num_floors", "num_floors+roof_height"
    minimum = np.where(np.isfinite(min_h) & (min_h >= 0), min_h,
                       np.where(np.isfinite(min_floor), min_floor * storey_height_m, 0.0))
    whole = np.isfinite(floors) & (floors >= 1) & (floors <= 200) & (floors == np.round(floors))
    return pd.DataFrame({"height_m": np.round(out, 2), "min_height_m": np.round(minimum, 2),
                         "floors": pd.array(np.where(whole, floors, np.nan)).astype("Int64"), "height_rule": rule},
                        index=df.index)


def overture_use(df: pd.DataFrame) -> pd.DataFrame:
    """``category`` (use class) and ``category_tag`` from ``class``, else ``subtype``."""
    cls = df["class"].astype("string").fillna("").str.strip().str.lower() if "class" in df.columns else pd.Series("", index=df.index, dtype="string")
    sub = df["subtype"].astype("string").fillna("").str.strip().str.lower() if "subtype" in df.columns else pd.Series("", index=df.index, dtype="string")
    by_class = categories.categorise(pd.DataFrame({"building": cls, "amenity": cls}, index=df.index), scheme="osm")
    use = by_class["use_class"].to_numpy(dtype=object).copy()
    tag = np.where(use != "unknown", ("class=" + cls).to_numpy(dtype=object), "").astype(object)
    from_sub = (use == "unknown") & (sub != "").to_numpy()
    use[from_sub] = [SUBTYPE_USE.get(s, "unknown") for s in sub.to_numpy(dtype=object)[from_sub]]
    tag[from_sub] = ("subtype=" + sub).to_numpy(dtype=object)[from_sub]
    return pd.DataFrame({"category": use, "category_tag": tag}, index=df.index)


def buildings_from_overture(df: gpd.GeoDataFrame, *, storey_height_m: float = STOREY_HEIGHT_M,
                            source: str = "Overture buildings") -> gpd.GeoDataFrame:
    """Map an Overture buildings table to solarmap's input columns (see the module docstring)."""
    if len(df) == 0:
        msg = f"{source} holds no Overture buildings (is the bounding box right?)"
        raise InputDataError(msg)
    df = df.reset_index(drop=True)
    h = overture_heights(df, storey_height_m=storey_height_m)
    use = overture_use(df)
    names = df["names"].map(_primary_name) if "names" in df.columns else pd.Series("", index=df.index)
    out = pd.DataFrame({
        "building_id": df["id"].astype("string").fillna("").to_numpy(dtype=object),
        "name": names.to_numpy(dtype=object),
        "height_m": h["height_m"].to_numpy(),
        "min_height_m": h["min_height_m"].to_numpy(),
        "floors": h["floors"].to_numpy(),
        "height_rule": h["height_rule"].to_numpy(dtype=object),
        "roof_shape": df["roof_shape"].astype("string").fillna("").to_numpy(dtype=object) if "roof_shape" in df.columns else "",
        "category": use["category"].to_numpy(dtype=object),
        "category_tag": use["category_tag"].to_numpy(dtype=object),
        "sources": [json.dumps(_plain(v), ensure_ascii=False, default=str) if v is not None else "" for v in df["sources"]],
    })
    geom = df.geometry.name
    for c in df.columns:
        if c in out.columns or c in ("id", "names", "bbox", geom) or c in ("height", "num_floors", "min_height", "min_floor"):
            if c in ("height", "num_floors", "min_height", "min_floor"):
                out[f"overture_{c}"] = df[c].to_numpy()
            continue
        values = df[c]
        if values.dtype == object and _nested(values):
            out[c] = [json.dumps(_plain(v), ensure_ascii=False, default=str) if v is not None else "" for v in values]
        else:
            out[c] = values.to_numpy()
    underground = (df["is_underground"].fillna(False).astype(bool).to_numpy() if "is_underground" in df.columns
                   else np.zeros(len(df), dtype=bool))
    gdf = gpd.GeoDataFrame(out, geometry=df.geometry.values, crs=df.crs or "EPSG:4326")
    gdf.attrs["preset_reasons"] = ["underground" if u else "" for u in underground]
    return gdf
