"""Map sizes and browser load times of a large run: every roof on some map, no map file over 12 MB.

Run: python benchmarks/bench_map.py --buildings 60000 [--keep DIR]
Writes a synthetic city with ``solarmap synth``, runs ``solarmap run dapuqiao --buildings city.parquet --boundary none``
(shading on), then counts the roofs each map file holds (read from the embedded data, not from the log) and opens
every map from file:// in headless Chromium with the network blocked, timing until the page's roof layer is built.
Above ``engine.max_map_roofs`` (50,000) the run writes subdistrict maps and tile maps and a map.html index.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from solarmap.cli import main as cli  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def map_ids(html: Path) -> list[str]:
    text = html.read_text(encoding="utf-8")
    return json.loads(re.search(r"var D = (\{.*?\});\n", text).group(1).replace("<\\/", "</"))["P"]["i"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--buildings", type=int, default=60000)
    p.add_argument("--keep", help="folder to keep the city and the run in (default: a temporary folder)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        city = base / "city.parquet"
        cli(["synth", "--buildings", str(args.buildings), "--out", str(city)])
        t0 = time.perf_counter()
        cli(["run", "dapuqiao", "--buildings", str(city), "--boundary", "none", "--name", "city", "--out", str(base / "out")])
        t_run = time.perf_counter() - t0
        folder = base / "out" / "city"
        roofs = pd.read_parquet(folder / "roofs.parquet", columns=["building_id", "assessment"])
        files = sorted(folder.glob("map_*.html")) or [folder / "map.html"]
        # and one map at the limit: the first engine.max_map_roofs (50,000) roofs drawn together
        import geopandas as gpd
        import shapely

        from solarmap.report import maps

        full = gpd.read_parquet(folder / "roofs.parquet")
        part = full.iloc[:50000]
        metric = part.to_crs(32651)
        part = part.set_geometry(gpd.GeoSeries(shapely.simplify(metric.geometry.to_numpy(), 0.5), crs=32651).to_crs(4326).values)
        t0 = time.perf_counter()
        single = base / "map_50000.html"
        single.write_text(maps.render_map(part, summary=json.loads((folder / "summary.json").read_text(encoding="utf-8"))),
                          encoding="utf-8")
        t_render = time.perf_counter() - t0
        files = [*files, single]
        from playwright.sync_api import sync_playwright

        rows, seen = [], []
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for f in files:
                ids = map_ids(f)
                if f.name != "map_50000.html":
                    seen += ids
                page = b.new_page(viewport={"width": 1366, "height": 768})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
                t0 = time.perf_counter()
                page.goto(f.as_uri())
                page.wait_for_function("window.solarmap !== undefined", timeout=300000)
                t_load = time.perf_counter() - t0
                page.close()
                rows.append((f.name, len(ids), f.stat().st_size / 1e6, t_load))
            b.close()
    assessed = set(roofs.loc[roofs["assessment"] == "assessed", "building_id"])
    print(f"roofs {len(roofs):,} ({len(assessed):,} assessed); pipeline {t_run:.0f} s; {len(files)} map file(s)")
    print("| map | roofs | MB | load to ready (s) |\n|---|---:|---:|---:|")
    for name, n, mb, t in rows:
        print(f"| {name} | {n:,} | {mb:.1f} | {t:.1f} |")
    print(f"roofs on some map: {len(set(seen)):,} of {len(roofs):,}; assessed roofs missing: {len(assessed - set(seen)):,}; "
          f"largest file {max(r[2] for r in rows):.1f} MB")
    print(f"map_50000.html rendered in {t_render:.1f} s (not counted above: the run's own maps are)")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
