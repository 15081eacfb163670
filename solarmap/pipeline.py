"""The one orchestrator: wires the stages in a straight line and records the run. It computes nothing itself.

sources → footprints → roofs → shading → yield → policy → store → report
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import shapely

from solarmap import __version__, overlaps
from solarmap.columns import ROOF_COLUMNS
from solarmap.config import Config
from solarmap.errors import InputDataError, OutputError
from solarmap.report import export, maps
from solarmap.report import summary as report_page
from solarmap.roofs import layout_roofs
from solarmap.solar import pv_model_description, roof_yields, sun_positions
from solarmap.sources import categories, heights
from solarmap.sources.coords import gcj02_hint
from solarmap.sources.footprints import read_footprints
from solarmap.sources.subdistricts import find_subdistrict, subdistrict_of
from solarmap.sources.weather import load_weather

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced.

    ``roofs``: one row per input building, in the run's metric CRS, with every output column (units in names).
    ``out_dir``: the run's report folder; ``database``: the DuckDB file; ``summary``: the content of summary.json;
    ``timings_s``: wall time per stage [s].
    """

    run_id: str
    name: str
    out_dir: Path
    database: Path
    roofs: gpd.GeoDataFrame
    summary: dict
    timings_s: dict[str, float] = field(default_factory=dict)


class _Stages:
    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage; a stage run again (once per tile) adds up."""
        log.debug("%s …", name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t0, 3)
        log.info("%s done in %.2f s", name, self.timings[name])

    def add(self, timings: dict[str, float]) -> None:
        for k, v in timings.items():
            self.timings[k] = round(self.timings.get(k, 0.0) + v, 3)


class _WarningCollector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = [p]
    if p.suffix.lower() == ".shp":
        files += [p.with_suffix(s) for s in (".dbf", ".shx", ".prj", ".cpg") if p.with_suffix(s).exists()]
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _boundary(cfg: Config):
    """The run's boundary (WGS84 geometry or None) and a label."""
    if cfg.boundary and cfg.boundary.lower() != "none":
        from solarmap.sources.footprints import read_vector

        b = read_vector(cfg.boundary)
        if b.crs is None:
            b = b.set_crs("EPSG:4326")
        geom = shapely.union_all(b.to_crs("EPSG:4326").geometry.to_numpy())
        return geom, Path(cfg.boundary).name
    if cfg.boundary.lower() == "none" or not cfg.subdistrict or cfg.subdistrict.lower() == "none":
        return None, ""
    sub = find_subdistrict(cfg.subdistrict)
    if sub.outline is None:
        msg = (f"subdistrict {sub.label} has no embedded outline; give one with --boundary PATH "
               "(or --boundary none to keep every building)")
        raise InputDataError(msg)
    return sub.outline, sub.slug


