"""The run: read the inputs, call the assessment, write every output and record the run. It computes nothing.

    read ──► solarmap.assessment.run_assessment ──► report (roofs and facades CSV, GeoPackage, GeoParquet, map, report)
                                                └─► store (DuckDB)

Outputs are rendered into a hidden temporary folder; the database transaction commits, and only then is the folder
renamed over ``OUT/<name>/``, so a failed run leaves neither a half-written folder nor a database row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import shapely

from solarmap import hourly, store
from solarmap.assessment import Stages, run_assessment
from solarmap.config import Config
from solarmap.errors import ConfigError, OutputError, OutputWarning, warn, warning_detail
from solarmap.facades import as_geodataframe
from solarmap.report import aggregate, export, maps
from solarmap.report import summary as report_page
from solarmap.resources import EMBEDDED_WEATHER
from solarmap.rules import load_rule_set
from solarmap.sources.subdistricts import find_subdistrict
from solarmap.tiles import give_back_freed_memory
from solarmap.version import __version__

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
    # a killed run of any name left its hidden folder here: remove it once its process is gone
    for stale in list(out_root.glob(".*.tmp-*")) + list(out_root.glob(".*.old-*")):
        pid = stale.name.rsplit("-", 1)[-1]
        if stale.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def run(cfg: Config) -> RunResult:
    """Run the whole pipeline for one configuration: read → :func:`solarmap.assessment.run_assessment` → write.

    Outputs are written atomically. Raises a :class:`solarmap.errors.SolarmapError` subclass with a message naming
    the file, rows and fix on any input problem; in that case nothing under the output folder changes.
    """
    cfg.validate()
    if not cfg.buildings.path:
        msg = (f"pipeline {cfg.source or cfg.name} names no buildings file (buildings.path is empty): give one with "
               f"--buildings FILE, or set buildings.path in the pipeline (solarmap init {cfg.name} --buildings FILE "
               "writes one)")
        raise ConfigError(msg)
    started = dt.datetime.now(dt.UTC)
    name = cfg.name
    out_root = Path(cfg.output.dir)
    db_path = Path(cfg.output.database) if cfg.output.database else out_root / "solarmap.duckdb"
    _prepare_output(out_root, name)
    rule_set = load_rule_set(cfg.policy.rules)  # a bad rule file fails before any work
    store.check_writable(db_path)  # and so does a database another process holds
    replaced = _replaced_run(out_root / name, cfg.buildings.path)
    result = run_assessment(cfg.buildings.path, cfg, rule_set=rule_set, spill_dir=out_root)
    cfg = result.config  # with the column mappings that applied to the buildings file
    stages = Stages()
    stages.add(result.timings_s)
    return _write(cfg, result, stages, started=started, out_root=out_root, db_path=db_path, replaced=replaced)


def _replaced_run(final: Path, buildings: str) -> tuple[str, str] | None:
    """The warning (English, Chinese) when ``final`` holds the outputs of a run over another buildings file:
    two files of the same name (``a/city.gpkg``, ``b/city.gpkg``) give one run name, and the second run replaces
    the first's folder. Its rows stay in the database under their own run id. None when there is nothing to say."""
    try:
        before = json.loads((final / "summary.json").read_text(encoding="utf-8")).get("inputs", {}).get("buildings", "")
    except (OSError, ValueError, AttributeError):
        return None
    if not before or not buildings or Path(before).resolve() == Path(buildings).resolve():
        return None
    text = (f"{final} held the outputs of a run over {before}; this run over {buildings} has the same name and "
            f"replaces them (that run's rows stay in the database). To keep both, give each run its own name: "
            f"--name NAME")
    zh = (f"{final} 原有对 {before} 的运行结果；本次对 {buildings} 的运行同名，已将其替换（原运行的数据库记录仍保留）。"
          "如需保留两者，请用 --name 为每次运行命名")
    return text, zh


