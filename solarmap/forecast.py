"""Generation forecast (发电量预报): a run's roofs under a forecast's weather, re-using the run's stored shade.

    run folder (shade/) or run id (DuckDB) ──► ShadeStore ─┐
    forecast file ──► sources.forecasts ──► members ───────┴─► hourly.group_profiles (solar.py's PV chain) ──► forecast.csv

No geometry is touched: the horizons and sky-view factors come from the run (:class:`solarmap.hourly.ShadeStore`),
and the physics is the yield stage's own (:func:`solarmap.solar.shaded_ac_per_kwp` through
:func:`solarmap.hourly.iter_store_ac`), with the run's PV settings. So a forecast on the run's own weather gives the
run's hourly profiles. Values are mean AC power over each interval [kW], labelled by the interval start.
An ensemble (several members) gives P10/P50/P90 per group and time: percentiles over the members (linear
interpolation, numpy's default), so P10 ≤ P50 ≤ P90 by construction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from solarmap import hourly
from solarmap.config import LossesConfig, PVConfig
from solarmap.errors import InputDataError, OutputError
from solarmap.solar import sun_positions
from solarmap.sources.forecasts import Forecast, Site, read_forecast

log = logging.getLogger(__name__)


@dataclass
class StoredRun:
    """A run's stored shade and what else a forecast needs of the run."""

    run_id: str
    store: hourly.ShadeStore
    pv: PVConfig
    site: Site
    folder: Path | None  # where forecast.csv goes
    database: Path | None


@dataclass
class ForecastResult:
    """Per-group AC power [kW] (``ac_kw``, or ``p10_kw``/``p50_kw``/``p90_kw`` for an ensemble) in long format,
    and, on request, per roof (deterministic forecasts)."""

    run_id: str
    forecast: Forecast
    groups: pd.DataFrame
    sets: list[str]
    roofs: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)


def _pv_from(meta: dict) -> PVConfig:
    pv = dict(meta.get("pv", {}))
    losses = LossesConfig(**pv.pop("losses", {}))
    return PVConfig(**pv, losses=losses)


def _site_from(meta: dict) -> Site:
    return Site(float(meta["latitude"]), float(meta["longitude"]), float(meta.get("altitude", 0.0)), str(meta["tz"]))


def load_run(run: str | Path, *, database: str | Path | None = None) -> StoredRun:
    """A run folder (``outputs/dapuqiao``) or a run id in the database (``database``, default
    ``outputs/solarmap.duckdb``) with its stored shade."""
    path = Path(run)
    if path.is_dir():
        shade = path / "shade"
        if not (shade / hourly.META_FILE).is_file():
            msg = (f"run folder {path} has no stored shading ({shade}/ with {hourly.META_FILE}): it was written by a "
                   "solarmap without hourly output or with hourly.enabled = false. Run it again with this version "
                   f"(solarmap run ... --out {path.parent}) to store the shade a forecast needs")
            raise InputDataError(msg)
        store = hourly.read_store(shade)
        meta = store.meta
        db = Path(database) if database else path.parent / "solarmap.duckdb"
        return StoredRun(str(meta.get("run_id", path.name)), store, _pv_from(meta), _site_from(meta), path,
                         db if db.exists() else None)
    return _load_from_database(str(run), Path(database) if database else Path("outputs") / "solarmap.duckdb")


def _load_from_database(run_id: str, db: Path) -> StoredRun:
    import pyarrow as pa

    from solarmap import store as dbstore

    if not db.exists():
        msg = (f"{run_id} is neither a run folder nor a run id of a database: {db} does not exist (give a run folder "
               "such as outputs/dapuqiao, or the database with --db)")
        raise InputDataError(msg)
    con = dbstore.connect(db, read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        known = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5").fetchall()] \
            if "runs" in tables else []
        if "runs" not in tables or not con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]:
            msg = (f"run {run_id!r} is not a folder and not in {db} (latest runs: {', '.join(known) or 'none'}); "
                   "give a run folder or one of these ids")
            raise InputDataError(msg)
        row = con.execute("SELECT meta FROM shade_meta WHERE run_id = ?", [run_id]).fetchone() if "shade_meta" in tables else None
        if row is None:
            msg = (f"run {run_id} in {db} has no stored shading (tables shade_meta/shade_roofs/shade_points): it was "
                   "recorded by a solarmap without hourly output, or with hourly.shade_in_database = false (then give "
                   "its run folder instead of its id). Otherwise run it again with this version")
            raise InputDataError(msg)
        meta = json.loads(row[0])
        roofs = con.execute("SELECT * EXCLUDE (run_id) FROM shade_roofs WHERE run_id = ? ORDER BY unit", [run_id]).fetchdf()
        points = con.execute("SELECT * EXCLUDE (run_id) FROM shade_points WHERE run_id = ? ORDER BY unit, point",
                             [run_id]).arrow()
        if isinstance(points, pa.RecordBatchReader):
            points = points.read_all()
    finally:
        con.close()
    store = hourly.store_from_tables(roofs, points, meta)
    name = meta.get("run_name", "")
    folder = db.parent / name if name and (db.parent / name / "shade").is_dir() else db.parent / "forecasts" / run_id
    return StoredRun(run_id, store, _pv_from(meta), _site_from(meta), folder, db)


