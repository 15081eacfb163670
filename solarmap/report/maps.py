"""The interactive map: one self-contained HTML file that works with no network.

Leaflet's JavaScript and CSS are inlined from the installed ``xstatic-leaflet`` package (no CDN tag), the roofs are
embedded once as compact GeoJSON and drawn by several themed layers (specific yield, annual potential, shading loss,
public institutions, policy candidates) under a layer control, with a legend, a summary panel and a popup per roof.
Every value from the data reaches the page through an escaping function, so a building named
``<img src=x onerror=alert(1)>`` shows as text.
"""

from __future__ import annotations

import json
from pathlib import Path

import branca
import folium
import geopandas as gpd
import numpy as np
import shapely

from solarmap.columns import COLUMNS
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
    "layer_candidates": ("政策候选屋顶 (排名)", "Policy candidate roofs (rank)"),
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
    "zone_excluded": ("区内排除", "excluded by a zone"),
    "zone_flagged": ("区内标记", "flagged by a zone"),
}

#: popup labels from the column registry (name and unit as in the CSV)
_POPUP_COLUMNS = {"id": "building_id", "name": "name", "category": "category", "stage": "stage",
                  "roof_area": "roof_area_m2", "usable_area": "usable_area_m2", "capacity": "capacity_kwp",
                  "annual": "annual_kwh", "specific": "specific_yield_kwh_per_kwp", "shading": "shading_loss_pct",
                  "existing_pv": "existing_pv_kwp", "rank": "candidate_rank", "capex": "capex_cny",
                  "savings": "annual_savings_cny", "payback": "payback_years", "npv": "npv_cny",
                  "co2_roof": "co2_t_per_year", "zone": "exclusion_zone"}
LABELS.update({k: (COLUMNS[c].display("zh"), COLUMNS[c].display("en")) for k, c in _POPUP_COLUMNS.items()})

SPECIFIC_BREAKS = [600, 800, 900, 1000, 1100, 1200]
SHADING_BREAKS = [2, 5, 10, 20, 40]
PAYBACK_BREAKS = [4, 6, 8, 10, 15]
ZONE_COLORS = {"exclude": "#4d4d4d", "flag": "#ff7f00"}
RAMP = ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850", "#006837"]
RAMP_LOSS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000"]

TILES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors", None),
    "carto": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png", "© OpenStreetMap contributors © CARTO", "abcd"),
    "tianditu": ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
                 "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY", "© 天地图 Tianditu", "01234567"),
    "amap": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
             "© 高德地图 AMap (GCJ-02)", "1234"),
}


