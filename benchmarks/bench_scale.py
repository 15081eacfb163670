"""End to end at city scale, and the naive per-roof ModelChain baseline.

Run: python benchmarks/bench_scale.py --buildings 20000 100000 1000000 [--engine dask]
For each size: `solarmap synth` writes a synthetic city (GeoParquet, with EULUC-China land-use classes in
``euluc_class``, which the run's category detection maps, so every rule has eligible buildings), then `solarmap
run` assesses every building with every stage of the default pipeline (--boundary none: roof planes of the lane
houses, shading, yield, hourly profiles and the stored shade, facades, economics, policy, DuckDB, CSV,
GeoPackage, GeoParquet, maps by tile) under /usr/bin/time, which gives the peak memory. Stage times come from
summary.json (summed over tiles), and so do the rules' eligible counts, printed to show the policy stage worked.
The baseline times pvlib's ModelChain (the whole chain including solar position, as a naive loop would call it)
on a sample of roofs and extrapolates to every roof; it models no shading, so the comparison flatters it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

BIN = Path(sys.executable).parent


def run_size(n: int, workdir: Path, extra: list[str]) -> dict:
    city = workdir / f"city_{n}.parquet"
    subprocess.run([str(BIN / "solarmap"), "synth", "--buildings", str(n), "--out", str(city)], check=True)
    out = workdir / f"out_{n}"
    cmd = ["/usr/bin/time", "-v", str(BIN / "solarmap"), "run", "dapuqiao", "--buildings", str(city), "--boundary", "none",
           "--name", f"city{n}", "--out", str(out), "-q", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    summary = json.loads((out / f"city{n}" / "summary.json").read_text(encoding="utf-8"))
    eligible: dict[str, int] = {}  # the whole run's entry per rule is the largest (the others are its subdistricts)
    for r in summary.get("policy", []):
        eligible[r["rule_id"]] = max(eligible.get(r["rule_id"], 0), int(r.get("eligible_buildings") or 0))
    return {"n": summary["totals"]["buildings"], "assessed": summary["totals"]["assessed"], "wall_s": wall,
            "peak_gb": peak_kb / 1024 / 1024, "stages": summary["timings_s"], "eligible": eligible,
            "facades": ((summary.get("facades") or {}).get("totals") or {}).get("facades"),
            "planes": (summary.get("roof_shapes") or {}).get("planes")}


def baseline_per_roof_s(sample: int = 20) -> float:
    """Seconds per roof of a naive loop: one ModelChain per roof, solar position and all, on the embedded year."""
    import pvlib
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem

    from solarmap.sources.weather import read_embedded

    w = read_embedded()
    data = w.data.copy()
    data.index = w.sun_times
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    t0 = time.perf_counter()
    for k in range(sample):
        pdc0 = 10000.0 + k
        system = PVSystem(surface_tilt=15, surface_azimuth=180, albedo=0.2, module_parameters={"pdc0": pdc0, "gamma_pdc": -0.0037},
                          inverter_parameters={"pdc0": pdc0 / 1.2 / 0.96}, temperature_model_parameters=temp)
        mc = ModelChain(system, w.location, transposition_model="perez", aoi_model="physical", spectral_model="no_loss",
                        dc_model="pvwatts", ac_model="pvwatts", losses_model="pvwatts", temperature_model="sapm")
        mc.run_model(data)
    return (time.perf_counter() - t0) / sample


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--buildings", type=int, nargs="+", default=[20000, 100000])
    p.add_argument("--workdir", default="")
    p.add_argument("--engine", default="", help="local (default) or dask")
    p.add_argument("--no-baseline", action="store_true", help="skip the naive ModelChain loop")
    args = p.parse_args()
    per_roof = float("nan") if args.no_baseline else baseline_per_roof_s()
    print(f"naive ModelChain loop: {1000 * per_roof:.0f} ms per roof (20 roofs timed)")
    extra = ["--engine", args.engine] if args.engine else []
    with tempfile.TemporaryDirectory(dir=args.workdir or None) as tmp:
        for n in args.buildings:
            r = run_size(n, Path(tmp), extra)
            naive = per_roof * r["assessed"]
            stages = ", ".join(f"{k} {v:.0f}s" for k, v in r["stages"].items())
            print(f"{r['n']:,} buildings ({r['assessed']:,} assessed): {r['wall_s'] / 60:.1f} min wall, peak {r['peak_gb']:.2f} GB; "
                  f"{stages}; naive ModelChain loop for the yield alone: {naive / 60:.0f} min "
                  f"({naive / r['wall_s']:.0f}x the whole solarmap run, {naive / max(r['stages'].get('yield', 0) or 1e-9, 1e-9):.0f}x its yield stage)")
            print(f"  rules' eligible buildings: {r['eligible']}; facades: {r['facades']}; roof planes: {r['planes']}")
            sys.stdout.flush()
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
