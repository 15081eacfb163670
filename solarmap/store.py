"""DuckDB: every run, every roof, every facade, per-subdistrict summaries and policy results.

The spatial extension is loaded from the ``duckdb-extension-spatial`` package's file by path (no download), so
roofs carry a real GEOMETRY column (WGS84). A run is written in one transaction: it is all there or not at all.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import time
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely

from solarmap.columns import COLUMNS, FACADE_COLUMNS, PLANE_COLUMNS
from solarmap.errors import ConfigError, OutputError

log = logging.getLogger(__name__)

#: every registry column is a column of the roofs table (input pass-through columns are not)
ROOF_TABLE_COLUMNS = [c for c, col in COLUMNS.items() if col.group != "plane"]
#: the roof_planes table: one row per plane of a pitched roof
PLANE_TABLE_COLUMNS = list(PLANE_COLUMNS)

#: per-subdistrict economics of equipping every suitable roof (report.aggregate.subdistrict_table) [CNY, t/yr]
SUBDISTRICT_ECONOMICS = ("suitable_capex_cny", "suitable_annual_savings_cny", "suitable_npv_cny",
                         "suitable_co2_t_per_year")


def _sql_type(col: str) -> str:
    return COLUMNS[col].sql_type if col in COLUMNS else "VARCHAR"


class DatabaseBusy(OutputError):
    """The database is held by another process (another run, or an analyst's open connection)."""


def _database_folder(path: str | Path) -> Path:
    """``path`` as a Path, its folder created (an :class:`OutputError` naming it when that fails)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the database folder {path.parent}: {exc.strerror}"
        raise OutputError(msg) from None
    return path


def check_writable(path: str | Path) -> None:
    """Fail fast, before any work, when the database cannot be opened for writing (held by another process,
    a folder that cannot be created). Waits as :func:`connect` does."""
    path = _database_folder(path)
    existed = path.exists()
    con = connect(path)
    con.close()
    if not existed:  # a probe leaves no empty database behind
        _remove_database(path)


def _remove_database(path: Path) -> None:
    """A database file and its write-ahead log, where they exist."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def merge(side_file: str | Path, db_path: str | Path) -> dict[str, int]:
    """Copy every run in ``side_file`` (a database a run wrote beside its outputs when the main one was busy)
    into ``db_path`` in one transaction; a run already there is replaced. Returns rows copied per table.
    Table-to-table copies keep to :data:`WRITE_MEMORY_LIMIT` (measured: a million-building run, 20 M rows in
    all, merged in 44 s holding 0.37 GB)."""
    side_file, db_path = Path(side_file), Path(db_path)
    if not side_file.exists():
        msg = f"side file {side_file} does not exist (a run writes it as OUT/<name>/solarmap-run.duckdb)"
        raise OutputError(msg)
    con = _writing(connect(db_path))
    counts = {}
    try:
        _ensure_schema(con)
        con.execute("ATTACH " + _sql_text(side_file) + " AS side (READ_ONLY)")
        runs = [r[0] for r in con.execute("SELECT run_id FROM side.runs").fetchall()]
        side_tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_catalog = 'side'").fetchall()}
    except BaseException:
        con.close()
        raise
    with _transaction(con):
        for table in [t for t in ("runs", "roofs", "subdistrict_summary", "policy_results", "roof_planes", "facades",
                                  "hourly_profiles", "shade_meta", "shade_roofs", "shade_points")
                      if t in side_tables]:
            con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM side.runs)")
            cols = [r[0] for r in con.execute(f"SELECT column_name FROM information_schema.columns "
                                              f"WHERE table_catalog = 'side' AND table_name = '{table}'").fetchall()]
            names = ", ".join(f'"{c}"' for c in cols)
            con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM side.{table}")
            counts[table] = int(con.execute(f"SELECT count(*) FROM side.{table}").fetchone()[0])
    counts["run_ids"] = len(runs)
    return counts


