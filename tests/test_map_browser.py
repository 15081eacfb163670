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

    def __init__(self, browser, html: Path, viewport=(1280, 800)):
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
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
            window.__target = window.solarmap.byId[id];
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


def _radio(page, theme: str):
    """Click the layer control's radio button of a thematic layer."""
    k = page.page.evaluate(f"window.solarmap.themes.indexOf('{theme}')")
    assert k >= 0, theme
    page.page.locator(".leaflet-control-layers-base input").nth(k).click()
    page.page.wait_for_timeout(150)


def _visible_legends(page) -> list[str]:
    return page.page.evaluate("""() => Array.from(document.querySelectorAll('.sm-legend-theme'))
        .filter(el => el.offsetParent !== null).map(el => el.getAttribute('data-theme'))""")


def _fills(page) -> dict:
    """Fill colour → number of roof polygons drawn with it."""
    return page.page.evaluate("""() => { const n = {}; document.querySelectorAll('path.leaflet-interactive')
        .forEach(p => { const f = p.getAttribute('fill'); n[f] = (n[f] || 0) + 1; }); return n; }""")


def test_one_thematic_layer_at_a_time_with_its_own_legend(browser, dapuqiao_run):
    roofs = pd.read_csv(dapuqiao_run / "dapuqiao" / "roofs.csv", encoding="utf-8-sig")
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    themes = page.page.evaluate("window.solarmap.themes")
    assert themes == ["specific", "annual", "shading", "payback", "public", "candidates", "excluded"]
    radios = page.page.locator(".leaflet-control-layers-base input")
    assert radios.count() == len(themes) and page.page.locator(".leaflet-control-layers-base input[type=radio]").count() == len(themes)
    assert _visible_legends(page) == ["specific"]
    for t in themes[::-1] + themes:
        _radio(page, t)
        assert _visible_legends(page) == [t]  # exactly one legend: the active layer's
        assert page.page.evaluate("window.solarmap.theme()") == t
        assert sum(radios.nth(k).is_checked() for k in range(len(themes))) == 1
        assert page.roof_paths() == len(roofs)  # one roof layer, restyled: every roof drawn once
    # the candidate layer: the picked roofs in their rule's colour, every other roof faint; the legend counts them
    _radio(page, "candidates")
    fills = _fills(page)
    picked = roofs["policy_candidate_for"].fillna("")
    assert fills.get("#eeeeee", 0) == int((picked == "").sum())
    colours = page.page.evaluate("window.solarmap.ruleColours")
    legend = page.page.locator('.sm-legend-theme[data-theme="candidates"]').inner_text()
    first = picked[picked != ""].str.split(",").str[0].value_counts()
    assert len(first) > 1
    for rule, n in first.items():
        assert f"{rule} ({n:,})" in legend
        assert fills.get(colours[rule], 0) == n  # each rule's roofs in its own colour
    # public institutions: with PV blue, without PV salmon, each counted in the legend
    _radio(page, "public")
    fills = _fills(page)
    pub = roofs["category"] == "public_institution"
    with_pv = pub & (roofs["existing_pv_kwp"].fillna(0) > 0)
    assert fills.get("#2166ac", 0) == int(with_pv.sum()) and fills.get("#f4a582", 0) == int((pub & ~with_pv).sum())
    legend = page.page.locator('.sm-legend-theme[data-theme="public"]').inner_text()
    assert f"({int(with_pv.sum()):,})" in legend and f"({int((pub & ~with_pv).sum()):,})" in legend
    # excluded roofs: one colour per reason, each reason listed with its count
    _radio(page, "excluded")
    legend = page.page.locator('.sm-legend-theme[data-theme="excluded"]').inner_text()
    for reason, n in roofs.loc[(roofs["assessment"] != "assessed") | ~roofs["suitable"].astype(bool), "reason"].value_counts().items():
        assert f"{reason} ({n:,})" in legend
    assert page.errors == []
    page.page.close()


