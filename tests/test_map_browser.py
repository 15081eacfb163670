"""The map in a real browser: headless Debian Chromium driven by playwright, every network request blocked."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from conftest import REPO
from solarmap.cli import main

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install -y chromium)")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "\"'><svg onload=alert(3)>"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A page opened from file:// with every non-file request aborted and every error and dialog recorded."""

    def __init__(self, browser, html: Path):
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.errors, self.dialogs, self.blocked = [], [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function("window.solarmap !== undefined", timeout=30000)

    def roof_paths(self) -> int:
        return self.page.locator("path.leaflet-interactive").count()

    def click_roof(self, building_id: str) -> str:
        """Zoom to a roof, click its centre with the mouse, and return the popup's text."""
        self.page.evaluate("""(id) => {
            window.solarmap.map.closePopup();
            const o = Object.values(window.solarmap.overlays)[0];
            o.eachLayer(l => { if (l.feature.properties.i === id) { window.__target = l; } });
            window.solarmap.map.fitBounds(window.__target.getBounds(), {maxZoom: 19, animate: false});
        }""", building_id)
        self.page.wait_for_timeout(700)  # beyond the double-click interval: two clicks at one spot would zoom
        x, y = self.page.evaluate("""() => {
            const m = window.solarmap.map, c = window.__target.getBounds().getCenter();
            const p = m.latLngToContainerPoint(c), r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""")
        self.page.mouse.click(x, y)
        self.page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        return self.page.locator(".leaflet-popup-content").inner_text()


def test_map_works_offline_draws_every_roof_and_opens_popups(browser, dapuqiao_run):
    html = dapuqiao_run / "dapuqiao" / "map.html"
    text = html.read_text(encoding="utf-8")
    assert "cdn." not in text.split("<body>")[0] and "<script src=" not in text and '<link rel="stylesheet" href="http' not in text
    page = Page(browser, html)
    assert page.errors == []
    assert page.page.evaluate("typeof L.map") == "function"
    roofs = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    assert page.page.evaluate("window.solarmap.roofCount") == len(roofs)
    assert page.roof_paths() == len(roofs)
    big = roofs[roofs["assessment"] == "assessed"].sort_values("roof_area_m2").iloc[-1]
    popup = page.click_roof(big["building_id"])
    assert big["building_id"] in popup
    assert "kWp" in popup and f"{big['capacity_kwp']:,.1f}" in popup
    shot = REPO / "outputs" / "screenshots" / "map-dapuqiao.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.page.close()


def test_toggling_a_layer_hides_its_polygons(browser, dapuqiao_run):
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    n = page.roof_paths()
    assert n > 1000
    control = page.page.locator(".leaflet-control-layers")
    control.get_by_text("Specific yield", exact=False).click()
    page.page.wait_for_timeout(200)
    assert page.roof_paths() == 0
    control.get_by_text("Shading loss (%)", exact=False).click()
    page.page.wait_for_timeout(200)
    assessed = page.page.evaluate("window.solarmap.roofCount")
    assert 0 < page.roof_paths() < assessed  # the shading layer draws assessed roofs only
    page.page.close()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    x0, y0 = 352400.0, 3453400.0
    boxes = [shapely.box(x0 + 40 * i, y0, x0 + 40 * i + 25, y0 + 20) for i in range(3)]
    g = gpd.GeoDataFrame({"building_id": ["X1", "X2", "X3"], "name": HOSTILE, "height_m": [20.0, 22.0, 18.0]},
                         geometry=boxes, crs="EPSG:32651").to_crs(4326)
    path = tmp / "hostile.geojson"
    g.to_file(path)
    out = tmp / "out"
    assert main(["run", "dapuqiao", "--buildings", str(path), "--boundary", "none", "--out", str(out), "-q"]) == 0
    return out / "dapuqiao"


def test_hostile_names_show_as_text_and_run_nothing(browser, hostile_run):
    page = Page(browser, hostile_run / "map.html")
    for bid, name in zip(["X1", "X2", "X3"], HOSTILE, strict=True):
        popup = page.click_roof(bid)
        assert name in popup
    page.page.wait_for_timeout(300)
    assert page.dialogs == [] and page.errors == []
    assert page.page.locator("img[src='x']").count() == 0 and page.page.locator("svg[onload]").count() == 0
    page.page.close()


def _gcj02_reference(lon: float, lat: float) -> tuple[float, float]:
    """The public GCJ-02 formula, written here independently of solarmap (scalar math, as published)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    dlon = (dlon * 180.0) / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def test_amap_tiles_draw_roofs_at_their_gcj02_position(browser, tmp_path):
    lon, lat = 121.4700000, 31.2100000  # the roof's south-west corner, WGS84
    g = gpd.GeoDataFrame({"building_id": ["G1"], "height_m": [20.0]},
                         geometry=[shapely.box(lon, lat, lon + 0.0003, lat + 0.0002)], crs=4326)
    path = tmp_path / "g.geojson"
    g.to_file(path)
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(path), "--boundary", "none", "--tiles", "amap", "--out", str(out),
                 "--no-shading", "-q"]) == 0
    html = (out / "dapuqiao" / "map.html").read_text(encoding="utf-8")
    assert "autonavi" in html and "GCJ-02" in html
    page = Page(browser, out / "dapuqiao" / "map.html")
    drawn = page.page.evaluate("""() => { const o = Object.values(window.solarmap.overlays)[0]; let pts = null;
        o.eachLayer(l => { pts = l.getLatLngs()[0].map(p => [p.lng, p.lat]); }); return pts; }""")
    corner = min(drawn, key=lambda p: (p[0] + p[1]))
    ref_lon, ref_lat = _gcj02_reference(lon, lat)
    dx = (corner[0] - ref_lon) * 111320 * math.cos(math.radians(lat))
    dy = (corner[1] - ref_lat) * 110540
    assert math.hypot(dx, dy) < 1.0  # within 1 m of the formula (the map stores 1e-6° ≈ 0.1 m)
    shift = math.hypot((ref_lon - lon) * 111320 * math.cos(math.radians(lat)), (ref_lat - lat) * 110540)
    assert 300 < shift < 700  # and really moved by the GCJ-02 offset (FACTS §2: 300-600 m in Shanghai)
    page.page.close()


def test_candidate_layer_draws_the_roofs_picked_by_the_rules(browser, dapuqiao_run):
    roofs = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    picked = int((roofs["policy_candidate_for"].fillna("") != "").sum())
    assert picked > 0
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    control = page.page.locator(".leaflet-control-layers")
    control.get_by_text("Specific yield", exact=False).click()  # hide the all-roofs layer
    control.get_by_text("Policy candidate roofs", exact=False).click()
    page.page.wait_for_timeout(200)
    assert page.roof_paths() == picked
    page.page.close()


def test_exclusion_zone_layer_draws_the_zone_roofs_and_popups_show_the_economics(browser, tmp_path):
    from test_exclusions import _grid, _zone_file

    _grid().to_file(tmp_path / "grid.geojson")
    zone = _zone_file(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(tmp_path / "grid.geojson"), "--boundary", "none",
                 "--exclude", f"{zone}:heritage", "--out", str(out), "-q"]) == 0
    page = Page(browser, out / "dapuqiao" / "map.html")
    assert page.errors == []
    control = page.page.locator(".leaflet-control-layers")
    control.get_by_text("Specific yield", exact=False).click()  # hide the all-roofs layer
    control.get_by_text("Exclusion zones and flagged roofs", exact=False).click()
    page.page.wait_for_timeout(200)
    assert page.roof_paths() == 5  # the five roofs in the zone (its outline is drawn but not clickable)
    assert page.page.locator(".leaflet-overlay-pane path").count() == 6
    control.get_by_text("Exclusion zones and flagged roofs", exact=False).click()
    control.get_by_text("Specific yield", exact=False).click()
    popup = page.click_roof("G10")
    assert "Payback" in popup and "NPV" in popup and "CNY" in popup
    popup = page.click_roof("G00")
    assert "heritage" in popup
    page.page.close()
