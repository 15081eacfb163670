"""Side by side with the field's reference: GRASS GIS ``r.horizon`` + ``r.sun`` on a 1 m DSM of the embedded
Dapuqiao buildings, against solarmap's vector shading of the same buildings, horizontal modules, clear sky.

Install GRASS first (Debian 12 ships GRASS 8.2)::

    apt-get install -y grass-core        # sudo apt-get install -y grass-core when not root

Run: python benchmarks/bench_rsun.py [--pipeline dapuqiao] [--cell 1.0] [--keep DIR | --reuse DIR]
(``--reuse`` a kept folder re-times solarmap and re-compares against the kept r.sun maps without running GRASS.)
Records nothing by itself; copy the printed tables into benchmarks/RESULTS.md.

What runs:

- solarmap: ``run_assessment`` on the pipeline with every roof flat and modules horizontal (tilt 0), no facades,
  on an Ineichen clear sky (pvlib's Linke turbidity, :func:`solarmap.sources.weather.clear_sky`) that is dark
  except on Klein's (1977) twelve average days of the months. Timed in process: one warm-up run (the numba
  kernels load from their cache), then the best of three; the shading stage and the whole assessment.
- The DSM: every building with a height (the heights the run used, imputed ones included; buildings outside the
  boundary too, since they cast shade in both models), rasterised at ``--cell`` metres in the run's metric CRS,
  height above ground, 0 elsewhere; where footprints overlap the taller wins.
- GRASS, in a temporary location of the same CRS: ``r.in.gdal``; ``r.horizon step=15 maxdistance=1000`` (24 maps,
  one per direction); for each of the twelve days ``r.sun`` (mode 2: daily sums, default 0.5 h time step) with
  ``horizon_basename``/``horizon_step=15``, and again with ``-p`` (no shadowing) for the unshaded reference, both
  with the day's Linke turbidity from the same climatology solarmap's clear sky uses (Remund et al. 2003, SoDa,
  as shipped with pvlib: 2.4 in January to 4.7 in July at the site) rather than r.sun's constant default 3.0;
  ``nprocs`` threads, on the building cells only by default (``--rsun-cells``: the ground set to null; the
  horizons come from the whole DSM, so a roof cell's result is the same as with r.sun on every cell, bitwise in
  the recorded run); then the twelve days summed (``r.mapcalc``) and exported (``r.out.gdal``). Wall and CPU
  seconds per GRASS step from bash's ``time``; the load average sampled every 5 s during each side.
- Per roof: the mean over the roof's cells, the footprint set back by ``roofs.edge_setback_m`` (1 m: what solarmap
  samples, and it keeps wall and edge pixels out), of r.sun's shaded and unshaded global irradiation; loss =
  1 − shaded ÷ unshaded over the twelve days. Against it, from solarmap's own horizons (the run's shade store) and
  the same hours: the loss of horizontal global irradiation as solarmap models it (beam and circumsolar × the
  share of sample points that see the sun, isotropic diffuse × sky-view factor), the beam-only loss (diffuse left
  unshaded: r.sun's treatment on a horizontal plane, where ``drad`` returns the unobstructed diffuse), the
  beam-only loss with solarmap's horizons resampled to r.horizon's 24 directions and interpolated linearly as
  r.sun does, and the AC-energy ``shading_loss_pct`` of the run itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

import solarmap  # noqa: E402
from solarmap.solar import daylight_hours, plane_irradiance, sun_positions  # noqa: E402
from solarmap.sources.weather import Weather, clear_sky  # noqa: E402

#: Klein (1977), "Calculation of monthly average insolation on tilted surfaces", Solar Energy 19: the day of each
#: month whose extraterrestrial irradiation is nearest the month's mean (day of the year)
KLEIN_DAYS = (17, 47, 75, 105, 135, 162, 198, 228, 258, 288, 318, 344)


def clear_sky_days(latitude: float, longitude: float, days, *, year: int = 2023) -> Weather:
    """solarmap's clear-sky year at the site, dark (GHI = DNI = DHI = 0) except on ``days`` (day of the year)."""
    w = clear_sky(latitude, longitude, year=year)
    off = ~np.isin(w.data.index.day_of_year.to_numpy(), list(days))
    w.data.loc[off, ["ghi", "dni", "dhi"]] = 0.0
    w.source = f"clearsky:ineichen, {len(days)} days"
    return w


