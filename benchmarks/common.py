"""Helpers shared by the benchmarks: a synthetic Huangpu-like city of N buildings, and peak-memory reading."""

from __future__ import annotations

import math
import platform
import resource
import subprocess

import geopandas as gpd
import shapely

from solarmap.synth import DENSITY_PER_KM2, generate_buildings

CENTRE_UTM51 = (353000.0, 3455000.0)  # near Huangpu, EPSG:32651


def synthetic_city(n_buildings: int, *, seed: int = 1) -> gpd.GeoDataFrame:
    """About ``n_buildings`` buildings on a square of Huangpu-like density, in EPSG:32651."""
    side = math.sqrt(n_buildings / DENSITY_PER_KM2) * 1000.0
    x, y = CENTRE_UTM51
    region = shapely.box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)
    return generate_buildings(region, crs="EPSG:32651", seed=seed, id_prefix="S")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MB] (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    mem = ""
    try:
        kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {cores} cores{mem}, Python {platform.python_version()}"
