"""Exclusion zones and lists: where a planner says "not here" (exclude) or "look again" (flag).

An exclusion (``[[exclusions]]`` in the pipeline file, ``--exclude FILE[:REASON]`` on the command line) is either
polygons in any vector format :func:`solarmap.sources.footprints.read_vector` reads (a heritage area, a hazard
zone), or a list of building ids (a text file, one id a line, ``#`` starts a comment; or a CSV with an id column).

- A footprint is inside a zone when at least ``min_share`` of its area lies in it (the zone's polygons are
  merged first, so overlapping polygons count once); a listed building is inside its list.
- ``action = "exclude"``: an assessed building becomes ``assessment = excluded`` with ``reason`` = the exclusion's
  reason, else its name. It keeps its footprint and height, so it still casts shade on its neighbours, and it
  stays in every output. Rules do not count it.
- ``action = "flag"``: the building is assessed as usual and carries the zone in ``exclusion_zone``; rules do
  not count it unless a rule sets ``include_flagged = true``.

A building inside several exclusions takes the first that excludes it, else the first that flags it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.config import ExclusionConfig
from solarmap.errors import InputDataError, InputDataWarning, InputFileError, warn
from solarmap.sources.footprints import read_vector

log = logging.getLogger(__name__)

_ID_COLUMNS = ("building_id", "id", "编号")


@dataclass
class Exclusions:
    """What :func:`apply_exclusions` did: one JSON-ready entry per exclusion (``entries``) and each zone's
    outline in WGS84 for the map (``zones``: name, action, geometry; id lists have none)."""

    entries: list[dict] = field(default_factory=list)
    zones: list[tuple[str, str, object]] = field(default_factory=list)


def parse_cli(spec: str, *, action: str = "exclude") -> ExclusionConfig:
    """``FILE[:REASON]`` from the command line (a path that exists as given wins over a colon in it)."""
    path, reason = spec, ""
    if not Path(spec).exists() and ":" in spec:
        path, _, reason = spec.rpartition(":")
    reason = reason.strip()
    name = reason if action == "flag" else ""  # a flag has no reason to carry: the text names it
    return ExclusionConfig(path=str(Path(path).resolve()), reason=reason, action=action, name=name)


def _kind(e: ExclusionConfig, path: Path) -> str:
    if e.kind != "auto":
        return e.kind
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "ids"
    if suffix == ".csv":
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns.str.lower()
        return "zones" if {"wkt", "geometry"} & set(header) else "ids"
    return "zones"


def read_ids(path: Path, *, id_column: str = "") -> list[str]:
    """Building ids from a text file (one a line, ``#`` comments) or a CSV (``id_column``, else building_id/id,
    else the first column)."""
    if path.suffix.lower() == ".csv":
        t = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        col = id_column or next((c for c in t.columns if c.lower() in _ID_COLUMNS), t.columns[0] if len(t.columns) else "")
        if col not in t.columns:
            msg = f"exclusion list {path}: no column '{col}' (columns: {', '.join(map(str, t.columns))}); set id_column"
            raise InputDataError(msg)
        values = t[col].astype(str).str.strip().tolist()
    else:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        values = [line.split("#", 1)[0].strip() for line in lines]
    return list(dict.fromkeys(v for v in values if v))


def read_zone(path: Path, *, layer: str = "") -> shapely.Geometry:
    """A zone file's polygons merged into one geometry, in WGS84."""
    z = read_vector(path, layer=layer)
    if not len(z):
        msg = f"exclusion zone file {path} has no features; give polygons of the zone"
        raise InputDataError(msg)
    if z.crs is None:
        minx, miny, maxx, maxy = z.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            msg = (f"exclusion zone file {path} has no CRS and its coordinates are not longitude/latitude; save it "
                   "with its CRS (e.g. in QGIS: Export → Save Features As, with the layer's CRS)")
            raise InputDataError(msg)
        z = z.set_crs("EPSG:4326")
    geoms = shapely.make_valid(z.to_crs("EPSG:4326").geometry.to_numpy())
    polys = [p for p in shapely.get_parts(geoms) if p is not None and p.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        msg = f"exclusion zone file {path} holds no polygon (points and lines cannot cover a roof); give the zone's outline"
        raise InputDataError(msg)
    return shapely.union_all(polys)


def share_inside(footprints: np.ndarray, zone: shapely.Geometry) -> np.ndarray:
    """Share of each footprint's area inside ``zone`` (same CRS) [-]; 0 for empty or missing footprints."""
    n = len(footprints)
    share = np.zeros(n)
    ok = ~shapely.is_empty(footprints) & ~shapely.is_missing(footprints)
    area = np.zeros(n)
    area[ok] = shapely.area(footprints[ok])
    ok &= area > 0
    parts = shapely.get_parts(zone)  # a union's parts are disjoint: their intersections add up
    if not ok.any() or not len(parts):
        return share
    idx = np.flatnonzero(ok)
    tree = shapely.STRtree(parts)
    fp_pos, part_pos = tree.query(footprints[idx], predicate="intersects")
    if len(fp_pos):
        inter = shapely.area(shapely.intersection(footprints[idx][fp_pos], parts[part_pos]))
        share[idx] = np.bincount(fp_pos, weights=inter, minlength=len(idx)) / area[idx]
    return np.clip(share, 0.0, 1.0)


def apply_exclusions(roofs: gpd.GeoDataFrame, exclusions: list[ExclusionConfig]) -> tuple[gpd.GeoDataFrame, Exclusions]:
    """Apply every exclusion to prepared buildings (metric CRS): ``exclusion_zone`` and ``exclusion_action`` on
    every row, excluded rows with their reason. Reads the exclusion files; returns a new frame."""
    roofs = roofs.copy()
    n = len(roofs)
    zone_of = np.full(n, "", dtype=object)
    action_of = np.full(n, "", dtype=object)
    out = Exclusions()
    ids = roofs["building_id"].astype(str).to_numpy()
    geoms = roofs.geometry.to_numpy()
    for k, e in enumerate(exclusions):
        path = Path(e.path)
        if not path.exists():
            msg = f"exclusion file {path} (exclusions[{k}].path or --exclude) does not exist; check the path"
            raise InputFileError(msg)
        name = e.name or path.stem
        kind = _kind(e, path)
        entry = {"name": name, "path": str(path), "kind": kind, "action": e.action, "reason": e.reason or name,
                 "min_share": e.min_share}
        if kind == "ids":
            listed = read_ids(path, id_column=e.id_column)
            inside = np.isin(ids, listed)
            missing = sorted(set(listed) - set(ids))
            entry |= {"ids_listed": len(listed), "ids_not_found": len(missing)}
            if missing:
                warn(f"exclusion list {path.name}: {len(missing)} of {len(listed)} ids match no building "
                     f"(e.g. {', '.join(missing[:5])})", InputDataWarning,
                     zh=f"排除名单 {path.name}：{len(listed)} 个编号中有 {len(missing)} 个找不到对应的建筑"
                        f"（如 {', '.join(missing[:5])}）")
        else:
            zone = read_zone(path, layer=e.layer)
            out.zones.append((name, e.action, zone))
            metric = gpd.GeoSeries([zone], crs="EPSG:4326").to_crs(roofs.crs).iloc[0]
            share = share_inside(geoms, metric)
            inside = (share > 0) & (share >= e.min_share - 1e-12)
        take = inside & (action_of != "exclude") & ((action_of == "") | (e.action == "exclude"))
        zone_of[take], action_of[take] = name, e.action
        changed = np.zeros(n, dtype=bool)
        if e.action == "exclude":
            changed = take & (roofs["assessment"] == "assessed").to_numpy()
            roofs.loc[changed, ["assessment", "reason"]] = ["excluded", e.reason or name]
        entry |= {"buildings_inside": int(inside.sum()), "excluded": int(changed.sum()),
                  "flagged": int((take & (e.action == "flag")).sum())}
        if not inside.any():
            warn(f"exclusion {name!r} ({path.name}) covers no building of this run", InputDataWarning,
                 zh=f"排除区“{name}”（{path.name}）未覆盖本次运行的任何建筑")
        log.info("exclusion %s: %d buildings inside (%s)", name, int(inside.sum()), e.action)
        out.entries.append(entry)
    roofs["exclusion_zone"] = zone_of
    roofs["exclusion_action"] = action_of
    return roofs, out
