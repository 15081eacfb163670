"""The run: read the inputs, call the assessment, write every output and record the run. It computes nothing.

    read ──► solarmap.assessment.run_assessment ──► report (CSV, GeoPackage, GeoParquet, map, report page)
                                                └─► store (DuckDB)

Outputs are rendered into a hidden temporary folder; the database transaction commits, and only then is the folder
renamed over ``OUT/<name>/``, so a failed run leaves neither a half-written folder nor a database row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pvlib
import shapely

from solarmap import store
from solarmap.assessment import Stages, run_assessment
from solarmap.config import Config
from solarmap.errors import OutputError, OutputWarning, warn
from solarmap.report import aggregate, export, maps
from solarmap.report import summary as report_page
from solarmap.resources import EMBEDDED_WEATHER
from solarmap.rules import load_rule_set
from solarmap.sources.subdistricts import find_subdistrict
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
    started = dt.datetime.now(dt.UTC)
    name = cfg.name
    out_root = Path(cfg.output.dir)
    db_path = Path(cfg.output.database) if cfg.output.database else out_root / "solarmap.duckdb"
    _prepare_output(out_root, name)
    rule_set = load_rule_set(cfg.policy.rules)  # a bad rule file fails before any work
    store.check_writable(db_path)  # and so does a database another process holds
    result = run_assessment(cfg.buildings.path, cfg, rule_set=rule_set)
    cfg = result.config  # with the column mappings that applied to the buildings file
    stages = Stages()
    stages.add(result.timings_s)
    return _write(cfg, result, stages, started=started, out_root=out_root, db_path=db_path)


def _write(cfg: Config, result, stages: Stages, *, started, out_root: Path, db_path: Path) -> RunResult:
    """Render every output into a hidden folder, commit the database, then swap the folder into place."""
    name = cfg.name
    b = cfg.buildings
    roofs, weather, rule_set = result.roofs, result.weather, result.rule_set
    boundary, boundary_label, metric_crs = result.boundary, result.boundary_label, result.roofs.crs
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
                                          exclusions=result.exclusions.entries)
            summary["timings_s"] = stages.timings
            wgs = roofs.to_crs("EPSG:4326")
            zh = cfg.output.chinese_headers
            export.write_roofs_csv(roofs, tmp / "roofs.csv", chinese_headers=zh)
            export.write_csv(export.candidates_table(roofs), tmp / "candidates.csv", chinese_headers=zh)
            (tmp / "report.html").write_text(report_page.render_report(roofs, summary, lang=cfg.output.lang), encoding="utf-8")
            _write_maps(roofs, boundary, summary, cfg, tmp, zones=result.exclusions.zones)
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
            record = dict(
                run={"run_id": run_id, "name": name, "started_at": started, "finished_at": finished,
                     "package_version": __version__, "pvlib_version": pvlib.__version__, "config": cfg.to_dict(),
                     "input_hashes": hashes, "summary": summary, "buildings": len(roofs),
                     "assessed": int((roofs["assessment"] == "assessed").sum()),
                     "excluded": int((roofs["assessment"] == "excluded").sum())},
                roofs=roofs, geometry_wkb=wkb, subdistricts=aggregate.subdistrict_table(roofs),
                policy=policy_results, rule_set=rule_set.name,
            )
            try:
                store.write_run(db_path, **record)
            except store.DatabaseBusy as exc:  # taken since the start: keep the outputs, the rows beside them
                side = tmp / "solarmap-run.duckdb"
                store.write_run(side, **record)
                text = (f"{exc} The run's outputs are complete; its database rows are in "
                        f"{out_root / name / side.name}: merge them with 'solarmap store merge "
                        f"{out_root / name / side.name} --db {db_path}' once the database is free")
                warn(text, OutputWarning)
                summary["warnings"].append(text)
                summary["warning_details"].append({"kind": "OutputWarning", "title_zh": "数据库被占用，结果另存",
                                                   "message": text})
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


def _write_maps(roofs: gpd.GeoDataFrame, boundary, summary: dict, cfg: Config, folder: Path, *,
                zones=()) -> None:
    """map.html for the run; above engine.max_map_roofs, one map_<subdistrict>.html per subdistrict that fits."""
    key = cfg.output.tianditu_key or os.environ.get("TIANDITU_KEY", "")
    simplified = gpd.GeoSeries(shapely.simplify(roofs.geometry.to_numpy(), 0.3), crs=roofs.crs).to_crs("EPSG:4326").values
    wgs = gpd.GeoDataFrame(pd.DataFrame(roofs.drop(columns="geometry")), geometry=simplified, crs="EPSG:4326")
    if len(wgs) <= cfg.engine.max_map_roofs:
        html = maps.render_map(wgs, outline=boundary, summary=summary, tiles=cfg.output.tiles, lang=cfg.output.lang,
                               tianditu_key=key, zones=zones)
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
                                   tianditu_key=key, zones=zones)
            (folder / f"map_{sub}.html").write_text(html, encoding="utf-8")
            drawn += 1
    warn(f"{len(wgs)} roofs are more than one map holds (engine.max_map_roofs = {cfg.engine.max_map_roofs}): wrote "
         f"{drawn} per-subdistrict maps")