def prepare(fp: gpd.GeoDataFrame, cfg: Config, *, baseline_year: int, boundary=None, boundary_label: str = "",
            source: str = "") -> gpd.GeoDataFrame:
    """From validated footprints to buildings ready for assessment: heights (with neighbour imputation), policy
    category, stage, existing PV, roof centres in WGS84, subdistrict, and the boundary test. Pure: no I/O."""
    b = cfg.buildings
    metric_crs = fp.crs
    h = heights.assign_heights(fp, height_column=b.height_column, floors_column=b.floors_column,
                               storey_height_m=b.storey_height_m, dsm=b.dsm, dtm=b.dtm)
    cat = categories.categorise(fp, scheme=b.category_scheme, column=b.category_column)
    unknown = categories.unknown_category_values(fp, scheme=b.category_scheme, column=b.category_column)
    if unknown:
        log.warning("category values not recognised, counted as 'other': %s", ", ".join(unknown[:20]))
    stage = categories.assign_stage(fp, stage_column=b.stage_column, year_column=b.year_built_column,
                                     baseline_year=baseline_year)
    pv = categories.existing_pv(fp, column=b.existing_pv_column)
    # input columns named like an output column are kept beside it as input_<name>
    clash = {c: f"input_{c}" for c in fp.columns if c in ROOF_COLUMNS and c not in ("building_id", "name", "assessment", "reason")}
    roofs = gpd.GeoDataFrame(pd.concat([fp.rename(columns=clash), h, cat, stage, pv], axis=1), geometry="geometry", crs=metric_crs)
    had_height_column = any(c in fp.columns for c in ((b.height_column,) if b.height_column else heights.HEIGHT_CANDIDATES))
    imputed = (roofs["height_source"] == "floors").to_numpy() & had_height_column
    if b.impute_heights:
        filled, from_neighbours = heights.impute_from_neighbours(roofs)
        roofs["height_m"] = filled
        roofs.loc[from_neighbours, "height_source"] = "neighbours"
        imputed |= from_neighbours
        if from_neighbours.any():
            log.warning("%d buildings without a plausible height took the median of their neighbours within 100 m "
                        "(flag height_imputed)", int(from_neighbours.sum()))
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
        inside[valid] = shapely.contains_xy(boundary, lon[valid], lat[valid])
        hint = gcj02_hint(lon, lat, boundary) if b.input_datum == "wgs84" else ""
        if not inside.any():
            msg = (f"no building of {source} has its centre inside the boundary {boundary_label}: check that the "
                   f"buildings are in this subdistrict and in the CRS they claim (or use --boundary none). {hint}").strip()
            raise InputDataError(msg)
        if hint:
            log.warning(hint)
        out_b = (roofs["assessment"] == "assessed").to_numpy() & ~inside
        roofs.loc[out_b, ["assessment", "reason"]] = ["excluded", "outside_boundary"]
        roofs["in_boundary"] = inside  # a building excluded for another reason keeps it, and still lies outside
        if boundary_label:  # inside the run's boundary the run's own subdistrict wins (outlines overlap)
            sub_of[inside] = boundary_label
    if boundary is None:
        roofs["in_boundary"] = True
    roofs["subdistrict"] = sub_of
    return overlaps.mark_covered(roofs)  # roof = footprint less the taller footprints on it; none left: 'covered'


def site_of(roofs: pd.DataFrame) -> tuple[float, float]:
    """Mean roof centre (lat, lon) [°], Huangpu's centre when there is none."""
    lat, lon = roofs["lat"].to_numpy(dtype=float), roofs["lon"].to_numpy(dtype=float)
    if not np.isfinite(lat).any():
        return 31.23, 121.48
    return float(np.nanmean(lat)), float(np.nanmean(lon))


