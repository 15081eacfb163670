"""The interactive map: one self-contained HTML file that works with no network.

Leaflet's JavaScript and CSS are inlined from the installed ``xstatic-leaflet`` package (no CDN tag). The roofs are
embedded once, in a compact columnar form (integer coordinate deltas, categorical codes), and drawn by one Leaflet
layer; the thematic layers (specific yield, annual potential, shading loss, public institutions, policy candidates,
excluded roofs) are radio buttons that restyle it, each with its own legend. Colour breaks are fixed in the config
(``output.breaks_*``) so that maps of different runs and offices compare. Panels collapse; a search box finds a
roof by id or name and opens its popup. The facades (when they ran) are an overlay of lines along the walls,
coloured by specific yield, with their own legend. Every value from the data reaches the page through an escaping
function, so a building named ``<img src=x onerror=alert(1)>`` shows as text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.columns import COLUMNS, FACADE_COLUMNS, REASONS_ZH, reason_label
from solarmap.policy import result_status
from solarmap.sources.coords import wgs84_to_gcj02

LABELS = {
    "title": ("屋顶光伏潜力", "Rooftop PV potential"),
    "status": ("状态", "Status"),
    "rules": ("政策", "Rules"),
    "layer_specific": ("单位产能 (kWh/kWp/年)", "Specific yield (kWh/kWp/yr)"),
    "layer_annual": ("年发电潜力 (MWh/年)", "Annual potential (MWh/yr)"),
    "layer_shading": ("遮挡损失 (%)", "Shading loss (%)"),
    "layer_public": ("公共机构 有/无光伏", "Public institutions with / without PV"),
    "layer_candidates": ("政策候选屋顶（按规则）", "Policy candidate roofs (by rule)"),
    "layer_excluded": ("已排除与不适宜屋顶（原因）", "Excluded and unsuitable roofs (reason)"),
    "legend": ("图例", "Legend"),
    "summary_panel": ("概况", "Summary"),
    "search": ("搜索楼号或名称", "Search building id or name"),
    "no_match": ("未找到", "no match"),
    "other_roofs": ("其他屋顶", "other roofs"),
    "excluded_see": ("已排除（原因见“已排除”图层）", "excluded (reason: see the excluded layer)"),
    "no_data": ("无数据", "no data"),
    "public_with_pv": ("公共机构 · 已有光伏", "public institution · with PV"),
    "public_without_pv": ("公共机构 · 尚无光伏", "public institution · without PV"),
    "rank_note": ("悬停或点击屋顶：规则内排名 k/N（总排名 #）", "hover or click a roof: rank within the rule k/N (overall #)"),
    "multi_rule": ("同时为多条规则候选的屋顶按第一条规则着色", "a roof picked by several rules takes the first rule's colour"),
    "unsuitable_shaded": ("已评估但不适宜", "assessed but not suitable"),
    "suitable_roof": ("适宜屋顶", "suitable roof"),
    "tiles_key": ("天地图底图需要密钥（output.tianditu_key 或环境变量 TIANDITU_KEY），本图未加载底图",
                  "The Tianditu basemap needs a key (output.tianditu_key or the TIANDITU_KEY environment variable): "
                  "this map is drawn without a basemap"),
    "breaks_note": ("色阶为固定分级（配置 output.breaks_*），各次运行可直接比较",
                    "fixed colour breaks (config output.breaks_*): maps of different runs compare"),
    "roofs_on_map": ("本图屋顶", "roofs on this map"),
    "annual_gen": ("年发电量", "annual generation"),
    "median_shading": ("遮挡损失（中位数）", "shading loss (median)"),
    "by_reason": ("已排除与不适宜屋顶（按原因）", "Roofs excluded or not suitable, by reason"),
    "th_rule": ("规则", "rule"), "th_subdistrict": ("街道", "subdistrict"), "th_text": ("内容", "text"),
    "th_eligible": ("适用建筑", "eligible"), "th_with_pv": ("已有光伏", "with PV"),
    "th_by_count": ("按栋数", "by count"), "th_by_gross": ("按屋顶面积", "by gross area"),
    "th_by_installable": ("按可装面积", "by installable area"), "th_status": ("状态", "status"),
    "th_short_n": ("缺口（栋）", "shortfall buildings"), "th_short_kwp": ("缺口 (kWp)", "shortfall (kWp)"),
    "th_reason": ("原因", "reason"), "th_count": ("屋顶数", "roofs"),
    "run": ("运行", "run"), "weather_src": ("气象数据", "weather"),
    "th_short_capex": ("补足投资 (百万元)", "capex to close (M CNY)"), "th_zones": ("排除区剔除", "removed by zones"),
    "th_category": ("类别", "category"), "th_pb10": ("回收期 p10", "payback p10"), "th_pb50": ("p50", "p50"),
    "th_pb90": ("p90", "p90"), "th_lcoe": ("度电成本 p50 (元/kWh)", "LCOE p50 (CNY/kWh)"),
    "layer_outline": ("街道边界", "Subdistrict outline"),
    "assessed": ("已评估", "assessed"),
    "excluded": ("已排除", "excluded"),
    "with_pv": ("有光伏", "with PV"),
    "without_pv": ("无光伏", "without PV"),
    "roofs": ("屋顶", "Roofs"),
    "potential": ("潜力", "Potential"),
    "co2": ("年减排 CO₂", "CO₂ avoided per year"),
    "gcj": ("几何已转换为 GCJ-02 以匹配高德底图", "Geometries drawn in GCJ-02 to match the AMap basemap"),
    "compliant": ("达标", "compliant"),
    "suitable_roofs": ("适宜屋顶", "suitable roofs"),
    "all_assessed": ("全部已评估屋顶（含遮挡严重的）", "all assessed roofs (shaded ones too)"),
    "warnings": ("本次运行的注意事项", "Warnings of this run"),
    "economics": ("投资与回收期", "Capex and payback"),
    "h_set": ("组合", "set"), "h_peak_kw": ("峰值 kW", "peak kW"), "h_peak_hour": ("峰值时段（起始）", "peak hour (start)"),
    "h_cf": ("容量系数", "capacity factor"), "h_gwh": ("GWh/年", "GWh/yr"),
    "not_closable": ("候选屋顶不足以补足", "cannot be closed with the candidates"),
    "excluded_shaded": ("个遮挡过重，不计入适宜", "too shaded to count as suitable"),
    "not_compliant": ("未达标", "not compliant"),
    "not_applicable": ("不适用", "not applicable"),
    "category_column": ("用途字段", "Building-use column"),
    "category_none": ("未找到 (全部计为其他)", "none found (all counted as other)"),
    "monthly": ("各街道逐月发电量 (MWh)", "Monthly generation per subdistrict (MWh)"),
    "v_public_institution": ("公共机构", "public institution"),
    "v_other_public": ("其他公共建筑", "other public"),
    "v_commercial": ("商业办公", "commercial"),
    "v_industrial": ("工业", "industrial"),
    "v_residential": ("住宅", "residential"),
    "v_other": ("其他", "other"),
    "v_new": ("新建", "new"),
    "v_existing": ("既有", "existing"),
    "v_assessed": ("已评估", "assessed"),
    "v_excluded": ("已排除", "excluded"),
    "v_exclude": ("排除", "exclude"),
    "v_flag": ("标记", "flag"),
    "layer_payback": ("静态回收期 (年)", "Simple payback (years)"),
    "layer_zones": ("排除区与标记屋顶", "Exclusion zones and flagged roofs"),
    "layer_planes": ("坡屋面 (kWh/kWp)", "Roof planes (kWh/kWp)"),
    "zone_excluded": ("区内排除", "excluded by a zone"),
    "zone_flagged": ("区内标记", "flagged by a zone"),
    "zone_outlines": ("排除区边界", "Exclusion zone outlines"),
    # facades: the overlay's name must not contain "Specific yield" (the roofs' layer is found by that text)
    "layer_facades": ("光伏幕墙 立面单位产能 (kWh/kWp/年)", "Facade PV by yield (kWh/kWp/yr)"),
    "facades": ("光伏幕墙", "Facade PV"),
    "facade_unsuitable": ("虚线：不适宜的立面（原因见弹窗）", "dashed: facade not suitable (reason in its popup)"),
    "by_orientation": ("立面朝向", "Facades by orientation"),
    "o_N": ("北", "north"), "o_E": ("东", "east"), "o_S": ("南", "south"), "o_W": ("西", "west"),
    "th_facades": ("立面数", "facades"), "th_suitable": ("适宜", "suitable"),
    "th_f_mwp": ("装机 MWp（适宜）", "MWp (suitable)"), "th_f_gwh": ("年发电 GWh（适宜）", "GWh/yr (suitable)"),
    "th_f_gwh_all": ("年发电 GWh（全部有容量的立面）", "GWh/yr (every facade with a capacity)"),
    "th_f_loss": ("遮挡损失 %（适宜）", "shading loss % (suitable)"),
    "f_not_suitable": ("不适宜的立面", "facades not suitable"),
}

#: popup labels from the column registry (name and unit as in the CSV)
_POPUP_COLUMNS = {"id": "building_id", "name": "name", "category": "category", "stage": "stage",
                  "roof_area": "roof_area_m2", "usable_area": "usable_area_m2", "capacity": "capacity_kwp",
                  "annual": "annual_kwh", "specific": "specific_yield_kwh_per_kwp", "shading": "shading_loss_pct",
                  "existing_pv": "existing_pv_kwp", "rank": "candidate_rank", "capex": "capex_cny",
                  "savings": "annual_savings_cny", "payback": "payback_years", "npv": "npv_cny",
                  "co2_roof": "co2_t_per_year", "zone": "exclusion_zone"}
LABELS.update({k: (COLUMNS[c].display("zh"), COLUMNS[c].display("en")) for k, c in _POPUP_COLUMNS.items()})
#: facade popup labels, from the facade registry
_FACADE_POPUP = {"f_id": "facade_id", "f_az": "surface_azimuth_deg", "f_len": "length_m", "f_from": "exposed_from_m",
                 "f_to": "exposed_to_m", "f_usable": "usable_area_m2", "f_cap": "capacity_kwp", "f_e": "annual_kwh",
                 "f_sy": "specific_yield_kwh_per_kwp", "f_svf": "sky_view_factor", "f_sl": "shading_loss_pct",
                 "f_reason": "reason"}
LABELS.update({k: (FACADE_COLUMNS[c].display("zh"), FACADE_COLUMNS[c].display("en")) for k, c in _FACADE_POPUP.items()})
#: facade colour breaks [kWh/kWp/yr]: vertical walls yield about 300 (north) to 800 (south) in Shanghai
FACADE_BREAKS = [300.0, 400.0, 500.0, 600.0, 700.0, 800.0]

#
TILES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", None),
    "carto": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png", "© OpenStreetMap contributors © CARTO", "abcd"),
    "tianditu": ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
                 "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY", "© 天地图 Tianditu", "01234567"),
    "amap": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
             "© 高德地图 AMap (GCJ-02)", "1234"),
}


#: "both" labels where "zh en" would repeat a word ("年减排 CO₂ CO₂ avoided"); a column's label and unit come once
#: ("投资 Capex CNY", not "投资 CNY Capex CNY")
_BOTH = {"co2": "年减排 CO₂ · avoided per year",
         **{k: COLUMNS[c].display("both") for k, c in _POPUP_COLUMNS.items()},
         **{k: FACADE_COLUMNS[c].display("both") for k, c in _FACADE_POPUP.items()}}


def label(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return zh if lang == "zh" else en if lang == "en" else _BOTH.get(key, f"{zh} {en}")


_CJK = re.compile(r"[\u3400-\u9fff]")


def rule_text(text: str, lang: str) -> str:
    """A rule's text in the chosen language: the shipped rule files write ``中文 · English``; with ``zh`` or ``en``
    the one half, with ``both`` (or a text not so written) the whole."""
    text = str(text or "")
    zh, sep, en = text.partition(" · ")
    if lang == "both" or not sep or not _CJK.search(zh) or _CJK.search(en):
        return text
    return zh if lang == "zh" else en


def gwh_per_year(lang: str) -> str:
    return "GWh/年" if lang == "zh" else "GWh/yr"


def status_label(result: dict, lang: str) -> str:
    """达标 compliant / 未达标 not compliant / 不适用 not applicable, for a policy result or overview line."""
    return label(result_status(result), lang)


PAYBACK_BREAKS = [4, 6, 8, 10, 15]  # years; fixed like the config's breaks
ZONE_COLORS = {"exclude": "#4d4d4d", "flag": "#ff7f00"}
RAMP = ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850", "#006837"]
RAMP_LOSS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000"]
#: one colour per rule of the candidate layer (in the rule set's order), then per reason of the excluded layer
RULE_COLOURS = ["#762a83", "#e7298a", "#1b9e77", "#d95f02", "#7570b3", "#66a61e", "#e6ab02", "#a6761d"]
REASON_COLOURS = {"outside_boundary": "#9e9e9e", "shaded": "#4d4d4d", "too_small": "#e08214", "covered": "#8073ac",
                  "no_height": "#b2182b", "invalid_geometry": "#000000"}
OTHER_REASON_COLOUR = "#c51b7d"
GREY, FAINT = "#bbbbbb", "#eeeeee"


def _colours(ramp: list[str], n: int) -> list[str]:
    """``n`` colours spread over a ramp (n classes for n - 1 breaks)."""
    if n >= len(ramp):
        return list(ramp[:n])
    idx = np.round(np.linspace(0, len(ramp) - 1, n)).astype(int)
    return [ramp[i] for i in idx]


def _leaflet_assets() -> tuple[str, str]:
    import xstatic.pkg.leaflet as xl

    base = Path(xl.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    # no external images: layer-control and marker icons are not used by this map
    css = css.replace("url(images/", "url(data:,")
    return js.replace("</script", "<\\/script"), css


def _to_gcj02(geoms: np.ndarray) -> np.ndarray:
    def conv(xy):
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, conv)


def _round_coords(geoms: np.ndarray, digits: int = 6) -> np.ndarray:
    return shapely.set_precision(geoms, 10.0**-digits, mode="pointwise")


_CANDIDATE = re.compile(r"candidate (\d+)/(\d+)(?: \(#(\d+)\))?|candidate(?= |$|;)")
_CANNOT = re.compile(r"cannot count: (excluded|not suitable) \(([^)]*)\)")
_USABLE = re.compile(r"cannot count: usable area is (\d+%) of the roof, below (\d+%)")


def status_text(text: str, lang: str) -> str:
    """A roof's ``policy_status`` in the chosen language ("HP-2: candidate 3/19 (#873)" → "HP-2: 候选 第3/19 (总排名 #873)")."""
    if not text or lang == "en":
        return _CANNOT.sub(lambda m: f"cannot count: {m.group(1)} ({m.group(2)})",
                           _CANDIDATE.sub(lambda m: (f"candidate {m.group(1)}/{m.group(2)}"
                                                     + (f" (#{m.group(3)} overall)" if m.group(3) else ""))
                                          if m.group(1) else "candidate", text or ""))

    def cand(m):
        if not m.group(1):
            return "候选"
        return f"候选 第{m.group(1)}/{m.group(2)}" + (f"（总排名 #{m.group(3)}）" if m.group(3) else "")

    zh = _CANDIDATE.sub(cand, text)
    zh = _CANNOT.sub(lambda m: f"无法计入：{'已排除' if m.group(1) == 'excluded' else '不适宜'}（"
                     f"{REASONS_ZH.get(m.group(2), m.group(2))}）", zh)
    zh = _USABLE.sub(lambda m: f"无法计入：可用面积为屋顶的 {m.group(1)}，低于 {m.group(2)}", zh)
    return zh if lang == "zh" else f"{zh} · {status_text(text, 'en')}"


