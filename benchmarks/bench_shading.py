"""Shading at scale: horizons for every roof (and every facade) of a synthetic city, time and peak memory.

Run: python benchmarks/bench_shading.py --buildings 25000 [--part roofs|facades|both]
Records nothing by itself; copy the printed lines into benchmarks/RESULTS.md. ``--part facades`` skips the roofs,
so that the peak memory printed is the facade stage's own (plus the city and the weather).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_rss_mb, synthetic_city  # noqa: E402

from solarmap import facades, shading  # noqa: E402
from solarmap.config import Config, ShadingConfig  # noqa: E402
from solarmap.solar import roof_yields, sun_positions  # noqa: E402
from solarmap.sources.categories import EULUC_USE  # noqa: E402
from solarmap.sources.weather import read_embedded  # noqa: E402


def bench_roofs(city, sun, hours) -> None:
    t0 = time.perf_counter()
    model = shading.shade_model(city, ShadingConfig(), setback_m=1.0)
    t_horizon = time.perf_counter() - t0
    t0 = time.perf_counter()
    roofs = np.arange(len(city))
    visible_mean = 0.0
    for lo in range(0, len(roofs), 512):
        v = model.sun_visible(roofs[lo:lo + 512], sun.azimuth[hours], sun.apparent_elevation[hours])
        visible_mean += v.sum()
    t_visible = time.perf_counter() - t0
    n_points = len(model.shade.owner)
    print(f"roofs: buildings {len(city):,}; sample points {n_points:,}; horizons {t_horizon:.1f} s "
          f"({1000 * t_horizon / len(city):.2f} ms/roof); hourly visibility {t_visible:.1f} s; "
          f"peak RSS {peak_rss_mb():,.0f} MB; mean visible share {visible_mean / (len(city) * len(hours)):.3f}")


def bench_facades(city, w, sun) -> None:
    """The facade stage as the assessment runs it: surfaces, horizons, then the pvlib yield with shade."""
    cfg = Config()
    t0 = time.perf_counter()
    table = facades.facade_surfaces(city, np.ones(len(city), dtype=bool), cfg.facades)
    t_surf = time.perf_counter() - t0
    t0 = time.perf_counter()
    shade = facades.facade_shade(table, city, cfg)
    t_horizon = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = roof_yields(table, w, sun, facades.pv_config(cfg), shade=shade)
    t_yield = time.perf_counter() - t0
    f = facades.finish(table, y, shade, cfg.facades)
    print(f"facades: buildings {len(city):,}; facades {len(f):,} ({int(f['suitable'].sum()):,} suitable); "
          f"sample points {len(shade.owner):,}; surfaces {t_surf:.1f} s; horizons {t_horizon:.1f} s "
          f"({1000 * t_horizon / len(f):.2f} ms/facade); yield with hourly visibility {t_yield:.1f} s; "
          f"peak RSS {peak_rss_mb():,.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--buildings", type=int, default=25000)
    p.add_argument("--part", choices=["roofs", "facades", "both"], default="both")
    args = p.parse_args()
    t0 = time.perf_counter()
    city = synthetic_city(args.buildings)
    city["height_m"] = city["height_m"].fillna(city["floors"].astype(float) * 3.0).fillna(10.0)
    city["assessment"] = "assessed"
    city["use_class"] = city["euluc_class"].map(EULUC_USE).fillna("unknown")  # as the euluc scheme maps it
    t_gen = time.perf_counter() - t0
    w = read_embedded()
    sun = sun_positions(w)
    hours = np.flatnonzero(sun.up)
    print(f"generated {len(city):,} buildings in {t_gen:.1f} s")
    if args.part in ("roofs", "both"):
        bench_roofs(city, sun, hours)
    if args.part in ("facades", "both"):
        bench_facades(city, w, sun)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