def linke_of_days(latitude: float, longitude: float, days, *, year: int = 2023) -> list[float]:
    """The Linke turbidity pvlib's Ineichen clear sky uses at noon of each day (SoDa climatology)."""
    noon = pd.DatetimeIndex([pd.Timestamp(f"{year}-01-01 12:00", tz="Asia/Shanghai") + pd.Timedelta(days=d - 1)
                             for d in days])
    return [float(v) for v in pvlib.clearsky.lookup_linke_turbidity(noon, latitude, longitude)]


class LoadSampler:
    """The 1-minute load average every few seconds while a side runs (the machine is shared)."""

    def __init__(self, every_s: float = 5.0):
        self.every_s, self.values, self._stop = every_s, [os.getloadavg()[0]], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every_s):
            self.values.append(os.getloadavg()[0])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.values.append(os.getloadavg()[0])

    def text(self) -> str:
        v = np.asarray(self.values)
        return f"{v.min():.1f}–{v.max():.1f} (median {np.median(v):.1f})"


def solarmap_side(pipeline: str, days, repeat: int = 3) -> dict:
    """The run (one warm-up, then the best of ``repeat`` timed runs) and what the comparison needs from it."""
    import geopandas as gpd

    cfg = solarmap.load_pipeline(pipeline)
    cfg.roofs.surface_tilt_deg = 0.0
    cfg.roofs.shape_source = "flat"
    cfg.facades.enabled = False
    cfg.hourly.enabled = True  # the shade store: the run's own horizons, for the irradiance comparison
    centres = shapely.centroid(gpd.read_file(cfg.buildings.path).to_crs(4326).geometry.to_numpy())
    lat, lon = float(np.mean(shapely.get_y(centres))), float(np.mean(shapely.get_x(centres)))
    weather = clear_sky_days(lat, lon, days)
    runs = []
    with warnings.catch_warnings(), LoadSampler() as load:
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        solarmap.run_assessment(None, cfg, weather=weather)
        cold = time.perf_counter() - t0
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            a = solarmap.run_assessment(None, cfg, weather=weather)
            runs.append((time.perf_counter() - t0, time.process_time() - c0, a.timings_s["shading"], a))
    best = min(runs, key=lambda r: r[0])
    return {"assessment": best[3], "cfg": cfg, "wall_s": best[0], "cpu_s": best[1], "cold_s": cold,
            "shading_s": min(r[2] for r in runs), "walls": [r[0] for r in runs], "load": load.text(),
            "lat": lat, "lon": lon}


def rasterise(roofs, cell: float, margin: float = 20.0):
    """Heights above ground of every building with a height, 0 elsewhere; overlapping footprints: the taller."""
    h = roofs["height_m"].to_numpy(dtype=float)
    g = roofs.geometry.to_numpy()
    ok = np.flatnonzero(np.isfinite(h) & (h > 0) & ~shapely.is_empty(g) & ~shapely.is_missing(g))
    ok = ok[np.argsort(h[ok], kind="stable")]  # drawn in rising height: the tallest is drawn last and wins
    x0, y0, x1, y1 = shapely.total_bounds(g[ok])
    x0, y0 = np.floor((x0 - margin) / cell) * cell, np.floor((y0 - margin) / cell) * cell
    x1, y1 = np.ceil((x1 + margin) / cell) * cell, np.ceil((y1 + margin) / cell) * cell
    shape = (int(round((y1 - y0) / cell)), int(round((x1 - x0) / cell)))
    transform = from_origin(x0, y1, cell, cell)
    dsm = rasterio.features.rasterize(zip(g[ok], h[ok].astype(np.float32), strict=True), out_shape=shape,
                                      transform=transform, fill=0.0, dtype="float32")
    return dsm, transform


def write_tif(path: Path, array: np.ndarray, transform, crs) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                       dtype=array.dtype, crs=crs, transform=transform, compress="deflate") as f:
        f.write(array, 1)