def _translate(values: np.ndarray, fn) -> list[str]:
    """``fn`` applied once per distinct value (statuses and reasons repeat)."""
    s = pd.Series(values, dtype=object).fillna("").astype(str)
    uniq = {u: fn(u) for u in s.unique()}
    return s.map(uniq).tolist()


def _codes(values) -> tuple[list[int], list[str]]:
    """Categorical encoding: per-roof codes into a list of distinct values."""
    cat = pd.Categorical(pd.Series(values, dtype=object).fillna("").astype(str))
    return cat.codes.tolist(), [str(c) for c in cat.categories]


def _numbers(values: np.ndarray, nd: int) -> list:
    """Numbers for the page's JSON: rounded to ``nd`` decimals, integers when ``nd`` is 0, None where not finite
    (a missing value, or an infinite one JSON cannot hold). Whole columns at once, not value by value."""
    v = np.round(np.asarray(values, dtype=float), nd)
    ok = np.isfinite(v)
    out = (np.where(ok, v, 0.0).astype(np.int64) if nd == 0 else v).tolist()
    for i in np.flatnonzero(~ok).tolist():
        out[i] = None
    return out


def _geometry_arrays(geoms: np.ndarray, digits: int) -> dict:
    """Polygons as one flat list of integer coordinate deltas (units of 10^-digits °) with ring, part and feature
    offsets: a third of the size of GeoJSON text, decoded in the page."""
    geoms = shapely.force_2d(geoms)
    # points, lines and nulls (rows kept as invalid_geometry) are drawn as nothing
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    geoms = np.where(polygonal, geoms, shapely.Polygon())
    typ, coords, offsets = shapely.to_ragged_array(geoms)
    if typ == shapely.GeometryType.POLYGON:  # every feature a single polygon: one part each
        ring_off, feat_rings = offsets
        part_off = np.asarray(feat_rings)
        feat_off = np.arange(len(part_off))
    else:
        ring_off, part_off, feat_off = offsets
    scale = 10.0**digits
    origin = coords.min(axis=0) if len(coords) else np.zeros(2)
    q = np.round((coords - origin) * scale).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.asarray(ring_off[:-1], dtype=np.int64)
    starts = starts[starts < len(q)]
    d[starts] = q[starts]  # each ring starts from the origin
    return {"o": [round(float(origin[0]), digits), round(float(origin[1]), digits)], "s": scale,
            "c": d.ravel().tolist(), "r": np.asarray(ring_off).tolist(), "p": np.asarray(part_off).tolist(),
            "f": np.asarray(feat_off).tolist()}


