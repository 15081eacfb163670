"""Building use → policy category, building age → stage, existing PV.

Policy categories (FACTS §1, §3): ``public_institution`` (government and party offices, schools, hospitals, public
culture and sport venues, other state-funded organisations), ``other_public`` (other non-residential public
buildings: transport stations, state-owned service buildings), ``commercial`` (offices, shops, hotels),
``industrial``, ``residential``, ``other`` (unknown).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from solarmap.errors import CategoryWarning, InputDataError, InputDataWarning, Message, warn
from solarmap.sources.heights import to_number
from solarmap.sources.names import find_column

log = logging.getLogger(__name__)

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
#: the classes' names without 用地 (the way a planner's table often writes them), and common shortenings
EULUC_USE.update({
    **{k[:-2]: v for k, v in EULUC_USE.items() if k.endswith("用地")},
    "商务": "office", "商业": "commercial", "交通": "transport", "行政": "government", "机关": "government",
    "教育": "education", "科研": "education", "医疗": "medical", "卫生": "medical", "文化体育": "culture_sport",
    "体育文化": "culture_sport", "文体": "culture_sport", "绿地": "park", "公园": "park",
})

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
#: a use class written in Chinese (行政办公, 教育, 医疗卫生 …) in a category column: its use class and category
#: (not the EULUC class names with 用地, which say the column is EULUC's)
_ZH_USE = {k: v for k, v in EULUC_USE.items() if not k.isascii() and not k.endswith("用地") and k not in COLUMN_SYNONYMS}
COLUMN_SYNONYMS.update({k: USE_CLASSES[v] for k, v in _ZH_USE.items()})

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

#: OSM tag keys the osm scheme reads, each a column of its own.
OSM_TAG_COLUMNS = tuple(dict.fromkeys(key for key, _, _ in _OSM_RULES))

#: One OSM value → use class, for a single column holding OSM building/amenity values (first rule wins).
OSM_VALUE_USE: dict[str, str] = {}
for _key, _values, _use in _OSM_RULES:
    for _v in sorted(_values or ()):
        OSM_VALUE_USE.setdefault(_v, _use)
#: OSM values that say "a building" and nothing about its use: OSM vocabulary, but no category.
_OSM_UNINFORMATIVE = {"yes", "building", "roof", "construction"}

#: Column names looked for when no category column is configured, in order of preference (matched ignoring case,
#: spaces, underscores and hyphens). The OSM tag columns are looked at too (as a group: the osm scheme).
CATEGORY_COLUMN_CANDIDATES = ("category", "euluc", "euluc_class", "euluc_type", "landuse", "land_use", "用地性质",
                              "用地类型", "function", "功能", "use", "type", "类别")

#: The schemes ``auto`` chooses among; ties go to the first.
SCHEMES = ("column", "euluc", "osm")
_SCHEME_TEXT = {"column": "solarmap categories / use classes", "euluc": "EULUC-China classes", "osm": "OSM tags"}
_SCHEME_TEXT_ZH = {"column": "solarmap 类别/用途", "euluc": "EULUC-China 用地分类", "osm": "OSM 标签"}


def _own(df: pd.DataFrame) -> list[str]:
    """The input's own columns (not those the footprint reader adds), for messages."""
    internal = {"building_id", "name", "assessment", "reason", "geometry_repaired", "id_deduplicated",
                "geometry_from_point", "geometry"}
    return [str(c) for c in df.columns if c not in internal]