def roof_zones(roofs, rows: np.ndarray, dsm: np.ndarray, transform, setback_m: float) -> np.ndarray:
    """Per cell, the position in ``rows`` of the target roof it belongs to (−1: none): cell centres inside the
    footprint set back by ``setback_m``, and only where the DSM shows this roof (not a taller building on it)."""
    g = shapely.buffer(roofs.geometry.to_numpy()[rows], -setback_m, join_style="mitre")
    h = roofs["height_m"].to_numpy(dtype=float)[rows]
    keep = np.flatnonzero(~shapely.is_empty(g))
    keep = keep[np.argsort(h[keep], kind="stable")]
    zone = rasterio.features.rasterize(zip(g[keep], keep.astype(np.int32), strict=True), out_shape=dsm.shape,
                                       transform=transform, fill=-1, dtype="int32")
    inside = zone >= 0
    mismatch = inside & (np.abs(dsm - h[np.clip(zone, 0, None)].astype(np.float32)) > 1e-3)
    zone[mismatch] = -1
    return zone


GRASS_SCRIPT = """\
set -e
step() {{ local TIMEFORMAT="TIME $1 %R %U %S"; shift; time "$@"; }}
step import r.in.gdal input={dsm} output=dsm --quiet
g.region raster=dsm
step horizon r.horizon elevation=dsm step={step:g} maxdistance={maxdist:g} output=hor --quiet
{cells}
{suns}
step sum r.mapcalc expression="glob_sh = {glob_sh}" --quiet
step sum r.mapcalc expression="beam_sh = {beam_sh}" --quiet
step sum r.mapcalc expression="glob_open = {glob_open}" --quiet
step sum r.mapcalc expression="beam_open = {beam_open}" --quiet
for m in glob_sh beam_sh glob_open beam_open; do
  step export r.out.gdal input=$m output={out}/$m.tif type=Float32 createopt=COMPRESS=DEFLATE --quiet
done
"""


def run_grass(dsm_path: Path, epsg: int, days, linke, *, step: float, maxdist: float, nprocs: int,
              work: Path, cells: str = "buildings") -> dict:
    """r.horizon once on the whole DSM, r.sun with and without the horizons for each day, in a temporary GRASS
    location; wall and CPU (user + system) seconds per step from bash's ``time``.

    ``cells="buildings"``: r.sun's elevation is the DSM with the ground set to null, so r.sun computes only the
    building cells (GRASS skips null cells); the horizons still come from the whole DSM, so a roof cell's result
    is the same as with ``cells="all"`` (r.sun on every cell)."""
    suns = []
    elev = "dsm"
    mk = ""
    if cells == "buildings":
        elev = "bld"
        mk = 'step null_ground r.mapcalc expression="bld = if(dsm > 0, dsm, null())" --quiet'
    for d, lk in zip(days, linke, strict=True):
        suns.append(f"step sun_shaded r.sun elevation={elev} horizon_basename=hor horizon_step={step:g} day={d} "
                    f"linke_value={lk:.2f} glob_rad=g{d} beam_rad=b{d} nprocs={nprocs} --quiet")
        suns.append(f"step sun_open r.sun -p elevation={elev} day={d} linke_value={lk:.2f} glob_rad=go{d} "
                    f"beam_rad=bo{d} nprocs={nprocs} --quiet")
    script = GRASS_SCRIPT.format(
        dsm=dsm_path, step=step, maxdist=maxdist, cells=mk, suns="\n".join(suns), out=work,
        glob_sh=" + ".join(f"g{d}" for d in days), beam_sh=" + ".join(f"b{d}" for d in days),
        glob_open=" + ".join(f"go{d}" for d in days), beam_open=" + ".join(f"bo{d}" for d in days))
    (work / "rsun.sh").write_text(script, encoding="utf-8")
    with LoadSampler() as load:
        t0 = time.perf_counter()
        p = subprocess.run(["grass", "--tmp-location", f"EPSG:{epsg}", "--exec", "bash", str(work / "rsun.sh")],
                           capture_output=True, text=True)
        session = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"GRASS failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for m in re.finditer(r"TIME (\S+) ([0-9.]+) ([0-9.]+) ([0-9.]+)", p.stderr):
        k = m.group(1)
        wall[k] = wall.get(k, 0.0) + float(m.group(2))
        cpu[k] = cpu.get(k, 0.0) + float(m.group(3)) + float(m.group(4))
    return {"wall": wall, "cpu": cpu, "session_s": session, "load": load.text(), "cells": cells}


def read_tif(path: Path) -> np.ndarray:
    with rasterio.open(path) as f:
        return f.read(1).astype(np.float64)