def _sql_text(value) -> str:
    """``value`` as an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _writing(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
    con.execute("SET threads = 2")  # the insert's working set grows with its threads: keep it to what was measured
    return con


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection):
    """BEGIN … COMMIT, or ROLLBACK on any error; the connection is closed either way."""
    try:
        con.execute("BEGIN TRANSACTION")
        yield con
        con.execute("COMMIT")
    except Exception:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()


def spatial_extension_path() -> str:
    """Path of the spatial extension file shipped by the duckdb-extension-spatial package."""
    import duckdb_extension_spatial

    base = os.path.dirname(duckdb_extension_spatial.__file__)
    found = glob.glob(os.path.join(base, "extensions", f"v{duckdb.__version__}", "spatial.duckdb_extension"))
    found = found or glob.glob(os.path.join(base, "extensions", "*", "spatial.duckdb_extension"))
    if not found:
        msg = f"no spatial.duckdb_extension under {base}; reinstall duckdb-extension-spatial=={duckdb.__version__}"
        raise OutputError(msg)
    return found[0]


def connect(path: str | Path, *, read_only: bool = False, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database with the spatial extension loaded. A database held by another process is retried for
    ``wait_s`` seconds (default 5, or the environment variable SOLARMAP_DB_WAIT_S), then reported as an
    :class:`OutputError`; the other process is not disturbed."""
    path = Path(path)
    if wait_s is None:
        wait_s = float(os.environ.get("SOLARMAP_DB_WAIT_S", "5"))
    if read_only and not path.exists():
        msg = f"database {path} does not exist yet; run 'solarmap run ...' first"
        raise OutputError(msg)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                msg = f"database {path} cannot be opened: {exc}"
                raise OutputError(msg) from None
            if time.monotonic() > deadline:
                msg = (f"database {path} is in use by another process ({exc}). Another solarmap run, or an open "
                       "connection (a DuckDB shell, DBeaver, QGIS, a notebook; even a read-only one) holds it: close "
                       "it or wait for the run to finish, or write to another database with --out DIR")
                raise DatabaseBusy(msg) from None
            time.sleep(0.25)
    con.execute(f"LOAD '{spatial_extension_path()}'")
    return con


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY, name VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
            package_version VARCHAR, pvlib_version VARCHAR, config JSON, input_hashes JSON, summary JSON,
            buildings INTEGER, assessed INTEGER, excluded INTEGER)""")
    cols = ", ".join(f'"{c}" {_sql_type(c)}' for c in ROOF_TABLE_COLUMNS)
    con.execute(f'CREATE TABLE IF NOT EXISTS roofs (run_id VARCHAR, {cols}, geometry GEOMETRY)')
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'roofs'").fetchall()}
    for c in ROOF_TABLE_COLUMNS:  # a database from an older version gains new columns
        if c not in have:
            con.execute(f'ALTER TABLE roofs ADD COLUMN "{c}" {_sql_type(c)}')
    con.execute("""
        CREATE TABLE IF NOT EXISTS subdistrict_summary (
            run_id VARCHAR, subdistrict VARCHAR, buildings INTEGER, assessed INTEGER, excluded INTEGER,
            suitable INTEGER, roof_area_m2 DOUBLE, usable_area_m2 DOUBLE, capacity_kwp DOUBLE,
            annual_kwh DOUBLE, annual_kwh_unshaded DOUBLE, existing_pv_kwp DOUBLE)""")
    for c in SUBDISTRICT_ECONOMICS:  # added with the economics; older databases gain them
        con.execute(f'ALTER TABLE subdistrict_summary ADD COLUMN IF NOT EXISTS "{c}" DOUBLE')
    plane_cols = ", ".join(f'"{c}" {_sql_type(c)}' for c in PLANE_TABLE_COLUMNS)
    con.execute(f'CREATE TABLE IF NOT EXISTS roof_planes (run_id VARCHAR, {plane_cols}, geometry GEOMETRY)')
    facade_cols = ", ".join(f'"{c}" {col.sql_type}' for c, col in FACADE_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS facades (run_id VARCHAR, {facade_cols}, geometry GEOMETRY)")
    for c, col in FACADE_COLUMNS.items():  # a database from an older version gains new columns
        con.execute(f'ALTER TABLE facades ADD COLUMN IF NOT EXISTS "{c}" {col.sql_type}')
    con.execute("""
        CREATE TABLE IF NOT EXISTS policy_results (
            run_id VARCHAR, rule_set VARCHAR, rule_id VARCHAR, subdistrict VARCHAR, result JSON)""")
    _ensure_hourly_schema(con)


def _ensure_hourly_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Hourly profiles, the stored shade a forecast re-uses (see :mod:`solarmap.hourly`) and forecasts."""
    con.execute("""
        CREATE TABLE IF NOT EXISTS hourly_profiles (
            run_id VARCHAR, time TIMESTAMPTZ, subdistrict VARCHAR, category VARCHAR, "set" VARCHAR, ac_kw DOUBLE)""")
    con.execute("CREATE TABLE IF NOT EXISTS shade_meta (run_id VARCHAR, meta JSON)")
    con.execute("""
        CREATE TABLE IF NOT EXISTS shade_roofs (
            run_id VARCHAR, building_id VARCHAR, "row" BIGINT, subdistrict VARCHAR, category VARCHAR,
            surface_tilt_deg DOUBLE, surface_azimuth_deg DOUBLE, capacity_kwp DOUBLE, existing_pv_kwp DOUBLE,
            sky_view_factor DOUBLE, suitable BOOLEAN, candidate BOOLEAN, n_points BIGINT, plane INTEGER, unit BIGINT)""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS shade_points (
            run_id VARCHAR, building_id VARCHAR, unit BIGINT, point INTEGER, sky_view_factor FLOAT, horizon_u8 BLOB,
            exact_sectors SMALLINT[], exact_deg FLOAT[])""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS forecasts (
            forecast_id VARCHAR, run_id VARCHAR, created_at TIMESTAMPTZ, weather VARCHAR, time TIMESTAMPTZ,
            subdistrict VARCHAR, category VARCHAR, "set" VARCHAR, ac_kw DOUBLE, p10_kw DOUBLE, p50_kw DOUBLE,
            p90_kw DOUBLE)""")


