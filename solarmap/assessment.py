"""The assessment: one pure chain from buildings to assessed roofs, and the only place that runs the stages in order.

    buildings ──► prepare ──► roofs ──► shading ──► yield ──► facades ──► economics ──► policy
    (footprints,   (heights,    (usable   (horizons,   (pvlib)    (walls: the   (capex,        (rules,
     any CRS)       categories,  area,     sky view,              same shading  payback,       shortfall,
                    boundary,    capacity) visibility)            and yield)    NPV, CO₂)      candidates)
                    exclusions)

Economics runs before policy because the candidate ranking can be by NPV or payback (``policy.rank_by``).

:func:`assess` takes a GeoDataFrame (or a path) and returns one row per input building, index equal to the
input's, with every column of ``roofs.csv``, in the input's CRS; it writes nothing. :func:`run_assessment` is the
same chain returning the run's other results too (the roof planes, the facades, policy results, the weather, the
boundary), which
:func:`solarmap.pipeline.run` writes. Above ``engine.tile_above_roofs`` buildings (or on Dask) the roof, shading
and yield stages run tile by tile through :mod:`solarmap.tiles`, each tile calling :func:`assess_tile`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from solarmap import facades, hourly, overlaps, planes, tiles
from solarmap.columns import COLUMNS
from solarmap.config import Config, applicable_mappings, with_buildings
from solarmap.economics import apply_economics
from solarmap.errors import (
    ConfigWarning,
    GCJ02Warning,
    InputDataError,
    InputDataWarning,
    warn,
    warning_detail,
)
from solarmap.policy import apply_rules
from solarmap.roofs import layout_roofs
from solarmap.rules import RuleSet, load_rule_set
from solarmap.solar import Sun, roof_yields, sun_positions
from solarmap.sources import categories, heights
from solarmap.sources.coords import gcj02_hint
from solarmap.sources.exclusions import Exclusions, apply_exclusions
from solarmap.sources.footprints import footprints_from_frame, read_vector
from solarmap.sources.names import find_column
from solarmap.sources.subdistricts import find_subdistrict, subdistrict_of
from solarmap.sources.weather import Weather, load_weather, validate_weather

log = logging.getLogger(__name__)


class Stages:
    """Wall time per stage [s]; a stage run again (once per tile) adds up."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.debug("%s …", name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 3)
        log.info("%s done in %.2f s", name, self.timings[name])

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            self.timings[k] = round(self.timings.get(k, 0.0) + v, 3)


