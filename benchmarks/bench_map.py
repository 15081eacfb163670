"""Map size and browser load time at Huangpu scale (about 20,000 roofs).

Run: python benchmarks/bench_map.py --buildings 20000
Writes a synthetic city, runs the pipeline on it (shading on, boundary none), then opens map.html from file://
in headless Chromium with the network blocked and times until every layer is built.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, synthetic_city  # noqa: E402

from solarmap.cli import main as cli  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--buildings", type=int, default=20000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = synthetic_city(args.buildings).to_crs(4326)
        path = Path(tmp) / "city.parquet"
        city.to_parquet(path)
        t0 = time.perf_counter()
        cli(["run", "dapuqiao", "--buildings", str(path), "--boundary", "none", "--name", "city", "--out", tmp, "-q"])
        t_run = time.perf_counter() - t0
        html = Path(tmp) / "city" / "map.html"
        size_mb = html.stat().st_size / 1e6
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = b.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            t0 = time.perf_counter()
            page.goto(html.as_uri())
            page.wait_for_function("window.solarmap !== undefined", timeout=120000)
            t_load = time.perf_counter() - t0
            drawn = page.locator("path.leaflet-interactive").count()
            b.close()
    print(f"roofs {len(city):,}; pipeline {t_run:.1f} s; map.html {size_mb:.1f} MB; browser load to ready {t_load:.1f} s; "
          f"polygons drawn {drawn:,}")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