def _insert_hourly(con: duckdb.DuckDBPyConnection, run_id: str, hourly_profiles, shade) -> None:
    """The hourly profiles (a DataFrame or a Parquet file) and the stored shade (roof frame or file, point table
    (Arrow) or file, meta); files are streamed by DuckDB, so a city's million sample points are not copied here."""
    def source(obj, name: str) -> str:
        if isinstance(obj, str | Path):
            return f"read_parquet({_sql_text(obj)})"
        con.register(name, obj)
        return name

    if hourly_profiles is not None:
        src = source(hourly_profiles, "hourly_df")
        con.execute(f'INSERT INTO hourly_profiles SELECT ?, time, subdistrict, category, "set", ac_kw FROM {src}',
                    [run_id])
    if shade is not None:
        roofs, points, meta = shade
        con.execute("INSERT INTO shade_meta VALUES (?, ?)", [run_id, json.dumps(meta, ensure_ascii=False)])
        src = source(roofs, "shade_roofs_df")
        con.execute('INSERT INTO shade_roofs SELECT ?, building_id, "row", subdistrict, category, surface_tilt_deg, '
                    "surface_azimuth_deg, capacity_kwp, existing_pv_kwp, sky_view_factor, suitable, candidate, "
                    f"n_points, plane, unit FROM {src}", [run_id])
        src = source(points, "shade_points_arrow")
        con.execute("INSERT INTO shade_points SELECT ?, building_id, unit, point, sky_view_factor, horizon_u8::BLOB, "
                    f"exact_sectors, exact_deg FROM {src}", [run_id])
    for name in ("hourly_df", "shade_roofs_df", "shade_points_arrow"):
        try:
            con.unregister(name)
        except duckdb.Error:
            pass


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, geometry, run_id: str,
                 columns: list[str], sql_type=None) -> None:
    """``frame``'s registry ``columns`` and its ``geometry`` (WKB) into ``table``, :data:`INSERT_ROWS` at a time.
    ``geometry``: a GeoSeries, a function giving the GeoSeries of a slice of rows (shapes made a chunk at a time),
    or None."""
    names = ", ".join(f'"{c}"' for c in ["run_id", *columns])
    for a in range(0, len(frame), INSERT_ROWS):
        part = _typed(frame.iloc[a : a + INSERT_ROWS], run_id, columns, sql_type or _sql_type)
        rows = slice(a, a + INSERT_ROWS)
        shapes = None if geometry is None else geometry(rows) if callable(geometry) else geometry.iloc[rows]
        part["geometry_wkb"] = list(shapely.to_wkb(shapes.to_crs("EPSG:4326").to_numpy())) if shapes is not None else None
        # as Arrow: faster than registering the pandas frame (measured at 1M: roofs 18 -> 16 s, facades 28 -> 19 s)
        con.register("rows_df", pa.Table.from_pandas(part, preserve_index=False))
        del part
        con.execute(f"INSERT INTO {table} ({names}, geometry) SELECT {names}, CASE WHEN geometry_wkb IS NULL "
                    "THEN NULL ELSE ST_GeomFromWKB(geometry_wkb) END FROM rows_df")
        con.unregister("rows_df")