def assess(roofs: gpd.GeoDataFrame, cfg: Config, *, weather, sun, stages: _Stages | None = None,
           targets: np.ndarray | None = None, latitude_deg: float | None = None) -> gpd.GeoDataFrame:
    """Roof layout, neighbour shade and yield for prepared buildings. Pure: no I/O.

    ``targets`` (optional, boolean) limits assessment to some rows; the others are kept as they are and still
    cast shade (the halo of a tile). ``latitude_deg`` sets the row spacing (default: the weather site's, so that
    a tile gives the same answer as the whole run). Returns a new GeoDataFrame with every roof column.
    """
    stages = stages or _Stages()
    crs = roofs.crs
    roofs = roofs.copy()
    if targets is not None:
        keep = roofs["assessment"].to_numpy(dtype=object).copy()
        roofs.loc[~targets & (roofs["assessment"] == "assessed"), "assessment"] = "halo"
    with stages.stage("roofs"):
        layout = layout_roofs(roofs, cfg.roofs, latitude_deg=weather.latitude if latitude_deg is None else latitude_deg)
        too_small = layout.pop("too_small").to_numpy()
        roofs = pd.concat([roofs, layout], axis=1)
        roofs.loc[too_small, ["assessment", "reason"]] = ["excluded", "too_small"]
        excluded = (roofs["assessment"] != "assessed").to_numpy()
        roofs.loc[excluded, ["capacity_kwp", "module_area_m2"]] = np.nan
    shade = None
    with stages.stage("shading"):
        if cfg.shading.enabled:
            from solarmap import shading

            shade = shading.shade_model(roofs, cfg.shading, setback_m=cfg.roofs.edge_setback_m)
            roofs["sky_view_factor"] = shade.sky_view_all()
        else:
            roofs["sky_view_factor"] = np.where(roofs["assessment"] == "assessed", 1.0, np.nan)
        roofs["sample_points"] = shade.sample_points_all() if shade is not None else 0
    with stages.stage("yield"):
        y = roof_yields(roofs, weather, sun, cfg.pv, shade=shade)
        roofs = pd.concat([roofs, y], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            roofs["shading_loss_pct"] = 100.0 * (1.0 - roofs["annual_kwh"] / roofs["annual_kwh_unshaded"])
        assessed = roofs["assessment"] == "assessed"
        shaded = assessed & (roofs["shading_loss_pct"] > cfg.shading.max_loss_pct)
        roofs["suitable"] = assessed & ~shaded
        roofs.loc[shaded, "reason"] = "shaded"
    if targets is not None:
        halo = (roofs["assessment"] == "halo").to_numpy()
        roofs.loc[halo, "assessment"] = keep[halo]
    return gpd.GeoDataFrame(roofs.drop(columns=overlaps.ROOF_GEOMETRY, errors="ignore"), geometry="geometry", crs=crs)


def _prepare_output(out_root: Path, name: str) -> None:
    """Fail fast when the output folder cannot be written; remove temp folders of runs that died."""
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        probe = out_root / f".solarmap-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        msg = (f"cannot write to the output folder {out_root}: {exc.strerror or exc}. "
               "Choose a writable folder with --out DIR")
        raise OutputError(msg) from None
    for stale in list(out_root.glob(f".{name}.tmp-*")) + list(out_root.glob(f".{name}.old-*")):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)


def run(cfg: Config) -> RunResult:
    """Run the whole pipeline for one configuration and write its outputs atomically.

    Raises a :class:`solarmap.errors.SolarmapError` subclass with a message naming the file, rows and fix on any
    input problem; in that case nothing under the output folder changes.
    """
    collector = _WarningCollector()
    root_logger = logging.getLogger("solarmap")
    root_logger.addHandler(collector)
    try:
        return _run(cfg, collector)
    finally:
        root_logger.removeHandler(collector)