class WarningCollector(logging.Handler):
    """Collects the messages of every warning logged under ``solarmap`` while attached."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"kind": getattr(record, "solarmap_kind", "SolarmapWarning"), "message": record.getMessage(),
                             "message_zh": getattr(record, "solarmap_zh", None)})

    @property
    def messages(self) -> list[str]:
        """Each message once, in order."""
        return list(dict.fromkeys(r["message"] for r in self.records))

    def details(self) -> list[dict]:
        """Each warning once, in order: kind (the SolarmapWarning class), message, its Chinese title and Chinese
        message (:func:`solarmap.errors.warning_detail`)."""
        seen, out = set(), []
        for r in self.records:
            if r["message"] not in seen:
                seen.add(r["message"])
                out.append(warning_detail(r["kind"], r["message"], r["message_zh"]))
        return out

    @contextlib.contextmanager
    def attached(self) -> Iterator[WarningCollector]:
        logger = logging.getLogger("solarmap")
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)


@dataclass
class Assessment:
    """What :func:`run_assessment` produced.

    ``roofs``: one row per input building in the run's metric CRS (index 0..n-1 in input order);
    ``input_index`` and ``input_crs``: the input's index and CRS, to hand the result back as it came;
    ``policy``: one result per rule and group; ``rule_set_info``: the rule set's description with the district
    target and substitution rates; ``exclusions``: what each exclusion zone or list did (and the zones' outlines);
    ``warnings``: every warning of the assessment, in order; ``timings_s``: wall
    time per stage [s].
    """

    roofs: gpd.GeoDataFrame
    input_index: pd.Index
    input_crs: CRS | None
    config: Config
    weather: Weather
    rule_set: RuleSet
    policy: list[dict]
    rule_set_info: dict
    boundary: object = None
    boundary_label: str = ""
    source: str = ""
    exclusions: Exclusions = field(default_factory=Exclusions)
    warnings: list[str] = field(default_factory=list)
    warning_details: list[dict] = field(default_factory=list)
    category_detection: dict = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    #: one row per roof plane of the pitched roofs (``roof_planes.csv``), in the run's metric CRS
    planes: gpd.GeoDataFrame | None = None
    profiles: hourly.Profiles | None = None  # hourly AC power per subdistrict, category and set (hourly.enabled)
    shade_store: hourly.ShadeStore | None = None  # what a forecast needs from the shading (hourly.enabled)
    #: one row per facade (``facades.csv``) with its wall's foot (``ax``, ``ay``, ``bx``, ``by`` [m], the run's
    #: metric CRS) rather than a line; None with ``facades.enabled = false``. See :attr:`facades`.
    facade_table: pd.DataFrame | None = None

    @property
    def facades(self) -> gpd.GeoDataFrame | None:
        """One row per facade (``facades.csv``), lines along the walls' foot in the run's metric CRS; None with
        ``facades.enabled = false``. Made on each access from :attr:`facade_table` (a city's walls are kept as
        coordinates: as lines they would take about 1 GB per million buildings)."""
        return None if self.facade_table is None else facades.as_geodataframe(self.facade_table, self.roofs.crs)

    def buildings(self) -> gpd.GeoDataFrame:
        """The assessed buildings in the input's CRS with the input's index (the return value of :func:`assess`)."""
        out = self.roofs.copy()
        if self.input_crs is not None:
            out = out.to_crs(self.input_crs)
        out.index = self.input_index
        out.attrs = {"warnings": list(self.warnings), "policy": self.policy, "exclusions": self.exclusions.entries}
        return out


#: columns that name a boundary polygon, in the order tried
BOUNDARY_NAME_COLUMNS = ("name", "name:zh", "name_zh", "NAME", "Name", "名称", "街道", "subdistrict", "name:en", "name_en")


@dataclass
class Boundary:
    """The run's boundary in WGS84: the union (``geometry``), a label for messages, and the named parts whose
    names become the roofs' ``subdistrict``."""

    geometry: object
    label: str
    names: list[str] = field(default_factory=list)
    parts: list = field(default_factory=list)


def _named_parts(b: gpd.GeoDataFrame, cfg: Config, path: str) -> Boundary:
    """A boundary file's polygons with their names: from ``cfg.boundary_name_column`` or the first of
    :data:`BOUNDARY_NAME_COLUMNS`; one unnamed polygon takes the run's name."""
    if b.crs is None:
        minx, miny, maxx, maxy = b.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            msg = (f"boundary file {path} has no CRS and its coordinates (x {minx:.0f}..{maxx:.0f}, y {miny:.0f}.."
                   f"{maxy:.0f}) are not longitude/latitude: give it a .prj, or save it with its CRS (e.g. as GeoPackage)")
            raise InputDataError(msg)
        warn(f"boundary file {path} has no CRS; its coordinates fit longitude/latitude, read as EPSG:4326",
             InputDataWarning, zh=f"边界文件 {path} 未定义坐标系；其坐标在经纬度范围内，按 EPSG:4326 读取")
        b = b.set_crs("EPSG:4326")
    b = b.to_crs("EPSG:4326")
    geoms = b.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6]) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        kinds = ", ".join(sorted({str(t) for t in b.geom_type.dropna().unique()})) or "no geometry"
        msg = (f"boundary file {path} has no polygon ({kinds}): a boundary must be the outline of the area; give a "
               "polygon file with --boundary PATH, or --boundary none")
        raise InputDataError(msg)
    b = b[polygonal]
    col = cfg.boundary_name_column
    if col and col not in b.columns:
        msg = (f"boundary file {path}: no column '{col}' (boundary_name_column / --boundary-name-column) to name its "
               f"polygons; its columns: {', '.join(map(str, b.columns.drop(b.geometry.name)))}")
        raise InputDataError(msg)
    col = col or next((c for c in BOUNDARY_NAME_COLUMNS if c in b.columns and b[c].notna().any()), "")
    names = b[col].astype("string").fillna("").str.strip().tolist() if col else [""] * len(b)
    if len(b) == 1 and not names[0]:
        names = [cfg.name]
    blank = [i for i, n in enumerate(names) if not n]
    if blank:
        warn(f"boundary file {path}: {len(blank)} of {len(b)} polygons have no name"
             f"{f' in column {col!r}' if col else ' (no name column found)'}; their buildings' subdistrict is "
             f"'{cfg.name}-<n>'. Name them with --boundary-name-column COL", InputDataWarning,
             zh=f"边界文件 {path}：{len(b)} 个多边形中有 {len(blank)} 个"
                f"{f'在字段“{col}”中' if col else '没有名称字段，'}没有名称；其中建筑的街道记为“{cfg.name}-<n>”。"
                "可用 --boundary-name-column 字段名 指定名称字段")
        for k, i in enumerate(blank, start=1):
            names[i] = f"{cfg.name}-{k}"
    parts = list(b.geometry.to_numpy())
    return Boundary(shapely.union_all(np.array(parts, dtype=object)), Path(path).name, names, parts)


def resolve_boundary(cfg: Config, boundary=None) -> Boundary | None:
    """The run's boundary (or None for every building).

    ``boundary``: a shapely geometry in WGS84, a GeoDataFrame/GeoSeries in any CRS, a path, or ``"none"``;
    without it the config's ``boundary`` file, else its ``subdistrict``'s embedded outline."""
    if boundary is not None and not isinstance(boundary, str | Path):
        if isinstance(boundary, gpd.GeoSeries):
            boundary = gpd.GeoDataFrame(geometry=boundary)
        if isinstance(boundary, gpd.GeoDataFrame):
            return _named_parts(boundary, cfg, "(the boundary GeoDataFrame)")
        return Boundary(boundary, "boundary", [cfg.name], [boundary])
    path = str(boundary) if boundary is not None else cfg.boundary
    if path and path.lower() != "none":
        return _named_parts(read_vector(path, what="boundary"), cfg, path)
    if path.lower() == "none" or not cfg.subdistrict or cfg.subdistrict.lower() == "none":
        return None
    sub = find_subdistrict(cfg.subdistrict)
    if sub.outline is None:
        msg = (f"subdistrict {sub.label} has no embedded outline; give one with --boundary PATH "
               "(or --boundary none to keep every building)")
        raise InputDataError(msg)
    return Boundary(sub.outline, sub.slug, [sub.slug], [sub.outline])