def test_panels_collapse_expand_and_fit_1366x768(browser, dapuqiao_run):
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html", viewport=(1366, 768))
    boxes = {}
    for pid in ("sm-summary", "sm-legend", "sm-search"):
        boxes[pid] = page.page.locator(f"#{pid}").bounding_box()
    boxes["layers"] = page.page.locator(".leaflet-control-layers").bounding_box()
    for name, b in boxes.items():  # every panel inside the window
        assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= 1366 and b["y"] + b["height"] <= 768, name
    names = list(boxes)
    for i, a in enumerate(names):  # and none on another
        for c in names[i + 1:]:
            p, q = boxes[a], boxes[c]
            apart = (p["x"] + p["width"] <= q["x"] or q["x"] + q["width"] <= p["x"]
                     or p["y"] + p["height"] <= q["y"] or q["y"] + q["height"] <= p["y"])
            assert apart, (a, c)
    for pid in ("sm-summary", "sm-legend"):
        body = page.page.locator(f"#{pid}-body")
        button = page.page.locator(f"#{pid} .sm-toggle")
        assert body.is_visible() and button.get_attribute("aria-expanded") == "true"
        h_open = page.page.locator(f"#{pid}").bounding_box()["height"]
        button.click()
        assert not body.is_visible() and button.get_attribute("aria-expanded") == "false"
        assert page.page.locator(f"#{pid}").bounding_box()["height"] < min(40, h_open)
        button.click()
        assert body.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert page.errors == []
    page.page.close()


def test_search_finds_a_building_by_id_and_by_name_and_opens_its_popup(browser, dapuqiao_run):
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    box = page.page.locator("#sm-search-input")
    box.fill("dpq001155")  # any case
    box.press("Enter")
    page.page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert "DPQ001155" in page.page.locator(".leaflet-popup-content").inner_text()
    page.page.evaluate("window.solarmap.map.closePopup()")
    box.fill("打浦桥第1中学")
    hits = page.page.locator("#sm-search-results li[data-id]")
    assert hits.count() == 1
    hits.first.click()
    page.page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert "打浦桥第1中学" in page.page.locator(".leaflet-popup-content").inner_text()
    box.fill("no-such-building")
    assert page.page.locator("#sm-search-results li.sm-none").count() == 1
    assert page.errors == []
    page.page.close()


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh")
    assert main(["run", "dapuqiao", "--lang", "zh", "--out", str(out), "-q"]) == 0
    return out / "dapuqiao"


def test_lang_zh_shows_chinese_reasons_and_rule_statuses(browser, zh_run):
    roofs = pd.read_csv(zh_run / "roofs.csv", encoding="utf-8-sig")
    page = Page(browser, zh_run / "map.html")
    small = roofs.loc[roofs["reason"] == "too_small", "building_id"].iloc[0]
    popup = page.click_roof(small)
    assert "可用面积过小" in popup and "too_small" not in popup and "已排除" in popup
    status = roofs["policy_status"].fillna("")
    cand = roofs.loc[status.str.contains(r"candidate \d+/", regex=True), "building_id"].iloc[0]
    popup = page.click_roof(cand)
    assert "候选 第" in popup and "candidate" not in popup
    cannot = roofs.loc[status.str.contains("cannot count"), "building_id"]
    if len(cannot):
        popup = page.click_roof(cannot.iloc[0])
        assert "无法计入" in popup and "cannot count" not in popup
    _radio(page, "excluded")
    legend = page.page.locator('.sm-legend-theme[data-theme="excluded"]').inner_text()
    assert "边界外" in legend and "遮挡过重" in legend and "outside_boundary" not in legend
    _radio(page, "candidates")  # the candidate tooltip: the rank within the rule
    layer = roofs.loc[status.str.contains(r"candidate 1/", regex=True), "building_id"].iloc[0]
    tip = page.page.evaluate("(id) => { const l = window.solarmap.byId[id]; l.openTooltip(); "
                             "return l.getTooltip().getContent(); }", layer)
    assert "候选 第1/" in tip
    text = page.page.locator("body").inner_text()
    for english in ("outside_boundary", "too_small", "not compliant", "Legend", "Specific yield"):
        assert english not in text, english
    assert page.errors == []
    page.page.close()