def _typed(frame: pd.DataFrame, run_id: str, columns: list[str], sql_type=_sql_type) -> pd.DataFrame:
    """``frame``'s registry columns with the database's types (``sql_type(name)``), after a ``run_id`` column."""
    table = pd.DataFrame({"run_id": run_id}, index=frame.index)
    for c in columns:
        table[c] = frame[c] if c in frame.columns else None
    for c in table.columns:
        t = sql_type(c) if c != "run_id" else "VARCHAR"
        if t == "VARCHAR":
            table[c] = table[c].astype("string").astype(object).where(table[c].notna(), None)
        elif t == "INTEGER":
            table[c] = pd.array(pd.to_numeric(table[c], errors="coerce")).astype("Int64")
        elif t == "BOOLEAN":
            table[c] = table[c].astype("boolean")
        else:
            table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    return table


#: rows per insert of :func:`write_run` (the typed copy of one chunk is what it holds at a time)
INSERT_ROWS = 100_000
#: DuckDB's buffer memory while a run is written, on two threads (its default, 80 % of the machine, lets it cache
#: every inserted row of a city; 128 MB was measured to suffice for the 80-column roof table, 64 MB not)
WRITE_MEMORY_LIMIT = "256MB"


def write_run(db_path: str | Path, *, run: dict, roofs: pd.DataFrame, geometry: gpd.GeoSeries,
              subdistricts: pd.DataFrame, policy: list[dict] | None = None, rule_set: str = "",
              planes: pd.DataFrame | None = None, planes_geometry: gpd.GeoSeries | None = None,
              facades: pd.DataFrame | None = None, facades_geometry=None,
              hourly_profiles=None, shade=None, staging: str | Path | None = None) -> None:
    """Write one run (its record, every roof, its roof planes and facades, the summaries; the hourly profiles and
    the stored shade when given) into the database ``db_path`` as one transaction. ``geometry``,
    ``planes_geometry`` and ``facades_geometry`` are the tables' shapes in any CRS, stored in WGS84
    (``facades_geometry`` may also be a function giving a slice of rows' shapes, see :func:`_insert_rows`).

    The run is first built in ``staging``, a database file of its own (default: a temporary file beside
    ``db_path``), :data:`INSERT_ROWS` rows at a time, each chunk reprojected and committed on its own; then
    :func:`merge` copies it into ``db_path`` in one transaction, or, where ``db_path`` does not exist yet, the
    staged file becomes it (linked into place: :func:`_adopt`). (Inserted straight from Python in one
    transaction, a million-building run held 3.5 GB outside DuckDB's memory limit until the commit; staged, the
    memory stays within a chunk and the limit.) ``staging`` is removed afterwards, except when the database is
    held by another process (:class:`DatabaseBusy`) and ``staging`` was given: it is then kept, complete, for
    ``solarmap store merge``."""
    db_path = _database_folder(db_path)
    given = staging is not None
    staging = Path(staging) if given else db_path.with_name(f".{db_path.name}.staging-{os.getpid()}")
    keep = False
    try:
        _build_run(staging, run=run, roofs=roofs, geometry=geometry, subdistricts=subdistricts, policy=policy,
                   rule_set=rule_set, planes=planes, planes_geometry=planes_geometry, facades=facades,
                   facades_geometry=facades_geometry, hourly_profiles=hourly_profiles, shade=shade)
        try:
            if not _adopt(staging, db_path):
                merge(staging, db_path)
        except DatabaseBusy:
            keep = given  # complete: it only waits for the database
            raise
    finally:
        if not keep:
            _remove_database(staging)