def _clash_names(columns) -> dict[str, str]:
    """Input columns named like an output column, renamed ``input_<name>`` (``input_input_<name>`` … when that
    is taken too, as when solarmap's own roofs.gpkg is read back in). Names that differ from an output column
    only in case (``NAME``, ``HEIGHT_M`` from a Shapefile) count too: GeoPackage and DuckDB column names ignore
    case, so ``NAME`` beside ``name`` cannot be written."""
    taken = {str(c).lower() for c in columns}
    ours = {k.lower() for k in COLUMNS}
    out = {}
    for c in columns:
        # roof columns only: flags are the reader's own, and policy inputs (existing_pv_area_m2) are read as given
        same = c in COLUMNS and COLUMNS[c].group == "roof" and c not in ("building_id", "name", "assessment", "reason")
        if same or (c not in COLUMNS and str(c).lower() in ours):
            new = f"input_{c}"
            while new.lower() in taken:
                new = f"input_{new}"
            taken.add(new.lower())
            out[c] = new
    return out


def prepare(fp: gpd.GeoDataFrame, cfg: Config, *, baseline_year: int, boundary: Boundary | None = None,
            source: str = "") -> gpd.GeoDataFrame:
    """From validated footprints to buildings ready for assessment: heights (with neighbour imputation), policy
    category, stage, existing PV, roof centres in WGS84, subdistrict, and the boundary test. Pure: no I/O."""
    b = cfg.buildings
    metric_crs = fp.crs
    h = heights.assign_heights(fp, height_column=b.height_column, floors_column=b.floors_column,
                               storey_height_m=b.storey_height_m, dsm=b.dsm, dtm=b.dtm, source=source)
    cat = categories.categorise_buildings(fp, scheme=b.category_scheme, column=b.category_column,
                                          max_other_share=b.max_other_share)  # detects the column; warns
    stage = categories.assign_stage(fp, stage_column=b.stage_column, year_column=b.year_built_column,
                                    baseline_year=baseline_year)
    pv = categories.existing_pv(fp, column=b.existing_pv_column, source=source)
    # input columns named like an output column are kept beside it as input_<name>
    clash = _clash_names(fp.columns)
    roofs = gpd.GeoDataFrame(pd.concat([fp.rename(columns=clash), h, cat, stage, pv], axis=1), geometry="geometry", crs=metric_crs)
    had_height_column = bool(b.height_column or find_column(fp.columns, heights.HEIGHT_CANDIDATES))
    imputed = (roofs["height_source"] == "floors").to_numpy() & had_height_column
    if b.impute_heights:
        filled, from_neighbours = heights.impute_from_neighbours(roofs)
        roofs["height_m"] = filled
        roofs.loc[from_neighbours, "height_source"] = "neighbours"
        imputed |= from_neighbours
        if from_neighbours.any():
            warn(f"{int(from_neighbours.sum())} buildings without a plausible height took the median of their "
                 "neighbours within 100 m (flag height_imputed)", InputDataWarning,
                 zh=f"{int(from_neighbours.sum())} 栋建筑缺少可信的高度，已取其周边 100 米内建筑高度的中位数"
                    "（标记为 height_imputed）")
    roofs["height_imputed"] = imputed
    ok = roofs["assessment"] == "assessed"
    roofs.loc[ok & roofs["height_m"].isna(), ["assessment", "reason"]] = ["excluded", "no_height"]
    centres = shapely.centroid(roofs.geometry.to_numpy())
    valid = ~shapely.is_empty(centres) & ~shapely.is_missing(centres)
    lon = np.full(len(roofs), np.nan)
    lat = np.full(len(roofs), np.nan)
    if valid.any():
        wgs = gpd.GeoSeries(centres[valid], crs=metric_crs).to_crs("EPSG:4326").to_numpy()
        lon[valid], lat[valid] = shapely.get_x(wgs), shapely.get_y(wgs)
    roofs["lon"], roofs["lat"] = lon, lat
    sub_of = np.full(len(roofs), "", dtype=object)
    if valid.any():
        sub_of[valid] = subdistrict_of(shapely.points(lon[valid], lat[valid]))
    if boundary is not None:
        inside = np.zeros(len(roofs), dtype=bool)
        inside[valid] = shapely.contains_xy(boundary.geometry, lon[valid], lat[valid])
        hint = gcj02_hint(lon, lat, boundary.geometry) if b.input_datum == "wgs84" else ""
        if not inside.any():
            msg = (f"no building of {source} has its centre inside the boundary {boundary.label}: check that the "
                   f"buildings are in this subdistrict and in the CRS they claim (or use --boundary none). {hint}").strip()
            raise InputDataError(msg)
        if hint:
            warn(hint, GCJ02Warning, zh=hint.zh)
        out_b = (roofs["assessment"] == "assessed").to_numpy() & ~inside
        roofs.loc[out_b, ["assessment", "reason"]] = ["excluded", "outside_boundary"]
        roofs["in_boundary"] = inside  # a building excluded for another reason keeps it, and still lies outside
        # inside the run's boundary its own names win (outlines overlap): each roof takes its part's name
        named = np.zeros(len(roofs), dtype=bool)
        twice = 0
        for name, part in zip(boundary.names, boundary.parts, strict=True):
            sel = inside & valid
            sel[sel] = shapely.contains_xy(part, lon[sel], lat[sel])
            twice += int((sel & named).sum())
            sub_of[sel & ~named] = name  # where parts overlap, the first part's name
            named |= sel
        if twice:
            warn(f"boundary {boundary.label}: its polygons overlap; {twice} buildings lie in more than one and take "
                 "the first one's name", InputDataWarning,
                 zh=f"边界 {boundary.label} 的多边形相互重叠：{twice} 栋建筑同时位于多个多边形内，取第一个多边形的名称")
    if boundary is None:
        roofs["in_boundary"] = True
    roofs["subdistrict"] = sub_of
    roofs = overlaps.mark_covered(roofs)  # roof = footprint less the taller footprints on it; none left: 'covered'
    shapes = planes.roof_shapes(fp, roofs, cfg.roofs, dsm=b.dsm, dtm=b.dtm)  # flat, gabled, hipped … and from where
    return gpd.GeoDataFrame(pd.concat([roofs, shapes], axis=1), geometry="geometry", crs=metric_crs)


