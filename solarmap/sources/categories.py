"""Building use → policy category, building age → stage, existing PV.

Policy categories (FACTS §1, §3): ``public_institution`` (government and party offices, schools, hospitals, public
culture and sport venues, other state-funded organisations), ``other_public`` (other non-residential public
buildings: transport stations, state-owned service buildings), ``commercial`` (offices, shops, hotels),
``industrial``, ``residential``, ``other`` (unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solarmap.errors import InputDataError

CATEGORIES = ("public_institution", "other_public", "commercial", "industrial", "residential", "other")

#: Finer use classes, for rules that treat e.g. government offices and schools differently; each lies in one category.
USE_CLASSES = {
    "government": "public_institution", "education": "public_institution", "medical": "public_institution",
    "culture_sport": "public_institution", "public_service": "public_institution",
    "transport": "other_public", "other_public": "other_public",
    "office": "commercial", "commercial": "commercial",
    "industrial": "industrial", "residential": "residential", "park": "other", "unknown": "other",
}

#: EULUC-China level-2 classes (names and codes) → use class (FACTS §3).
EULUC_USE = {
    "居住用地": "residential", "101": "residential", "residential": "residential",
    "商务办公用地": "office", "201": "office", "business office": "office",
    "商业服务用地": "commercial", "202": "commercial", "commercial service": "commercial",
    "工业用地": "industrial", "301": "industrial", "industrial": "industrial",
    "道路用地": "transport", "401": "transport", "road": "transport",
    "交通场站用地": "transport", "402": "transport", "transportation stations": "transport",
    "机场设施用地": "transport", "403": "transport", "airport facilities": "transport",
    "行政办公用地": "government", "501": "government", "administrative": "government",
    "教育科研用地": "education", "502": "education", "educational": "education",
    "医疗卫生用地": "medical", "503": "medical", "medical": "medical",
    "体育与文化用地": "culture_sport", "504": "culture_sport", "sport and cultural": "culture_sport",
    "公园与绿地用地": "park", "505": "park", "park and greenspace": "park",
}

#: EULUC-China class → policy category, through the use class.
EULUC = {k: USE_CLASSES[v] for k, v in EULUC_USE.items()}

#: Synonyms accepted in an explicit category column.
COLUMN_SYNONYMS = {
    **{c: c for c in CATEGORIES},
    "公共机构": "public_institution", "public institution": "public_institution",
    "其他公共建筑": "other_public", "公共建筑": "other_public", "other public": "other_public",
    "商业": "commercial", "商业建筑": "commercial", "办公": "commercial",
    "工业": "industrial", "工业厂房": "industrial", "厂房": "industrial",
    "住宅": "residential", "居住": "residential",
    "其他": "other", "unknown": "other", "": "other",
}

# OSM: (key, values) → category, first match wins (FACTS §3 lists the tags that matter)
_OSM_RULES = [
    ("office", {"government"}, "government"),
    ("government", None, "government"),
    ("amenity", {"townhall", "courthouse", "police", "fire_station"}, "government"),
    ("amenity", {"school", "kindergarten", "college", "university"}, "education"),
    ("amenity", {"hospital", "clinic", "doctors"}, "medical"),
    ("amenity", {"library", "community_centre", "arts_centre", "theatre"}, "culture_sport"),
    ("amenity", {"social_facility", "public_building"}, "public_service"),
    ("leisure", {"sports_centre", "stadium"}, "culture_sport"),
    ("building", {"government", "public", "civic"}, "government"),
    ("building", {"school", "kindergarten", "college", "university"}, "education"),
    ("building", {"hospital"}, "medical"),
    ("building", {"sports_hall", "stadium", "museum"}, "culture_sport"),
    ("building", {"train_station", "transportation", "parking"}, "transport"),
    ("amenity", {"bus_station", "ferry_terminal", "parking"}, "transport"),
    ("building", {"industrial", "warehouse", "factory", "manufacture"}, "industrial"),
    ("landuse", {"industrial"}, "industrial"),
    ("building", {"office"}, "office"),
    ("office", None, "office"),
    ("building", {"commercial", "retail", "hotel", "supermarket", "kiosk"}, "commercial"),
    ("shop", None, "commercial"),
    ("tourism", {"hotel", "hostel"}, "commercial"),
    ("building", {"residential", "apartments", "house", "terrace", "detached", "semidetached_house",
                  "dormitory", "bungalow"}, "residential"),
]



def _norm(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().str.lower()


def categorise(df: pd.DataFrame, *, scheme: str = "column", column: str = "") -> pd.DataFrame:
    """Map building use to a policy category. Returns ``category``, ``use_class`` and ``category_source``.

    ``scheme``: ``column`` (values are categories, use classes, or their Chinese/English synonyms), ``euluc``
    (EULUC-China class names or codes), ``osm`` (OSM tag columns such as building, amenity, office, government,
    shop). Values that map to nothing become ``other``/``unknown`` with the value kept in ``category_source``.
    """
    n = len(df)
    if scheme == "osm":
        use = np.full(n, "", dtype=object)
        src = np.full(n, "", dtype=object)
        for key, values, use_class in _OSM_RULES:
            if key not in df.columns:
                continue
            v = _norm(df[key]).to_numpy(dtype=object)
            hit = (use == "") & (v != "") & (v != "no") & (np.isin(v, list(values)) if values else True)
            use[hit] = use_class
            src[hit] = [f"{key}={x}" for x in v[hit]]
        src[use == ""] = "default"
        use[use == ""] = "unknown"
        cat = np.array([USE_CLASSES[u] for u in use], dtype=object)
        return pd.DataFrame({"category": cat, "use_class": use, "category_source": src}, index=df.index)
    col = column or ("category" if "category" in df.columns else "")
    if not col:
        return pd.DataFrame({"category": "other", "use_class": "unknown", "category_source": "default"}, index=df.index)
    if col not in df.columns:
        msg = f"no column '{col}' for the building category (columns: {', '.join(map(str, df.columns))})"
        raise InputDataError(msg)
    raw = df[col].astype("string").fillna("").str.strip()
    key = raw.str.lower().str.replace(r"\.0$", "", regex=True)  # EULUC codes may arrive as numbers ("502.0")
    keys = key.tolist()
    if scheme == "euluc":
        use = np.array([EULUC_USE.get(v, "unknown") for v in keys], dtype=object)
        cat = np.array([USE_CLASSES[u] for u in use], dtype=object)
    else:
        cat = np.array([COLUMN_SYNONYMS.get(v, USE_CLASSES.get(v, "other")) for v in keys], dtype=object)
        default_use = {"public_institution": "public_service", "other_public": "other_public", "commercial": "commercial",
                       "industrial": "industrial", "residential": "residential", "other": "unknown"}
        use = np.array([v if v in USE_CLASSES else default_use[c] for v, c in zip(keys, cat, strict=True)], dtype=object)
    src = np.where(raw == "", "default", (col + "=" + raw).to_numpy(dtype=object))
    return pd.DataFrame({"category": cat, "use_class": use, "category_source": src}, index=df.index)


def unknown_category_values(df: pd.DataFrame, *, scheme: str, column: str) -> list[str]:
    """Distinct non-empty input values that mapped to no category (for a warning)."""
    if scheme == "osm":
        return []
    col = column or ("category" if "category" in df.columns else "")
    if not col or col not in df.columns:
        return []
    known = list(EULUC) if scheme == "euluc" else [*COLUMN_SYNONYMS, *USE_CLASSES]
    raw = df[col].astype("string").fillna("").str.strip()
    key = raw.str.lower().str.replace(r"\.0$", "", regex=True)
    bad = raw[(raw != "") & ~key.isin(known)]
    return sorted(bad.unique().tolist())


STAGE_SYNONYMS = {"new": "new", "新建": "new", "existing": "existing", "既有": "existing", "现有": "existing"}


def assign_stage(df: pd.DataFrame, *, stage_column: str = "", year_column: str = "", baseline_year: int = 2021) -> pd.DataFrame:
    """``stage`` ('new' or 'existing') and ``year_built``: from a stage column, else year built ≥ baseline → new.

    Buildings with neither are 'existing' (the conservative reading for a survey of the standing stock).
    """
    scol = stage_column or ("stage" if "stage" in df.columns else "")
    ycol = year_column or next((c for c in ("year_built", "start_date", "建成年份") if c in df.columns), "")
    for col, what in ((stage_column, "stage"), (year_column, "year built")):
        if col and col not in df.columns:
            msg = f"no column '{col}' for the {what} (columns: {', '.join(map(str, df.columns))})"
            raise InputDataError(msg)
    year = (pd.to_numeric(df[ycol].astype("string").str[:4], errors="coerce") if ycol else pd.Series(np.nan, index=df.index))
    year = year.where((year >= 1800) & (year <= 2100))
    stage = np.where(year.to_numpy(dtype=float) >= baseline_year, "new", "existing").astype(object)
    if scol:
        given = _norm(df[scol]).map(lambda v: STAGE_SYNONYMS.get(v, "")).to_numpy(dtype=object)
        stage = np.where(given != "", given, stage)
    return pd.DataFrame({"stage": stage, "year_built": pd.array(year.to_numpy(dtype=float)).astype("Int64")}, index=df.index)


def existing_pv(df: pd.DataFrame, *, column: str = "") -> pd.Series:
    """Installed PV [kWp] per building from ``existing_pv_kwp`` (or the named column); 0 where unknown."""
    col = column or ("existing_pv_kwp" if "existing_pv_kwp" in df.columns else "")
    if not col:
        return pd.Series(0.0, index=df.index, name="existing_pv_kwp")
    if col not in df.columns:
        msg = f"no column '{col}' for existing PV (columns: {', '.join(map(str, df.columns))})"
        raise InputDataError(msg)
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    v = np.where(np.isfinite(v) & (v > 0), v, 0.0)
    return pd.Series(v, index=df.index, name="existing_pv_kwp")
