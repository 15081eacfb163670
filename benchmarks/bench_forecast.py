"""48-hour forecast for every roof of a run, from the run's stored shade (no geometry, no shading recomputed).

    python benchmarks/bench_forecast.py RUN_FOLDER [RUN_FOLDER ...]

For each run folder (``solarmap run dapuqiao --out OUT`` writes OUT/dapuqiao; a synthetic city run for 100,000
roofs: ``solarmap synth --buildings 100000 --out city.parquet`` then ``solarmap run dapuqiao --buildings city.parquet
--boundary none --name city100k``): a 48-hour GHI-only forecast CSV (the embedded weather's 15–16 July with a cloudy
afternoon, decomposed by pvlib's Erbs model) for the three sets plus every stored roof (an id file of all of them),
per group and per roof. Times: reading the stored shade, reading the forecast, computing, writing; and the whole
``solarmap forecast`` command in a fresh process (wall and CPU: on a shared machine the wall time also counts the
wait for a core). Peak memory of this process.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, peak_rss_mb  # noqa: E402

from solarmap import forecast as fc  # noqa: E402
from solarmap.sources.forecasts import read_forecast  # noqa: E402
from solarmap.sources.weather import read_embedded  # noqa: E402


def forecast_file(folder: Path) -> Path:
    w = read_embedded().data.loc["2023-07-15":"2023-07-16"].copy()
    w.index = w.index + (pd.Timestamp("2026-07-15", tz=w.index.tz) - pd.Timestamp("2023-07-15", tz=w.index.tz))
    w.iloc[36:42, w.columns.get_loc("ghi")] *= 0.4
    path = folder / "forecast_48h.csv"
    pd.DataFrame({"time": [t.isoformat() for t in w.index], "ghi": w["ghi"].round(1), "temp_air": w["temp_air"],
                  "wind_speed": w["wind_speed"]}).to_csv(path, index=False)
    return path


def bench(run: Path, work: Path) -> dict:
    weather = forecast_file(work)
    t0 = time.perf_counter()
    stored = fc.load_run(run)
    t1 = time.perf_counter()
    f = read_forecast(weather, stored.site)
    t2 = time.perf_counter()
    ids = work / f"every_roof_{run.name}.txt"
    ids.write_text("\n".join(stored.store.building_id.astype(str)) + "\n", encoding="utf-8")
    result = fc.run_forecast(stored, f, f"all,{ids}", per_roof=True)
    t3 = time.perf_counter()
    fc.write_forecast(result, work / run.name)
    t4 = time.perf_counter()
    cmd = [sys.executable, "-m", "solarmap.cli", "forecast", str(run), "--weather", str(weather), "--set",
           f"all,{ids}", "--per-roof", "--out-dir", str(work / f"{run.name}-cli"), "--no-db", "-q", "--hours", "0"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    c1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    energy = result.groups.groupby("set")["ac_kw"].sum()
    return {"run": run.name, "roofs": len(stored.store), "points": len(stored.store.point_svf),
            "store_mb": stored.store.nbytes / 1e6, "load_s": t1 - t0, "read_s": t2 - t1, "compute_s": t3 - t2,
            "write_s": t4 - t3, "total_s": t4 - t0, "cli_s": c1 - c0, "cli_cpu_s": cpu, "per_roof_rows": len(result.roofs),
            "every_roof_mwh": float(energy.get(ids.stem, np.nan)) / 1000.0, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str]) -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for run in argv:
            r = bench(Path(run), Path(tmp))
            print(f"{r['run']}: {r['roofs']:,} roofs, {r['points']:,} points, store {r['store_mb']:.1f} MB in memory; "
                  f"load {r['load_s']:.2f} s, read {r['read_s']:.2f} s, compute {r['compute_s']:.2f} s, write "
                  f"{r['write_s']:.2f} s = {r['total_s']:.2f} s; 'solarmap forecast' process {r['cli_s']:.2f} s wall, "
                  f"{r['cli_cpu_s']:.2f} s CPU; load average {os.getloadavg()[0]:.1f}; "
                  f"{r['per_roof_rows']:,} per-roof rows; 48 h of every roof {r['every_roof_mwh']:,.1f} MWh; "
                  f"peak RSS {r['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