def site_of(roofs: pd.DataFrame) -> tuple[float, float]:
    """Mean roof centre (lat, lon) [°], Huangpu's centre when there is none."""
    lat, lon = roofs["lat"].to_numpy(dtype=float), roofs["lon"].to_numpy(dtype=float)
    if not np.isfinite(lat).any():
        return 31.23, 121.48
    return float(np.nanmean(lat)), float(np.nanmean(lon))


def assess_roofs(roofs: gpd.GeoDataFrame, cfg: Config, *, weather: Weather, sun: Sun, stages: Stages | None = None,
                 targets: np.ndarray | None = None, latitude_deg: float | None = None,
                 planes_out: list | None = None, collect: dict | None = None) -> gpd.GeoDataFrame:
    """Roof layout, neighbour shade and yield for prepared buildings. Pure: no I/O.

    ``targets`` (optional, boolean) limits assessment to some rows; the others are kept as they are and still
    cast shade (the halo of a tile). ``latitude_deg`` sets the row spacing (default: the weather site's, so that
    a tile gives the same answer as the whole run). Returns a new GeoDataFrame with every roof column; pitched
    roofs are assessed plane by plane (:mod:`solarmap.planes`), their planes appended to ``planes_out``.
    ``collect`` (optional dict) receives, with ``cfg.hourly.enabled``, the ``potential`` and ``existing`` hourly
    profiles (``"profiles"``: flat roofs summed chunk by chunk in the yield stage, roof planes from their stored
    shade once the planes a building uses are known) and the stored shade of every roof and plane (``"store"``).
    """
    stages = stages or Stages()
    crs = roofs.crs
    roofs = roofs.copy()
    h = roofs["height_m"].to_numpy(dtype=float)
    no_height = (roofs["assessment"] == "assessed").to_numpy() & ~(np.isfinite(h) & (h > 0))
    roofs.loc[no_height, ["assessment", "reason"]] = ["excluded", "no_height"]  # frames prepared elsewhere
    if targets is not None:
        keep = roofs["assessment"].to_numpy(dtype=object).copy()
        roofs.loc[~targets & (roofs["assessment"] == "assessed"), "assessment"] = "halo"
    with stages.stage("roofs"):
        layout = layout_roofs(roofs, cfg.roofs, latitude_deg=weather.latitude if latitude_deg is None else latitude_deg)
        too_small = layout.pop("too_small").to_numpy()
        roofs = pd.concat([roofs, layout], axis=1)
        if "roof_shape" not in roofs.columns:  # buildings prepared elsewhere: flat, as before
            roofs["roof_shape"], roofs["roof_shape_source"], roofs["roof_pitch_deg"] = "flat", "none", np.nan
        plane_rows, pitched, no_plane, no_plane_why = planes.plan_roofs(roofs, cfg.roofs)
        too_small = too_small & ~(pitched | no_plane)  # a pitched roof is judged on its planes
        roofs.loc[too_small, ["assessment", "reason"]] = ["excluded", "too_small"]
        roofs.loc[no_plane, "assessment"] = "excluded"
        roofs.loc[no_plane, "reason"] = no_plane_why[no_plane]
        excluded = (roofs["assessment"] != "assessed").to_numpy()
        roofs.loc[excluded | pitched, ["capacity_kwp", "module_area_m2"]] = np.nan  # pitched: summed from planes
    shade = plane_shade = None
    with stages.stage("shading"):
        if cfg.shading.enabled:
            from solarmap import shading

            view = roofs  # pitched buildings (assessed or not) cast shade by their walls and roof (obstacle_heights)
            if (roofs["roof_shape"] != "flat").any():
                view = roofs.assign(height_m=planes.obstacle_heights(roofs, seen_from_planes=False))
            shade = shading.shade_model(view, cfg.shading, setback_m=cfg.roofs.edge_setback_m,
                                        targets=~pitched if pitched.any() else None)
            roofs["sky_view_factor"] = shade.sky_view_all()
            roofs["sample_points"] = shade.sample_points_all()
            if pitched.any():
                h = planes.obstacle_heights(roofs, seen_from_planes=True)
                g = roofs.geometry.to_numpy()
                is_ob = np.isfinite(h) & (h > 0) & ~shapely.is_empty(g) & ~shapely.is_missing(g)
                ob_pos = np.full(len(roofs), -1)
                ob_pos[is_ob] = np.arange(int(is_ob.sum()))
                row = plane_rows["row"].to_numpy(dtype=np.int64)
                lat = roofs["lat"].to_numpy(dtype=float)[row] if "lat" in roofs.columns else None
                plane_shade = planes.shade_planes(plane_rows, g[is_ob], h[is_ob], ob_pos[row], cfg.shading,
                                                  latitude_deg=lat)
        else:
            roofs["sky_view_factor"] = np.where(roofs["assessment"] == "assessed", 1.0, np.nan)
            roofs["sample_points"] = 0
    with stages.stage("yield"):
        acc = None
        if collect is not None and cfg.hourly.enabled:
            acc = hourly.ProfileAccumulator(roofs, weather, sun, cfg.shading.max_loss_pct)
        y = roof_yields(roofs, weather, sun, cfg.pv, shade=shade, on_chunk=acc)
        roofs = pd.concat([roofs, y], axis=1)
        if pitched.any():
            plane_rows = planes.plane_yields(plane_rows, weather, sun, cfg, shade=plane_shade)
            summ = planes.summarise_buildings(plane_rows, len(roofs))
            pos = np.flatnonzero(pitched)
            for c in ("usable_area_m2", "module_area_m2", "capacity_kwp", "annual_kwh", "annual_kwh_unshaded",
                      *[f"kwh_m{m:02d}" for m in range(1, 13)], "sky_view_factor", "annual_poa_kwh_m2",
                      "sample_points", "surface_tilt_deg", "surface_azimuth_deg"):
                roofs.iloc[pos, roofs.columns.get_loc(c)] = summ[c].to_numpy()[pos]
            cap = summ["capacity_kwp"].to_numpy()[pos]
            roofs.iloc[pos, roofs.columns.get_loc("specific_yield_kwh_per_kwp")] = np.where(
                cap > 0, summ["annual_kwh"].to_numpy()[pos] / np.where(cap > 0, cap, 1.0), np.nan)
            roofs.iloc[pos, roofs.columns.get_loc("ground_coverage_ratio")] = cfg.roofs.flush_coverage
            roofs["roof_slope_area_m2"] = np.where(pitched, summ["roof_slope_area_m2"], roofs["roof_area_m2"])
            roofs["roof_planes"] = np.where(pitched, summ["roof_planes"], 0)
            roofs["roof_planes_used"] = np.where(pitched, summ["roof_planes_used"], 0)
        else:
            roofs["roof_slope_area_m2"] = roofs["roof_area_m2"]
            roofs["roof_planes"] = 0
            roofs["roof_planes_used"] = 0
        with np.errstate(invalid="ignore", divide="ignore"):
            roofs["shading_loss_pct"] = 100.0 * (1.0 - roofs["annual_kwh"] / roofs["annual_kwh_unshaded"])
        assessed = roofs["assessment"] == "assessed"
        shaded = assessed & (roofs["shading_loss_pct"] > cfg.shading.max_loss_pct)
        roofs["suitable"] = assessed & ~shaded
        roofs.loc[shaded, "reason"] = "shaded"
        if pitched.any():  # no plane worth modules: unsuitable, with the planes' reason (shaded, low_yield)
            none_used = pitched & ~summ["any_used"].to_numpy()
            roofs.loc[none_used, "suitable"] = False
            roofs.loc[none_used, "reason"] = summ["plane_reason"].to_numpy()[none_used]
        if planes_out is not None:
            planes_out.append(planes.planes_table(plane_rows, roofs) if pitched.any()
                              else planes.planes_table(plane_rows.iloc[:0], roofs))
    if acc is not None:
        with stages.stage("hourly"):
            n_sec = int(round(360.0 / cfg.shading.sector_deg))
            profiles = acc.profiles()
            store = hourly.build_store(roofs, shade, weather, sun, n_sectors=n_sec, exclude=pitched)
            if pitched.any():
                plane_store = hourly.build_plane_store(plane_rows, plane_shade, roofs, summ, weather, sun,
                                                       n_sectors=n_sec)
                profiles.merge(hourly.group_profiles(plane_store, weather, sun, cfg.pv,
                                                     {s: hourly.set_weights(plane_store, s) for s in ("potential", "existing")}))
                store = hourly.ShadeStore.concat([store, plane_store])
            collect["profiles"], collect["store"] = profiles, store
    if targets is not None:
        halo = (roofs["assessment"] == "halo").to_numpy()
        roofs.loc[halo, "assessment"] = keep[halo]
    # the roof part (footprint less what stands on it) served layout and shading; the output keeps the footprint
    roofs = roofs.drop(columns=[overlaps.ROOF_GEOMETRY, *planes.INTERNAL], errors="ignore")
    return gpd.GeoDataFrame(roofs, geometry="geometry", crs=crs)


