"""The HTML report: key figures (suitable roofs beside all assessed ones), the run's warnings, a monthly generation
chart per subdistrict, facade PV by orientation, the rules and the roofs left out, every label in the chosen
language.

Plain HTML with inline SVG charts: no script, no network; laid out for A4 (``@page``), rows and charts never split
across pages.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from solarmap.columns import reason_label
from solarmap.economics import TARIFF_NOTE, TARIFF_NOTE_ZH
from solarmap.report.maps import LABELS, label, rule_text, status_label, warnings_html

_MONTHS_ZH = ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"]
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def monthly_by_subdistrict(roofs: pd.DataFrame) -> pd.DataFrame:
    """Shaded AC energy per month of the assessed roofs, per subdistrict [MWh]."""
    cols = [f"kwh_m{m:02d}" for m in range(1, 13)]
    a = roofs.loc[roofs["assessment"] == "assessed", ["subdistrict", *cols]]
    t = a.groupby(a["subdistrict"].fillna("").replace("", "(none)"))[cols].sum() / 1000.0
    t.columns = list(range(1, 13))
    return t


def _bar_chart(values: np.ndarray, months: list[str], title: str) -> str:
    """Twelve bars with their value above each; the title has its own band, so no label reaches it, and value labels
    shrink when the bars are narrow."""
    w, h, left, right, top, bottom = 520, 190, 10, 8, 34, 22
    vmax = float(values.max()) if len(values) and values.max() > 0 else 1.0
    bw = (w - left - right) / 12
    # a value label is about 0.6 em per character: fit the widest one into a bar
    widest = max((len(f"{v:,.0f}") for v in values), default=1)
    fs = min(10.0, max(6.0, (bw - 2) / (0.6 * widest)))
    bars = []
    for k, v in enumerate(values):
        bh = (h - top - bottom) * v / vmax
        x = left + k * bw
        y = h - bottom - bh
        bars.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bw - 6:.1f}" height="{bh:.1f}" fill="#1a9850">'
                    f"<title>{_e(months[k])}: {v:,.0f} MWh</title></rect>"
                    f'<text x="{x + bw / 2:.1f}" y="{h - bottom + 14}" font-size="10" text-anchor="middle">{_e(months[k])}</text>'
                    f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" font-size="{fs:.1f}" text-anchor="middle">{v:,.0f}</text>')
    return (f'<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{_e(title)}">'
            f'<text x="{left}" y="14" font-size="12" font-weight="600">{_e(title)}</text>'
            f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#333"/>' + "".join(bars) + "</svg>")


def _sub_label(slug: str, lang: str = "both") -> str:
    """An embedded subdistrict's name in the chosen language (打浦桥街道, Dapuqiao, or Dapuqiao (打浦桥街道));
    other names as they are."""
    from solarmap.sources.subdistricts import find_subdistrict

    try:
        sub = find_subdistrict(slug)
    except Exception:  # noqa: BLE001 - a boundary file's own names are not embedded subdistricts
        return slug
    return sub.name_zh if lang == "zh" else sub.name_en if lang == "en" else sub.label


def _unclosed(p: dict, lang: str) -> str:
    """A mark on a shortfall the candidate roofs cannot close."""
    if p.get("closable", True):
        return ""
    n = p.get("unclosed", 0) or 0
    count = p.get("measure") == "share_of_buildings"  # the rest in the rule's measure: buildings or m² of roof
    zh = f"尚缺 {n:,.0f} 栋" if count else f"尚缺 {n:,.0f} m²"
    en = (f"{n:,.0f} building{'s' if round(n) != 1 else ''} short" if count else f"{n:,.0f} m² short")
    rest = zh if lang == "zh" else en if lang == "en" else f"{zh} · {en}"
    wrap = f"（{rest}）" if lang == "zh" else f" ({rest})"
    return f'<div class="unclosed">{_e(label("not_closable", lang))}{_e(wrap)}</div>'


def _money(cny) -> str:
    return "–" if cny is None else f"{cny / 1e6:,.2f}"


def _economics_html(econ: dict | None, lang: str) -> str:
    """Totals over suitable roofs and payback quantiles per category, with the price assumptions in one line."""
    if not econ:
        return ""
    L = lambda key: _e(label(key, lang))  # noqa: E731
    t = econ["total"]
    p10, p50, p90 = t["payback_years_p10_p50_p90"]
    rows = "".join(
        f"<tr><td>{_e(label('v_' + c, lang) if ('v_' + c) in LABELS else c)}</td><td class=\"n\">{v['suitable_roofs']:,}</td>"
        f"<td class=\"n\">{v['payback_years_p10']}</td><td class=\"n\">{v['payback_years_p50']}</td>"
        f"<td class=\"n\">{v['payback_years_p90']}</td><td class=\"n\">{v['lcoe_cny_per_kwh_p50']}</td></tr>"
        for c, v in econ["by_category"].items())
    a = econ["assumptions"]
    heads = "".join(f"<th>{L(k)}</th>" for k in ("th_category", "suitable_roofs", "th_pb10", "th_pb50", "th_pb90", "th_lcoe"))
    if lang == "zh":
        totals = (f"{t['suitable_roofs']:,} 个{L('suitable_roofs')}，{t['capacity_kwp'] / 1000:,.1f} MWp：投资 "
                  f"{_money(t['capex_cny'])} 百万元，首年收益 {_money(t['annual_savings_cny'])} 百万元，净现值 "
                  f"{_money(t['npv_cny'])} 百万元，年减排 CO₂ {t['co2_t_per_year']:,.0f} 吨；静态回收期 p10/p50/p90 为 "
                  f"{p10} / {p50} / {p90} 年")
        note = TARIFF_NOTE_ZH if a["tariffs"] == TARIFF_NOTE else a["tariffs"]
        assumptions = (f"假设：折现率 {a['discount_rate']:.0%}，运营 {a['lifetime_years']} 年，上网电价 "
                       f"{a['export_cny_per_kwh']} 元/kWh；{_e(note)}。")
    else:
        totals = (f"{t['suitable_roofs']:,} {L('suitable_roofs')}, {t['capacity_kwp'] / 1000:,.1f} MWp: capex "
                  f"{_money(t['capex_cny'])} M CNY, year-one savings {_money(t['annual_savings_cny'])} M CNY, NPV "
                  f"{_money(t['npv_cny'])} M CNY, CO₂ {t['co2_t_per_year']:,.0f} t/yr; payback p10/p50/p90 "
                  f"{p10} / {p50} / {p90} years")
        assumptions = (f"Assumptions: discount rate {a['discount_rate']:.0%}, {a['lifetime_years']} "
                       f"years, export {a['export_cny_per_kwh']} CNY/kWh; {_e(a['tariffs'])}.")
    return (f"<h2>{L('economics')}</h2><div>{totals}</div>"
            f"<table><tr>{heads}</tr>{rows}</table>"
            f"<div style=\"font-size:11px\">{assumptions}</div>")


def _heat_colour(v: float, vmax: float) -> str:
    """White → yellow → orange → dark red for 0 … vmax."""
    x = 0.0 if vmax <= 0 else min(max(v / vmax, 0.0), 1.0)
    stops = [(0.0, (255, 255, 255)), (0.35, (254, 224, 139)), (0.7, (244, 109, 67)), (1.0, (165, 0, 38))]
    for (x0, c0), (x1, c1) in zip(stops, stops[1:], strict=False):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            r, g, b = (round(a + (z - a) * f) for a, z in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#a50026"


def _heat_map(grid: list[list[float]], months: list[str], title: str) -> str:
    """Average day per month: 12 rows (months) × 24 columns (hour of day, interval start), colour = mean kW."""
    cw, ch, left, top = 20, 14, 40, 22
    vmax = max((max(r) for r in grid), default=0.0)
    cells = []
    for m, row in enumerate(grid):
        y = top + m * ch
        cells.append(f'<text x="{left - 4}" y="{y + ch - 3}" font-size="9" text-anchor="end">{_e(months[m])}</text>')
        for h, v in enumerate(row):
            cells.append(f'<rect x="{left + h * cw}" y="{y}" width="{cw}" height="{ch}" fill="{_heat_colour(v, vmax)}">'
                         f"<title>{_e(months[m])} {h:02d}:00 · {v:,.0f} kW</title></rect>")
    for h in range(0, 24, 3):
        cells.append(f'<text x="{left + h * cw + cw / 2}" y="{top + 12 * ch + 11}" font-size="9" text-anchor="middle">{h:02d}</text>')
    w, hgt = left + 24 * cw + 70, top + 12 * ch + 18
    legend = "".join(f'<rect x="{left + 24 * cw + 10}" y="{top + k * ch * 12 / 10}" width="12" height="{ch * 12 / 10}" '
                     f'fill="{_heat_colour(vmax * (1 - k / 9), vmax)}"/>' for k in range(10))
    legend += (f'<text x="{left + 24 * cw + 26}" y="{top + 8}" font-size="9">{vmax:,.0f} kW</text>'
               f'<text x="{left + 24 * cw + 26}" y="{top + 12 * ch}" font-size="9">0</text>')
    return (f'<svg class="chart heat" width="{w}" height="{hgt}" viewBox="0 0 {w} {hgt}" role="img" aria-label="{_e(title)}">'
            f'<text x="{left}" y="14" font-size="12" font-weight="600">{_e(title)}</text>' + "".join(cells) + legend + "</svg>")


def _hourly_section(summary: dict, months: list[str], lang: str) -> str:
    """Average day per month of the potential (and the other sets), and each set's peak."""
    h = summary.get("hourly")
    if not h or not h.get("sets"):
        return ""
    names = {"potential": ("全部适宜屋顶", "all suitable roofs"), "existing": ("已装光伏", "existing PV"),
             "candidates": ("规则候选屋顶", "rule candidates")}
    pick = (lambda z, e: z) if lang == "zh" else (lambda z, e: e) if lang == "en" else (lambda z, e: f"{z} {e}")
    rows, maps = [], []
    for s, v in h["sets"].items():
        z, e = names.get(s, (s, s))
        peak = (v.get("peak_time") or "")[:16].replace("T", " ")
        cf = v.get("capacity_factor")
        rows.append(f"<tr><td>{_e(pick(z, e))}</td><td>{v['capacity_kwp']:,.0f}</td><td>{v['peak_kw']:,.0f}</td>"
                    f"<td>{_e(peak)}</td><td>{'–' if cf is None else f'{100 * cf:.1f} %'}</td>"
                    f"<td>{v['energy_kwh'] / 1e6:,.2f}</td></tr>")
        grid = h.get("average_day_kw", {}).get(s)
        if grid:
            maps.append(_heat_map(grid, months, f"{pick(z, e)} · {pick('月平均日功率', 'average day per month')} kW"))
    title = pick("逐时功率", "Hourly AC power")
    heads = "".join(f"<th>{_e(pick(*LABELS[k]) if k else 'kWp')}</th>"
                    for k in ("h_set", "", "h_peak_kw", "h_peak_hour", "h_cf", "h_gwh"))
    return f"<h2>{_e(title)}</h2><table><tr>{heads}</tr>{''.join(rows)}</table>" + "".join(maps)