def zonal_mean(values: np.ndarray, zone: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    z = zone.ravel()
    inside = z >= 0
    cnt = np.bincount(z[inside], minlength=n)
    s = np.bincount(z[inside], weights=values.ravel()[inside], minlength=n)
    return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan), cnt


def resampled_visible(store, roofs_idx: np.ndarray, az: np.ndarray, el: np.ndarray, step: float) -> np.ndarray:
    """Share of each roof's points that see the sun with its horizon known only every ``step`` degrees (the
    2° sectors on either side of each direction, averaged) and interpolated linearly in azimuth, as r.sun reads
    r.horizon's maps. Directions outside the stored sectors take the nearest stored one."""
    n_dir = int(round(360.0 / step))
    dirs = np.arange(n_dir) * step  # compass; r.horizon's CCW-from-east multiples of 15° are these too
    sec = store.sector_deg
    lo_s = np.clip(np.floor(dirs / sec).astype(int) - store.sector_lo, 0, store.horizon_q.shape[1] - 1)
    hi_s = np.clip(np.floor(dirs / sec).astype(int) - 1 - store.sector_lo, 0, store.horizon_q.shape[1] - 1)
    hz = store.horizons(roofs_idx)  # (P, stored sectors)
    at_dir = 0.5 * (hz[:, lo_s] + hz[:, hi_s])  # (P, n_dir)
    pos = np.mod(az, 360.0) / step
    i0 = np.floor(pos).astype(int) % n_dir
    i1 = (i0 + 1) % n_dir
    f = pos - np.floor(pos)
    h_sun = (1.0 - f) * at_dir[:, i0] + f * at_dir[:, i1]  # (P, hours)
    lit = (h_sun < el[None, :]).astype(float)
    counts = store.n_points[roofs_idx]
    start = np.cumsum(counts) - counts
    return np.add.reduceat(lit, start, axis=0) / counts[:, None]


def solarmap_losses(side: dict) -> pd.DataFrame:
    """Per stored roof (rows of the run's table), the losses over the run's daylight hours [-]."""
    a, cfg = side["assessment"], side["cfg"]
    store, w = a.shade_store, a.weather
    sun = sun_positions(w)
    hours = daylight_hours(w, sun)
    plane = plane_irradiance(w, sun, hours, 0.0, 180.0, cfg.pv)
    az, el = sun.azimuth[hours], sun.apparent_elevation[hours]
    idx = np.arange(len(store))
    vis = store.sun_visible(idx, az, el)  # (R, H): the yield stage's own visible share
    svf = store.svf[:, None]
    beam, circ = plane.poa_direct, plane.sky_circumsolar
    iso = plane.sky_isotropic + plane.sky_horizon
    g0 = float((beam + circ + iso).sum())
    shaded = ((beam + circ) * vis + iso * svf).sum(axis=1)
    vis15 = resampled_visible(store, idx, az, el, 15.0)
    roofs = a.roofs
    return pd.DataFrame({
        "row": store.row,
        "global": 1.0 - shaded / g0,
        "beam_only": (beam * (1.0 - vis)).sum(axis=1) / g0,
        "beam_only_15": (beam * (1.0 - vis15)).sum(axis=1) / g0,
        "beam_blocked": (beam * (1.0 - vis)).sum(axis=1) / beam.sum(),
        "ac": roofs["shading_loss_pct"].to_numpy(dtype=float)[store.row] / 100.0,
        "svf": store.svf,
    }).assign(beam_share=float(beam.sum()) / g0, hours=len(hours))