def assess_facades(roofs: gpd.GeoDataFrame, cfg: Config, *, weather: Weather, sun: Sun, stages: Stages | None = None,
                   targets: np.ndarray | None = None, heights: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> gpd.GeoDataFrame:
    """Facade PV of buildings whose roofs are assessed: wall surfaces → shading → yield (see
    :mod:`solarmap.facades`). Pure: no I/O.

    ``targets`` (optional, boolean) limits the facades to some rows (a tile's core); every row with a footprint
    and a height still shades them and can share a wall with them. ``heights``: the walls' tops and the heights
    at which buildings shade them (:func:`solarmap.facades.wall_heights`, default from ``roofs``). Returns one row
    per facade, the columns of ``facades.csv`` plus ``_row`` (the roofs' row label), lines in the roofs' CRS.
    """
    return facades.as_geodataframe(_facade_table(roofs, cfg, weather=weather, sun=sun, stages=stages,
                                                 targets=targets, heights=heights), roofs.crs)


def _facade_table(roofs: gpd.GeoDataFrame, cfg: Config, *, weather: Weather, sun: Sun, stages: Stages | None = None,
                  targets: np.ndarray | None = None, heights: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> pd.DataFrame:
    """:func:`assess_facades` with each facade's wall foot (:func:`solarmap.facades.as_table`) for its line."""
    stages = stages or Stages()
    wall_top, shade_h = heights if heights is not None else facades.wall_heights(roofs)
    scope = facades.in_scope(roofs)
    if targets is not None:
        scope &= np.asarray(targets, dtype=bool)
    with stages.stage("facade_surfaces"):
        table = facades.facade_surfaces(roofs, scope, cfg.facades, wall_heights=wall_top)
    with stages.stage("facade_shading"):
        shade = facades.facade_shade(table, roofs, cfg, obstacle_heights=shade_h) if cfg.shading.enabled and len(table) else None
    with stages.stage("facade_yield"):
        y = roof_yields(table, weather, sun, facades.pv_config(cfg), shade=shade)
        table = facades.finish(table, y, shade, cfg.facades)
    return facades.as_table(table)


def assess_buildings(roofs: gpd.GeoDataFrame, cfg: Config, *, weather: Weather, sun: Sun,
                     stages: Stages | None = None, targets: np.ndarray | None = None,
                     latitude_deg: float | None = None, planes_out: list | None = None, collect: dict | None = None):
    """:func:`assess_roofs`, then :func:`assess_facades` when ``cfg.facades.enabled``: returns the roofs (with
    the per-building ``facade_capacity_kwp`` and ``facade_annual_kwh``) and the facades (or None) as a table
    with each wall's foot (:func:`solarmap.facades.as_table`; :func:`solarmap.facades.as_geodataframe` makes
    their lines). ``collect``:
    as :func:`assess_roofs` (the hourly profiles and stored shade of the roofs; facades are not in them)."""
    stages = stages or Stages()
    # the walls' heights before the roof stage drops the roof-shape columns they are computed from
    heights = facades.wall_heights(roofs) if cfg.facades.enabled else None
    out = assess_roofs(roofs, cfg, weather=weather, sun=sun, stages=stages, targets=targets,
                       latitude_deg=latitude_deg, planes_out=planes_out, collect=collect)
    if not cfg.facades.enabled:
        return out, None
    f = _facade_table(out, cfg, weather=weather, sun=sun, stages=stages, targets=targets, heights=heights)
    scope = facades.in_scope(out) & (True if targets is None else np.asarray(targets, dtype=bool))
    crs = out.crs
    out = pd.concat([out, facades.building_totals(f, out, scope)], axis=1)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs), f


def assess_tile(tile_roofs: gpd.GeoDataFrame, core_mask: np.ndarray, cfg: Config, weather: Weather, sun: Sun, *,
                latitude_deg: float | None = None):
    """Assess a tile's core against core + halo; return the core's rows, the stage timings [s], the core's roof
    planes and its facades (None when they are off). The function both engines of :mod:`solarmap.tiles` call per
    tile (``latitude_deg``: the whole run's, for the row spacing)."""
    stages = Stages()
    planes_out: list = []
    collect: dict = {}
    out, f = assess_buildings(tile_roofs, cfg, weather=weather, sun=sun, targets=core_mask, stages=stages,
                              latitude_deg=latitude_deg, planes_out=planes_out, collect=collect)
    return out[core_mask], stages.timings, planes_out[0], f, collect


def assess_in_tiles(roofs: gpd.GeoDataFrame | list, cfg: Config, *, weather: Weather, sun: Sun, engine: str = "local",
                    tile_size_m: float = 3000.0, workers: int = 2, scheduler: str = "", npartitions: int = 0,
                    halo: bool = True, with_timings: bool = False, latitude_deg: float | None = None,
                    planes_out: list | None = None, facades_out: list | None = None, on_extra=None,
                    spill_dir: str | None = None):
    """:func:`assess_roofs` tile by tile on the ``local`` or ``dask`` engine; rows come back in the input's order
    and equal the single pass (see :mod:`solarmap.tiles`); the roof planes of every tile, in building order, are
    appended to ``planes_out``, and the facades (equal to :func:`assess_facades` in one pass; None when
    ``cfg.facades.enabled`` is false) to ``facades_out``. Without ``facades_out`` no facade is computed.
    ``on_extra`` receives each tile's hourly ``collect`` dict. ``roofs`` may be handed over in a one-item list,
    emptied when the tiles are done, and ``spill_dir`` names a folder where the tiles' columns of numbers wait in
    unnamed temporary files (see :func:`solarmap.tiles.assess_in_tiles`)."""
    if facades_out is None and cfg.facades.enabled:
        cfg = copy.deepcopy(cfg)
        cfg.facades.enabled = False
    per_tile = functools.partial(assess_tile, latitude_deg=latitude_deg)  # picklable: Dask sends it to workers
    extras: list = []
    out = tiles.assess_in_tiles(roofs, cfg, per_tile, weather=weather, sun=sun, engine=engine,
                                tile_size_m=tile_size_m, workers=workers, scheduler=scheduler,
                                npartitions=npartitions, halo=halo, with_timings=with_timings, extras_out=extras,
                                on_extra=on_extra, spill_dir=spill_dir)
    if planes_out is not None and extras:
        planes_out.append(extras[0])
    if facades_out is not None:
        facades_out.append(extras[1] if len(extras) > 1 else None)
    return out


def _read(buildings, cfg: Config) -> tuple[gpd.GeoDataFrame, Config, str]:
    """The raw input frame, the config whose column mappings apply to it, and a name for messages."""
    b = cfg.buildings
    if isinstance(buildings, gpd.GeoDataFrame):
        raw, source = buildings, "the GeoDataFrame"
        if b.path:  # the config's mappings were written for its own file
            cfg = with_buildings(cfg, "")
    else:
        path = str(buildings) if buildings is not None else b.path
        if not path:
            msg = "no buildings: pass a GeoDataFrame or a path, set buildings.path in the pipeline file, or use --buildings PATH"
            raise InputDataError(msg)
        if path != b.path:
            cfg = with_buildings(cfg, path)
        raw = read_vector(path, layer=b.layer, encoding=b.encoding, wkt_column=b.wkt_column, lon_column=b.lon_column,
                          lat_column=b.lat_column)
        source = path
    if cfg.buildings.inherited_mappings:
        new_b, dropped = applicable_mappings(cfg.buildings, raw.columns, source=source)
        cfg.buildings = new_b
        if dropped:
            where_zh = "输入的 GeoDataFrame" if source == "the GeoDataFrame" else source
            warn(f"the pipeline's column mappings {', '.join(dropped)} name columns that {source} does not have; "
                 "they were dropped and those columns are detected afresh (give --id-column, --height-column, "
                 "--category-column … to map them)", ConfigWarning,
                 zh=f"配置文件的字段映射 {', '.join(dropped)} 所指的字段在 {where_zh} 中不存在：已弃用，改为重新自动识别"
                    "（可用 --id-column、--height-column、--category-column 等指定）")
    return raw, cfg, source


def run_assessment(buildings=None, config: Config | None = None, *, weather: Weather | str | None = None,
                   boundary=None, rule_set: RuleSet | None = None, spill_dir: str | Path | None = None) -> Assessment:
    """The whole assessment: prepare (with exclusions) → roofs → shading → yield → economics → policy. Pure: reads
    its inputs, writes nothing.

    ``buildings``: a GeoDataFrame of footprints (any CRS; a CRS-less one in longitude/latitude is read as WGS84)
    or a path (default: ``config.buildings.path``). ``config``: a :class:`Config` (default ``Config()``),
    validated on entry. ``weather``: a :class:`solarmap.sources.weather.Weather`, or a source name or path
    (default ``config.weather.source``). ``boundary``: see :func:`resolve_boundary`. ``spill_dir``: the folder
    where a tiled run keeps the stored shade's per-point arrays and the tiles' columns of numbers (roofs, planes,
    facades) in unnamed temporary files, memory-mapped, rather than in memory (default the system's temporary
    folder; the pipeline gives its output folder; see :mod:`solarmap.spill`): the results are the same.
    """
    cfg = (config or Config()).validate()
    stages = Stages()
    with WarningCollector().attached() as collector:
        rule_set = rule_set or load_rule_set(cfg.policy.rules)
        with stages.stage("ingest"):
            bnd = resolve_boundary(cfg, boundary)
            raw, cfg, source = _read(buildings, cfg)
            input_index = raw.index.copy()
            b = cfg.buildings
            fp = footprints_from_frame(raw, source=source, layer=b.layer, crs=b.crs, input_datum=b.input_datum,
                                       id_column=b.id_column, name_column=b.name_column)
            input_crs = CRS.from_wkt(fp.attrs["input_crs"]) if fp.attrs.get("input_crs") else None
            if b.input_datum == "gcj02":
                input_crs = CRS.from_epsg(4326)  # converted to WGS84: handing GCJ-02 back would mislead
            metric_crs = fp.crs
            roofs = prepare(fp, cfg, baseline_year=rule_set.baseline_year, boundary=bnd, source=source)
            detection = categories.detect(fp, scheme=b.category_scheme, column=b.category_column).describe()
            del raw, fp  # the input as read and as footprints: a city's are not carried through the tiles
            roofs, excl = apply_exclusions(roofs, cfg.exclusions)
            log.info("%d buildings read from %s", len(roofs), source)
            tiles.give_back_freed_memory()  # what reading and preparing freed
        with stages.stage("weather"):
            site_lat, site_lon = site_of(roofs)
            wc = cfg.weather
            if isinstance(weather, Weather):  # the same plausibility checks as a file
                w = validate_weather(weather, weather.source, latitude=site_lat, longitude=site_lon,
                                     max_distance_km=wc.max_distance_km, anywhere=wc.anywhere)
            else:
                w = load_weather(weather or wc.source, latitude=site_lat, longitude=site_lon, year=wc.year,
                                 max_distance_km=wc.max_distance_km, anywhere=wc.anywhere)
            sun = sun_positions(w)
        e = cfg.engine
        planes_out: list = []
        collected: list[dict] = []
        facades_out: list = []
        if e.kind == "dask" or len(roofs) > e.tile_above_roofs:
            spill = str(spill_dir or tempfile.gettempdir())
            summed = hourly.Profiles(w.data.index)
            collected.append({"profiles": summed})

            def keep(extra: dict) -> None:  # as each tile arrives: its profiles summed, its stored shade to disk
                if extra.get("profiles") is not None:
                    summed.merge(extra.pop("profiles"))  # in tile order, as they were summed at the end before
                if extra.get("store") is not None:
                    extra["store"].spill(spill)
                collected.append(extra)

            t0 = time.perf_counter()
            handed = [roofs]  # handed over: the prepared table is freed before the tiles' results are joined
            del roofs
            roofs, tile_timings = assess_in_tiles(handed, cfg, weather=w, sun=sun, engine=e.kind,
                                                  tile_size_m=e.tile_size_m, workers=e.workers, scheduler=e.scheduler,
                                                  npartitions=e.npartitions, with_timings=True,
                                                  latitude_deg=site_lat, planes_out=planes_out,
                                                  facades_out=facades_out, on_extra=keep, spill_dir=spill)
            stages.add(tile_timings)  # summed over tiles (and over workers: CPU-like on Dask)
            stages.timings["assess_wall"] = round(time.perf_counter() - t0, 3)
        else:
            spill = None
            # rows are spaced for the buildings' latitude, not the weather site's (which may be elsewhere)
            collected.append({})
            roofs, f = assess_buildings(roofs, cfg, weather=w, sun=sun, stages=stages, latitude_deg=site_lat,
                                        planes_out=planes_out, collect=collected[0])
            facades_out.append(f)
        roof_planes = planes_out[0].drop(columns="_row") if planes_out else None
        facade_table = facades_out[0].drop(columns="_row") if facades_out and facades_out[0] is not None else None
        with stages.stage("economics"):
            roofs = apply_economics(roofs, cfg)
        with stages.stage("policy"):
            roofs, policy_results, rule_set_info = apply_rules(roofs, rule_set, cfg)
        tiles.give_back_freed_memory()  # the stages' working copies, before the hourly stage and the outputs
        profiles = store = None
        if cfg.hourly.enabled:
            with stages.stage("hourly"):
                profiles, store = _hourly_after_policy(roofs, collected, cfg, w, sun, spill_dir=spill)
        roofs = gpd.GeoDataFrame(roofs, geometry="geometry", crs=metric_crs, copy=False)  # not a second table
        tiles.give_back_freed_memory()
    return Assessment(roofs=roofs, input_index=input_index, input_crs=input_crs, config=cfg, weather=w,
                      rule_set=rule_set, policy=policy_results, rule_set_info=rule_set_info,
                      boundary=bnd.geometry if bnd is not None else None, boundary_label=bnd.label if bnd else "",
                      source=source, exclusions=excl, warnings=collector.messages,
                      warning_details=collector.details(), category_detection=detection,
                      timings_s=dict(stages.timings), planes=roof_planes, profiles=profiles, shade_store=store,
                      facade_table=facade_table)


def _hourly_after_policy(roofs: pd.DataFrame, collected: list[dict], cfg: Config, weather: Weather, sun: Sun, *,
                         spill_dir: str | None = None):
    """The run's hourly profiles and shade store from what the yield stage collected (per tile): the
    ``potential`` and ``existing`` sets summed there, the ``candidates`` (known only now) from the store."""
    store = hourly.ShadeStore.concat([c.pop("store", None) for c in collected], spill_dir=spill_dir)
    profiles = hourly.Profiles(weather.data.index)
    for c in collected:
        if c.get("profiles") is not None:
            profiles.merge(c.pop("profiles"))
    picked = roofs["policy_candidate_for"].reindex(store.row) if "policy_candidate_for" in roofs else None
    if picked is not None:
        store.candidate = picked.fillna("").astype(str).to_numpy() != ""
    if store.candidate.any():
        profiles.merge(hourly.group_profiles(store, weather, sun, cfg.pv,
                                             {"candidates": hourly.set_weights(store, "candidates")}))
        store.release_pages()
    store.meta.update({"latitude": weather.latitude, "longitude": weather.longitude, "altitude": weather.altitude,
                       "tz": str(weather.data.index.tz), "weather_source": weather.source, "pv": vars(cfg.pv) | {
                           "losses": vars(cfg.pv.losses).copy()}, "max_loss_pct": cfg.shading.max_loss_pct})
    return profiles, store


def assess(buildings, config: Config | None = None, *, weather: Weather | str | None = None,
           boundary=None) -> gpd.GeoDataFrame:
    """Assess every building's roof: usable area, capacity, neighbour shade, hourly pvlib yield summed to the year,
    the economics (capex, payback, NPV, CO₂; ``config.economics``) and the installation rules, after the exclusion
    zones of ``config.exclusions``. Writes nothing.

    Parameters
    ----------
    buildings : GeoDataFrame or path
        Footprints, one row per building, in any CRS (a CRS-less frame in longitude/latitude is read as WGS84).
        Columns are detected as for a file (``building_id``, ``height_m``, ``floors``, ``category`` …) or mapped
        by ``config.buildings``.
    config : Config, optional
        The run's settings (default ``Config()``: no boundary, the embedded Shanghai weather year, the Huangpu
        rules). Validated on entry: a bad value raises :class:`solarmap.errors.ConfigError` naming the key.
    weather : Weather or str, optional
        A :class:`solarmap.sources.weather.Weather`, ``"embedded"``, ``"clearsky"`` or a weather file.
    boundary : geometry, GeoDataFrame, path or "none", optional
        Buildings whose centre lies outside are kept as ``excluded`` / ``outside_boundary`` (they still cast shade).

    Returns
    -------
    GeoDataFrame
        One row per input building, the input's index and CRS, every column of ``roofs.csv`` (see
        :data:`solarmap.columns.COLUMNS`; units in the names). ``attrs["warnings"]`` lists the warnings, which
        are also given as :class:`solarmap.errors.SolarmapWarning`; ``attrs["policy"]`` the rule results.
    """
    return run_assessment(buildings, config, weather=weather, boundary=boundary).buildings()
