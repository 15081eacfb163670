"""Pitched lane-house roofs on the embedded Dapuqiao run: wall time, peak memory and stage times, with the roof
planes (``--roof-shapes auto``: the sample's lane houses are gabled) and with every roof flat.

Run: python benchmarks/bench_planes.py [--pipeline dapuqiao]
Records nothing by itself; copy the printed lines into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402


def run(pipeline: str, shapes: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "solarmap.cli", "run", pipeline, "--out", out,
               "--roof-shapes", shapes, "-q"]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=True)
        wall = time.perf_counter() - t0
        rss = next(int(line.split()[-1]) for line in p.stderr.splitlines() if "Maximum resident" in line) / 1e6
        s = json.loads((Path(out) / pipeline / "summary.json").read_text(encoding="utf-8"))
    t = s["totals"]
    return {"shapes": shapes, "wall_s": round(wall, 1), "peak_gb": round(rss, 2), "timings": s["timings_s"],
            "planes": s["roof_shapes"].get("planes", 0), "assessed": t["assessed"], "suitable": t["suitable"],
            "suitable_mwp": t["suitable_capacity_mw"], "suitable_gwh": t["suitable_annual_gwh"],
            "all_mwp": t["capacity_mw"], "all_gwh": t["annual_gwh"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipeline", default="dapuqiao")
    args = ap.parse_args()
    print(machine())
    for shapes in ("auto", "flat"):
        r = run(args.pipeline, shapes)
        tm = r["timings"]
        print(f"| {args.pipeline} | {shapes} | {r['planes']:,} | {r['assessed']:,} | {r['wall_s']} s | {r['peak_gb']} GB | "
              f"{tm.get('shading', 0):.2f} s | {tm.get('yield', 0):.2f} s | {r['suitable_mwp']:.2f} MWp, "
              f"{r['suitable_gwh']:.2f} GWh | {r['all_mwp']:.2f} MWp, {r['all_gwh']:.2f} GWh |")


if __name__ == "__main__":
    main()