def label(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return zh if lang == "zh" else en if lang == "en" else f"{zh} {en}"


def status_label(result: dict, lang: str) -> str:
    """达标 compliant / 未达标 not compliant / 不适用 not applicable, for a policy result or overview line."""
    return label(result_status(result), lang)


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


def _feature_collection(roofs: gpd.GeoDataFrame, digits: int) -> dict:
    """Compact GeoJSON: short property keys, rounded numbers."""

    def col(name, default=None):
        return roofs[name].to_numpy() if name in roofs.columns else np.full(len(roofs), default, dtype=object)

    def num(name, nd):
        v = roofs[name].to_numpy(dtype=float) if name in roofs.columns else np.full(len(roofs), np.nan)
        return [None if not np.isfinite(x) else round(float(x), nd) for x in v]

    geoms = _round_coords(roofs.geometry.to_numpy(), digits)
    geo_json = shapely.to_geojson(geoms)
    props = {
        "i": [str(x) for x in col("building_id", "")],
        "n": ["" if x is None or x != x else str(x) for x in col("name", "")],
        "c": [str(x) for x in col("category", "")],
        "s": [str(x) for x in col("stage", "")],
        "a": [str(x) for x in col("assessment", "")],
        "r": ["" if x is None or x != x else str(x) for x in col("reason", "")],
        "ra": num("roof_area_m2", 1),
        "ua": num("usable_area_m2", 1),
        "kw": num("capacity_kwp", 1),
        "e": num("annual_kwh", 0),
        "sy": num("specific_yield_kwh_per_kwp", 0),
        "sl": num("shading_loss_pct", 1),
        "pv": num("existing_pv_kwp", 1),
        "ru": ["" if x is None or x != x else str(x) for x in col("policy_status", "")],
        "cf": ["" if x is None or x != x else str(x) for x in col("policy_candidate_for", "")],
        "rk": num("candidate_rank", 0),
        "cx": num("capex_cny", 0),
        "sv": num("annual_savings_cny", 0),
        "pb": num("payback_years", 1),
        "np": num("npv_cny", 0),
        "co": num("co2_t_per_year", 1),
        "ez": ["" if x is None or x != x else str(x) for x in col("exclusion_zone", "")],
        "ea": ["" if x is None or x != x else str(x) for x in col("exclusion_action", "")],
    }
    keys = list(props)
    features = []
    for j, g in enumerate(geo_json):
        if g is None:
            continue
        features.append('{"type":"Feature","geometry":' + g + ',"properties":'
                        + json.dumps({k: props[k][j] for k in keys}, ensure_ascii=False, separators=(",", ":")) + "}")
    return "{\"type\":\"FeatureCollection\",\"features\":[" + ",".join(features) + "]}"


_JS = r"""
window.addEventListener('DOMContentLoaded', function() {
  var map = %(map)s;
  var data = %(data)s;
  var L10N = %(labels)s;
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
  var annualBreaks = %(annual_breaks)s;
  function popup(p) {
    var rows = [['id', p.i], ['name', p.n], ['category', tr(p.c)], ['stage', tr(p.s)],
      ['status', tr(p.a) + (p.r ? ' (' + p.r + ')' : '')], ['roof_area', fmt(p.ra)], ['usable_area', fmt(p.ua)],
      ['capacity', fmt(p.kw)], ['annual', fmt(p.e)], ['specific', fmt(p.sy)], ['shading', fmt(p.sl)],
      ['existing_pv', fmt(p.pv)]];
    if (p.cx !== null && p.cx !== undefined) {
      rows.push(['capex', fmt(p.cx)], ['savings', fmt(p.sv)], ['payback', fmt(p.pb)], ['npv', fmt(p.np)],
                ['co2_roof', fmt(p.co)]);
    }
    if (p.ez) rows.push(['zone', p.ez + ' (' + tr(p.ea) + ')']);
    if (p.ru) rows.push(['rules', p.ru]);
    if (p.rk) rows.push(['rank', p.rk]);
    var html = '<table class="sm-popup">';
    rows.forEach(function(r) { html += '<tr><th>' + esc(L10N[r[0]]) + '</th><td>' + esc(r[1]) + '</td></tr>'; });
    return html + '</table>';
  }
  function layer(filter, style) {
    return L.geoJSON(data, {
      filter: filter,
      style: function(f) { var s = style(f.properties); s.weight = 0.6; s.color = '#333333'; s.fillOpacity = 0.75; return s; },
      onEachFeature: function(f, lyr) { lyr.bindPopup(function() { return popup(f.properties); }, {maxWidth: 360}); }
    });
  }
  var assessed = function(f) { return f.properties.a === 'assessed'; };
  var overlays = {};
  var first = layer(null, function(p) {
    return {fillColor: p.a === 'assessed' ? ramp(p.sy, %(specific_breaks)s, %(ramp)s) : '#bbbbbb'};
  });
  overlays[esc(L10N.layer_specific)] = first;
  overlays[esc(L10N.layer_annual)] = layer(assessed, function(p) { return {fillColor: ramp(p.e, annualBreaks, %(ramp)s)}; });
  if (%(has_shading)s) {
    overlays[esc(L10N.layer_shading)] = layer(assessed, function(p) { return {fillColor: ramp(p.sl, %(shading_breaks)s, %(ramp_loss)s)}; });
  }
  overlays[esc(L10N.layer_public)] = layer(function(f) { return f.properties.c === 'public_institution'; },
    function(p) { return {fillColor: p.pv > 0 ? '#2166ac' : '#f4a582'}; });
  if (%(has_candidates)s) {
    // the roofs picked to close a rule's shortfall, each labelled with its candidate rank
    var cand = layer(function(f) { return f.properties.cf !== ''; }, function(p) { return {fillColor: '#762a83'}; });
    cand.eachLayer(function(l) {
      var q = l.feature.properties;  // a roof extending PV it already has (building-level rules) has no rank
      l.bindTooltip(esc((q.rk ? '#' + q.rk + ' ' : '') + q.cf), {direction: 'top'});
    });
    overlays[esc(L10N.layer_candidates)] = cand;
  }
  if (%(has_payback)s) {
    overlays[esc(L10N.layer_payback)] = layer(function(f) { return f.properties.pb !== null; },
      function(p) { return {fillColor: ramp(p.pb, %(payback_breaks)s, %(ramp_loss)s)}; });
  }
  var zones = %(zones)s;
  if (zones.features.length || %(has_zone_roofs)s) {
    // the planner's exclusion zones (outlines) and the roofs they exclude or flag
    var zoneColors = %(zone_colors)s;
    var zoneLayer = L.featureGroup();
    L.geoJSON(zones, {style: function(f) { return {color: zoneColors[f.properties.action] || '#000000', weight: 2,
      dashArray: '4 3', fillOpacity: 0.08}; }, interactive: false}).addTo(zoneLayer);
    layer(function(f) { return f.properties.ez !== ''; },
      function(p) { return {fillColor: zoneColors[p.ea] || '#000000'}; }).addTo(zoneLayer);
    overlays[esc(L10N.layer_zones)] = zoneLayer;
  }
  var outline = %(outline)s;
  if (outline) {
    overlays[esc(L10N.layer_outline)] = L.geoJSON(outline, {style: {color: '#000000', weight: 2.5, fill: false, dashArray: '6 4'}, interactive: false});
    overlays[esc(L10N.layer_outline)].addTo(map);
  }
  first.addTo(map);
  L.control.layers(null, overlays, {collapsed: false}).addTo(map);
  var bounds = first.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
  window.solarmap = {map: map, overlays: overlays, roofCount: data.features.length};
});
"""

_CSS = """
.sm-popup th { text-align: left; padding-right: 8px; font-weight: 600; }
.sm-popup td, .sm-popup th { font-size: 12px; }
.sm-panel { background: rgba(255,255,255,0.92); padding: 8px 10px; border-radius: 4px; font: 12px/1.4 sans-serif;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 320px; }
.sm-panel h4 { margin: 0 0 4px 0; font-size: 13px; }
.sm-swatch { display: inline-block; width: 14px; height: 10px; margin-right: 4px; border: 1px solid #555; }
.sm-warnings { margin-top: 6px; padding: 4px 6px; background: #fff4ce; border: 1px solid #d9a400; max-height: 160px;
  overflow-y: auto; }
.sm-warnings ul { margin: 2px 0 0 0; padding-left: 16px; }
"""


def _legend_html(lang: str, annual_breaks: list[float], has_shading: bool, amap: bool, *, has_payback: bool = False,
                 has_zones: bool = False) -> str:
    def rows(breaks, colors, unit, scale=1.0):
        out = []
        edges = [None, *breaks, None]
        for k, c in enumerate(colors[: len(breaks) + 1]):
            lo, hi = edges[k], edges[k + 1]
            text = f"< {hi / scale:,.0f}" if lo is None else f"≥ {lo / scale:,.0f}" if hi is None else f"{lo / scale:,.0f}–{hi / scale:,.0f}"
            out.append(f'<div><span class="sm-swatch" style="background:{c}"></span>{text} {unit}</div>')
        return "".join(out)

    parts = [f"<h4>{label('layer_specific', lang)}</h4>", rows(SPECIFIC_BREAKS, RAMP, "kWh/kWp"),
             f"<h4>{label('layer_annual', lang)}</h4>", rows(annual_breaks, RAMP, "MWh", 1000.0)]
    if has_shading:
        parts += [f"<h4>{label('layer_shading', lang)}</h4>", rows(SHADING_BREAKS, RAMP_LOSS, "%")]
    if has_payback:
        parts += [f"<h4>{label('layer_payback', lang)}</h4>", rows(PAYBACK_BREAKS, RAMP_LOSS, "yr")]
    parts.append(f'<div><span class="sm-swatch" style="background:#bbbbbb"></span>{label("excluded", lang)}</div>')
    if has_zones:
        parts += [f'<div><span class="sm-swatch" style="background:{ZONE_COLORS["exclude"]}"></span>{label("zone_excluded", lang)}</div>',
                  f'<div><span class="sm-swatch" style="background:{ZONE_COLORS["flag"]}"></span>{label("zone_flagged", lang)}</div>']
    if amap:
        parts.append(f"<div><b>{label('gcj', lang)}</b></div>")
    return '<div class="sm-panel sm-legend">' + "".join(parts) + "</div>"


def _summary_html(summary: dict, lang: str) -> str:
    t = summary.get("totals", {})
    lines = [
        f"<h4>{_esc(summary.get('title', ''))}</h4>",
        f"<div>{label('roofs', lang)}: {t.get('assessed', 0):,} {label('assessed', lang)}, "
        f"{t.get('excluded', 0):,} {label('excluded', lang)}</div>",
        f"<div><b>{label('potential', lang)} · {t.get('suitable', 0):,} {label('suitable_roofs', lang)}: "
        f"{t.get('suitable_capacity_mw', 0):,.1f} MWp, {t.get('suitable_annual_gwh', 0):,.2f} GWh/yr</b></div>",
        f"<div>{label('all_assessed', lang)}: {t.get('capacity_mw', 0):,.1f} MWp, {t.get('annual_gwh', 0):,.2f} GWh/yr</div>",
        f"<div>{label('co2', lang)} ({label('suitable_roofs', lang)}): {t.get('suitable_co2_t_per_year', 0):,.0f} t</div>",
    ]
    econ = (summary.get("economics") or {}).get("total")
    if econ and econ.get("suitable_roofs"):
        p50 = econ["payback_years_p10_p50_p90"][1]
        lines.append(f"<div>{label('capex', lang)}: {econ['capex_cny'] / 1e6:,.1f} M CNY · {label('payback', lang)} "
                     f"p50 {p50 if p50 is not None else '–'}</div>")
    for z in summary.get("exclusions", []):
        lines.append(f"<div>{label('zone', lang)}: {_esc(z['name'])} ({_esc(label('v_' + z['action'], lang))}) "
                     f"{z['buildings_inside']:,}</div>")
    for rule in summary.get("policy_overview", []):
        why = f' title="{_esc(rule["reason"])}"' if rule.get("reason") else ""
        lines.append(f"<div{why}>{_esc(rule.get('rule_id', ''))}: {_esc(rule.get('text', ''))} — "
                     f"{status_label(rule, lang)}</div>")
    lines.append(warnings_html(summary, lang, escape=_esc))
    return '<div class="sm-panel sm-summary">' + "".join(lines) + "</div>"


def warnings_html(summary: dict, lang: str, *, escape) -> str:
    """The run's warnings as a visible box (empty when there are none); Chinese titles where the language is."""
    items = summary.get("warning_details") or [{"message": w, "title_zh": "注意"} for w in summary.get("warnings", [])]
    if not items:
        return ""
    lis = "".join(f"<li>{escape(w['title_zh']) + '：' if lang != 'en' else ''}{escape(w['message'])}</li>" for w in items)
    return (f'<div class="sm-warnings" role="alert"><b>⚠ {escape(label("warnings", lang))} ({len(items)})</b>'
            f"<ul>{lis}</ul></div>")


def _esc(text) -> str:
    import html

    return html.escape(str(text), quote=True)


def render_map(roofs: gpd.GeoDataFrame, *, outline=None, summary: dict | None = None, tiles: str = "none",
               lang: str = "both", tianditu_key: str = "", digits: int = 6, zones=()) -> str:
    """Return the map as one HTML string. ``roofs``, ``outline`` and ``zones`` (name, action, geometry: the
    exclusion zones) in WGS84 (EPSG:4326)."""
    summary = summary or {}
    roofs = roofs[~(roofs.geometry.is_empty | roofs.geometry.isna())]
    amap = tiles == "amap"
    geoms = roofs.geometry.to_numpy()
    outline_geom = outline
    zone_geoms = np.array([z[2] for z in zones], dtype=object)
    if amap:
        geoms = _to_gcj02(geoms)
        outline_geom = _to_gcj02(np.array([outline]))[0] if outline is not None else None
        zone_geoms = _to_gcj02(zone_geoms) if len(zone_geoms) else zone_geoms
    roofs = roofs.set_geometry(gpd.GeoSeries(geoms, crs=roofs.crs, index=roofs.index))
    if len(roofs):
        minx, miny, maxx, maxy = roofs.total_bounds
        center = [(miny + maxy) / 2, (minx + maxx) / 2]
    else:
        center = [31.23, 121.48]
    m = folium.Map(location=center, zoom_start=15, tiles=None, control_scale=True)
    m.default_js = []
    m.default_css = []
    if tiles != "none":
        url, attribution, subdomains = TILES[tiles]
        if tiles == "tianditu":
            url = url.replace("KEY", tianditu_key)
        kwargs = {"subdomains": subdomains} if subdomains else {}
        folium.TileLayer(url, attr=attribution, name=tiles, max_zoom=19, **kwargs).add_to(m)
    js, css = _leaflet_assets()
    root = m.get_root()
    root.header.add_child(branca.element.Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    root.header.add_child(branca.element.Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    root.header.add_child(branca.element.Element(f"<style>{_CSS}</style>"), name="solarmap_css")
    root.header.add_child(branca.element.Element(f"<title>{_esc(summary.get('title', 'solarmap'))}</title>"), name="title")

    e = roofs["annual_kwh"].to_numpy(dtype=float) if "annual_kwh" in roofs.columns else np.array([])
    e = e[np.isfinite(e)]
    annual_breaks = [float(round(x, -2)) for x in np.quantile(e, [1 / 7, 2 / 7, 3 / 7, 4 / 7, 5 / 7, 6 / 7])] if len(e) else [1, 2, 3, 4, 5, 6]
    has_shading = "shading_loss_pct" in roofs.columns and np.isfinite(roofs["shading_loss_pct"].to_numpy(dtype=float)).any()
    has_candidates = "policy_candidate_for" in roofs.columns and (roofs["policy_candidate_for"].fillna("") != "").any()
    has_payback = "payback_years" in roofs.columns and np.isfinite(roofs["payback_years"].to_numpy(dtype=float)).any()
    has_zone_roofs = "exclusion_zone" in roofs.columns and (roofs["exclusion_zone"].fillna("") != "").any()
    zone_features = [{"type": "Feature", "properties": {"name": str(name), "action": str(action)},
                      "geometry": json.loads(shapely.to_geojson(_round_coords(np.array([g]), digits)[0]))}
                     for (name, action, _), g in zip(zones, zone_geoms, strict=True)]
    labels = {k: label(k, lang) for k in LABELS}
    script = _JS % {
        "map": m.get_name(),
        "data": _feature_collection(roofs, digits).replace("</", "<\\/"),
        "labels": json.dumps(labels, ensure_ascii=False),
        "annual_breaks": json.dumps(annual_breaks),
        "specific_breaks": json.dumps(SPECIFIC_BREAKS),
        "shading_breaks": json.dumps(SHADING_BREAKS),
        "ramp": json.dumps(RAMP),
        "ramp_loss": json.dumps(RAMP_LOSS),
        "has_shading": "true" if has_shading else "false",
        "has_candidates": "true" if has_candidates else "false",
        "has_payback": "true" if has_payback else "false",
        "payback_breaks": json.dumps(PAYBACK_BREAKS),
        "has_zone_roofs": "true" if has_zone_roofs else "false",
        "zone_colors": json.dumps(ZONE_COLORS),
        "zones": json.dumps({"type": "FeatureCollection", "features": zone_features}, ensure_ascii=False).replace("</", "<\\/"),
        "outline": shapely.to_geojson(_round_coords(np.array([outline_geom]), digits)[0]) if outline_geom is not None else "null",
    }
    m.get_root().script.add_child(branca.element.Element(script), name="solarmap_layers")
    legend = _legend_html(lang, annual_breaks, has_shading, amap, has_payback=has_payback,
                          has_zones=bool(zone_features) or has_zone_roofs)
    panel = _summary_html(summary, lang)
    overlay_html = (f'<div style="position:absolute; bottom:24px; left:10px; z-index:1000;">{legend}</div>'
                    f'<div style="position:absolute; top:10px; left:54px; z-index:1000;">{panel}</div>')
    m.get_root().html.add_child(branca.element.Element(overlay_html), name="solarmap_panels")
    return m.get_root().render()