def _facade_section(summary: dict, lang: str) -> str:
    """Facade PV (when it ran): totals, one row per compass quarter, and the facades not suitable by reason."""
    fs = summary.get("facades")
    if not fs:
        return ""
    L = lambda key: _e(label(key, lang))  # noqa: E731
    t = fs["totals"]
    gwh = "GWh/年" if lang == "zh" else "GWh/yr"
    rows = "".join(
        f"<tr><td>{L('o_' + k)}</td><td class=\"n\">{o['facades']:,}</td><td class=\"n\">{o['suitable']:,}</td>"
        f"<td class=\"n\">{o['capacity_kwp'] / 1000:,.2f}</td><td class=\"n\">{o['annual_kwh'] / 1e6:,.2f}</td>"
        f"<td class=\"n\">{o['annual_kwh_all'] / 1e6:,.2f}</td>"
        f"<td class=\"n\">{'–' if o['shading_loss_pct_total'] is None else format(o['shading_loss_pct_total'], '.1f')}</td></tr>"
        for k, o in fs["by_orientation"].items())
    heads = "".join(f"<th>{L(k)}</th>" for k in ("by_orientation", "th_facades", "th_suitable", "th_f_mwp", "th_f_gwh",
                                                   "th_f_gwh_all", "th_f_loss"))
    reasons = ("，" if lang == "zh" else ", ").join(f"{_e(reason_label(k, lang))} {v:,}"
                                                  for k, v in fs.get("unsuitable_by_reason", {}).items())
    return f"""<h2>{L('facades')}</h2>
<div class="kpis">
<span class="kpi"><b>{t['suitable']:,} / {t['facades']:,}</b>{L('th_suitable')} / {L('th_facades')}</span>
<span class="kpi"><b>{t['capacity_mw']:,.1f} MWp</b>{L('potential')} · {L('th_suitable')}</span>
<span class="kpi"><b>{t['annual_gwh']:,.2f} {gwh}</b>{L('annual_gen')} · {L('th_suitable')}</span>
<span class="kpi"><b>{t['shading_loss_pct_total'] or 0:.1f} %</b>{L('shading')}</span>
</div>
<table><tr>{heads}</tr>{rows}</table>
<div>{L('f_not_suitable')}{'：' if lang == 'zh' else ': '}{reasons}</div>"""