def test_colour_breaks_are_the_same_for_two_different_runs(browser, dapuqiao_run, hostile_run, tmp_path):
    from solarmap.config import OutputConfig

    legends, breaks = [], []
    for html in (dapuqiao_run / "dapuqiao" / "map.html", hostile_run / "map.html"):
        page = Page(browser, html)
        breaks.append(page.page.evaluate("window.solarmap.breaks"))
        legends.append([page.page.locator(f'.sm-legend-theme[data-theme="{t}"] .sm-swatch').evaluate_all(
            "els => els.map(e => e.parentElement.textContent + e.style.background)") for t in ("specific", "annual")])
        page.page.close()
    assert breaks[0] == breaks[1]
    assert [x[:-1] for x in legends[0]] == [x[:-1] for x in legends[1]]  # the classes (the last row counts the excluded)
    assert len(legends[0][0]) == len(breaks[0]["specific"]) + 2
    o = OutputConfig()
    assert {k: breaks[0][k] for k in ("specific", "annual", "shading")} == {
        "specific": o.breaks_specific_yield, "annual": o.breaks_annual_mwh, "shading": o.breaks_shading_pct}
    # and the config sets them: an office can fix its own
    toml = tmp_path / "b.toml"
    toml.write_text(f'name = "b"\n[buildings]\npath = "{(hostile_run.parent.parent / "hostile.geojson").as_posix()}"\n'
                    "[output]\nbreaks_annual_mwh = [1, 2, 3]\n", encoding="utf-8")
    assert main(["run", str(toml), "--boundary", "none", "--no-shading", "--out", str(tmp_path / "o"), "-q"]) == 0
    page = Page(browser, tmp_path / "o" / "b" / "map.html")
    assert page.page.evaluate("window.solarmap.breaks.annual") == [1.0, 2.0, 3.0]
    assert page.page.locator('.sm-legend-theme[data-theme="annual"] .sm-swatch').count() == 4 + 1  # 4 classes + excluded
    page.page.close()


def test_tianditu_without_a_key_says_so(browser, hostile_run, tmp_path, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    src = hostile_run.parent.parent / "hostile.geojson"
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(src), "--boundary", "none", "--tiles", "tianditu", "--no-shading",
                 "--out", str(out), "-q"]) == 0
    page = Page(browser, out / "hostile" / "map.html")  # a run over hostile.geojson is named after it
    box = page.page.locator("#sm-summary .sm-warnings").inner_text()
    assert "Tianditu" in box and "TIANDITU_KEY" in box
    assert not any("tianditu" in u for u in page.blocked)  # no tile request with an empty key
    import json

    summary = json.loads((out / "hostile" / "summary.json").read_text(encoding="utf-8"))
    assert any("TIANDITU_KEY" in w for w in summary["warnings"])
    assert "TIANDITU_KEY" in (out / "hostile" / "report.html").read_text(encoding="utf-8")
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
    return out / "hostile"  # named after the file


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
    html = (out / "g" / "map.html").read_text(encoding="utf-8")
    assert "autonavi" in html and "GCJ-02" in html
    page = Page(browser, out / "g" / "map.html")
    drawn = page.page.evaluate("""() => { const o = window.solarmap.roofs; let pts = null;
        o.eachLayer(l => { pts = l.getLatLngs()[0].map(p => [p.lng, p.lat]); }); return pts; }""")
    corner = min(drawn, key=lambda p: (p[0] + p[1]))
    ref_lon, ref_lat = _gcj02_reference(lon, lat)
    dx = (corner[0] - ref_lon) * 111320 * math.cos(math.radians(lat))
    dy = (corner[1] - ref_lat) * 110540
    assert math.hypot(dx, dy) < 1.0  # within 1 m of the formula (the map stores 1e-6° ≈ 0.1 m)
    shift = math.hypot((ref_lon - lon) * 111320 * math.cos(math.radians(lat)), (ref_lat - lat) * 110540)
    assert 300 < shift < 700  # and really moved by the GCJ-02 offset (FACTS §2: 300-600 m in Shanghai)
    page.page.close()


def test_exclusion_zone_layer_draws_the_zone_roofs_and_popups_show_the_economics(browser, tmp_path):
    from test_exclusions import _grid, _zone_file

    _grid().to_file(tmp_path / "grid.geojson")
    zone = _zone_file(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(tmp_path / "grid.geojson"), "--boundary", "none",
                 "--exclude", f"{zone}:heritage", "--out", str(out), "-q"]) == 0
    page = Page(browser, out / "grid" / "map.html")
    assert page.errors == []
    n = page.page.evaluate("window.solarmap.roofCount")
    _radio(page, "zones")
    assert _visible_legends(page) == ["zones"]
    fills = _fills(page)
    assert fills.get("#4d4d4d", 0) == 5  # the five roofs in the zone, in the zone's colour
    assert page.roof_paths() == n  # every roof drawn once; the zone's outline is drawn but not clickable
    assert page.page.locator(".leaflet-overlay-pane path").count() == n + 1
    _radio(page, "specific")
    popup = page.click_roof("G10")
    assert "Payback" in popup and "NPV" in popup and "CNY" in popup
    popup = page.click_roof("G00")
    assert "heritage" in popup