def _adopt(staging: Path, db_path: Path) -> bool:
    """Where there is no database yet, the run's staged file becomes it, and the copy into it is saved (at
    102,714 buildings 3.7 s of the store's 12). A hard link: a database another process creates meanwhile is
    never overwritten (the link then fails, and the run is merged into that one). False where it was not done."""
    if db_path.exists() or db_path.with_name(db_path.name + ".wal").exists():
        return False
    try:
        os.link(staging, db_path)
    except OSError:  # there now, or links not possible here
        return False
    return True


def _build_run(path: Path, *, run: dict, roofs, geometry, subdistricts, policy, rule_set, planes, planes_geometry,
               facades, facades_geometry, hourly_profiles, shade) -> None:
    """The run's rows in a new database file at ``path`` (no other process knows it: every statement commits on
    its own)."""
    _remove_database(path)
    con = _writing(connect(path))
    try:
        _ensure_schema(con)
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run["run_id"], run["name"], run["started_at"], run["finished_at"], run["package_version"],
             run["pvlib_version"], json.dumps(run["config"], ensure_ascii=False),
             json.dumps(run["input_hashes"], ensure_ascii=False), json.dumps(run["summary"], ensure_ascii=False),
             run["buildings"], run["assessed"], run["excluded"]],
        )
        _insert_rows(con, "roofs", roofs, geometry, run["run_id"], ROOF_TABLE_COLUMNS)
        if planes is not None and len(planes):
            _insert_rows(con, "roof_planes", planes, planes_geometry, run["run_id"], PLANE_TABLE_COLUMNS)
        if facades is not None and len(facades):
            _insert_rows(con, "facades", facades, facades_geometry, run["run_id"], list(FACADE_COLUMNS),
                         lambda c: FACADE_COLUMNS[c].sql_type)
        sub = subdistricts.copy()
        sub.insert(0, "run_id", run["run_id"])
        con.register("sub_df", sub)
        con.execute("INSERT INTO subdistrict_summary BY NAME SELECT * FROM sub_df")
        con.unregister("sub_df")
        for entry in policy or []:
            con.execute("INSERT INTO policy_results VALUES (?, ?, ?, ?, ?)",
                        [run["run_id"], rule_set, entry["rule_id"], entry.get("subdistrict", ""),
                         json.dumps(entry, ensure_ascii=False)])
        _insert_hourly(con, run["run_id"], hourly_profiles, shade)
    finally:
        con.close()


def query(db_path: str | Path, sql: str) -> pd.DataFrame:
    """Run a read-only query against the database and return the result as a DataFrame."""
    con = connect(db_path, read_only=True)
    try:
        return con.execute(sql).fetchdf()
    except duckdb.Error as exc:
        msg = f"query failed: {exc}"
        raise ConfigError(msg) from None
    finally:
        con.close()