def _write(cfg: Config, result, stages: Stages, *, started, out_root: Path, db_path: Path,
           replaced: tuple[str, str] | None = None) -> RunResult:
    """Render every output into a hidden folder, commit the database, then swap the folder into place.
    ``replaced``: the warning that the folder held a run over another buildings file (:func:`_replaced_run`)."""
    name = cfg.name
    b = cfg.buildings
    roofs, weather, rule_set = result.roofs, result.weather, result.rule_set
    boundary, boundary_label, metric_crs = result.boundary, result.boundary_label, result.roofs.crs
    walls = result.facade_table  # the facades' rows with each wall's foot: lines are made as they are written
    policy_results, rule_set_info = result.policy, result.rule_set_info
    run_id = f"{name}-{started.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    inputs = {"buildings": b.path, "weather": cfg.weather.source}
    for key, p in (("dsm", b.dsm), ("dtm", b.dtm), ("boundary", cfg.boundary), ("rules", rule_set.path)):
        if p and p.lower() != "none":
            inputs[key] = p
    for k, e in enumerate(cfg.exclusions):
        inputs[f"exclusions[{k}]"] = e.path
    hashes = {k: _file_hash(v) for k, v in inputs.items() if Path(v).is_file()}
    if cfg.weather.source == "embedded":
        hashes["weather"] = _file_hash(EMBEDDED_WEATHER)

    tmp = out_root / f".{name}.tmp-{os.getpid()}"
    with stages.stage("report"):
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            summary = aggregate.summarise(cfg, roofs, weather, boundary_label, policy_results, rule_set_info,
                                          result.warnings, run_id, hashes, metric_crs,
                                          warning_details=result.warning_details,
                                          category_detection=result.category_detection,
                                          exclusions=result.exclusions.entries, planes=result.planes,
                                          facades=walls)
            summary["timings_s"] = stages.timings
            if replaced is not None:  # before the report and the map are drawn, so that they say it
                warn(replaced[0], OutputWarning, zh=replaced[1])
                summary["warnings"].append(replaced[0])
                summary["warning_details"].append(warning_detail("OutputWarning", replaced[0], replaced[1],
                                                                 title_zh="同名运行的输出已被替换"))
            if result.profiles is not None:
                summary["hourly"] = _hourly_summary(result.profiles)
            # each writer's working copies are handed back to the system before the next (give_back_freed_memory)
            hourly_tables = _write_hourly(cfg, result, run_id, tmp, summary)  # first: the stored shade goes
            give_back_freed_memory()
            zh = cfg.output.chinese_headers
            export.write_roofs_csv(roofs, tmp / "roofs.csv", chinese_headers=zh)
            export.write_csv(export.candidates_table(roofs), tmp / "candidates.csv", chinese_headers=zh)
            give_back_freed_memory()
            _tiles_key_warning(cfg, summary)
            summary["maps"] = _write_maps(roofs, boundary, summary, cfg, tmp, rule_set, zones=result.exclusions.zones,
                                          planes=result.planes, facades=walls)
            (tmp / "report.html").write_text(report_page.render_report(roofs, summary, lang=cfg.output.lang), encoding="utf-8")
            give_back_freed_memory()
            export.write_geodata(roofs, tmp)  # reprojected a chunk at a time
            give_back_freed_memory()
            export.write_planes(result.planes, tmp, chinese_headers=zh)
            export.write_facades(walls, tmp, crs=metric_crs, chinese_headers=zh)  # nothing with facades.enabled = false
            give_back_freed_memory()
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
            record = dict(
                run={"run_id": run_id, "name": name, "started_at": started, "finished_at": finished,
                     "package_version": __version__, "pvlib_version": pvlib.__version__, "config": cfg.to_dict(),
                     "input_hashes": hashes, "summary": summary, "buildings": len(roofs),
                     "assessed": int((roofs["assessment"] == "assessed").sum()),
                     "excluded": int((roofs["assessment"] == "excluded").sum())},
                roofs=roofs, geometry=roofs.geometry, subdistricts=aggregate.subdistrict_table(roofs),
                policy=policy_results, rule_set=rule_set.name, planes=result.planes,
                planes_geometry=result.planes.geometry if result.planes is not None else None,
                **hourly_tables,
                facades=walls,
                facades_geometry=(lambda rows: as_geodataframe(walls.iloc[rows], metric_crs).geometry)
                if walls is not None else None,  # the lines made a chunk of rows at a time
            )
            side = tmp / "solarmap-run.duckdb"  # the run's rows are built here, then merged into the database
            try:
                store.write_run(db_path, staging=side, **record)
            except store.DatabaseBusy as exc:  # taken since the start: keep the outputs, the rows beside them
                text = (f"{exc} The run's outputs are complete; its database rows are in "
                        f"{out_root / name / side.name}: merge them with 'solarmap store merge "
                        f"{out_root / name / side.name} --db {db_path}' once the database is free")
                side_path = out_root / name / side.name
                zh = (f"数据库 {db_path} 正被另一进程占用。本次运行的输出已完整写出，数据库记录另存于 {side_path}；"
                      f"待数据库空闲后用 'solarmap store merge {side_path} --db {db_path}' 合并")
                warn(text, OutputWarning, zh=zh)
                summary["warnings"].append(text)
                summary["warning_details"].append(warning_detail("OutputWarning", text, zh,
                                                                 title_zh="数据库被占用，结果另存"))
                summary["database"] = {"written": False, "side_file": str(out_root / name / side.name)}
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