def parse_sets(spec: str, store: hourly.ShadeStore) -> dict[str, np.ndarray]:
    """``potential``, ``existing``, ``candidates``, ``all`` (the three), comma lists of them, or a file of building
    ids (the roofs at their capacity, the set named after the file)."""
    weights: dict[str, np.ndarray] = {}
    for part in [p.strip() for p in (spec or "all").split(",") if p.strip()]:
        if part == "all":
            for s in hourly.SETS:
                weights[s] = hourly.set_weights(store, s)
        elif part in hourly.SETS:
            weights[part] = hourly.set_weights(store, part)
        elif Path(part).is_file():
            ids = hourly.read_id_list(Path(part))
            pos = hourly.select_roofs(store, part)
            if not len(ids):
                msg = f"id file {part} lists no building id"
                raise InputDataError(msg)
            w = np.zeros(len(store))
            w[pos] = store.capacity_kwp[pos]
            weights[Path(part).stem] = w
        else:
            msg = (f"set {part!r} is not potential, existing, candidates or all, nor a file of building ids "
                   "(one per line)")
            raise InputDataError(msg)
    return weights


def run_forecast(run: StoredRun, fc: Forecast, sets: str = "all", *, per_roof: bool = False) -> ForecastResult:
    """AC power per group (and per roof) for every member of ``fc``; P10/P50/P90 over an ensemble's members."""
    weights = parse_sets(sets, run.store)
    step_h = fc.step / pd.Timedelta(hours=1)
    member_profiles = []
    roof_pos: list[np.ndarray] = []
    roof_power: list[np.ndarray] = []
    n_steps = len(fc.index)  # every member shares the forecast's index
    for k, w in enumerate(fc.members):
        sun = sun_positions(w)
        collect = None
        if per_roof and k == 0 and not fc.ensemble:
            def collect(pos, hours, ac):
                full = np.zeros((len(pos), n_steps), dtype=np.float32)
                full[:, hours] = ac * run.store.capacity_kwp[pos][:, None] / 1000.0
                roof_pos.append(pos)
                roof_power.append(full)
        member_profiles.append(hourly.group_profiles(run.store, w, sun, run.pv, weights, step_h=step_h,
                                                     on_roofs=collect))
    index = hourly.local_offset_index(fc.index)
    keys = sorted({k for p in member_profiles for k in p.keys()})
    rows = {"time": hourly.tile_index(index, len(keys)),
            "subdistrict": np.repeat(np.array([k[0] for k in keys], dtype=object), len(index)),
            "category": np.repeat(np.array([k[1] for k in keys], dtype=object), len(index)),
            "set": np.repeat(np.array([k[2] for k in keys], dtype=object), len(index))}
    stack = np.array([[p.power_kw.get(k, np.zeros(len(index))) for k in keys] for p in member_profiles])  # (m, k, t)
    if fc.ensemble:
        q = np.percentile(stack, [10, 50, 90], axis=0)
        for name, arr in zip(("p10_kw", "p50_kw", "p90_kw"), q, strict=True):
            rows[name] = arr.reshape(-1)
    else:
        rows["ac_kw"] = stack[0].reshape(-1) if len(keys) else np.zeros(0)
    groups = pd.DataFrame(rows)
    capacity = {k: member_profiles[0].capacity_kwp.get(k, 0.0) for k in keys}
    info = {"run_id": run.run_id, "weather": fc.source, "members": len(fc.members), "step": str(fc.step).replace("0 days ", ""),
            "start": index[0].isoformat(), "end": (index[-1] + fc.step).isoformat(),
            "decomposition": fc.decomposition or None, "time_convention": hourly.TIME_CONVENTION,
            "notes": fc.notes, "sets": {s: round(float(weights[s].sum()), 1) for s in weights},
            "groups_kwp": {"|".join(k): round(v, 1) for k, v in capacity.items()}}
    roofs = None
    if roof_pos:
        pos = np.concatenate(roof_pos)
        roofs = pd.DataFrame({"building_id": hourly.repeat_labels(run.store.building_id[pos], len(index)),
                              "plane": np.repeat(run.store.plane[pos], len(index)).astype(np.int16),
                              "time": hourly.tile_index(index, len(pos)),
                              "ac_kw": np.concatenate(roof_power).ravel()})
    return ForecastResult(run.run_id, fc, groups, list(weights), roofs, info)


