"""The policy stage alone on synthetic rows (no geometry): its time must grow linearly with the rows.

Rows carry the columns the rules read, with Dapuqiao-like shares of categories (FACTS §3's EULUC shares), stages,
existing PV and suitability, spread over ten subdistricts, so every rule of every shipped set has thousands of
eligible buildings. Run: python benchmarks/bench_policy.py [ROWS ...] (default 50000 200000); prints seconds per
rule set and the ratio between the sizes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solarmap.config import Config  # noqa: E402
from solarmap.policy import apply_rules  # noqa: E402
from solarmap.rules import list_rule_sets, load_rule_set  # noqa: E402

CATEGORIES = {"residential": 0.51, "commercial": 0.245, "other": 0.12, "public_institution": 0.12,
              "other_public": 0.01, "industrial": 0.005}
USES = {"residential": "residential", "commercial": "office", "other": "unknown", "public_institution": "education",
        "other_public": "transport", "industrial": "industrial"}


def synthetic_rows(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cat = rng.choice(list(CATEGORIES), size=n, p=np.array(list(CATEGORIES.values())) / sum(CATEGORIES.values()))
    roof = rng.lognormal(np.log(220), 0.9, n)
    assessed = rng.random(n) < 0.7
    suitable = assessed & (rng.random(n) < 0.8)
    cap = np.where(assessed, roof * 0.45 * 0.68 * 0.215, np.nan)
    sy = np.where(assessed, rng.normal(1150, 60, n), np.nan)
    pv = np.where(rng.random(n) < 0.04, rng.uniform(5, 50, n), 0.0)
    return pd.DataFrame({
        "building_id": [f"B{i:07d}" for i in range(n)], "category": cat, "use_class": [USES[c] for c in cat],
        "stage": np.where(rng.random(n) < 0.1, "new", "existing"), "in_boundary": True,
        "subdistrict": rng.choice([f"s{k}" for k in range(10)], size=n),
        "assessment": np.where(assessed, "assessed", "excluded"), "reason": np.where(assessed, "", "too_small"),
        "suitable": suitable, "roof_area_m2": roof, "usable_area_m2": np.where(assessed, roof * 0.45, np.nan),
        "capacity_kwp": cap, "annual_kwh": cap * sy, "specific_yield_kwh_per_kwp": sy, "existing_pv_kwp": pv,
        "ground_coverage_ratio": np.where(assessed, 0.68, np.nan), "height_m": rng.uniform(6, 80, n),
        "floors": rng.integers(1, 25, n).astype(float),
    })


def main(sizes: list[int]) -> None:
    cfg = Config()
    frames = {n: synthetic_rows(n) for n in sizes}
    times: dict[str, dict[int, float]] = {}
    for rs in list_rule_sets():
        rule_set = load_rule_set(rs["path"])
        for n, df in frames.items():
            best = np.inf
            for _ in range(3):
                t0 = time.perf_counter()
                _, results, _ = apply_rules(df, rule_set, cfg)
                best = min(best, time.perf_counter() - t0)
            eligible = sum(r.get("eligible_buildings", 0) for r in results)
            times.setdefault(rs["name"], {})[n] = best
            print(f"{rs['name']:16} {n:>8,} rows  {best:7.3f} s  (best of 3; {eligible:,} eligible over the rules)")
    if len(sizes) == 2:
        a, b = sizes
        for name, t in times.items():
            print(f"{name:16} time ratio {t[b] / t[a]:.2f} for {b / a:.0f}× the rows")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [50_000, 200_000])