def agreement(x: np.ndarray, ref: np.ndarray) -> dict:
    d = (x - ref) * 100.0
    return {"mean_pp": float(np.mean(x) * 100), "ref_mean_pp": float(np.mean(ref) * 100),
            "bias_pp": float(np.mean(d)), "mad_pp": float(np.median(np.abs(d))),
            "p90_pp": float(np.percentile(np.abs(d), 90)), "r": float(np.corrcoef(x, ref)[0, 1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pipeline", default="dapuqiao")
    ap.add_argument("--cell", type=float, default=1.0, help="DSM cell [m]")
    ap.add_argument("--step", type=float, default=15.0, help="r.horizon / r.sun horizon step [°]")
    ap.add_argument("--maxdistance", type=float, default=1000.0, help="r.horizon search distance [m]")
    ap.add_argument("--nprocs", type=int, default=os.cpu_count() or 1, help="r.sun threads")
    ap.add_argument("--rsun-cells", choices=("buildings", "all"), default="buildings",
                    help="r.sun on the building cells only (ground null; the default) or on every cell")
    ap.add_argument("--min-cells", type=int, default=4, help="roofs with fewer set-back cells are left out")
    ap.add_argument("--days", default=",".join(map(str, KLEIN_DAYS)), help="days of the year (default: Klein's)")
    ap.add_argument("--keep", help="keep the DSM and r.sun's summed maps in this folder")
    ap.add_argument("--reuse", help="a --keep folder of an earlier run: compare against its r.sun maps (the DSM "
                    "must be the same) instead of running GRASS again; solarmap is timed, GRASS not")
    args = ap.parse_args()
    if shutil.which("grass") is None:
        sys.exit("GRASS GIS is not installed: apt-get install -y grass-core")
    v = subprocess.run(["grass", "--version"], capture_output=True, text=True)
    version = next(line.strip() for line in (v.stdout + v.stderr).splitlines() if line.strip())  # 8.2: on stderr
    print(f"{machine()}; {version}; {dt.date.today()}")
    days = tuple(int(d) for d in args.days.split(","))

    side = solarmap_side(args.pipeline, days)
    a = side["assessment"]
    roofs = a.roofs
    ours = solarmap_losses(side)
    linke = linke_of_days(side["lat"], side["lon"], days)

    work = Path(args.reuse or args.keep) if (args.reuse or args.keep) else Path(tempfile.mkdtemp(prefix="bench_rsun_"))
    work.mkdir(parents=True, exist_ok=True)
    g = None
    try:
        t0 = time.perf_counter()
        dsm, transform = rasterise(roofs, args.cell)
        t_raster = time.perf_counter() - t0
        if args.reuse:
            with rasterio.open(work / "dsm.tif") as f:
                if f.transform != transform or not np.array_equal(f.read(1), dsm):
                    sys.exit(f"{work / 'dsm.tif'} is not this run's DSM: run GRASS again (without --reuse)")
        else:
            write_tif(work / "dsm.tif", dsm, transform, roofs.crs)
            t_raster = time.perf_counter() - t0
            g = run_grass(work / "dsm.tif", roofs.crs.to_epsg(), days, linke, step=args.step,
                          maxdist=args.maxdistance, nprocs=args.nprocs, work=work, cells=args.rsun_cells)
        maps = {m: read_tif(work / f"{m}.tif") for m in ("glob_sh", "beam_sh", "glob_open", "beam_open")}
        zone = roof_zones(roofs, ours["row"].to_numpy(), dsm, transform, side["cfg"].roofs.edge_setback_m)
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)

    n = len(ours)
    means = {m: zonal_mean(v, zone, n)[0] for m, v in maps.items()}
    cells = zonal_mean(maps["glob_sh"], zone, n)[1]
    rsun_loss = 1.0 - means["glob_sh"] / means["glob_open"]
    rsun_beam_loss = (means["beam_open"] - means["beam_sh"]) / means["glob_open"]
    rsun_blocked = 1.0 - means["beam_sh"] / means["beam_open"]
    use = (cells >= args.min_cells) & np.isfinite(rsun_loss) & np.isfinite(ours["ac"].to_numpy())
    o = ours[use]
    ref = rsun_loss[use]
    if g is not None:
        w, c = g["wall"], g["cpu"]
        core = ("horizon", "sun_shaded", "sun_open")
        g_wall, g_cpu = sum(w[k] for k in core), sum(c[k] for k in core)
    rsun_beam_share = float(np.nanmean((means["beam_open"] / means["glob_open"])[use]))

    print(f"\nDSM {dsm.shape[1]:,} × {dsm.shape[0]:,} cells of {args.cell:g} m ({dsm.size / 1e6:.2f} M, "
          f"{(dsm > 0).mean():.1%} buildings), rasterised and written in {t_raster:.1f} s; "
          f"Linke turbidity {', '.join(f'{v:.2f}' for v in linke)}; r.sun on {args.rsun_cells} cells, "
          f"nprocs={args.nprocs}")
    print(f"roofs: {n:,} assessed with capacity, {int(use.sum()):,} compared (≥ {args.min_cells} set-back cells; "
          f"median {int(np.median(cells[use]))} cells); solarmap {int(o['hours'].iloc[0])} daylight hours")
    print(f"max |r.sun global loss − r.sun beam loss| over the roofs: "
          f"{np.nanmax(np.abs(rsun_loss - rsun_beam_loss)[use]) * 100:.3f} pp (r.sun leaves the diffuse unshaded)")
    print(f"beam share of unshaded horizontal global: r.sun (ESRA) {rsun_beam_share:.3f}, solarmap (Ineichen + "
          f"Perez) {float(o['beam_share'].iloc[0]):.3f}")
    print(f"solarmap timed runs (wall): {', '.join(f'{x:.2f} s' for x in side['walls'])}; sky-view factor of the "
          f"compared roofs: median {o['svf'].median():.3f}, 10th percentile {o['svf'].quantile(0.1):.3f}")

    print("\n| side | step | wall | CPU | load avg. during the side |")
    print("|---|---|---|---|---|")
    print(f"| solarmap | shading stage (horizons of {int(a.shade_store.n_points.sum()):,} points on "
          f"{len(a.shade_store):,} roofs, 2° sectors; best of 3) | {side['shading_s']:.2f} s | | {side['load']} |")
    print(f"| solarmap | whole `run_assessment` (ingest … shading, yield shaded and unshaded, hourly, policy; best of 3)"
          f" | {side['wall_s']:.2f} s | {side['cpu_s']:.2f} s | |")
    print(f"| solarmap | the same, first run in the process | {side['cold_s']:.2f} s | | |")
    if g is not None:
        print(f"| GRASS {version.split()[-1]} | `r.horizon` (24 directions, {args.maxdistance:g} m, whole DSM; one "
              f"thread) | {w['horizon']:.1f} s | {c['horizon']:.1f} s | {g['load']} |")
        print(f"| GRASS | `r.sun` with the horizons × {len(days)} days ({args.rsun_cells} cells) | "
              f"{w['sun_shaded']:.1f} s | {c['sun_shaded']:.1f} s | |")
        print(f"| GRASS | `r.sun -p` (unshaded) × {len(days)} days | {w['sun_open']:.1f} s | {c['sun_open']:.1f} s | |")
        print(f"| GRASS | `r.horizon` + `r.sun` × {2 * len(days)} | **{g_wall:.1f} s** | {g_cpu:.1f} s | |")
        extra = ", ".join(f"{k} {w[k]:.1f} s" for k in ("import", "null_ground", "sum", "export") if k in w)
        print(f"| GRASS | besides: {extra}; whole session {g['session_s']:.1f} s | | | |")
        print(f"\nratios (wall): GRASS r.horizon ÷ solarmap shading stage {w['horizon'] / side['shading_s']:.0f}×; "
              f"GRASS r.horizon + r.sun ÷ solarmap's whole assessment {g_wall / side['wall_s']:.0f}× "
              f"(CPU {g_cpu / side['cpu_s']:.0f}×); without the unshaded r.sun runs "
              f"{(g_wall - w['sun_open']) / side['wall_s']:.0f}×")
    else:
        print(f"(GRASS not run: r.sun's maps from {work})")

    print("\n| solarmap loss (12 days, clear sky, horizontal) | vs r.sun | roofs | solarmap mean | r.sun mean | "
          "mean diff. | median abs. diff. | 90th pct abs. diff. | Pearson r |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [("global irradiation, diffuse shaded by sky view (solarmap's model)", "global loss", o["global"], ref),
            ("beam only, diffuse unshaded (r.sun's treatment)", "global loss", o["beam_only"], ref),
            ("beam only, horizons resampled to r.horizon's 15° and interpolated", "global loss", o["beam_only_15"], ref),
            ("share of the beam blocked (atmosphere models factored out)", "beam blocked", o["beam_blocked"],
             rsun_blocked[use]),
            ("AC energy `shading_loss_pct` of the run", "global loss", o["ac"], ref)]
    for label, what, x, r in rows:
        s = agreement(np.asarray(x, dtype=float), np.asarray(r, dtype=float))
        print(f"| {label} | {what} | {int(use.sum()):,} | {s['mean_pp']:.2f} % | {s['ref_mean_pp']:.2f} % | "
              f"{s['bias_pp']:+.2f} pp | {s['mad_pp']:.2f} pp | {s['p90_pp']:.2f} pp | {s['r']:.3f} |")


if __name__ == "__main__":
    main()