def _hourly_summary(profiles: hourly.Profiles) -> dict:
    """summary.json's ``hourly``: per set and group the peak, its hour and the capacity factor; the average day
    per month of each set [kW]."""
    out = profiles.summary()
    out["average_day_kw"] = {s: hourly.average_day(profiles, s) for s in out["sets"]}
    return out


def _write_hourly(cfg: Config, result, run_id: str, folder: Path, summary: dict) -> dict:
    """hourly.parquet, the shade store (shade/) and, on request, hourly_roofs.parquet; returns the tables for the
    database (empty without hourly output)."""
    if result.profiles is None or result.shade_store is None:
        return {}
    hourly.write_profiles(result.profiles, folder / "hourly.parquet")
    shade = result.shade_store
    shade.meta["run_id"] = run_id
    shade.meta["run_name"] = cfg.name
    hourly.write_store(shade, folder / "shade")
    if cfg.hourly.roofs:
        from solarmap.solar import sun_positions

        picked = hourly.select_roofs(shade, cfg.hourly.roofs)
        rows = hourly.write_roof_hourly(shade, result.weather, sun_positions(result.weather), cfg.pv, picked,
                                        folder / "hourly_roofs.parquet")
        summary["hourly"]["per_roof"] = {"selection": cfg.hourly.roofs, "roofs": int(len(picked)), "rows": rows,
                                         "file": "hourly_roofs.parquet"}
    meta = hourly.store_meta(shade)
    summary["hourly"]["shade_store"] = {k: v for k, v in meta.items() if k != "pv"} | {
        "in_database": cfg.hourly.shade_in_database, "memory_mb": round(shade.nbytes / 1e6, 1)}
    result.shade_store = None  # on disk now: its memory is free before the database insert
    # the database reads the files back (DuckDB streams them) rather than holding second copies here
    return {"hourly_profiles": folder / "hourly.parquet",
            "shade": (folder / "shade" / hourly.ROOF_FILE, folder / "shade" / hourly.POINT_FILE, meta)
            if cfg.hourly.shade_in_database else None}


def _map_options(cfg: Config, summary: dict, rule_set) -> dict:
    key = cfg.output.tianditu_key or os.environ.get("TIANDITU_KEY", "")
    o = cfg.output
    return {"summary": summary, "tiles": o.tiles, "lang": o.lang, "tianditu_key": key,
            "breaks": {"specific": o.breaks_specific_yield, "annual": o.breaks_annual_mwh, "shading": o.breaks_shading_pct},
            "rule_ids": [r.id for r in rule_set.rules] if rule_set is not None else None}


def _tiles_key_warning(cfg: Config, summary: dict) -> None:
    """A basemap that needs a key the run does not have: said in the log, summary.json, the report and the map."""
    key = cfg.output.tianditu_key or os.environ.get("TIANDITU_KEY", "")
    if not maps.tiles_key_missing(cfg.output.tiles, key):
        return
    text = ("output.tiles = 'tianditu' needs a Tianditu key: set output.tianditu_key in the pipeline or the "
            "TIANDITU_KEY environment variable; the map is drawn without a basemap")
    zh = ("底图 output.tiles = 'tianditu' 需要天地图密钥：请在配置文件中设置 output.tianditu_key，或设置环境变量 "
          "TIANDITU_KEY；本图未加载底图")
    warn(text, OutputWarning, zh=zh)
    summary.setdefault("warnings", []).append(text)
    summary.setdefault("warning_details", []).append(warning_detail("OutputWarning", text, zh,
                                                                    title_zh="天地图底图缺少密钥"))


def _split_cells(x: np.ndarray, y: np.ndarray, idx: np.ndarray, limit: int, box: tuple) -> list[np.ndarray]:
    """Quadtree over roof centres: cells of at most ``limit`` roofs (recursion over cells, not over roofs)."""
    if len(idx) <= limit:
        return [idx] if len(idx) else []
    x0, y0, x1, y1 = box
    if x1 - x0 < 1e-7 and y1 - y0 < 1e-7:  # all at one point: split by count
        return [idx[k:k + limit] for k in range(0, len(idx), limit)]
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    east, north = x[idx] >= xm, y[idx] >= ym
    out = []
    for sel, b in (((~east) & (~north), (x0, y0, xm, ym)), (east & ~north, (xm, y0, x1, ym)),
                   (~east & north, (x0, ym, xm, y1)), (east & north, (xm, ym, x1, y1))):
        out += _split_cells(x, y, idx[sel], limit, b)
    return out