def _map_ids(html: Path) -> list[str]:
    """The building ids a map file holds, read from its embedded data (independently of the page's code)."""
    import json
    import re

    text = html.read_text(encoding="utf-8")
    data = re.search(r"var D = (\{.*?\});\n", text).group(1).replace("<\\/", "</")
    return json.loads(data)["P"]["i"]


def test_every_roof_of_a_large_run_is_on_some_map(browser, tmp_path):
    """A city beyond engine.max_map_roofs (lowered to 400 here): subdistrict maps plus tile maps hold every roof."""
    import json

    assert main(["synth", "--buildings", "3000", "--out", str(tmp_path / "city.parquet")]) == 0
    toml = tmp_path / "city.toml"
    toml.write_text('name = "city"\n[buildings]\npath = "city.parquet"\n[engine]\nmax_map_roofs = 400\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(toml), "--boundary", "none", "--no-shading", "--out", str(out), "-q"]) == 0
    roofs = pd.read_csv(out / "city" / "roofs.csv", encoding="utf-8-sig")
    files = sorted((out / "city").glob("map_*.html"))
    kinds = {f.name.split("_")[1] for f in files}
    assert "tile" in kinds and len(kinds) > 1  # subdistrict maps for the roofs inside known outlines, tiles for the rest
    ids = [i for f in files for i in _map_ids(f)]
    assert len(ids) == len(set(ids))  # each roof on one map
    drawable = roofs.loc[roofs["assessment"] == "assessed", "building_id"]
    assert set(drawable) <= set(ids)  # every assessed roof is on some map
    assert len(ids) == len(roofs)  # and so is every excluded one (the synthetic city has no empty geometry)
    for f in files:
        assert len(_map_ids(f)) <= 400 and f.stat().st_size < 12 * 1024 * 1024
    index = (out / "city" / "map.html").read_text(encoding="utf-8")
    for f in files:
        assert f'href="{f.name}"' in index
    summary = json.loads((out / "city" / "summary.json").read_text(encoding="utf-8"))
    assert sum(m["roofs"] for m in summary["maps"]) == len(roofs)
    page = Page(browser, files[-1])
    assert page.errors == [] and page.page.evaluate("window.solarmap.roofCount") == len(_map_ids(files[-1]))
    page.page.close()


def test_report_units_labels_and_chinese_tables(zh_run, dapuqiao_run):
    import re

    both = (dapuqiao_run / "dapuqiao" / "report.html").read_text(encoding="utf-8")
    zh = (zh_run / "report.html").read_text(encoding="utf-8")
    for page in (both, zh):
        assert "CO₂ CO₂" not in page and "MWh/yr" not in page.split("<h2>")[0]  # the GWh figure is not labelled MWh/yr
        assert re.search(r"[\d.]+ GWh/(yr|年)</b>", page)
    rules = zh[zh.index('<table class="rules">'):]
    head = rules[:rules.index("</tr>")]
    assert "规则" in head and "状态" in head and "eligible" not in head and "status" not in head
    assert "边界外" in zh and "outside_boundary" not in zh and "Dapuqiao (打浦桥街道)" in zh
    # chart labels: every value label below the title band and no wider than its bar
    for svg in re.findall(r"<svg class=\"chart\".*?</svg>", both):
        title_y = float(re.search(r'<text x="[\d.]+" y="([\d.]+)" font-size="12"', svg).group(1))
        bar_w = float(re.search(r'<rect [^>]*width="([\d.]+)"', svg).group(1)) + 6
        for y, fs, text in re.findall(r'<text x="[\d.]+" y="([-\d.]+)" font-size="([\d.]+)" text-anchor="middle">([\d,]+)</text>', svg):
            assert float(y) - float(fs) >= title_y + 4, (y, fs)
            assert 0.6 * float(fs) * len(text) <= bar_w  # 0.6 em per digit, the usual advance of a sans digit


def test_report_prints_on_a4(browser, dapuqiao_run):
    """Chromium's print to PDF: A4 pages, at most three; the pages go to outputs/screenshots/ as PNG to look at."""
    import re
    import shutil
    import subprocess

    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto((dapuqiao_run / "dapuqiao" / "report.html").as_uri())
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595.9) < 2 and abs(float(h) - 842.9) < 2 for w, h in boxes)  # A4 in points
    assert 1 <= len(boxes) <= 3
    shots = REPO / "outputs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "report.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "90", str(shots / "report.pdf"), str(shots / "report-page")], check=True)