def forecast(run: str | Path, weather: str | Path, *, sets: str = "all", database: str | Path | None = None,
             time_label: str = "", decomposition: str = "erbs", interpolation: str = "nearest",
             per_roof: bool = False) -> ForecastResult:
    """Read the run's stored shade and the forecast file, and compute (writes nothing)."""
    stored = load_run(run, database=database)
    fc = read_forecast(weather, stored.site, time_label=time_label, decomposition=decomposition,
                       interpolation=interpolation)
    result = run_forecast(stored, fc, sets, per_roof=per_roof)
    result.info["folder"] = str(stored.folder) if stored.folder else None
    result.info["database"] = str(stored.database) if stored.database else None
    return result


def write_forecast(result: ForecastResult, folder: Path, *, fmt: str = "csv", database: Path | None = None) -> Path:
    """forecast.csv (or .parquet) in ``folder`` (written to a temporary name, then renamed), forecast_roofs.parquet
    when per-roof results exist, forecast.json with what was done, and the ``forecasts`` table."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"forecast.{fmt}"
        tmp = folder / f".forecast.{fmt}.tmp-{os.getpid()}"
        table = result.groups.copy()
        if fmt == "csv":
            out = table.copy()
            out["time"] = [t.isoformat() for t in out["time"]]
            for c in [c for c in out.columns if c.endswith("_kw")]:
                out[c] = out[c].round(3)
            out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        elif fmt == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            msg = f"forecast format {fmt!r}: use csv or parquet"
            raise InputDataError(msg)
        os.replace(tmp, path)
        if result.roofs is not None:
            tmp_r = folder / f".forecast_roofs.parquet.tmp-{os.getpid()}"
            result.roofs.to_parquet(tmp_r, index=False)
            os.replace(tmp_r, folder / "forecast_roofs.parquet")
        (folder / "forecast.json").write_text(json.dumps(result.info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write the forecast in {folder}: {exc.strerror or exc}. Give another folder with --out-dir DIR"
        raise OutputError(msg) from None
    if database is not None:
        _record(result, database)
    return path


def _record(result: ForecastResult, db: Path) -> str:
    from solarmap import store as dbstore

    created = dt.datetime.now(dt.UTC)
    # unique even for two forecasts of one run in the same second and process (they would share rows otherwise)
    fid = f"{result.run_id}-forecast-{created.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    t = result.groups.copy()
    for c in ("ac_kw", "p10_kw", "p50_kw", "p90_kw"):
        if c not in t.columns:
            t[c] = np.nan
    t = t[["time", "subdistrict", "category", "set", "ac_kw", "p10_kw", "p50_kw", "p90_kw"]]
    con = dbstore.connect(db)
    try:
        dbstore._ensure_hourly_schema(con)
        con.execute("BEGIN TRANSACTION")
        con.register("fc_df", t)
        con.execute('INSERT INTO forecasts SELECT ?, ?, ?, ?, time, subdistrict, category, "set", ac_kw, p10_kw, '
                    "p50_kw, p90_kw FROM fc_df", [fid, result.run_id, created, result.forecast.source])
        con.unregister("fc_df")
        con.execute("COMMIT")
    finally:
        con.close()
    result.info["forecast_id"] = fid
    return fid


def next_hours_table(result: ForecastResult, hours: float = 48.0) -> str:
    """The first ``hours`` of the forecast, summed over groups per set [kW], as a text table."""
    g = result.groups
    start = g["time"].min() if len(g) else None
    if start is None:
        return "(no roofs in the chosen sets)"
    g = g[g["time"] < start + pd.Timedelta(hours=hours)]
    value = "ac_kw" if "ac_kw" in g.columns else "p50_kw"
    cols = ["ac_kw"] if value == "ac_kw" else ["p10_kw", "p50_kw", "p90_kw"]
    t = g.groupby(["time", "set"])[cols].sum().unstack("set")
    t.columns = [f"{s} {c.removesuffix('_kw')}" if len(cols) > 1 else s for c, s in t.columns]
    order = [c for s in result.sets for c in t.columns if c == s or c.startswith(f"{s} ")]
    t = t[order].round(0)
    t.index = [ts.strftime("%m-%d %H:%M") for ts in t.index]
    return "time (interval start)  [kW]\n" + t.to_string()
