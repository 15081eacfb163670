"""Where a run's memory goes: its resident set sampled every 0.25 s, labelled with the step it was in.

Run: python benchmarks/bench_memory.py CITY.parquet [--out DIR] [--samples FILE.csv]
(``solarmap synth --buildings 1000000 --out CITY.parquet`` writes a city.) The run is ``solarmap run dapuqiao
--buildings CITY --boundary none`` in this process, so the sampler sees it: a thread reads /proc/self/statm
(Linux) and notes which writer of the output stage is running (each writer is wrapped to say so). Printed:
per step its start [s], the resident set at its start and its largest [GB], and the tile phase minute by minute.
The peak of /proc/self/statm, sampled, can miss a spike of less than 0.25 s; `/usr/bin/time -v` gives the exact
high-water mark (bench_scale.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import threading
import time

STEPS = (("solarmap.report.export", ("write_roofs_csv", "write_geodata", "write_planes", "write_facades")),
         ("solarmap.pipeline", ("_write_maps", "_write_hourly")), ("solarmap.store", ("write_run",)))


def resident_gb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("city")
    ap.add_argument("--out", default="")
    ap.add_argument("--samples", default="", help="write every sample (seconds, GB, step) to this CSV")
    args = ap.parse_args()
    import importlib

    step = ["assessment (ingest, tiles, economics, policy, hourly)"]
    def labelled(f, name):
        def wrapped(*a, **k):
            step[0] = name
            try:
                return f(*a, **k)
            finally:
                step[0] = f"output stage after {name}"
        return wrapped

    from solarmap import assessment

    stage_of = assessment.Stages.stage
    in_tiles = [False]

    def stage(self, name):  # the assessment's own stages (not each tile's: those are "tiles")
        if not in_tiles[0]:
            step[0] = f"assessment: {name}"
        return stage_of(self, name)

    assessment.Stages.stage = stage
    tiled = assessment.assess_in_tiles

    def tiles(*a, **k):
        step[0], in_tiles[0] = "assessment: tiles (and their join)", True
        try:
            return tiled(*a, **k)
        finally:
            step[0], in_tiles[0] = "assessment: after the tiles", False

    assessment.assess_in_tiles = tiles
    for module, names in STEPS:  # label the output stage's writers
        mod = importlib.import_module(module)
        for name in names:
            setattr(mod, name, labelled(getattr(mod, name), name))
    samples: list[tuple[float, float, str]] = []
    done = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter() - t0, resident_gb(), step[0]))
            time.sleep(0.25)

    threading.Thread(target=sample, daemon=True).start()
    from solarmap.cli import main as cli

    out = args.out or tempfile.mkdtemp(prefix="bench_memory_")
    code = cli(["run", "dapuqiao", "--buildings", args.city, "--boundary", "none", "--name", "city", "--out", out, "-q"])
    done.set()
    wall = time.perf_counter() - t0
    if code:
        raise SystemExit(code)
    if args.samples:
        with open(args.samples, "w", newline="") as fh:
            csv.writer(fh).writerows(samples)
    print(f"wall {wall:.0f} s, sampled peak {max(r for _, r, _ in samples):.2f} GB, outputs in {out}")
    steps: list[list] = []
    for t, r, s in samples:
        if not steps or steps[-1][3] != s:
            steps.append([t, r, r, s])
        steps[-1][2] = max(steps[-1][2], r)
    print(f"{'from':>8} {'at start':>9} {'largest':>8}  step")
    for t, r0, rm, s in steps:
        print(f"{t:7.0f}s {r0:8.2f}G {rm:7.2f}G  {s}")
    print("assessment, minute by minute [s, GB]:",
          ", ".join(f"{t:.0f} {r:.2f}" for t, r, s in samples[::240] if s.startswith("assessment: tiles")))


if __name__ == "__main__":
    sys.exit(main())
