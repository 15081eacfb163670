"""Shading at scale: horizons for every roof of a synthetic city, time and peak memory.

Run: python benchmarks/bench_shading.py --buildings 25000
Records nothing by itself; copy the printed line into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_rss_mb, synthetic_city  # noqa: E402

from solarmap import shading  # noqa: E402
from solarmap.config import ShadingConfig  # noqa: E402
from solarmap.solar import sun_positions  # noqa: E402
from solarmap.sources.weather import read_embedded  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--buildings", type=int, default=25000)
    args = p.parse_args()
    t0 = time.perf_counter()
    city = synthetic_city(args.buildings)
    city["height_m"] = city["height_m"].fillna(city["floors"].astype(float) * 3.0).fillna(10.0)
    city["assessment"] = "assessed"
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = shading.shade_model(city, ShadingConfig(), setback_m=1.0)
    t_horizon = time.perf_counter() - t0
    w = read_embedded()
    sun = sun_positions(w)
    hours = np.flatnonzero(sun.up)
    t0 = time.perf_counter()
    roofs = np.arange(len(city))
    visible_mean = 0.0
    for lo in range(0, len(roofs), 512):
        v = model.sun_visible(roofs[lo:lo + 512], sun.azimuth[hours], sun.apparent_elevation[hours])
        visible_mean += v.sum()
    t_visible = time.perf_counter() - t0
    n_points = len(model.shade.owner)
    print(f"buildings {len(city):,}; sample points {n_points:,}; generate {t_gen:.1f} s; horizons {t_horizon:.1f} s "
          f"({1000 * t_horizon / len(city):.2f} ms/roof); hourly visibility {t_visible:.1f} s; "
          f"peak RSS {peak_rss_mb():,.0f} MB; mean visible share {visible_mean / (len(city) * len(hours)):.3f}")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
