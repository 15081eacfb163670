"""Are two run folders the same? For checking that a speed-up changed no result.

Run: python benchmarks/compare_runs.py OLD_RUN_FOLDER NEW_RUN_FOLDER [--rtol 1e-6]
Compares every numeric column of roofs.parquet and hourly.parquet at full precision (relative to the old value)
and of facades.csv, roof_planes.csv, candidates.csv and roofs.csv as written, and every text column exactly.
Prints the largest relative difference per file and exits 1 when one exceeds ``--rtol`` or a text differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FILES = ("roofs.parquet", "hourly.parquet", "facades.csv", "roof_planes.csv", "candidates.csv", "roofs.csv")


def compare(old: pd.DataFrame, new: pd.DataFrame, name: str, rtol: float) -> tuple[float, list[str]]:
    problems: list[str] = []
    if len(old) != len(new) or list(old.columns) != list(new.columns):
        return np.inf, [f"{name}: {len(old)} vs {len(new)} rows or other columns"]
    worst = 0.0
    for c in old.columns:
        if c == "geometry":
            continue
        u, v = old[c], new[c]
        if pd.api.types.is_numeric_dtype(u) and not pd.api.types.is_bool_dtype(u):
            a, b = u.to_numpy(float), v.to_numpy(float)
            if (np.isnan(a) != np.isnan(b)).any():
                problems.append(f"{name}:{c}: missing values differ")
                continue
            ok = ~np.isnan(a)
            rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-9)
            r = float(rel.max()) if len(rel) else 0.0
            worst = max(worst, r)
            if r > rtol:
                problems.append(f"{name}:{c}: relative difference {r:.2e}")
        elif (u.fillna("").astype(str).to_numpy() != v.fillna("").astype(str).to_numpy()).any():
            problems.append(f"{name}:{c}: text differs")
    return worst, problems


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--rtol", type=float, default=1e-6)
    args = p.parse_args()
    bad = []
    for f in FILES:
        if not (args.old / f).exists():
            continue
        read = pd.read_parquet if f.endswith(".parquet") else (lambda path: pd.read_csv(path, low_memory=False))
        worst, problems = compare(read(args.old / f), read(args.new / f), f, args.rtol)
        print(f"{f}: largest relative difference {worst:.1e}")
        bad += problems
    for line in bad:
        print("DIFFERS", line)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
