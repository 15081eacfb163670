"""The join of a tiled run's roof rows, alone: ``python benchmarks/bench_join.py [--rows N] [--tiles T] [--way W]``.

Builds T tiles' results shaped like a city run's roof table (64 float, 8 integer, 4 boolean and 16 text columns,
N rows in all), compacts them as the tiles do and joins them in the input's order, in a fresh process per way:
``columns`` (:func:`solarmap.tiles._join`, column by column, glibc's heap trimmed every eight columns),
``frames`` (pd.concat of the tiles' frames, then ``.loc``, as before 2026-12-01). Prints the resident set before
the join and its peak during it (sampled every 20 ms) [GB].
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e9


def one(rows: int, n_tiles: int, way: str) -> None:
    import numpy as np
    import pandas as pd

    from solarmap import tiles

    rng = np.random.default_rng(1)
    order = rng.permutation(rows)
    cuts = np.linspace(0, rows, n_tiles + 1).astype(int)
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        idx = np.sort(order[a:b])
        n = len(idx)
        cols = {f"f{i}": rng.random(n) for i in range(64)}
        cols |= {f"i{i}": rng.integers(0, 9, n) for i in range(8)}
        cols |= {f"b{i}": rng.random(n) < 0.5 for i in range(4)}
        cols |= {f"s{i}": np.array([f"v{j % 97}" for j in range(n)], dtype=object) for i in range(16)}
        parts.append(tiles._columns(pd.DataFrame(cols, index=pd.Index(idx))))
    index = pd.RangeIndex(rows)
    tiles.give_back_freed_memory()
    before, peak, done = _rss_gb(), [0.0], [False]

    def sample():
        while not done[0]:
            peak[0] = max(peak[0], _rss_gb())
            time.sleep(0.02)

    th = threading.Thread(target=sample)
    th.start()
    t0 = time.perf_counter()
    if way == "columns":
        joined = parts[0].index.append([t.index for t in parts[1:]])
        out = tiles._join(parts, joined.get_indexer(index), index=index)
    else:
        out = pd.concat([pd.DataFrame(t.columns, index=t.index, copy=False) for t in parts]).loc[index]
    parts.clear()
    wall = time.perf_counter() - t0
    done[0] = True
    th.join()
    print(f"{way}: {rows:,} rows in {n_tiles} tiles, {out.shape[1]} columns: before {before:.2f} GB, peak "
          f"{peak[0]:.2f} GB (+{peak[0] - before:.2f}), {wall:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tiles", type=int, default=169)
    ap.add_argument("--way", choices=["columns", "frames", "both"], default="both")
    a = ap.parse_args()
    if a.way != "both":
        one(a.rows, a.tiles, a.way)
        return
    for way in ("frames", "columns"):  # each in a process of its own: a fresh heap
        subprocess.run([sys.executable, __file__, "--rows", str(a.rows), "--tiles", str(a.tiles), "--way", way], check=True)


if __name__ == "__main__":
    main()
