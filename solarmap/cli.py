"""The command line: parses, calls the library, prints. It computes nothing itself."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

from solarmap.errors import SolarmapError, SolarmapWarning
from solarmap.version import __version__


class _StageFormatter(logging.Formatter):
    def __init__(self):
        super().__init__()
        self.t0 = time.perf_counter()

    def format(self, record: logging.LogRecord) -> str:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        return f"[{time.perf_counter() - self.t0:6.1f} s] {prefix}{record.getMessage()}"


def _setup_logging(quiet: bool, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StageFormatter())
    logger = logging.getLogger("solarmap")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    # the log handler prints solarmap's warnings; Python's own warning printer would print them a second time
    warnings.filterwarnings("ignore", category=SolarmapWarning)


def _run(args) -> int:
    from solarmap.config import (
        apply_overrides,
        load_config,
        renames_run,
        resolve_pipeline,
        run_name_from_file,
        with_buildings,
    )
    from solarmap.pipeline import run

    cfg = load_config(resolve_pipeline(args.pipeline))
    if args.buildings and not args.name and renames_run(cfg, args.buildings):
        # another file than the pipeline's own: the run is named after it, so it never overwrites the pipeline's
        args.name = run_name_from_file(args.buildings)
    if args.buildings:
        # another buildings file: the config layer keeps the pipeline's mappings that apply to it (see with_buildings)
        cfg = with_buildings(cfg, str(Path(args.buildings).resolve()))
    overrides = {
        "buildings.layer": args.layer,
        "buildings.crs": args.crs,
        "buildings.input_datum": args.input_datum,
        "buildings.id_column": args.id_column,
        "buildings.height_column": args.height_column,
        "buildings.floors_column": args.floors_column,
        "buildings.dsm": args.dsm,
        "buildings.category_column": args.category_column,
        "buildings.category_scheme": args.category_scheme,
        "buildings.name_column": args.name_column,
        "buildings.year_built_column": args.year_built_column,
        "buildings.encoding": args.encoding,
        "weather.source": args.weather,
        "weather.anywhere": args.weather_anywhere or None,
        "boundary": args.boundary,
        "boundary_name_column": args.boundary_name_column,
        "output.dir": args.out,
        "output.tiles": args.tiles,
        "output.lang": args.lang,
        "policy.rules": args.rules,
        "policy.rank_by": args.rank_by,
        "roofs.shape_source": args.roof_shapes,
        "name": args.name,
    }
    if args.no_shading:
        overrides["shading.enabled"] = False
    if args.no_facades:
        overrides["facades.enabled"] = False
    if args.chinese_headers:
        overrides["output.chinese_headers"] = True
    if args.engine:
        overrides["engine.kind"] = args.engine
    if args.workers:
        overrides["engine.workers"] = args.workers
    if args.scheduler:
        overrides["engine.kind"] = "dask"
        overrides["engine.scheduler"] = args.scheduler
    if args.partitions:
        overrides["engine.npartitions"] = args.partitions
    if args.out:
        overrides["output.database"] = str(Path(args.out) / "solarmap.duckdb")
    if args.no_hourly:
        overrides["hourly.enabled"] = False
    if args.hourly_roofs:
        sel = args.hourly_roofs
        overrides["hourly.roofs"] = str(Path(sel).resolve()) if Path(sel).is_file() else sel
    cfg = apply_overrides(cfg, overrides)
    if args.exclude or args.flag:
        from solarmap.sources.exclusions import parse_cli

        cfg.exclusions += [parse_cli(x, action="exclude") for x in args.exclude or []]
        cfg.exclusions += [parse_cli(x, action="flag") for x in args.flag or []]
    result = run(cfg)
    t = result.summary["totals"]
    print(f"{result.name}: {t['buildings']:,} buildings, {t['assessed']:,} assessed ({t['suitable']:,} suitable), "
          f"{t['excluded']:,} excluded; suitable roofs {t['suitable_capacity_mw']:,.2f} MWp, "
          f"{t['suitable_annual_gwh']:,.2f} GWh/yr (all assessed: {t['capacity_mw']:,.2f} MWp, {t['annual_gwh']:,.2f} GWh/yr)")
    if result.summary.get("warnings"):
        print(f"{len(result.summary['warnings'])} warning(s): see summary.json, report.html and map.html")
    print(f"outputs: {result.out_dir}  database: {result.database}  run: {result.run_id}")
    return 0


def _forecast(args) -> int:
    from solarmap import forecast as fc

    result = fc.forecast(args.run, args.weather, sets=args.set, database=args.db, time_label=args.time_label,
                         decomposition=args.decomposition, interpolation=args.interpolation, per_roof=args.per_roof)
    folder = Path(args.out_dir) if args.out_dir else Path(result.info["folder"])
    db = None if args.no_db else (Path(args.db) if args.db else (Path(result.info["database"]) if result.info["database"] else None))
    path = fc.write_forecast(result, folder, fmt=args.format, database=db)
    info = result.info
    print(f"forecast for run {info['run_id']}: {info['weather']}, {info['start']} … {info['end']}, step {info['step']}, "
          f"{info['members']} member(s)" + (f"; DNI/DHI from GHI by {info['decomposition']}" if info["decomposition"] else ""))
    for note in info["notes"]:
        print(f"note: {note}")
    print(fc.next_hours_table(result, args.hours))
    print(f"written: {path}" + (f"  table forecasts in {db} ({info.get('forecast_id')})" if db else ""))
    return 0


def _query(args) -> int:
    import pandas as pd

    from solarmap import store

    db = Path(args.db) if args.db else Path(args.out) / "solarmap.duckdb"
    df = store.query(db, args.sql)
    with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", 50, "display.width", 200):
        print(df.to_string(index=False, max_rows=args.max_rows))
    return 0


def _store_merge(args) -> int:
    from solarmap import store

    db = Path(args.db) if args.db else Path(args.out) / "solarmap.duckdb"
    counts = store.merge(args.file, db)
    print(f"merged {counts['run_ids']} run(s) from {args.file} into {db}: {counts['roofs']:,} roofs, "
          f"{counts['policy_results']:,} policy results")
    return 0


def _subdistricts(args) -> int:
    from solarmap.resources import PIPELINES_DIR
    from solarmap.sources.subdistricts import load_subdistricts

    t = load_subdistricts()
    print(f"{'slug':16} {'code':10} {'name':14} {'English':22} {'km²':>5}  outline    pipeline")
    for r in t.itertuples():
        has_outline = "approx." if r.geometry is not None and not r.geometry.is_empty else "-"
        pipe = f"{r.slug}.toml (shipped)" if (PIPELINES_DIR / f"{r.slug}.toml").exists() else "-"
        print(f"{r.slug:16} {r.code:10} {r.name_zh:14} {r.name_en:22} {r.area_km2:5.2f}  {has_outline:10} {pipe}")
    return 0


def _init(args) -> int:
    from solarmap.scaffold import write_pipeline

    path, found = write_pipeline(args.name, args.buildings, out=args.out or "", boundary=args.boundary or "",
                                 layer=args.layer or "", encoding=args.encoding or "", force=args.force)
    print(f"{found.rows:,} buildings in {args.buildings} (CRS {found.crs or 'none'}); found:")
    for f in found.findings:
        print(f"  {f.key:18} {f.column or '-':16} {f.note}")
    print(f"wrote {path}: every key with its default and meaning; check the columns above, then run: "
          f"solarmap run {path}")
    return 0


def _rules(args) -> int:
    from solarmap.rules import list_rule_sets

    for rs in list_rule_sets():
        print(f"{rs['name']:18} {rs['title']}  ({rs['path']})")
    return 0


def _columns(args) -> int:
    from solarmap.columns import COLUMNS, FACADE_COLUMNS

    for title, registry in (("roofs.csv", COLUMNS), ("facades.csv", FACADE_COLUMNS)):
        print(f"{title}\n{'column':28} {'type':6} {'unit':11} {'dec':>3}  {'中文':10} description")
        for c in registry.values():
            dec = "" if c.decimals is None else str(c.decimals)
            print(f"{c.name:28} {c.dtype:6} {c.unit or '-':11} {dec:>3}  {c.zh:10} {c.description}")
    return 0


def _synth(args) -> int:
    import math

    import shapely

    from solarmap.synth import DENSITY_PER_KM2, generate_buildings

    side = math.sqrt(args.buildings / DENSITY_PER_KM2) * 1000.0
    x, y = 353000.0, 3455000.0  # Huangpu, EPSG:32651
    region = shapely.box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)
    city = generate_buildings(region, crs="EPSG:32651", seed=args.seed, id_prefix="S").to_crs("EPSG:4326")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    city.to_parquet(tmp, write_covering_bbox=True)
    tmp.replace(out)
    print(f"{len(city):,} buildings on {side / 1000:.1f} km × {side / 1000:.1f} km written to {out}")
    return 0


def _fetch(args) -> int:
    from solarmap.sources import fetch

    if args.source == "osm":
        path, n = fetch.fetch_osm(subdistrict=args.subdistrict or "", bbox=args.bbox or "", out=args.out)
        print(f"{n:,} OSM features (buildings, building parts, solar generators) written to {path}; "
              f"use it with: solarmap run ... --buildings {path}")
    else:
        path, n = fetch.fetch_overture(subdistrict=args.subdistrict or "", bbox=args.bbox or "", out=args.out,
                                       release=args.release or "")
        print(f"{n:,} Overture buildings written to {path}; use it with: solarmap run ... --buildings {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="solarmap", description="Rooftop PV potential and installation rules, roof by roof.")
    p.add_argument("--version", action="version", version=f"solarmap {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a pipeline for a subdistrict or a pipeline TOML")
    r.add_argument("pipeline", help="embedded subdistrict (打浦桥, Dapuqiao, dapuqiao) or a pipeline TOML file")
    r.add_argument("--buildings", help="footprints file (GeoJSON, GeoPackage, Shapefile, GeoParquet, CSV, "
                                       "OSM .osm/.osm.pbf, Overture buildings GeoParquet)")
    r.add_argument("--layer", help="layer of a GeoPackage")
    r.add_argument("--crs", help="CRS to assume when the buildings file has none (e.g. EPSG:4326)")
    r.add_argument("--input-datum", choices=["wgs84", "gcj02"], help="gcj02 for coordinates from Chinese web maps")
    r.add_argument("--id-column")
    r.add_argument("--height-column")
    r.add_argument("--floors-column")
    r.add_argument("--dsm", help="GeoTIFF of heights above ground (nDSM)")
    r.add_argument("--category-column")
    r.add_argument("--category-scheme", choices=["auto", "column", "euluc", "osm"],
                   help="auto (default): from the column's values; euluc: EULUC-China classes; column; osm")
    r.add_argument("--name-column")
    r.add_argument("--year-built-column", help="year each building was built (≥ 2021: stage 'new'; default: year_built, "
                                               "start_date, 建成年份 when present)")
    r.add_argument("--encoding", help="attribute encoding of a shapefile without .cpg (e.g. GBK)")
    r.add_argument("--weather", help="EPW, TMY3 CSV, PVGIS TMY JSON/CSV, 'embedded', 'clearsky', or 'pvgis' (PVGIS's "
                                     "ERA5 typical year for the run's centre, downloaded once and cached)")
    r.add_argument("--weather-anywhere", action="store_true",
                   help="use weather for another place or hemisphere anyway (a warning instead of an error)")
    r.add_argument("--boundary", help="boundary file; buildings outside it are kept as excluded ('none': no boundary)")
    r.add_argument("--boundary-name-column", help="the boundary file's column naming its polygons (default: name, name:zh, NAME, …)")
    r.add_argument("--rules", help="rule set name or TOML (default huangpu-2023)")
    r.add_argument("--exclude", action="append", metavar="FILE[:REASON]",
                   help="zones (any vector format) or building ids (.txt/.csv) to exclude, with the reason they carry "
                        "(default: the file's name); repeatable")
    r.add_argument("--flag", action="append", metavar="FILE[:REASON]",
                   help="zones or ids to flag: assessed, but not counted by rules unless a rule includes flagged")
    r.add_argument("--rank-by", choices=["annual_kwh", "specific_yield", "npv", "payback", "usable_area"],
                   help="candidate ranking (default annual_kwh)")
    r.add_argument("--tiles", choices=["none", "osm", "carto", "tianditu", "amap"])
    r.add_argument("--lang", choices=["zh", "en", "both"])
    r.add_argument("--name", help="run name (the output folder under --out; default: the pipeline's name, or with "
                   "--buildings over a pipeline with its own buildings file, that file's name)")
    r.add_argument("--out", help="output folder: the run goes to OUT/<name>/, the database to OUT/solarmap.duckdb")
    r.add_argument("--roof-shapes", choices=["auto", "column", "dsm", "rules", "flat"],
                   help="where roof shapes come from: auto (column, then DSM, then the pipeline's shape rules), one "
                   "of them only, or flat (every roof flat, with rows)")
    r.add_argument("--no-shading", action="store_true", help="skip neighbour shading")
    r.add_argument("--no-facades", action="store_true", help="skip facade PV (no facades.csv)")
    r.add_argument("--chinese-headers", action="store_true", help="CSV headers in Chinese and English")
    r.add_argument("--engine", choices=["local", "dask"], help="local (tiles above engine.tile_above_roofs) or dask")
    r.add_argument("--workers", type=int, help="dask: workers of the LocalCluster")
    r.add_argument("--scheduler", help="dask: address of an existing scheduler (tcp://host:8786)")
    r.add_argument("--partitions", type=int, help="dask: number of spatial partitions")
    r.add_argument("--hourly-roofs", nargs="?", const="all", metavar="SELECTION",
                   help="also write hourly_roofs.parquet (building_id, plane, time, ac_kw): all (default), category:a,b, "
                        "set:candidates, a file of building ids, or ids separated by commas")
    r.add_argument("--no-hourly", action="store_true", help="no hourly profiles and no stored shade (no forecasts)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    r.add_argument("-v", "--verbose", action="store_true")
    r.set_defaults(func=_run)

    q = sub.add_parser("query", help="run SQL on the results database and print the table")
    q.add_argument("sql")
    q.add_argument("--out", default="outputs", help="output folder holding solarmap.duckdb")
    q.add_argument("--db", help="database file (overrides --out)")
    q.add_argument("--max-rows", type=int, default=60)
    q.set_defaults(func=_query, quiet=True, verbose=False)

    st = sub.add_parser("store", help="the results database: merge a run's side file")
    st_sub = st.add_subparsers(dest="store_command", required=True)
    me = st_sub.add_parser("merge", help="copy the runs of a side file (written when the database was busy) into it")
    me.add_argument("file", help="the side file, OUT/<name>/solarmap-run.duckdb")
    me.add_argument("--out", default="outputs", help="output folder holding solarmap.duckdb")
    me.add_argument("--db", help="database file (overrides --out)")
    me.set_defaults(func=_store_merge, quiet=True, verbose=False)

    f = sub.add_parser("forecast", help="AC power of a run's roofs under a weather forecast (re-uses the run's shade)")
    f.add_argument("run", help="a run folder (outputs/dapuqiao) or a run id in the database")
    f.add_argument("--weather", required=True,
                   help="forecast: CSV (time with offset, ghi[, dni, dhi, temp_air, wind_speed, member]), Open-Meteo "
                        "JSON, NetCDF/GRIB2 grid, or an EPW/TMY3/PVGIS file")
    f.add_argument("--set", default="all",
                   help="potential, existing, candidates, all (default), comma lists, or a file of building ids")
    f.add_argument("--db", help="database (default: solarmap.duckdb beside the run folder, or outputs/solarmap.duckdb)")
    f.add_argument("--no-db", action="store_true", help="do not record the forecast in the database")
    f.add_argument("--format", choices=["csv", "parquet"], default="csv")
    f.add_argument("--out-dir", help="folder for forecast.csv (default: the run folder)")
    f.add_argument("--per-roof", action="store_true", help="also write forecast_roofs.parquet (deterministic forecasts)")
    f.add_argument("--time-label", choices=["start", "end"], default="",
                   help="what the file's times label (default per format: CSV start, Open-Meteo end, grids: "
                        "accumulations end, W/m² fields start)")
    f.add_argument("--decomposition", choices=["erbs", "erbs_driesse"], default="erbs",
                   help="pvlib model splitting GHI into DNI and DHI when the file gives GHI alone")
    f.add_argument("--interpolation", choices=["nearest", "bilinear"], default="nearest", help="grid files")
    f.add_argument("--hours", type=float, default=48.0, help="hours printed (default 48)")
    f.add_argument("-q", "--quiet", action="store_true")
    f.add_argument("-v", "--verbose", action="store_true")
    f.set_defaults(func=_forecast)

    s = sub.add_parser("subdistricts", help="list the embedded subdistricts")
    s.set_defaults(func=_subdistricts, quiet=True, verbose=False)

    sy = sub.add_parser("synth", help="write a synthetic Huangpu-like city as GeoParquet (for scale runs)")
    sy.add_argument("--buildings", type=int, required=True, help="about how many buildings")
    sy.add_argument("--out", required=True, help="GeoParquet file to write")
    sy.add_argument("--seed", type=int, default=1)
    sy.set_defaults(func=_synth, quiet=True, verbose=False)

    co = sub.add_parser("columns", help="list every output column: type, unit, CSV decimals, Chinese label, meaning")
    co.set_defaults(func=_columns, quiet=True, verbose=False)

    f = sub.add_parser("fetch", help="download open building data (OSM, Overture) for an area, when online")
    f.add_argument("source", choices=["osm", "overture"])
    where = f.add_mutually_exclusive_group(required=True)
    where.add_argument("--subdistrict", help="embedded subdistrict (its outline plus a 200 m halo)")
    where.add_argument("--bbox", help="W,S,E,N in degrees, e.g. 121.455,31.200,121.482,31.216")
    f.add_argument("--out", required=True, help="file to write (.gpkg, .parquet or .geojson; Overture: .parquet)")
    f.add_argument("--release", help="overture: the release to read (default: the latest)")
    f.add_argument("-q", "--quiet", action="store_true")
    f.add_argument("-v", "--verbose", action="store_true")
    f.set_defaults(func=_fetch)

    ini = sub.add_parser("init", help="inspect a buildings file and write NAME.toml, a commented pipeline for it")
    ini.add_argument("name", help="the run's name (NAME.toml, the output folder); an embedded subdistrict's name "
                                  "(laoximen, yuyuan …) also sets its outline as the boundary")
    ini.add_argument("--buildings", required=True, help="footprints file (GeoJSON, GeoPackage, Shapefile, GeoParquet …)")
    ini.add_argument("--boundary", help="boundary file (overrides the subdistrict outline; 'none': every building)")
    ini.add_argument("--layer", help="layer of a GeoPackage")
    ini.add_argument("--encoding", help="attribute encoding of a shapefile without .cpg (e.g. GBK)")
    ini.add_argument("--out", help="folder (or .toml file) to write; default: NAME.toml in the current folder")
    ini.add_argument("--force", action="store_true", help="overwrite an existing file")
    ini.set_defaults(func=_init, quiet=True, verbose=False)

    ru = sub.add_parser("rules", help="list the shipped rule sets")
    ru.set_defaults(func=_rules, quiet=True, verbose=False)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "quiet", False), getattr(args, "verbose", False))
    try:
        return args.func(args)
    except SolarmapError as exc:
        print(f"solarmap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("solarmap: interrupted; outputs left as they were", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