def _data(roofs: gpd.GeoDataFrame, digits: int, lang: str) -> str:
    """The roofs as compact columnar JSON (see :func:`_geometry_arrays`); numbers rounded, categories coded."""

    def col(name, default=""):
        return roofs[name].to_numpy() if name in roofs.columns else np.full(len(roofs), default, dtype=object)

    def text(name):
        return pd.Series(col(name), dtype=object).fillna("").astype(str).tolist()

    def num(name, nd):
        return _numbers(roofs[name].to_numpy(dtype=float) if name in roofs.columns else np.full(len(roofs), np.nan), nd)

    props = {"i": text("building_id"), "n": text("name"),
             "ra": num("roof_area_m2", 0), "ua": num("usable_area_m2", 0), "kw": num("capacity_kwp", 1),
             "e": num("annual_kwh", -2 if len(roofs) > 20000 else 0), "sy": num("specific_yield_kwh_per_kwp", 0),
             "sl": num("shading_loss_pct", 1), "pv": num("existing_pv_kwp", 1)}
    if "capex_cny" in roofs.columns:  # the economics stage ran
        props.update({"cx": num("capex_cny", 0), "sv": num("annual_savings_cny", 0), "pb": num("payback_years", 1),
                      "np": num("npv_cny", 0), "co": num("co2_t_per_year", 1)})
    coded = {"c": col("category"), "s": col("stage"), "a": col("assessment"), "r": col("reason"),
             "ok": np.where(roofs["suitable"].fillna(False).astype(bool), "1", "0") if "suitable" in roofs.columns
             else np.full(len(roofs), "1", dtype=object),
             "cf": col("policy_candidate_for"), "ez": col("exclusion_zone"), "ea": col("exclusion_action"),
             "rl": _translate(col("reason"), lambda r: reason_label(r, lang)),
             "ru": _translate(col("policy_status"), lambda t: status_text(t, lang))}
    cats = {}
    for k, v in coded.items():
        codes, values = _codes(v)
        props[k] = codes
        cats[k] = values
    data = {"g": _geometry_arrays(roofs.geometry.to_numpy(), digits), "P": props, "C": cats, "n": len(roofs)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _facade_data(facades: gpd.GeoDataFrame, digits: int, lang: str = "both") -> str | None:
    """The facades with a capacity as compact columnar JSON: each wall's two ends as integer offsets (units of
    10^-digits °) from one origin, numbers rounded, reasons coded; None when there is none."""
    f = facades[np.isfinite(facades["capacity_kwp"].to_numpy(dtype=float))]
    f = f[~(f.geometry.is_empty | f.geometry.isna())]
    if not len(f):
        return None
    xy = shapely.get_coordinates(f.geometry.to_numpy()).reshape(len(f), 2, 2)
    scale = 10.0**digits
    origin = xy.reshape(-1, 2).min(axis=0)
    q = np.round((xy - origin) * scale).astype(np.int64).reshape(-1)

    def num(name, nd):
        return _numbers(f[name].to_numpy(dtype=float), nd)

    codes, reasons = _codes(f["reason"].to_numpy())
    data = {"o": [round(float(origin[0]), digits), round(float(origin[1]), digits)], "s": scale, "c": q.tolist(),
            "n": len(f), "P": {"i": f["facade_id"].astype(str).tolist(), "az": num("surface_azimuth_deg", 0),
                               "len": num("length_m", 1), "fr": num("exposed_from_m", 1), "to": num("exposed_to_m", 1),
                               "ua": num("usable_area_m2", 0), "kw": num("capacity_kwp", 1), "e": num("annual_kwh", 0),
                               "sy": num("specific_yield_kwh_per_kwp", 0), "sv": num("sky_view_factor", 2),
                               "sl": num("shading_loss_pct", 1), "ok": [bool(x) for x in f["suitable"]], "r": codes},
            "R": [reason_label(r, lang) for r in reasons]}  # the reasons in the chosen language
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_JS = r"""
window.addEventListener('DOMContentLoaded', function() {
  var map = %(map)s;
  var D = %(data)s;
  var L10N = %(labels)s;
  var CFG = %(cfg)s;
  function esc(v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"'`]/g, function(c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;'}[c];
    });
  }
  function fmt(v) { return (v === null || v === undefined) ? '–' : Number(v).toLocaleString('en-US'); }
  function tr(v) { return L10N['v_' + v] || v; }
  function ramp(v, breaks, colors) {
    if (v === null || v === undefined) return '#bbbbbb';
    for (var k = 0; k < breaks.length; k++) { if (v < breaks[k]) return colors[k]; }
    return colors[breaks.length];
  }
  // decode the columnar roofs into GeoJSON features
  var G = D.g, P = D.P, C = D.C, features = [];
  for (var k = 0; k < D.n; k++) {
    var parts = [];
    for (var pi = G.f[k]; pi < G.f[k + 1]; pi++) {
      var rings = [];
      for (var ri = G.p[pi]; ri < G.p[pi + 1]; ri++) {
        var ring = [], x = 0, y = 0;
        for (var ci = G.r[ri]; ci < G.r[ri + 1]; ci++) {
          x += G.c[2 * ci]; y += G.c[2 * ci + 1];
          ring.push([G.o[0] + x / G.s, G.o[1] + y / G.s]);
        }
        rings.push(ring);
      }
      parts.push(rings);
    }
    if (!parts.length) continue;
    var props = {};
    for (var key in P) { props[key] = (key in C) ? C[key][P[key][k]] : P[key][k]; }
    features.push({type: 'Feature', properties: props,
      geometry: parts.length === 1 ? {type: 'Polygon', coordinates: parts[0]} : {type: 'MultiPolygon', coordinates: parts}});
  }
  function statusText(p) {
    var s = tr(p.a);
    if (p.a === 'assessed' && p.ok === '0') s = L10N.unsuitable_shaded;
    return s + (p.rl ? ' (' + p.rl + ')' : '');
  }
  function popup(p) {
    var rows = [['id', p.i]].concat(p.n ? [['name', p.n]] : []).concat([['category', tr(p.c)], ['stage', tr(p.s)],
      ['status', statusText(p)], ['roof_area', fmt(p.ra)], ['usable_area', fmt(p.ua)],
      ['capacity', fmt(p.kw)], ['annual', fmt(p.e)], ['specific', fmt(p.sy)], ['shading', fmt(p.sl)],
      ['existing_pv', fmt(p.pv)]]);
    if (p.cx !== null && p.cx !== undefined) {
      rows.push(['capex', fmt(p.cx)], ['savings', fmt(p.sv)], ['payback', fmt(p.pb)], ['npv', fmt(p.np)],
                ['co2_roof', fmt(p.co)]);
    }
    if (p.ez) rows.push(['zone', p.ez + ' (' + tr(p.ea) + ')']);
    if (p.ru) rows.push(['rules', p.ru]);
    var html = '<table class="sm-popup">';
    rows.forEach(function(r) { html += '<tr><th>' + esc(L10N[r[0]]) + '</th><td>' + esc(r[1]) + '</td></tr>'; });
    return html + '</table>';
  }
  var faint = {fillColor: '#eeeeee', fillOpacity: 0.35, color: '#999999', weight: 0.3};
  var THEMES = {
    specific: function(p) { return p.a === 'assessed' ? {fillColor: ramp(p.sy, CFG.breaks.specific, CFG.colours.specific)} : {fillColor: '#bbbbbb'}; },
    annual: function(p) { return p.a === 'assessed' ? {fillColor: ramp(p.e === null ? null : p.e / 1000, CFG.breaks.annual, CFG.colours.annual)} : {fillColor: '#bbbbbb'}; },
    shading: function(p) { return p.a === 'assessed' ? {fillColor: ramp(p.sl, CFG.breaks.shading, CFG.colours.shading)} : {fillColor: '#bbbbbb'}; },
    payback: function(p) { return (p.pb !== null && p.pb !== undefined) ? {fillColor: ramp(p.pb, CFG.breaks.payback, CFG.colours.payback)} : {fillColor: '#bbbbbb'}; },
    zones: function(p) { return p.ez ? {fillColor: CFG.zone_colours[p.ea] || '#000000'} : faint; },
    public: function(p) { return p.c === 'public_institution' ? {fillColor: p.pv > 0 ? '#2166ac' : '#f4a582'} : faint; },
    candidates: function(p) { return p.cf ? {fillColor: CFG.rule_colours[p.cf.split(',')[0]] || '#762a83'} : faint; },
    excluded: function(p) {
      if (p.a === 'assessed' && p.ok !== '0') return faint;
      return {fillColor: CFG.reason_colours[p.r] || CFG.other_reason_colour};
    }
  };
  var theme = CFG.themes[0];
  function style(f) {
    var s = THEMES[theme](f.properties), o = {weight: 0.6, color: '#333333', fillOpacity: 0.75};
    for (var k in s) o[k] = s[k];
    return o;
  }
  var byId = {};
  var roofs = L.geoJSON({type: 'FeatureCollection', features: features}, {
    style: style,
    onEachFeature: function(f, lyr) {
      byId[f.properties.i] = lyr;
      lyr.bindPopup(function() { return popup(f.properties); }, {maxWidth: 360});
    }
  }).addTo(map);
  function tooltips(on) {  // the candidate layer's roofs tell their rule and their rank within it on hover
    roofs.eachLayer(function(l) {
      var q = l.feature.properties;
      if (!q.cf) return;
      if (on) l.bindTooltip(esc(q.ru || q.cf), {direction: 'top'}); else l.unbindTooltip();
    });
  }
  function setTheme(name) {
    theme = name;
    roofs.setStyle(style);
    document.querySelectorAll('.sm-legend-theme').forEach(function(el) {
      el.style.display = el.getAttribute('data-theme') === name ? '' : 'none';
    });
    tooltips(name === 'candidates');
  }
  var bases = {}, groups = {};
  CFG.themes.forEach(function(t) { var g = L.layerGroup(); g._smTheme = t; groups[t] = g; bases[esc(L10N['layer_' + t])] = g; });
  groups[theme].addTo(map);
  var overlays = {};
  var outline = %(outline)s;
  if (outline) {
    overlays[esc(L10N.layer_outline)] = L.geoJSON(outline, {style: {color: '#000000', weight: 2.5, fill: false, dashArray: '6 4'}, interactive: false});
    overlays[esc(L10N.layer_outline)].addTo(map);
  }
  var zones = %(zones)s;
  if (zones.features.length) {  // the planner's exclusion zones: outlines, coloured by what they do
    overlays[esc(L10N.zone_outlines)] = L.geoJSON(zones, {style: function(f) { return {color: CFG.zone_colours[f.properties.action] || '#000000',
      weight: 2, dashArray: '4 3', fillOpacity: 0.08}; }, interactive: false}).addTo(map);
  }
  var planes = %(planes)s;
  if (planes) {  // pitched roofs plane by plane: used planes by specific yield, the others grey with their reason
    overlays[esc(L10N.layer_planes)] = L.geoJSON(planes, {
      style: function(f) { var q = f.properties; return {fillColor: q.u ? ramp(q.sy, CFG.breaks.specific, CFG.colours.specific) : '#bbbbbb',
        weight: 0.4, color: '#333333', fillOpacity: 0.85}; },
      onEachFeature: function(f, lyr) { var q = f.properties; lyr.bindPopup(esc(q.i + ' / ' + q.k) + '<br>' + esc(fmt(q.t))
        + '° · ' + esc(fmt(q.az)) + '° · ' + esc(fmt(q.kw)) + ' kWp · ' + esc(fmt(q.sy)) + ' kWh/kWp' + (q.r ? ' · ' + esc(q.r) : '')); }
    });
  }
  var F = %(facades)s, facades = null;
  if (F) {  // the facades: walls as lines coloured by specific yield (unsuitable ones dashed), an overlay
    var ff = [];
    for (var j = 0; j < F.n; j++) {
      var q = {};
      for (var key in F.P) q[key] = F.P[key][j];
      q.r = F.R[q.r];
      var c = F.c, o = F.o;
      ff.push({type: 'Feature', properties: q, geometry: {type: 'LineString', coordinates: [
        [o[0] + c[4 * j] / F.s, o[1] + c[4 * j + 1] / F.s], [o[0] + c[4 * j + 2] / F.s, o[1] + c[4 * j + 3] / F.s]]}});
    }
    var facadePopup = function(p) {
      var rows = [['f_id', p.i], ['f_az', fmt(p.az)], ['f_len', fmt(p.len)], ['f_from', fmt(p.fr)], ['f_to', fmt(p.to)],
        ['f_usable', fmt(p.ua)], ['f_cap', fmt(p.kw)], ['f_e', fmt(p.e)], ['f_sy', fmt(p.sy)], ['f_svf', fmt(p.sv)],
        ['f_sl', fmt(p.sl)]];
      if (p.r) rows.push(['f_reason', p.r]);
      var html = '<table class="sm-popup">';
      rows.forEach(function(r) { html += '<tr><th>' + esc(L10N[r[0]]) + '</th><td>' + esc(r[1]) + '</td></tr>'; });
      return html + '</table>';
    };
    facades = L.geoJSON({type: 'FeatureCollection', features: ff}, {
      style: function(f) {
        var p = f.properties;
        return {color: ramp(p.sy, CFG.facade_breaks, CFG.facade_colours), weight: 3, opacity: 0.9,
                dashArray: p.ok ? null : '4 4'};
      },
      onEachFeature: function(f, lyr) { lyr.bindPopup(function() { return facadePopup(f.properties); }, {maxWidth: 360}); }
    });
    overlays[esc(L10N.layer_facades)] = facades;
    var facadeLegend = function(on) {
      document.querySelectorAll('.sm-legend-facades').forEach(function(el) { el.style.display = on ? '' : 'none'; });
    };
    map.on('overlayadd', function(e) { if (e.layer === facades) facadeLegend(true); });
    map.on('overlayremove', function(e) { if (e.layer === facades) facadeLegend(false); });
  }
  map.on('baselayerchange', function(e) { setTheme(e.layer._smTheme); });
  function panel(id, position) {
    var el = document.getElementById(id);
    var c = L.control({position: position});
    c.onAdd = function() { L.DomEvent.disableClickPropagation(el); L.DomEvent.disableScrollPropagation(el); el.style.display = ''; return el; };
    c.addTo(map);
    return el;
  }
  panel('sm-summary', 'topleft');
  panel('sm-search', 'topright');
  L.control.layers(bases, overlays, {collapsed: false, position: 'topright'}).addTo(map);
  panel('sm-legend', 'bottomright');
  L.control.scale({position: 'bottomleft'}).addTo(map);
  document.querySelectorAll('.sm-toggle').forEach(function(b) {
    b.addEventListener('click', function() {
      var body = document.getElementById(b.getAttribute('aria-controls'));
      var open = b.getAttribute('aria-expanded') !== 'true';
      body.style.display = open ? '' : 'none';
      b.setAttribute('aria-expanded', open ? 'true' : 'false');
      b.querySelector('.sm-arrow').textContent = open ? '▾' : '▸';
    });
  });
  if (window.innerHeight < 700 || window.innerWidth < 900) {  // small screens: the summary starts folded
    var sb = document.querySelector('#sm-summary .sm-toggle'); if (sb) sb.click();
  }
  function search(q) {
    q = String(q || '').trim().toLowerCase();
    if (!q) return [];
    var exact = [], prefix = [], named = [];
    for (var j = 0; j < features.length; j++) {
      var p = features[j].properties, id = p.i.toLowerCase();
      if (id === q) exact.push(p.i);
      else if (id.indexOf(q) === 0) prefix.push(p.i);
      else if (p.n && p.n.toLowerCase().indexOf(q) >= 0) named.push(p.i);
      if (exact.length + prefix.length + named.length > 50) break;
    }
    return exact.concat(prefix, named).slice(0, 8);
  }
  function show(id) {
    var l = byId[id];
    if (!l) return false;
    map.fitBounds(l.getBounds(), {maxZoom: 18, animate: false});
    l.openPopup(l.getBounds().getCenter());
    return true;
  }
  var input = document.getElementById('sm-search-input'), list = document.getElementById('sm-search-results');
  function listMatches() {
    var ids = search(input.value);
    list.innerHTML = ids.length ? ids.map(function(id) {
      var n = byId[id].feature.properties.n;
      return '<li data-id="' + esc(id) + '">' + esc(id) + (n ? ' · ' + esc(n) : '') + '</li>';
    }).join('') : (input.value.trim() ? '<li class="sm-none">' + esc(L10N.no_match) + '</li>' : '');
    return ids;
  }
  input.addEventListener('input', listMatches);
  input.addEventListener('keydown', function(e) { if (e.key === 'Enter') { var ids = listMatches(); if (ids.length) show(ids[0]); } });
  list.addEventListener('click', function(e) { var li = e.target.closest('li[data-id]'); if (li) show(li.getAttribute('data-id')); });
  setTheme(theme);
  var bounds = roofs.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
  window.solarmap = {map: map, roofs: roofs, themes: CFG.themes, setTheme: setTheme, theme: function() { return theme; },
                     search: search, show: show, byId: byId, roofCount: features.length, breaks: CFG.breaks,
                     ruleColours: CFG.rule_colours, facades: facades, facadeCount: F ? F.n : 0};
});
"""

_CSS = """
.sm-popup th { text-align: left; padding-right: 8px; font-weight: 600; vertical-align: top; }
.sm-popup td, .sm-popup th { font-size: 12px; }
.sm-panel { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 4px; font: 12px/1.4 sans-serif;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 330px; }
.sm-panel h4 { margin: 2px 0 4px 0; font-size: 13px; }
.sm-body .sm-summary { box-shadow: none; background: none; padding: 0; max-width: none; }
.sm-toggle { all: unset; cursor: pointer; font-weight: 600; font-size: 13px; display: block; width: 100%; }
.sm-toggle:focus-visible { outline: 2px solid #2166ac; }
.sm-body { margin-top: 4px; overflow-y: auto; }
#sm-summary .sm-body { max-height: calc(100vh - 150px); }
#sm-legend .sm-body { max-height: calc(100vh - 380px); min-height: 60px; }
.sm-swatch { display: inline-block; width: 14px; height: 10px; margin-right: 4px; border: 1px solid #555; vertical-align: -1px; }
.sm-note { color: #555; font-size: 11px; margin-top: 3px; }
.sm-warnings { margin-top: 6px; padding: 4px 6px; background: #fff4ce; border: 1px solid #d9a400; max-height: 160px;
  overflow-y: auto; }
.sm-warnings ul { margin: 2px 0 0 0; padding-left: 16px; }
.sm-warnings .sm-en { color: #555; font-size: 0.95em; }
#sm-search input { width: 200px; font-size: 12px; padding: 3px 4px; }
#sm-search ul { list-style: none; margin: 2px 0 0 0; padding: 0; max-width: 240px; }
#sm-search li { cursor: pointer; padding: 2px 3px; font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#sm-search li:hover { background: #e8eef7; }
.leaflet-control-layers { font: 12px/1.4 sans-serif; }
"""


def _swatch(colour: str, text: str, *, faint: bool = False) -> str:
    style = f"background:{colour}" + (";opacity:0.5" if faint else "")
    return f'<div><span class="sm-swatch" style="{style}"></span>{text}</div>'


def _ramp_rows(breaks: list[float], colours: list[str], unit: str) -> str:
    out = []
    edges = [None, *breaks, None]
    for k, c in enumerate(colours):
        lo, hi = edges[k], edges[k + 1]
        text = f"< {hi:,g}" if lo is None else f"≥ {lo:,g}" if hi is None else f"{lo:,g}–{hi:,g}"
        out.append(_swatch(c, f"{text} {unit}"))
    return "".join(out)


def _legends(lang: str, themes: list[str], breaks: dict, colours: dict, roofs: gpd.GeoDataFrame, rule_colours: dict,
             amap: bool, has_facades: bool = False) -> str:
    """One legend per thematic layer (only the active one is shown), each explaining every colour it uses."""
    n_excl = int((roofs["assessment"] == "excluded").sum()) if "assessment" in roofs.columns else 0
    excl = _swatch(GREY, f"{_esc(label('excluded_see', lang))} ({n_excl:,})")
    other = _swatch(FAINT, _esc(label("other_roofs", lang)), faint=True)
    units = {"specific": "kWh/kWp", "annual": "MWh", "shading": "%", "payback": "yr" if lang != "zh" else "年"}
    blocks = {}
    for t in ("specific", "annual", "shading", "payback"):
        blocks[t] = (_ramp_rows(breaks[t], colours[t], units[t]) + excl
                     + f'<div class="sm-note">{_esc(label("breaks_note", lang))}</div>')
    cat = roofs["category"].astype(str).to_numpy() if "category" in roofs.columns else np.array([], dtype=str)
    pv = np.nan_to_num(roofs["existing_pv_kwp"].to_numpy(dtype=float)) if "existing_pv_kwp" in roofs.columns else np.zeros(len(cat))
    pub = cat == "public_institution"
    blocks["public"] = (_swatch("#2166ac", f"{_esc(label('public_with_pv', lang))} ({int((pub & (pv > 0)).sum()):,})")
                        + _swatch("#f4a582", f"{_esc(label('public_without_pv', lang))} ({int((pub & ~(pv > 0)).sum()):,})")
                        + other)
    cf = roofs["policy_candidate_for"].fillna("").astype(str) if "policy_candidate_for" in roofs.columns else pd.Series([], dtype=str)
    first = cf.str.split(",").str[0]
    rows = "".join(_swatch(c, f"{_esc(r)} ({int((first == r).sum()):,})") for r, c in rule_colours.items()
                   if (first == r).any())
    blocks["candidates"] = (rows + other + f'<div class="sm-note">{_esc(label("rank_note", lang))}<br>'
                            f'{_esc(label("multi_rule", lang))}</div>')
    reasons = roofs["reason"].fillna("").astype(str) if "reason" in roofs.columns else pd.Series([], dtype=str)
    ok = roofs["suitable"].fillna(False).astype(bool) if "suitable" in roofs.columns else pd.Series(True, index=roofs.index)
    shown = (roofs["assessment"] != "assessed") | ~ok if "assessment" in roofs.columns else reasons != ""
    counts = reasons[shown & (reasons != "")].value_counts()
    rows = "".join(_swatch(REASON_COLOURS.get(r, OTHER_REASON_COLOUR), f"{_esc(reason_label(r, lang))} ({n:,})")
                   for r, n in counts.items())
    ea = roofs["exclusion_action"].fillna("").astype(str) if "exclusion_action" in roofs.columns else pd.Series([], dtype=str)
    blocks["zones"] = (_swatch(ZONE_COLORS["exclude"], f"{_esc(label('zone_excluded', lang))} ({int((ea == 'exclude').sum()):,})")
                       + _swatch(ZONE_COLORS["flag"], f"{_esc(label('zone_flagged', lang))} ({int((ea == 'flag').sum()):,})")
                       + other)
    blocks["excluded"] = rows + _swatch(FAINT, _esc(label("suitable_roof", lang)), faint=True)
    parts = []
    for t in themes:
        parts.append(f'<div class="sm-legend-theme" data-theme="{t}"><h4>{_esc(label("layer_" + t, lang))}</h4>'
                     f"{blocks[t]}</div>")
    if has_facades:  # shown while the facade overlay is on
        parts.append(f'<div class="sm-legend-facades" style="display:none"><h4>{_esc(label("layer_facades", lang))}</h4>'
                     f'{_ramp_rows(FACADE_BREAKS, _colours(RAMP, len(FACADE_BREAKS) + 1), "kWh/kWp")}'
                     f'<div class="sm-note">{_esc(label("facade_unsuitable", lang))}</div></div>')
    if amap:
        parts.append(f"<div><b>{_esc(label('gcj', lang))}</b></div>")
    return _panel("sm-legend", label("legend", lang), "".join(parts))


def _panel(pid: str, title: str, body: str, *, extra_class: str = "") -> str:
    return (f'<div id="{pid}" class="sm-panel {extra_class}" style="display:none">'
            f'<button type="button" class="sm-toggle" aria-expanded="true" aria-controls="{pid}-body">'
            f'<span class="sm-arrow">▾</span> {_esc(title)}</button>'
            f'<div id="{pid}-body" class="sm-body">{body}</div></div>')


def _summary_html(summary: dict, lang: str, *, notes: list[str] = (), roofs_on_map: int | None = None) -> str:
    t = summary.get("totals", {})
    lines = [
        f"<h4>{_esc(summary.get('title', ''))}</h4>",
        f"<div>{label('roofs', lang)}: {t.get('assessed', 0):,} {label('assessed', lang)}, "
        f"{t.get('excluded', 0):,} {label('excluded', lang)}</div>",
        f"<div><b>{label('potential', lang)} · {t.get('suitable', 0):,} {label('suitable_roofs', lang)}: "
        f"{t.get('suitable_capacity_mw', 0):,.1f} MWp, {t.get('suitable_annual_gwh', 0):,.2f} {gwh_per_year(lang)}</b></div>",
        f"<div>{label('all_assessed', lang)}: {t.get('capacity_mw', 0):,.1f} MWp, {t.get('annual_gwh', 0):,.2f} "
        f"{gwh_per_year(lang)}</div>",
        f"<div>{label('co2', lang)} ({label('suitable_roofs', lang)}): {t.get('suitable_co2_t_per_year', 0):,.0f} "
        f"{'吨' if lang == 'zh' else 't'}</div>",
    ]
    econ = (summary.get("economics") or {}).get("total")
    if econ and econ.get("suitable_roofs"):
        lines.append(f"<div>{_esc(economics_line(econ, lang))}</div>")
    for z in summary.get("exclusions", []):
        lines.append(f"<div>{label('zone', lang)}: {_esc(z['name'])} ({_esc(label('v_' + z['action'], lang))}) "
                     f"{z['buildings_inside']:,}</div>")
    ft = (summary.get("facades") or {}).get("totals")
    if ft:
        lines.append(f"<div>{label('facades', lang)} · {ft.get('suitable', 0):,} / {ft.get('facades', 0):,}: "
                     f"{ft.get('capacity_mw', 0):,.1f} MWp, {ft.get('annual_gwh', 0):,.2f} {gwh_per_year(lang)}</div>")
    if roofs_on_map is not None:
        lines.append(f"<div>{_esc(label('roofs_on_map', lang))}: {roofs_on_map:,}</div>")
    for rule in summary.get("policy_overview", []):
        why = f' title="{_esc(rule["reason"])}"' if rule.get("reason") else ""
        lines.append(f"<div{why}>{_esc(rule.get('rule_id', ''))}: {_esc(rule_text(rule.get('text', ''), lang))} — "
                     f"{status_label(rule, lang)}</div>")
    extra = dict(summary)
    if notes:
        extra["warning_details"] = list(summary.get("warning_details") or
                                        [{"message": w, "title_zh": "注意"} for w in summary.get("warnings", [])])
        extra["warning_details"] += [{"message": n, "title_zh": "底图", "message_zh": n} for n in notes]  # in lang
    lines.append(warnings_html(extra, lang, escape=_esc))
    # the content keeps its <div class="sm-panel sm-summary">: pages and tests find the panel by it
    return (f'<div id="sm-summary" class="sm-panel" style="display:none">'
            f'<button type="button" class="sm-toggle" aria-expanded="true" aria-controls="sm-summary-body">'
            f'<span class="sm-arrow">▾</span> {_esc(label("summary_panel", lang))}</button>'
            f'<div id="sm-summary-body" class="sm-body"><div class="sm-panel sm-summary">' + "".join(lines)
            + "</div></div></div>")


def economics_line(econ: dict, lang: str) -> str:
    """The suitable roofs' capex and median payback, each label and unit once in the chosen language, the labels
    from the column registry: ``投资 9,495 万元 · 回收期（中位数）5.3 年`` / ``Capex 95.0 M CNY · median payback
    5.3 yr`` / both labels with the English figures."""
    capex, payback = COLUMNS["capex_cny"], COLUMNS["payback_years"]
    p50 = econ["payback_years_p10_p50_p90"][1]
    years = "–" if p50 is None else f"{p50:.{payback.decimals}f}"
    if lang == "zh":
        return (f"{capex.zh} {econ['capex_cny'] / 1e4:,.0f} 万元 · {payback.zh}（中位数）{years} "
                f"{payback.unit_in('zh')}")
    en = (f"{econ['capex_cny'] / 1e6:,.1f} M {capex.unit_in('en')}", f"{years} {payback.unit_in('en')}")
    if lang == "en":
        return f"{capex.label} {en[0]} · median {payback.label.lower()} {en[1]}"
    return f"{capex.zh} {capex.label} {en[0]} · {payback.zh}中位数 median {payback.label.lower()} {en[1]}"


def warnings_html(summary: dict, lang: str, *, escape) -> str:
    """The run's warnings as a visible box (empty when there are none); Chinese titles where the language is."""
    items = summary.get("warning_details") or [{"message": w, "title_zh": "注意"} for w in summary.get("warnings", [])]
    if not items:
        return ""
    lis = "".join(f"<li>{_warning_text(w, lang, escape)}</li>" for w in items)
    return (f'<div class="sm-warnings" role="alert"><b>⚠ {escape(label("warnings", lang))} ({len(items)})</b>'
            f"<ul>{lis}</ul></div>")


def _warning_text(w: dict, lang: str, escape) -> str:
    """One warning: the English message (en); the Chinese title and message, or the English one where the warning
    has no Chinese text (zh); both, the English below the Chinese (both)."""
    en, zh = w.get("message", ""), w.get("message_zh")
    if lang == "en":
        return escape(en)
    title = escape(w.get("title_zh") or "注意") + "："
    if not zh:
        return title + escape(en)
    if lang == "zh" or zh == en:
        return title + escape(zh)
    return f'{title}{escape(zh)}<br><span class="sm-en">{escape(en)}</span>'


def _esc(text) -> str:
    import html

    return html.escape(str(text), quote=True)


def default_breaks() -> dict[str, list[float]]:
    from solarmap.config import OutputConfig

    o = OutputConfig()
    return {"specific": o.breaks_specific_yield, "annual": o.breaks_annual_mwh, "shading": o.breaks_shading_pct}


def tiles_key_missing(tiles: str, tianditu_key: str) -> bool:
    """True when the basemap needs a key the run does not have (Tianditu)."""
    return tiles == "tianditu" and not tianditu_key


def _planes_collection(planes: gpd.GeoDataFrame, digits: int, amap: bool, lang: str = "both") -> str:
    """The roof planes as compact GeoJSON: building, plane, tilt, azimuth, capacity, specific yield, used, reason."""
    geoms = planes.geometry.to_numpy()
    if amap:
        geoms = _to_gcj02(geoms)
    out = []
    for g, i, k, t, az, kw, sy, u, r in zip(shapely.to_geojson(_round_coords(geoms, digits)), planes["building_id"],
                                            planes["plane_id"], planes["surface_tilt_deg"], planes["surface_azimuth_deg"],
                                            planes["capacity_kwp"], planes["specific_yield_kwh_per_kwp"], planes["suitable"],
                                            planes["reason"], strict=True):
        if g is None:
            continue
        props = {"i": str(i), "k": int(k), "t": round(float(t), 1), "az": round(float(az), 0),
                 "kw": round(float(kw), 2) if np.isfinite(kw) else None,
                 "sy": round(float(sy), 0) if np.isfinite(sy) else None, "u": bool(u), "r": reason_label(r or "", lang)}
        out.append('{"type":"Feature","geometry":' + g + ',"properties":' + json.dumps(props, ensure_ascii=False) + "}")
    return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


def render_map(roofs: gpd.GeoDataFrame, *, outline=None, summary: dict | None = None, tiles: str = "none",
               lang: str = "both", tianditu_key: str = "", digits: int = 6, breaks: dict | None = None,
               rule_ids: list[str] | None = None, zones=(), planes: gpd.GeoDataFrame | None = None,
               facades: gpd.GeoDataFrame | None = None) -> str:
    """Return the map as one HTML string. ``roofs``, ``outline``, ``zones`` (name, action, geometry: the
    exclusion zones), the roof ``planes`` of pitched roofs and the ``facades`` (facades.csv's rows as lines;
    both optional, overlays) in WGS84 (EPSG:4326).

    ``breaks``: colour breaks per layer, ``{"specific": [kWh/kWp …], "annual": [MWh …], "shading": [% …]}``
    (default: the config's defaults, the same for every run); ``rule_ids``: the rule set's rules in order (the
    candidate layer's colours follow it, so a rule keeps its colour across runs).
    """
    summary = summary or {}
    br = default_breaks()
    br.update({k: [float(x) for x in v] for k, v in (breaks or {}).items()})
    colours = {"specific": _colours(RAMP, len(br["specific"]) + 1), "annual": _colours(RAMP, len(br["annual"]) + 1),
               "shading": _colours(RAMP_LOSS, len(br["shading"]) + 1), "payback": _colours(RAMP_LOSS, len(PAYBACK_BREAKS) + 1)}
    br["payback"] = [float(x) for x in PAYBACK_BREAKS]
    shapeless = (roofs.geometry.is_empty | roofs.geometry.isna()).to_numpy()
    if shapeless.any():  # a row subset copies every column: only when there is a row to leave out
        roofs = roofs[~shapeless]
    amap = tiles == "amap"
    geoms = roofs.geometry.to_numpy()
    outline_geom = outline
    zone_geoms = np.array([z[2] for z in zones], dtype=object)
    if amap:
        geoms = _to_gcj02(geoms)
        outline_geom = _to_gcj02(np.array([outline]))[0] if outline is not None else None
        zone_geoms = _to_gcj02(zone_geoms) if len(zone_geoms) else zone_geoms
    roofs = roofs.set_geometry(gpd.GeoSeries(geoms, crs=roofs.crs, index=roofs.index))
    if facades is not None and amap:
        facades = facades.set_geometry(gpd.GeoSeries(_to_gcj02(facades.geometry.to_numpy()), crs=facades.crs,
                                                     index=facades.index))
    facade_json = _facade_data(facades, digits, lang) if facades is not None else None
    if len(roofs):
        minx, miny, maxx, maxy = roofs.total_bounds
        center = [(miny + maxy) / 2, (minx + maxx) / 2]
    else:
        center = [31.23, 121.48]
    # many roofs: one canvas instead of an SVG path each (about 3x faster to show; clicks and popups the same)
    m = folium.Map(location=center, zoom_start=15, tiles=None, control_scale=False, prefer_canvas=len(roofs) > 15000)
    m.default_js = []
    m.default_css = []
    notes = []
    if tiles_key_missing(tiles, tianditu_key):
        notes.append(label("tiles_key", lang))
    elif tiles != "none":
        url, attribution, subdomains = TILES[tiles]
        if tiles == "tianditu":
            url = url.replace("KEY", tianditu_key)
        kwargs = {"subdomains": subdomains} if subdomains else {}
        folium.TileLayer(url, attr=attribution, name=tiles, max_zoom=19, control=False, **kwargs).add_to(m)
    js, css = _leaflet_assets()
    root = m.get_root()
    root.header.add_child(_Raw(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(_Raw(f"<script>{js}</script>"), name="leaflet_js_inline")
    root.header.add_child(_Raw(f"<style>{_CSS}</style>"), name="solarmap_css")
    root.header.add_child(_Raw(f"<title>{_esc(summary.get('title', 'solarmap'))}</title>"), name="title")

    has_shading = "shading_loss_pct" in roofs.columns and np.isfinite(roofs["shading_loss_pct"].to_numpy(dtype=float)).any()
    cf = roofs["policy_candidate_for"].fillna("").astype(str) if "policy_candidate_for" in roofs.columns else pd.Series([], dtype=str)
    has_candidates = bool((cf != "").any())
    has_excluded = "reason" in roofs.columns and bool((roofs["reason"].fillna("").astype(str) != "").any())
    has_payback = "payback_years" in roofs.columns and np.isfinite(roofs["payback_years"].to_numpy(dtype=float)).any()
    has_zone_roofs = "exclusion_zone" in roofs.columns and (roofs["exclusion_zone"].fillna("") != "").any()
    zone_features = [{"type": "Feature", "properties": {"name": str(name), "action": str(action)},
                      "geometry": json.loads(shapely.to_geojson(_round_coords(np.array([g]), digits)[0]))}
                     for (name, action, _), g in zip(zones, zone_geoms, strict=True)]
    themes = ["specific", "annual"] + (["shading"] if has_shading else []) + (["payback"] if has_payback else []) \
        + ["public"] + (["candidates"] if has_candidates else []) + (["excluded"] if has_excluded else []) \
        + (["zones"] if zone_features or has_zone_roofs else [])
    ids = list(rule_ids or [])
    ids += sorted({r for x in cf for r in x.split(",") if r} - set(ids))
    rule_colours = {r: RULE_COLOURS[k % len(RULE_COLOURS)] for k, r in enumerate(ids)}
    labels = {k: label(k, lang) for k in LABELS}
    cfg = {"breaks": br, "colours": colours, "themes": themes, "rule_colours": rule_colours,
           "reason_colours": REASON_COLOURS, "other_reason_colour": OTHER_REASON_COLOUR, "zone_colours": ZONE_COLORS,
           "facade_breaks": FACADE_BREAKS, "facade_colours": _colours(RAMP, len(FACADE_BREAKS) + 1)}
    script = _JS % {
        "map": m.get_name(),
        "data": _data(roofs, digits, lang).replace("</", "<\\/"),
        "labels": json.dumps(labels, ensure_ascii=False).replace("</", "<\\/"),
        "cfg": json.dumps(cfg),
        "zones": json.dumps({"type": "FeatureCollection", "features": zone_features}, ensure_ascii=False).replace("</", "<\\/"),
        "outline": shapely.to_geojson(_round_coords(np.array([outline_geom]), digits)[0]) if outline_geom is not None else "null",
        "planes": _planes_collection(planes, digits, amap, lang).replace("</", "<\\/") if planes is not None and len(planes) else "null",
        "facades": facade_json.replace("</", "<\\/") if facade_json else "null",
    }
    m.get_root().script.add_child(_Raw(script), name="solarmap_layers")
    legend = _legends(lang, themes, br, colours, roofs, rule_colours, amap, has_facades=facade_json is not None)
    panel = _summary_html(summary, lang, notes=notes, roofs_on_map=len(roofs))
    search = (f'<div id="sm-search" class="sm-panel" style="display:none">'
              f'<input id="sm-search-input" type="search" placeholder="{_esc(label("search", lang))}" '
              f'aria-label="{_esc(label("search", lang))}" autocomplete="off"><ul id="sm-search-results"></ul></div>')
    m.get_root().html.add_child(_Raw(panel + search + legend), name="solarmap_panels")
    return m.get_root().render()


class _Raw(branca.element.Element):
    """Text put into the page as it is. branca's ``Element(text)`` compiles its text as a Jinja template: about a
    second per 10 MB of roof data, and wrong for data that holds ``{{`` or ``{%`` (a building's name could)."""

    def __init__(self, text: str):
        super().__init__()
        # what Jinja's rendering left of it (keep_trailing_newline = False drops one final newline)
        self._text = text[:-1] if text.endswith("\n") else text

    def render(self, **kwargs) -> str:
        return self._text


def render_index(entries: list[dict], *, title: str, lang: str = "both") -> str:
    """The page linking the maps of a large run: one row per map file with the roofs it holds."""
    rows = "".join(f'<tr><td><a href="{_esc(e["file"])}">{_esc(e["label"])}</a></td><td>{_esc(e["kind"])}</td>'
                   f'<td style="text-align:right">{e["roofs"]:,}</td></tr>' for e in entries)
    total = sum(e["roofs"] for e in entries)
    head = {"zh": ("地图", "类型", "屋顶数", "合计"), "en": ("Map", "Kind", "Roofs", "Total")}
    h = head["zh"] if lang == "zh" else head["en"] if lang == "en" else tuple(f"{a} {b}" for a, b in zip(*head.values(), strict=True))
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>body {{ font: 14px/1.5 sans-serif; margin: 24px; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #bbb; padding: 4px 10px; text-align: left; }}</style></head><body>
<h1>{_esc(title)}</h1>
<table><tr><th>{_esc(h[0])}</th><th>{_esc(h[1])}</th><th>{_esc(h[2])}</th></tr>{rows}
<tr><th colspan="2">{_esc(h[3])}</th><th style="text-align:right">{total:,}</th></tr></table>
</body></html>
"""