def _run(cfg: Config, collector: _WarningCollector) -> RunResult:
    from solarmap import policy

    stages = _Stages()
    started = dt.datetime.now(dt.UTC)
    b = cfg.buildings
    if not b.path:
        msg = "no buildings file: set buildings.path in the pipeline file or pass --buildings PATH"
        raise InputDataError(msg)
    name = cfg.name
    out_root = Path(cfg.output.dir)
    db_path = Path(cfg.output.database) if cfg.output.database else out_root / "solarmap.duckdb"
    _prepare_output(out_root, name)
    rule_set = policy.load_rule_set(cfg.policy.rules)  # a bad rule file fails before any work

    with stages.stage("ingest"):
        boundary, boundary_label = _boundary(cfg)
        fp = read_footprints(b.path, layer=b.layer, crs=b.crs, encoding=b.encoding, input_datum=b.input_datum,
                             id_column=b.id_column, name_column=b.name_column, wkt_column=b.wkt_column,
                             lon_column=b.lon_column, lat_column=b.lat_column)
        metric_crs = fp.crs
        roofs = prepare(fp, cfg, baseline_year=rule_set.baseline_year, boundary=boundary,
                        boundary_label=boundary_label, source=b.path)
        log.info("%d buildings read from %s", len(roofs), b.path)

    with stages.stage("weather"):
        site_lat, site_lon = site_of(roofs)
        weather = load_weather(cfg.weather.source, latitude=site_lat, longitude=site_lon, year=cfg.weather.year)
        sun = sun_positions(weather)

    e = cfg.engine
    if e.kind == "dask" or len(roofs) > e.tile_above_roofs:
        from solarmap.tiles import assess_in_tiles

        t0 = time.perf_counter()
        roofs, tile_timings = assess_in_tiles(roofs, cfg, weather=weather, sun=sun, engine=e.kind, tile_size_m=e.tile_size_m,
                                              workers=e.workers, scheduler=e.scheduler, npartitions=e.npartitions,
                                              with_timings=True)
        stages.add(tile_timings)  # summed over tiles (and over workers: CPU-like on Dask)
        stages.timings["assess_wall"] = round(time.perf_counter() - t0, 3)
    else:
        roofs = assess(roofs, cfg, weather=weather, sun=sun, stages=stages)

    with stages.stage("policy"):
        roofs, policy_results, rule_set_info = policy.apply_rules(roofs, rule_set, cfg)

    roofs = gpd.GeoDataFrame(roofs, geometry="geometry", crs=metric_crs)
    run_id = f"{name}-{started.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    inputs = {"buildings": b.path, "weather": cfg.weather.source}
    for key, p in (("dsm", b.dsm), ("dtm", b.dtm), ("boundary", cfg.boundary), ("rules", rule_set.path)):
        if p and p.lower() != "none":
            inputs[key] = p
    hashes = {k: _file_hash(v) for k, v in inputs.items() if Path(v).is_file()}
    if cfg.weather.source == "embedded":
        from solarmap.sources.weather import EMBEDDED_WEATHER

        hashes["weather"] = _file_hash(EMBEDDED_WEATHER)

    tmp = out_root / f".{name}.tmp-{os.getpid()}"
    with stages.stage("report"):
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            summary = _summary(cfg, roofs, weather, boundary_label, policy_results, rule_set_info, collector.messages,
                               run_id, hashes, metric_crs)
            summary["timings_s"] = stages.timings
            wgs = roofs.to_crs("EPSG:4326")
            zh = cfg.output.chinese_headers
            export.write_roofs_csv(roofs, tmp / "roofs.csv", chinese_headers=zh)
            export.write_csv(export.candidates_table(roofs), tmp / "candidates.csv", chinese_headers=zh)
            (tmp / "report.html").write_text(report_page.render_report(roofs, summary, lang=cfg.output.lang), encoding="utf-8")
            _write_maps(roofs, boundary, summary, cfg, tmp)
            export.write_geodata(wgs, tmp)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            msg = f"cannot write the outputs in {out_root}: {exc.strerror or exc}. Choose another folder with --out DIR"
            raise OutputError(msg) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    with stages.stage("store"):
        try:
            finished = dt.datetime.now(dt.UTC)
            summary["timings_s"] = dict(stages.timings)
            export.write_json(summary, tmp / "summary.json")
            wkb = shapely.to_wkb(wgs.geometry.to_numpy())  # the report stage's WGS84 copy
            from solarmap import store

            store.write_run(
                db_path,
                run={"run_id": run_id, "name": name, "started_at": started, "finished_at": finished,
                     "package_version": __version__, "pvlib_version": pvlib.__version__, "config": cfg.to_dict(),
                     "input_hashes": hashes, "summary": summary, "buildings": len(roofs),
                     "assessed": int((roofs["assessment"] == "assessed").sum()),
                     "excluded": int((roofs["assessment"] == "excluded").sum())},
                roofs=roofs, geometry_wkb=wkb, subdistricts=_subdistrict_table(roofs),
                policy=policy_results, rule_set=rule_set.name,
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = out_root / name
        old = out_root / f".{name}.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    summary["timings_s"] = dict(stages.timings)
    export.write_json(summary, final / ".summary.json.tmp")
    os.replace(final / ".summary.json.tmp", final / "summary.json")
    return RunResult(run_id=run_id, name=name, out_dir=final, database=db_path, roofs=roofs, summary=summary,
                     timings_s=dict(stages.timings))


def _write_maps(roofs: gpd.GeoDataFrame, boundary, summary: dict, cfg: Config, folder: Path) -> None:
    """map.html for the run; above engine.max_map_roofs, one map_<subdistrict>.html per subdistrict that fits."""
    key = cfg.output.tianditu_key or os.environ.get("TIANDITU_KEY", "")
    simplified = gpd.GeoSeries(shapely.simplify(roofs.geometry.to_numpy(), 0.3), crs=roofs.crs).to_crs("EPSG:4326").values
    wgs = gpd.GeoDataFrame(pd.DataFrame(roofs.drop(columns="geometry")), geometry=simplified, crs="EPSG:4326")
    if len(wgs) <= cfg.engine.max_map_roofs:
        html = maps.render_map(wgs, outline=boundary, summary=summary, tiles=cfg.output.tiles, lang=cfg.output.lang,
                               tianditu_key=key)
        (folder / "map.html").write_text(html, encoding="utf-8")
        return
    drawn = 0
    for sub, part in wgs.groupby("subdistrict"):
        if sub and len(part) <= cfg.engine.max_map_roofs:
            outline = None
            try:
                outline = find_subdistrict(sub).outline
            except Exception:  # noqa: BLE001 - a custom boundary label has no embedded outline
                pass
            html = maps.render_map(part, outline=outline, summary=summary, tiles=cfg.output.tiles, lang=cfg.output.lang,
                                   tianditu_key=key)
            (folder / f"map_{sub}.html").write_text(html, encoding="utf-8")
            drawn += 1
    log.warning("%d roofs are more than one map holds (engine.max_map_roofs = %d): wrote %d per-subdistrict maps",
                len(wgs), cfg.engine.max_map_roofs, drawn)


def _subdistrict_table(roofs: pd.DataFrame) -> pd.DataFrame:
    a = roofs["assessment"] == "assessed"
    g = roofs.assign(
        _assessed=a, _excluded=~a, _suitable=roofs["suitable"].fillna(False).astype(bool),
        _roof=roofs["roof_area_m2"].where(a, 0.0), _usable=roofs["usable_area_m2"].where(a, 0.0),
    ).groupby("subdistrict", dropna=False)
    t = pd.DataFrame({
        "buildings": g.size(), "assessed": g["_assessed"].sum(), "excluded": g["_excluded"].sum(),
        "suitable": g["_suitable"].sum(), "roof_area_m2": g["_roof"].sum(), "usable_area_m2": g["_usable"].sum(),
        "capacity_kwp": g["capacity_kwp"].sum(), "annual_kwh": g["annual_kwh"].sum(),
        "annual_kwh_unshaded": g["annual_kwh_unshaded"].sum(), "existing_pv_kwp": g["existing_pv_kwp"].sum(),
    }).reset_index()
    return t


def _summary(cfg, roofs, weather, boundary_label, policy_results, rule_set, warnings, run_id, hashes, crs) -> dict:
    a = roofs["assessment"] == "assessed"
    suitable = roofs["suitable"].fillna(False).astype(bool)
    cap = float(roofs.loc[a, "capacity_kwp"].sum())
    e = float(roofs.loc[a, "annual_kwh"].sum())
    e0 = float(roofs.loc[a, "annual_kwh_unshaded"].sum())
    co2 = e * cfg.output.co2_kg_per_kwh / 1000.0
    title = f"solarmap · {cfg.name}"
    if cfg.subdistrict:
        try:
            title = f"solarmap · {find_subdistrict(cfg.subdistrict).label}"
        except Exception:  # noqa: BLE001 - a title is never worth failing a run
            pass
    flags = {c: int(roofs[c].sum()) for c in ("geometry_repaired", "id_deduplicated", "geometry_from_point", "height_imputed",
                                           "roof_overlap") if c in roofs.columns}
    return {
        "run_id": run_id,
        "name": cfg.name,
        "title": title,
        "subdistrict": cfg.subdistrict,
        "boundary": boundary_label,
        "package_version": __version__,
        "crs_metric": crs.to_string(),
        "inputs": {"buildings": cfg.buildings.path, "weather": weather.source, "sha256": hashes},
        "totals": {
            "buildings": int(len(roofs)),
            "assessed": int(a.sum()),
            "excluded": int((~a).sum()),
            "suitable": int(suitable.sum()),
            "roof_area_m2": round(float(roofs.loc[a, "roof_area_m2"].sum()), 1),
            "usable_area_m2": round(float(roofs.loc[a, "usable_area_m2"].sum()), 1),
            "capacity_kwp": round(cap, 1),
            "capacity_mw": round(cap / 1000.0, 3),
            "annual_kwh": round(e, 0),
            "annual_gwh": round(e / 1e6, 4),
            "annual_kwh_unshaded": round(e0, 0),
            "shading_loss_pct_total": round(100.0 * (1 - e / e0), 2) if e0 > 0 else None,
            "median_shading_loss_pct": _median(roofs.loc[a, "shading_loss_pct"]),
            "median_specific_yield_kwh_per_kwp": _median(roofs.loc[a, "specific_yield_kwh_per_kwp"]),
            "existing_pv_kwp": round(float(roofs["existing_pv_kwp"].sum()), 1),
            "co2_kg_per_kwh": cfg.output.co2_kg_per_kwh,
            "co2_t_per_year": round(co2, 1),
        },
        "excluded_by_reason": {str(k): int(v) for k, v in roofs.loc[~a, "reason"].value_counts().sort_index().items()},
        "by_category": {
            str(k): {"buildings": int(len(g)), "assessed": int((g["assessment"] == "assessed").sum()),
                     "capacity_kwp": round(float(g["capacity_kwp"].sum()), 1), "annual_kwh": round(float(g["annual_kwh"].sum()), 0)}
            for k, g in roofs.groupby("category")
        },
        "repairs": {"flags": flags, **overlaps.overlap_summary(roofs), "height_sources": {str(k): int(v) for k, v in roofs["height_source"].value_counts().items()}},
        "warnings": list(dict.fromkeys(warnings)),
        "weather": {"source": weather.source, "annual_ghi_kwh_m2": round(weather.annual_ghi_kwh_m2(), 1),
                    "latitude": weather.latitude, "longitude": weather.longitude},
        "roofs_model": vars(cfg.roofs).copy() | {"ground_coverage_ratio_used": _median(roofs.loc[a, "ground_coverage_ratio"])},
        "shading_model": vars(cfg.shading).copy(),
        "pv_model": pv_model_description(cfg.pv, weather),
        "rule_set": {k: v for k, v in rule_set.items() if k not in ("district_target", "substitution")},
        "policy": policy_results,
        "policy_overview": _policy_overview(policy_results),
        "district_target": rule_set.get("district_target"),
        "substitution": rule_set.get("substitution"),
    }


def _policy_overview(results: list[dict]) -> list[dict]:
    """One line per rule: compliant only if every subdistrict complies."""
    out: dict[str, dict] = {}
    for r in results:
        o = out.setdefault(r["rule_id"], {"rule_id": r["rule_id"], "text": r.get("text", ""), "compliant": True,
                                          "shortfall_buildings": 0, "shortfall_kwp": 0.0})
        o["compliant"] = o["compliant"] and bool(r["compliant"])
        o["shortfall_buildings"] += int(r.get("shortfall_buildings", 0))
        o["shortfall_kwp"] = round(o["shortfall_kwp"] + float(r.get("shortfall_kwp", 0.0)), 2)
    return list(out.values())


def _median(s: pd.Series):
    v = s.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return round(float(np.median(v)), 3) if len(v) else None