def _norm(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().str.lower()


def _key(values: pd.Series) -> pd.Series:
    """Values as lookup keys: stripped, lower case, EULUC codes that arrived as numbers ("502.0") or padded
    ("0502") as "502"."""
    key = values.astype("string").fillna("").str.strip().str.lower().str.replace(r"\.0$", "", regex=True)
    return key.str.replace(r"^0+(?=\d+$)", "", regex=True)


def _name_key(name) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _value_category(value: str, scheme: str) -> str | None:
    """The category a (normalised) value maps to in a scheme, None when the scheme does not know it."""
    if scheme == "euluc":
        return EULUC.get(value)
    if scheme == "column":
        if value in COLUMN_SYNONYMS and value != "":
            return COLUMN_SYNONYMS[value]
        return USE_CLASSES.get(value)
    if value in _OSM_UNINFORMATIVE:
        return "other"
    use = OSM_VALUE_USE.get(value)
    return USE_CLASSES[use] if use else None


def score_values(values: pd.Series, scheme: str) -> tuple[int, int]:
    """(buildings whose value the scheme maps to a category other than 'other', buildings whose value it knows)."""
    counts = _key(values).value_counts()
    informative = recognised = 0
    for v, k in counts.items():
        if v == "":
            continue
        c = _value_category(v, scheme)
        if c is not None:
            recognised += int(k)
            informative += int(k) if c != "other" else 0
    return informative, recognised


def detect_scheme(values: pd.Series) -> str:
    """The scheme a column's values are written in: EULUC-China class names or level-2 codes → ``euluc``, OSM
    building/amenity values → ``osm``, solarmap's own categories, use classes or their synonyms → ``column``.
    Values no scheme knows → ``column`` (they become 'other', and are listed in a warning)."""
    scores = {s: score_values(values, s) for s in SCHEMES}
    best = max(SCHEMES, key=lambda s: (scores[s], -SCHEMES.index(s)))
    return best if scores[best][1] > 0 else "column"


@dataclass(frozen=True)
class CategoryDetection:
    """Which input column(s) the building use comes from, and in which scheme.

    ``column``: the column read ("" with the osm scheme's tag columns, or when none is used); ``tag_columns``: the
    OSM tag columns read; ``looked_at``: the column names that were tried; ``unusable``: candidate columns found
    whose values no scheme knows (name → a few of its values); ``how``: ``configured`` (as the configuration
    says), ``detected`` (found by name and values), or ``none`` (no category column used).
    """

    configured_scheme: str
    configured_column: str
    scheme: str
    column: str = ""
    tag_columns: tuple[str, ...] = ()
    how: str = "configured"
    looked_at: tuple[str, ...] = ()
    unusable: dict[str, list[str]] = field(default_factory=dict)
    recognised: int = 0
    rows: int = 0

    @property
    def used(self) -> bool:
        return bool(self.column or self.tag_columns)

    def describe(self) -> dict:
        return {"column": self.column or None, "scheme": self.scheme, "tag_columns": list(self.tag_columns),
                "how": self.how, "configured_column": self.configured_column or None,
                "configured_scheme": self.configured_scheme,
                "recognised_share": round(self.recognised / self.rows, 4) if self.rows else None,
                "looked_at": list(self.looked_at)}


def _candidates(df: pd.DataFrame) -> list[str]:
    """The input's columns named like a category column, in the order of preference."""
    by_key: dict[str, str] = {}
    for c in df.columns:
        by_key.setdefault(_name_key(c), c)
    return list(dict.fromkeys(by_key[k] for k in map(_name_key, CATEGORY_COLUMN_CANDIDATES) if k in by_key))


def _osm_tag_score(df: pd.DataFrame, tags: list[str]) -> tuple[int, int]:
    informative = recognised = 0
    if tags:
        c = _categorise_osm_tags(df)
        informative = int((c["category"] != "other").sum())
        present = np.zeros(len(df), dtype=bool)
        for t in tags:
            v = _norm(df[t]).to_numpy(dtype=object)
            present |= (v != "") & (v != "no")
        recognised = int(present.sum())
    return informative, recognised


def detect(df: pd.DataFrame, *, scheme: str = "auto", column: str = "") -> CategoryDetection:
    """Find the column that says what each building is used for, and its scheme (pure; see :func:`categorise`).

    - a configured ``column`` is used; with ``scheme = auto`` its values choose the scheme (:func:`detect_scheme`);
    - an explicit scheme without a column reads what it always read (``category`` for column/euluc, the OSM tag
      columns for osm) and, only when that is absent, the first candidate column the scheme knows values of;
    - ``auto`` without a column tries every candidate column (:data:`CATEGORY_COLUMN_CANDIDATES`) in every scheme,
      and the OSM tag columns, and keeps the one that gives the most buildings a category (then the most values
      recognised, then the order of the candidates). Columns whose values no scheme knows are not used.
    """
    n = len(df)
    base = {"configured_scheme": scheme, "configured_column": column, "rows": n}
    tags = [t for t in OSM_TAG_COLUMNS if t in df.columns]
    if column and scheme != "osm":  # the osm scheme reads its tag columns, whatever the column says (as always)
        if column not in df.columns:
            msg = (f"no column '{column}' for the building category (buildings.category_column or --category-column); "
                   f"the buildings' columns: {', '.join(_own(df))}. Name one of them, or leave it empty to detect it")
            raise InputDataError(msg)
        if scheme != "auto":
            return CategoryDetection(**base, scheme=scheme, column=column, looked_at=(column,),
                                     recognised=score_values(df[column], scheme)[1])
        used = detect_scheme(df[column])
        if used == "osm" and column in OSM_TAG_COLUMNS:  # a configured OSM tag column: read the tags, as osm does
            return CategoryDetection(**base, scheme="osm", tag_columns=tuple(tags), how="detected", looked_at=(column,),
                                     recognised=_osm_tag_score(df, tags)[1])
        return CategoryDetection(**base, scheme=used, column=column, how="detected", looked_at=(column,),
                                 recognised=score_values(df[column], used)[1])
    if scheme == "osm" and tags:  # as it always was
        return CategoryDetection(**base, scheme="osm", tag_columns=tuple(tags), looked_at=tuple(tags),
                                 recognised=_osm_tag_score(df, tags)[1])
    if scheme in ("column", "euluc") and "category" in df.columns:  # as it always was
        return CategoryDetection(**base, scheme=scheme, column="category", looked_at=("category",),
                                 recognised=score_values(df["category"], scheme)[1])
    schemes = SCHEMES if scheme == "auto" else (scheme,)
    cands = _candidates(df)
    options = []  # (informative, recognised, -preference), scheme, column, tag columns
    for k, col in enumerate(cands):
        for s in schemes:
            inf, rec = score_values(df[col], s)
            if rec:
                options.append(((inf, rec, -k, -SCHEMES.index(s)), s, col, ()))
    if scheme == "auto" and tags:
        inf, rec = _osm_tag_score(df, tags)
        if rec:
            options.append(((inf, rec, -len(cands), 0), "osm", "", tuple(tags)))
    looked_at = tuple(dict.fromkeys([*cands, *tags]))
    unusable = {}
    for col in cands:
        if not any(o[2] == col for o in options):
            vals = _norm(df[col])
            unusable[col] = sorted(vals[vals != ""].unique().tolist())[:5]
    if not options:
        return CategoryDetection(**base, scheme="column" if scheme == "auto" else scheme, how="none",
                                 looked_at=looked_at, unusable=unusable)
    (_, rec, _, _), s, col, tag_cols = max(options, key=lambda o: o[0])
    return CategoryDetection(**base, scheme=s, column=col, tag_columns=tag_cols, how="detected", looked_at=looked_at,
                             unusable=unusable, recognised=rec)


def categorise(df: pd.DataFrame, *, scheme: str = "column", column: str = "",
               detection: CategoryDetection | None = None) -> pd.DataFrame:
    """Map building use to a policy category. Returns ``category``, ``use_class`` and ``category_source``.

    ``scheme``: ``column`` (values are categories, use classes, or their Chinese/English synonyms), ``euluc``
    (EULUC-China class names or codes), ``osm`` (OSM tag columns such as building, amenity, office, government,
    shop), ``auto`` (the column and scheme found by :func:`detect`). Values that map to nothing become
    ``other``/``unknown`` with the value kept in ``category_source``. ``detection`` (from :func:`detect`) decides
    the column and scheme instead of ``scheme`` and ``column``.
    """
    if detection is None and scheme == "auto":
        detection = detect(df, scheme=scheme, column=column)
    if detection is not None:
        if detection.tag_columns:
            return _categorise_osm_tags(df)
        if not detection.column:
            return pd.DataFrame({"category": "other", "use_class": "unknown", "category_source": "default"}, index=df.index)
        if detection.scheme == "osm":
            return _categorise_osm_values(df, detection.column)
        scheme, column = detection.scheme, detection.column
    if scheme == "osm":
        return _categorise_osm_tags(df)
    return _categorise_column(df, scheme, column)


def _categorise_osm_values(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """One column of OSM building/amenity values (``school``, ``apartments``, ``townhall``) → use class."""
    raw = df[col].astype("string").fillna("").str.strip()
    use = np.array([OSM_VALUE_USE.get(v, "unknown") for v in _key(raw).tolist()], dtype=object)
    cat = np.array([USE_CLASSES[u] for u in use], dtype=object)
    src = np.where(raw == "", "default", (col + "=" + raw).to_numpy(dtype=object))
    return pd.DataFrame({"category": cat, "use_class": use, "category_source": src}, index=df.index)


def _categorise_osm_tags(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
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


def _categorise_column(df: pd.DataFrame, scheme: str, column: str) -> pd.DataFrame:
    col = column or ("category" if "category" in df.columns else "")
    if not col:
        return pd.DataFrame({"category": "other", "use_class": "unknown", "category_source": "default"}, index=df.index)
    if col not in df.columns:
        msg = (f"no column '{col}' for the building category (buildings.category_column or --category-column); the "
               f"buildings' columns: {', '.join(_own(df))}. Name one of them, or leave it empty to detect it")
        raise InputDataError(msg)
    raw = df[col].astype("string").fillna("").str.strip()
    keys = _key(raw).tolist()
    if scheme == "euluc":
        use = np.array([EULUC_USE.get(v, "unknown") for v in keys], dtype=object)
        cat = np.array([USE_CLASSES[u] for u in use], dtype=object)
    else:
        cat = np.array([COLUMN_SYNONYMS.get(v, USE_CLASSES.get(v, "other")) for v in keys], dtype=object)
        default_use = {"public_institution": "public_service", "other_public": "other_public", "commercial": "commercial",
                       "industrial": "industrial", "residential": "residential", "other": "unknown"}
        use = np.array([v if v in USE_CLASSES else _ZH_USE.get(v, default_use[c]) for v, c in zip(keys, cat, strict=True)],
                       dtype=object)
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
    bad = raw[(raw != "") & ~_key(raw).isin(known)]
    return sorted(bad.unique().tolist())


_FIX = ("--category-column COL --category-scheme euluc (EULUC-China classes; 'column' for solarmap's own "
        "categories or use classes, 'osm' for OSM values), or buildings.category_column and "
        "buildings.category_scheme in the pipeline file")
_FIX_ZH = ("--category-column 字段名 --category-scheme euluc（EULUC-China 用地分类；'column' 为 solarmap 自有的类别或"
           "用途，'osm' 为 OSM 取值），或在配置文件中设置 buildings.category_column 和 buildings.category_scheme")

#: Columns the footprint reader adds (not the user's): left out of the list of the file's columns.
_NOT_INPUT = {"geometry", "assessment", "reason", "geometry_repaired", "id_deduplicated", "geometry_from_point"}


def _listing(names, limit: int = 30) -> str:
    names = [str(x) for x in names]
    return ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "")


def category_warnings(df: pd.DataFrame, detection: CategoryDetection, cat: pd.DataFrame, *,
                      max_other_share: float = 0.5) -> list[Message]:
    """The warnings a run must show about building use: unknown values, no category column, or more than
    ``max_other_share`` of the buildings in 'other' (each names the columns looked at and the fix). Each is the
    English text, with the Chinese one as ``.zh``."""
    out = []
    d = detection
    if d.column and d.scheme != "osm":
        unknown = unknown_category_values(df, scheme=d.scheme, column=d.column)
    elif d.column:
        vals = df[d.column].astype("string").fillna("").str.strip()
        unknown = sorted(vals[(vals != "") & ~_key(vals).isin([*OSM_VALUE_USE, *_OSM_UNINFORMATIVE])].unique().tolist())
    else:
        unknown = []
    if unknown:
        shown = ", ".join(unknown[:20])
        out.append(Message("category values not recognised, counted as 'other': " + shown,
                           "以下用地性质（类别）取值无法识别，计为“其他”（other）：" + shown))
    if not d.used:
        known = "a known category" if d.configured_scheme == "auto" else f"known to the '{d.configured_scheme}' scheme"
        found = "; ".join(f"found '{c}', but none of its values is {known} ({', '.join(v) or 'all empty'})"
                          for c, v in d.unusable.items())
        scheme = "" if d.configured_scheme == "auto" else f" for category_scheme = '{d.configured_scheme}'"
        columns = [str(c) for c in df.columns if c not in _NOT_INPUT]
        known_zh = "已知类别" if d.configured_scheme == "auto" else f"“{d.configured_scheme}”方案中的类别"
        found_zh = "；".join(f"找到字段“{c}”，但其取值都不是{known_zh}（{', '.join(v) or '全部为空'}）"
                            for c, v in d.unusable.items())
        scheme_zh = "" if d.configured_scheme == "auto" else f"（category_scheme = '{d.configured_scheme}'）"
        out.append(Message(
            f"no building-use column found{scheme}: every building counts as 'other', so no installation rule has an "
            f"eligible building and every rule reads 'not applicable'. Looked for the columns "
            f"{', '.join(CATEGORY_COLUMN_CANDIDATES)} (any case) and the OSM tags {', '.join(OSM_TAG_COLUMNS)}"
            + (f"; {found}" if found else "") + f". The file's columns: {_listing(columns)}. "
            f"Name the land-use column: {_FIX}",
            f"未找到建筑用途（用地性质）字段{scheme_zh}：所有建筑都计为“其他”（other），没有建筑适用任何安装规则，"
            f"各规则均为“不适用”。已查找字段 {', '.join(CATEGORY_COLUMN_CANDIDATES)}（不区分大小写）和 OSM 标签 "
            f"{', '.join(OSM_TAG_COLUMNS)}" + (f"；{found_zh}" if found_zh else "") + f"。文件中的字段："
            f"{_listing(columns)}。请指定用地性质字段：{_FIX_ZH}"))
        return out
    n = len(cat)
    other = int((cat["category"] == "other").sum())
    if n and other / n > max_other_share:
        what = f"column '{d.column}'" if d.column else "the OSM tags " + ", ".join(d.tag_columns)
        what_zh = f"字段“{d.column}”" if d.column else "OSM 标签 " + ", ".join(d.tag_columns)
        out.append(Message(
            f"{other:,} of {n:,} buildings ({100 * other / n:.0f} %) fall to category 'other' reading {what} as "
            f"{_SCHEME_TEXT[d.scheme]} (more than buildings.max_other_share = {100 * max_other_share:g} %): the "
            f"installation rules see only the rest. Columns looked at: {', '.join(d.looked_at) or 'none'}. "
            f"If the land use is in another column or scheme: {_FIX}",
            f"按 {_SCHEME_TEXT_ZH[d.scheme]}读取{what_zh}，{n:,} 栋建筑中有 {other:,} 栋（{100 * other / n:.0f} %）计为"
            f"“其他”（other），超过 buildings.max_other_share = {100 * max_other_share:g} %：安装规则只统计其余建筑。"
            f"已查看的字段：{', '.join(d.looked_at) or '无'}。如用地性质在其他字段或采用其他分类：{_FIX_ZH}"))
    return out


def categorise_buildings(df: pd.DataFrame, *, scheme: str = "auto", column: str = "",
                         max_other_share: float = 0.5) -> pd.DataFrame:
    """The pipeline's categorisation: :func:`detect`, :func:`categorise`, and every warning of
    :func:`category_warnings` logged (a run collects them into summary.json)."""
    d = detect(df, scheme=scheme, column=column)
    cat = categorise(df, detection=d)
    if d.how == "detected":
        what = f"column '{d.column}'" if d.column else "the OSM tags " + ", ".join(d.tag_columns)
        log.info("building use from %s, read as %s (%d of %d buildings with a known value); set "
                 "--category-column/--category-scheme to choose another", what, _SCHEME_TEXT[d.scheme], d.recognised, d.rows)
    for w in category_warnings(df, d, cat, max_other_share=max_other_share):
        warn(w, CategoryWarning, zh=w.zh)
    return cat


STAGE_SYNONYMS = {"new": "new", "新建": "new", "existing": "existing", "既有": "existing", "现有": "existing"}


def assign_stage(df: pd.DataFrame, *, stage_column: str = "", year_column: str = "", baseline_year: int = 2021) -> pd.DataFrame:
    """``stage`` ('new' or 'existing') and ``year_built``: from a stage column, else year built ≥ baseline → new.

    Buildings with neither are 'existing' (the conservative reading for a survey of the standing stock).
    """
    scol = stage_column or ("stage" if "stage" in df.columns else "")
    ycol = year_column or next((c for c in ("year_built", "start_date", "建成年份") if c in df.columns), "")
    for col, what in ((stage_column, "stage"), (year_column, "year built")):
        if col and col not in df.columns:
            key = "year_built_column" if what == "year built" else "stage_column"
            msg = (f"no column '{col}' for the {what} (buildings.{key}); the buildings' columns: {', '.join(_own(df))}. "
                   "Name one of them, or leave it empty to detect it")
            raise InputDataError(msg)
    year = (pd.to_numeric(df[ycol].astype("string").str[:4], errors="coerce") if ycol else pd.Series(np.nan, index=df.index))
    year = year.where((year >= 1800) & (year <= 2100))
    stage = np.where(year.to_numpy(dtype=float) >= baseline_year, "new", "existing").astype(object)
    if scol:
        given = _norm(df[scol]).map(lambda v: STAGE_SYNONYMS.get(v, "")).to_numpy(dtype=object)
        stage = np.where(given != "", given, stage)
    return pd.DataFrame({"stage": stage, "year_built": pd.array(year.to_numpy(dtype=float)).astype("Int64")}, index=df.index)


#: looked for in this order, any case (existing_p: a .dbf cuts names to 10 characters)
EXISTING_PV_CANDIDATES = ("existing_pv_kwp", "existing_p", "existing_pv", "pv_kwp", "已装光伏", "已建光伏", "光伏容量",
                          "已装光伏容量", "已建光伏容量")
#: installed PV per m² of footprint above which a value cannot be kWp: modules of 22 % efficiency cover at most
#: the whole roof at 0.22 kWp m⁻² (IEC 61215 STC rating: 1 kW m⁻² × efficiency)
MAX_PV_KWP_PER_M2 = 0.3


def existing_pv(df: pd.DataFrame, *, column: str = "", source: str = "") -> pd.Series:
    """Installed PV [kWp] per building from ``existing_pv_kwp`` (or the named column, or another of
    :data:`EXISTING_PV_CANDIDATES`); 0 where unknown. Text such as ``"57.9 kWp"``, ``"1.2 MW"`` or ``"800 W"``
    is read with its unit. A value above what the footprint can hold (:data:`MAX_PV_KWP_PER_M2`, with a
    projected CRS) is kept and warned about; a column most of whose values are so is refused (watts?)."""
    where = f"{source}: " if source else ""
    col = column or find_column(df.columns, EXISTING_PV_CANDIDATES)
    if not col:
        return pd.Series(0.0, index=df.index, name="existing_pv_kwp")
    if col not in df.columns:
        msg = (f"{where}no column '{col}' for existing PV (buildings.existing_pv_column); the buildings' columns: "
               f"{', '.join(_own(df))}. Name one of them, or leave it empty to detect it")
        raise InputDataError(msg)
    raw = df[col]
    v = to_number(raw)
    if not pd.api.types.is_numeric_dtype(raw):
        text = raw.astype("string").str.strip()
        mw = text.str.contains(r"(?i)\d\s*MWp?\b", regex=True, na=False).to_numpy(dtype=bool)
        watt = text.str.contains(r"(?i)\d\s*Wp?\b", regex=True, na=False).to_numpy(dtype=bool)
        v = np.where(mw, v * 1000.0, np.where(watt, v / 1000.0, v))
        unread = (text.fillna("") != "").to_numpy(dtype=bool) & ~np.isfinite(v)
        if unread.any():
            warn(f"{where}{int(unread.sum())} values of the existing-PV column '{col}' are not numbers (such as "
                 f"'{text[unread].iloc[0]}'): counted as no existing PV", InputDataWarning,
                 zh=f"{where}已装光伏字段 '{col}' 中有 {int(unread.sum())} 个值不是数字（如 '{text[unread].iloc[0]}'）：按无已装光伏计")
    v = np.where(np.isfinite(v) & (v > 0), v, 0.0)
    geom = df.geometry if isinstance(df, gpd.GeoDataFrame) else None
    if geom is not None and df.crs is not None and df.crs.is_projected and (v > 0).any():
        area = geom.area.to_numpy(dtype=float)
        has = np.isfinite(area) & (area > 0)  # a footprint without area is excluded anyway (invalid_geometry)
        over = has & (v > 0) & (v > MAX_PV_KWP_PER_M2 * np.where(has, area, 0.0))
        if over.any():
            k, n = int(over.sum()), int((has & (v > 0)).sum())
            if n >= 3 and k > n / 2:
                msg = (f"{where}the existing-PV column '{col}' has {k:,} of {n:,} values above what their roofs can "
                       f"hold ({MAX_PV_KWP_PER_M2} kWp per m² of footprint; median {np.median(v[v > 0]):,.0f}): they "
                       "look like watts, not kWp. Convert the column to kWp, or name another with "
                       "buildings.existing_pv_column")
                raise InputDataError(msg)
            ids = df["building_id"].astype(str).to_numpy()[over][:5] if "building_id" in df.columns else []
            warn(f"{where}{k} buildings have more existing PV in '{col}' than their footprint can hold "
                 f"({MAX_PV_KWP_PER_M2} kWp per m²), such as {', '.join(ids)}: kept as given, check them "
                 "(watts rather than kWp?)", InputDataWarning,
                 zh=f"{where}{k} 栋建筑的已装光伏（字段 '{col}'）超过其屋顶可容纳的上限（每平方米 {MAX_PV_KWP_PER_M2} kWp），"
                    f"如 {', '.join(ids)}：按原值保留，请核对（是否以瓦而非千瓦为单位？）")
    return pd.Series(v, index=df.index, name="existing_pv_kwp")