def render_report(roofs: pd.DataFrame, summary: dict, *, lang: str = "both") -> str:
    t = summary.get("totals", {})
    L = lambda key: _e(label(key, lang))  # noqa: E731
    months = _MONTHS_EN if lang == "en" else _MONTHS_ZH
    monthly = monthly_by_subdistrict(roofs)
    charts = "".join(_bar_chart(row.to_numpy(dtype=float), months, f"{_sub_label(sub, lang)} · MWh")
                     for sub, row in monthly.iterrows())
    rules = []
    for p in summary.get("policy", []):
        ok = _e(status_label(p, lang)) + (f"<br><small>{_e(p['reason'])}</small>" if p.get("reason") else "")
        share = lambda v: "–" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        rules.append(
            f"<tr><td>{_e(p['rule_id'])}</td><td>{_e(_sub_label(p.get('subdistrict', ''), lang))}</td>"
            f"<td>{_e(rule_text(p.get('text', ''), lang))}</td>"
            f"<td class=\"n\">{p.get('eligible_buildings', 0)}</td><td class=\"n\">{p.get('buildings_with_pv', 0)}</td>"
            f"<td class=\"n\">{share(p.get('share_by_count'))}</td><td class=\"n\">{share(p.get('share_by_gross_area'))}</td>"
            f"<td class=\"n\">{share(p.get('share_by_installable_area'))}</td><td>{ok}</td>"
            f"<td class=\"n\">{p.get('shortfall_buildings', 0)}{_unclosed(p, lang)}</td>"
            f"<td class=\"n\">{p.get('shortfall_kwp', 0):,.0f}</td>"
            f"<td class=\"n\">{_money(p.get('shortfall_capex_cny'))}</td><td class=\"n\">{p.get('removed_by_zones', 0)}</td></tr>")
    cats = summary.get("categories") or {}
    if cats:
        source = cats.get("column") or ", ".join(cats.get("tag_columns") or []) or ""
        use_line = (f"<div>{L('category_column')}: "
                    + (f"{_e(source)} ({_e(cats.get('scheme', ''))})" if source else L("category_none"))
                    + "</div>")
    else:
        use_line = ""
    # the roofs left out: excluded ones by reason, and assessed ones too shaded to be suitable
    why = roofs["reason"].fillna("").astype(str) if "reason" in roofs.columns else pd.Series([], dtype=str)
    ok = roofs["suitable"].fillna(False).astype(bool) if "suitable" in roofs.columns else pd.Series(True, index=roofs.index)
    left_out = ((roofs["assessment"] != "assessed") | ~ok) if "assessment" in roofs.columns else why != ""
    counts = why[left_out & (why != "")].value_counts().sort_index()
    excluded = "".join(f"<tr><td>{_e(reason_label(k, lang))}</td><td class=\"n\">{v:,}</td></tr>" for k, v in counts.items())
    def head(key):  # both languages: one above the other, so that narrow number columns stay narrow
        return L(key) if lang != "both" else f"{_e(label(key, 'zh'))}<br>{_e(label(key, 'en'))}"

    th = "".join(f"<th>{head(k)}</th>" for k in ("th_rule", "th_subdistrict", "th_text", "th_eligible", "th_with_pv",
                                                "th_by_count", "th_by_gross", "th_by_installable", "th_status",
                                                "th_short_n", "th_short_kwp", "th_short_capex", "th_zones"))
    cols = "".join(f'<col style="width:{w}%">' for w in (5, 8, 18, 6, 6, 6, 6, 7, 9, 9, 6, 7, 7))
    zones = "".join(
        f"<li>{_e(z['name'])} ({_e(label('v_' + z['action'], lang))}, {_e(Path(z['path']).name)}): "
        + (f"区内 {z['buildings_inside']:,} 栋，排除 {z['excluded']:,} 栋，标记 {z['flagged']:,} 栋" if lang == "zh" else
           f"{z['buildings_inside']:,} buildings inside, {z['excluded']:,} excluded, {z['flagged']:,} flagged") + "</li>"
        for z in summary.get("exclusions", []))
    economics = _economics_html(summary.get("economics"), lang)
    gwh = "GWh/年" if lang == "zh" else "GWh/yr"
    tyr = "t/年" if lang == "zh" else "t/yr"
    title = summary.get("title", "solarmap")
    return f"""<!DOCTYPE html>
<html lang="{'en' if lang == 'en' else 'zh-CN'}"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>
@page {{ size: A4; margin: 12mm 11mm; }}
body {{ font: 13px/1.45 "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
  margin: 24px; max-width: 1100px; }}
h1 {{ font-size: 20px; margin: 0 0 6px 0; }} h2 {{ font-size: 15px; margin: 16px 0 6px 0; break-after: avoid; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0; }}
.kpi {{ min-width: 120px; }} .kpi b {{ font-size: 18px; display: block; white-space: nowrap; }}
table {{ border-collapse: collapse; font-size: 11.5px; }} td, th {{ border: 1px solid #bbb; padding: 3px 5px; text-align: left;
  vertical-align: top; }}
th {{ background: #f2f2f2; font-weight: 600; }} table.rules {{ width: 100%; table-layout: fixed; }} table.rules td, table.rules th {{ overflow-wrap: break-word; hyphens: auto; font-size: 10.5px; }} td.n {{ text-align: right; white-space: nowrap; }} tr td:first-child {{ white-space: nowrap; }}
tr, .chart, .sm-warnings, .kpis {{ break-inside: avoid; }}
.chart {{ margin: 4px 12px 4px 0; }}
.all {{ color: #444; margin: 2px 0 6px 0; }} .unclosed {{ color: #b00020; font-weight: 600; white-space: normal; text-align: left; font-size: 10.5px; }}
.sm-warnings {{ margin: 10px 0; padding: 6px 10px; background: #fff4ce; border: 1px solid #d9a400; }}
.sm-warnings ul {{ margin: 4px 0 0 0; padding-left: 18px; }} .sm-warnings .sm-en {{ color: #555; font-size: 0.95em; }}
@media print {{ body {{ margin: 0; max-width: none; font-size: 11.5px; }}
  h1 {{ font-size: 17px; }} .kpi b {{ font-size: 15px; }} }}
</style></head><body>
<h1>{_e(title)}</h1>
<div>{L('title')} · {L('run')} {_e(summary.get('run_id', ''))} · {L('weather_src')}: {_e(summary.get('weather', {}).get('source', ''))}</div>
<div class="kpis">
<span class="kpi"><b>{t.get('buildings', 0):,}</b>{L('roofs')}</span>
<span class="kpi"><b>{t.get('assessed', 0):,}</b>{L('assessed')}</span>
<span class="kpi"><b>{t.get('suitable', 0):,}</b>{L('suitable_roofs')}</span>
<span class="kpi"><b>{t.get('suitable_capacity_mw', 0):,.1f} MWp</b>{L('potential')} · {L('suitable_roofs')}</span>
<span class="kpi"><b>{t.get('suitable_annual_gwh', 0):,.2f} {gwh}</b>{L('annual_gen')} · {L('suitable_roofs')}</span>
<span class="kpi"><b>{t.get('suitable_co2_t_per_year', 0):,.0f} {tyr}</b>{L('co2')} · {L('suitable_roofs')}</span>
<span class="kpi"><b>{t.get('median_shading_loss_pct') or 0:.1f} %</b>{L('median_shading')}</span>
</div>
<div class="all">{L('all_assessed')}: {t.get('capacity_mw', 0):,.1f} MWp, {t.get('annual_gwh', 0):,.2f} {gwh},
{t.get('co2_t_per_year', 0):,.0f} {tyr} CO₂ ({t.get('assessed', 0) - t.get('suitable', 0):,} {L('excluded_shaded')})</div>
{warnings_html(summary, lang, escape=_e)}
<h2>{L('monthly')}</h2>
{charts}
{_hourly_section(summary, months, lang)}
{_facade_section(summary, lang)}
<h2>{L('rules')}</h2>
{use_line}
<table class="rules"><colgroup>{cols}</colgroup><thead><tr>{th}</tr></thead>
<tbody>{''.join(rules)}</tbody></table>
{economics}
<h2>{L('by_reason')}</h2>
<table><tr><th>{head('th_reason')}</th><th>{head('th_count')}</th></tr>{excluded}</table>
{f"<h2>{_e(label('layer_zones', lang))}</h2><ul>{zones}</ul>" if zones else ""}
</body></html>
"""
