"""Files for analysts: roofs.csv and candidates.csv (UTF-8 with BOM so Excel reads Chinese), GeoPackage and
GeoParquet (WGS84, the same columns), and summary.json. Every writer writes into the run's temporary folder;
the pipeline renames that folder into place only when everything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from solarmap.columns import CANDIDATE_COLUMNS, ROOF_COLUMNS

#: decimals per column family in CSV output, so that the files are stable and readable
_DECIMALS = {"_m2": 2, "_kwp": 3, "_kwh": 1, "_pct": 2, "_deg": 2, "_m": 2, "lon": 7, "lat": 7, "sky_view_factor": 4,
             "ground_coverage_ratio": 4, "specific_yield_kwh_per_kwp": 1, "annual_poa_kwh_m2": 1,
             "annual_kwh_unshaded": 1}

CHINESE_HEADERS = {
    "building_id": "编号", "name": "名称", "subdistrict": "街道", "assessment": "评估", "reason": "原因",
    "suitable": "适宜", "category": "类别", "stage": "新建/既有", "year_built": "建成年份",
    "existing_pv_kwp": "已装光伏_kWp", "height_m": "高度_m", "roof_area_m2": "屋顶面积_m2",
    "usable_area_m2": "可用面积_m2", "module_area_m2": "组件面积_m2", "capacity_kwp": "装机容量_kWp",
    "annual_kwh": "年发电量_kWh", "annual_kwh_unshaded": "无遮挡年发电量_kWh",
    "specific_yield_kwh_per_kwp": "单位产能_kWh_per_kWp", "shading_loss_pct": "遮挡损失_pct",
    "sky_view_factor": "天空可视因子", "lon": "经度", "lat": "纬度", "candidate_rank": "候选排名",
}


def _decimals(col: str) -> int | None:
    if col in _DECIMALS:
        return _DECIMALS[col]
    for suffix, nd in _DECIMALS.items():
        if suffix.startswith("_") and col.endswith(suffix):
            return nd
    if col.startswith("kwh_m"):
        return 1
    return None


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Round float columns by their unit so CSVs are stable and readable."""
    out = df.copy()
    for c in out.columns:
        nd = _decimals(c)
        if nd is not None and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(nd)
    return out


def roof_table_columns(roofs: pd.DataFrame) -> list[str]:
    """Output columns first (documented order), then policy columns, then the input's own columns."""
    known = [c for c in ROOF_COLUMNS if c in roofs.columns]
    policy = [c for c in roofs.columns if c.startswith("policy_") or c == "candidate_rank"]
    flags = [c for c in ("geometry_repaired", "id_deduplicated", "geometry_from_point", "height_imputed")
             if c in roofs.columns and c not in known]
    rest = [c for c in roofs.columns if c not in known and c not in policy and c not in flags and c != "geometry"]
    return known + policy + flags + rest


def write_csv(df: pd.DataFrame, path: Path, *, chinese_headers: bool = False) -> None:
    out = tidy(df)
    if chinese_headers:
        out = out.rename(columns={c: f"{CHINESE_HEADERS[c]} {c}" for c in out.columns if c in CHINESE_HEADERS})
    out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def write_roofs_csv(roofs: pd.DataFrame, path: Path, *, chinese_headers: bool = False) -> None:
    write_csv(roofs[roof_table_columns(roofs)], path, chinese_headers=chinese_headers)


def candidates_table(roofs: pd.DataFrame) -> pd.DataFrame:
    """The ranked roofs: suitable, assessed, without PV, in the policy stage's ``candidate_rank`` order."""
    pool = roofs[roofs["candidate_rank"].notna()].sort_values(["candidate_rank", "building_id"])
    cols = [c for c in CANDIDATE_COLUMNS if c in pool.columns]
    cols += [c for c in pool.columns if c.startswith("policy_") and c not in cols]
    return pool[cols]


def write_geodata(roofs_wgs84: gpd.GeoDataFrame, folder: Path) -> list[Path]:
    """roofs.gpkg and roofs.parquet (GeoParquet) in WGS84 with the CSV's columns."""
    cols = roof_table_columns(roofs_wgs84)
    gdf = gpd.GeoDataFrame(tidy(pd.DataFrame(roofs_wgs84[cols])), geometry=roofs_wgs84.geometry.values, crs=roofs_wgs84.crs)
    for c in gdf.columns:
        if gdf[c].dtype == object and c != "geometry":
            gdf[c] = gdf[c].astype("string")
    gpkg = folder / "roofs.gpkg"
    gdf.to_file(gpkg, driver="GPKG", layer="roofs", engine="pyogrio")
    parquet = folder / "roofs.parquet"
    gdf.to_parquet(parquet, index=False)
    return [gpkg, parquet]


def write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    return str(o)