def test_screenshots_of_every_layer_at_1366x768(browser, dapuqiao_run):
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html", viewport=(1366, 768))
    shots = REPO / "outputs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for t in page.page.evaluate("window.solarmap.themes"):
        _radio(page, t)
        page.page.screenshot(path=str(shots / f"map-1366-{t}.png"))
    assert page.errors == []
    page.page.close()


def test_roof_planes_overlay_draws_every_plane(browser, dapuqiao_run):
    planes = pd.read_csv(dapuqiao_run / "dapuqiao" / "roof_planes.csv", encoding="utf-8-sig")
    assert len(planes) > 100
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    before = page.roof_paths()
    page.page.locator(".leaflet-control-layers").get_by_text("Roof planes", exact=False).click()
    page.page.wait_for_timeout(300)
    assert page.roof_paths() == before + len(planes) and page.errors == []
    page.page.close()


def test_facade_layer_draws_the_walls_as_lines(browser, dapuqiao_run):
    page = Page(browser, dapuqiao_run / "dapuqiao" / "map.html")
    assert page.errors == []
    n_facades = page.page.evaluate("window.solarmap.facadeCount")
    facades = pd.read_csv(dapuqiao_run / "dapuqiao" / "facades.csv", encoding="utf-8-sig")
    assert n_facades == int(facades["capacity_kwp"].notna().sum()) > 1000  # every facade with a capacity
    roofs = page.roof_paths()
    legend = page.page.locator(".sm-legend-facades")
    assert not legend.is_visible()  # an overlay, off until asked for
    control = page.page.locator(".leaflet-control-layers")
    control.get_by_text("Facade PV by yield", exact=False).click()
    page.page.wait_for_timeout(300)
    assert page.roof_paths() == roofs + n_facades  # one polyline per facade, over the roofs
    assert legend.is_visible()
    colours = page.page.evaluate("""() => { const s = new Set();
        window.solarmap.facades.eachLayer(l => s.add(l.options.color)); return [...s]; }""")
    assert len(colours) >= 4  # coloured by specific yield, not one colour
    south = facades[facades["suitable"]].sort_values("annual_kwh").iloc[-1]
    text = page.page.evaluate("""(id) => { let t = null; window.solarmap.facades.eachLayer(l => {
        if (l.feature.properties.i === id) { l.openPopup(); t = document.querySelector('.leaflet-popup-content').innerText; } });
        return t; }""", south["facade_id"])
    assert south["facade_id"] in text and "kWh/kWp" in text
    control.get_by_text("Facade PV by yield", exact=False).click()
    page.page.wait_for_timeout(200)
    assert page.roof_paths() == roofs and not legend.is_visible()
    page.page.close()


def test_warnings_are_in_chinese_on_the_report_and_the_map_under_lang_zh(browser, tmp_path):
    """A run with four different warnings (GCJ-02 coordinates, duplicate ids, no building-use column, the pipeline's
    dropped column mappings) under --lang zh: every one has its Chinese text in summary.json, and the report's
    and the map's warning boxes show it, with the numbers and file names of the English one."""
    import json

    from solarmap.resources import sample_buildings
    from solarmap.sources.coords import wgs84_to_gcj02

    src = gpd.read_file(sample_buildings("dapuqiao")).drop(columns=["euluc_class", "kind"])
    xy = shapely.get_coordinates(src.geometry.to_numpy())
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    src["geometry"] = shapely.set_coordinates(src.geometry.to_numpy().copy(), list(zip(lon, lat, strict=True)))
    src.loc[src.index[:3], "building_id"] = "same"
    path = tmp_path / "gcj.gpkg"
    src.to_file(path, driver="GPKG")
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--buildings", str(path), "--lang", "zh", "--no-shading", "--out", str(out),
                 "-q"]) == 0
    run = out / "gcj"
    details = json.loads((run / "summary.json").read_text(encoding="utf-8"))["warning_details"]
    kinds = {w["kind"] for w in details}
    assert {"GCJ02Warning", "CategoryWarning", "InputDataWarning", "ConfigWarning"} <= kinds, kinds
    assert all(w["message_zh"] and w["message"] for w in details)
    by_kind = {w["kind"]: w for w in details}
    expect = {  # the Chinese text each warning must show, with the English one's values
        "GCJ02Warning": "建筑轮廓的坐标疑似 GCJ-02（高德、腾讯）",
        "CategoryWarning": "未找到建筑用途（用地性质）字段",
        "ConfigWarning": "配置文件的字段映射",
    }
    dup = next(w for w in details if "duplicate building ids" in w["message"])
    assert dup["message_zh"] == f"{path}：2 个重复的建筑编号已加 #n 后缀以示区分"
    gcj = by_kind["GCJ02Warning"]
    pcts = [s for s in gcj["message"].split() if s.endswith("%")]
    assert len(pcts) == 2 and all(p in gcj["message_zh"] for p in pcts)  # the same shares, in the Chinese text
    assert "category_column='euluc_class'" in by_kind["ConfigWarning"]["message_zh"]
    report = (run / "report.html").read_text(encoding="utf-8")
    box = report[report.index('class="sm-warnings"'):report.index("</ul>", report.index('class="sm-warnings"'))]
    for text in [*expect.values(), dup["message_zh"]]:
        assert text in box, text
    assert "look like GCJ-02" not in box and "duplicate building ids" not in box  # not the English as well
    page = Page(browser, run / "map.html", viewport=(1366, 768))
    shown = page.page.locator("#sm-summary .sm-warnings").inner_text()
    for text in [*expect.values(), dup["message_zh"]]:
        assert text in shown, text
    assert "look like GCJ-02" not in shown and "本次运行的注意事项" in shown
    assert page.errors == []
    page.page.close()