def _write_maps(roofs: gpd.GeoDataFrame, boundary, summary: dict, cfg: Config, folder: Path, rule_set=None, *,
                zones=(), planes=None, facades=None) -> list[dict]:
    """map.html for the run. Above engine.max_map_roofs every roof still goes on a map: map_<subdistrict>.html for
    the subdistricts that fit, map_tile_<n>.html (quadtree cells of at most max_map_roofs roofs) for the rest, and
    map.html becomes the index page linking them. Returns one entry per map file (file, kind, label, roofs).
    The facades are drawn on the map of their building."""
    has_facades = facades is not None and len(facades)

    def walls(part):  # the part's facades in WGS84 (the city's are not copied whole)
        return as_geodataframe(facades[facades["building_id"].isin(part["building_id"])], roofs.crs
                               ).to_crs("EPSG:4326") if has_facades else None

    opts = _map_options(cfg, summary, rule_set) | {"zones": zones}
    limit = max(int(cfg.engine.max_map_roofs), 1)
    big = len(roofs) > limit
    # big maps: coarser simplification (0.5 m rather than 0.3 m) keeps a 50,000-roof map under 10 MB
    tolerance_m = 0.5 if big else 0.3

    def shapes(rows):  # the rows' roofs simplified, in WGS84
        return gpd.GeoSeries(shapely.simplify(roofs.geometry.to_numpy()[rows], tolerance_m),
                             crs=roofs.crs).to_crs("EPSG:4326").values

    def on_map(rows):  # the rows as a map draws them: a map's rows only, not the city's table, are copied
        part = roofs.iloc[rows]
        return gpd.GeoDataFrame(pd.DataFrame(part.drop(columns="geometry")), geometry=shapes(rows), crs="EPSG:4326")

    if not big:
        wgs = on_map(np.arange(len(roofs)))
        planes_wgs = planes.to_crs("EPSG:4326") if planes is not None and len(planes) else None
        facades_wgs = as_geodataframe(facades, roofs.crs).to_crs("EPSG:4326") if has_facades else None
        (folder / "map.html").write_text(maps.render_map(wgs, outline=boundary, planes=planes_wgs, facades=facades_wgs,
                                                         **opts), encoding="utf-8")
        log.info(f"map.html: {len(wgs):,} roofs")
        return [{"file": "map.html", "kind": "run", "label": summary.get("title", cfg.name), "roofs": len(wgs)}]
    entries = []
    sub = roofs["subdistrict"].fillna("").astype(str) if "subdistrict" in roofs.columns else pd.Series("", index=roofs.index)
    counts = sub.value_counts()
    fits = [s for s, n in counts.items() if s and n <= limit]
    for name in sorted(fits):
        part = on_map(np.flatnonzero(sub.to_numpy() == name))
        outline = None
        label = name
        try:
            found = find_subdistrict(name)
            outline, label = found.outline, found.label
        except Exception:  # noqa: BLE001 - a custom boundary label has no embedded outline
            pass
        fname = f"map_{name}.html"
        (folder / fname).write_text(maps.render_map(part, outline=outline, facades=walls(part), **opts), encoding="utf-8")
        entries.append({"file": fname, "kind": "subdistrict", "label": label, "roofs": len(part)})
    rest = np.flatnonzero(~sub.isin(fits).to_numpy())
    if len(rest):
        x, y = np.empty(len(rest)), np.empty(len(rest))
        for a in range(0, len(rest), 100_000):  # the drawn shapes' centres, a chunk of shapes at a time
            c = shapely.centroid(shapes(rest[a : a + 100_000]))
            x[a : a + 100_000], y[a : a + 100_000] = shapely.get_x(c), shapely.get_y(c)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
        box = (float(x.min()), float(y.min()), float(x.max()), float(y.max()))
        cells = _split_cells(x, y, np.arange(len(rest)), limit, box)
        for k, cell in enumerate(cells, start=1):
            part = on_map(rest[cell])
            fname = f"map_tile_{k:02d}.html"
            w, s_, e, n = part.total_bounds
            label = f"{k} ({w:.3f}–{e:.3f} °E, {s_:.3f}–{n:.3f} °N)"
            (folder / fname).write_text(maps.render_map(part, outline=None, facades=walls(part), **opts),
                                        encoding="utf-8")
            entries.append({"file": fname, "kind": "tile", "label": label, "roofs": len(part)})
    (folder / "map.html").write_text(maps.render_index(entries, title=summary.get("title", cfg.name), lang=cfg.output.lang),
                                     encoding="utf-8")
    for e in entries:
        log.info(f"{e['file']}: {e['roofs']:,} roofs ({e['kind']} {e['label']})")
    n_sub = sum(e["kind"] == "subdistrict" for e in entries)
    log.info(f"{len(roofs):,} roofs are more than one map holds (engine.max_map_roofs = {limit:,}): "
             f"{n_sub} subdistrict map(s) and {len(entries) - n_sub} tile map(s) hold "
             f"{sum(e['roofs'] for e in entries):,} roofs; map.html links them")
    return entries