def test_economics_line_and_popups_say_each_label_and_unit_once(browser, zh_run, dapuqiao_run):
    """The panel's economics line and the popups: each label and unit once, in the chosen language, from the column
    registry ("投资 9,495 万元 · 回收期（中位数）5.3 年", "Capex 95.0 M CNY · median payback 5.3 yr"), never
    "投资 CNY Capex CNY … 回收期 yr Payback yr"."""
    import json
    import re

    from solarmap.columns import COLUMNS
    from solarmap.report import maps

    summary = json.loads((dapuqiao_run / "dapuqiao" / "summary.json").read_text(encoding="utf-8"))
    econ = summary["economics"]["total"]
    p50 = econ["payback_years_p10_p50_p90"][1]
    zh = f"投资 {econ['capex_cny'] / 1e4:,.0f} 万元 · 回收期（中位数）{p50:.1f} 年"
    en = f"Capex {econ['capex_cny'] / 1e6:,.1f} M CNY · median payback {p50:.1f} yr"
    assert maps.economics_line(econ, "zh") == zh and maps.economics_line(econ, "en") == en
    both = maps.economics_line(econ, "both")
    assert both.count("投资") == both.count("Capex") == both.count("CNY") == 1 and both.count("yr") == 1
    for lang in ("zh", "en", "both"):
        panel = maps._summary_html(summary, lang)
        assert not re.search(r"(CNY|yr|元|年)\s*(Capex|Payback|payback|回收期)", panel), lang  # a unit then a label
        assert "投资 CNY" not in panel and "Capex CNY" not in panel and "Payback yr" not in panel, lang
    zh_map = (zh_run / "map.html").read_text(encoding="utf-8")
    assert zh in zh_map and "M CNY" not in zh_map
    for key, col in (("capex", "capex_cny"), ("payback", "payback_years"), ("savings", "annual_savings_cny")):
        c = COLUMNS[col]
        assert maps.label(key, "zh") == f"{c.zh}（{c.unit_in('zh')}）" and "CNY" not in maps.label(key, "zh")
        assert maps.label(key, "en") == f"{c.label} {c.unit}"  # English as before
        assert maps.label(key, "both") == f"{c.zh} {c.label} {c.unit}"  # the unit once
    assert maps.label("co2_roof", "both").count("CO₂") == 1
    # the zh popup: Chinese units (元, 年), no English unit or label
    roofs = pd.read_csv(zh_run / "roofs.csv", encoding="utf-8-sig")
    one = roofs[roofs["suitable"].astype(bool) & (roofs["name"].fillna("") == "")]["building_id"].iloc[0]
    page = Page(browser, zh_run / "map.html")
    popup = page.click_roof(one)
    assert "投资（元）" in popup and "回收期（年）" in popup and "年减排CO₂（吨/年）" in popup
    assert not re.search(r"CNY|Capex|Payback|\byr\b", popup), popup
    assert "名称" not in popup  # no empty name row
    assert page.errors == []
    page.page.close()
    # the report's economics section in Chinese, its heading without a unit
    report = (zh_run / "report.html").read_text(encoding="utf-8")
    section = report[report.index("<h2>投资与回收期</h2>"):]
    section = section[:section.index("<h2>", 5)]
    assert "百万元" in section and "假设：折现率" in section and "capex" not in section and "Assumptions" not in section
