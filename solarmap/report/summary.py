"""The one-page HTML report: key figures, the rules, and a monthly generation chart per subdistrict.

Plain HTML with inline SVG charts: no script, no network, prints on one page.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from solarmap.report.maps import label, status_label, warnings_html

_MONTHS_ZH = ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"]
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def monthly_by_subdistrict(roofs: pd.DataFrame) -> pd.DataFrame:
    """Shaded AC energy per month of the assessed roofs, per subdistrict [MWh]."""
    cols = [f"kwh_m{m:02d}" for m in range(1, 13)]
    a = roofs[roofs["assessment"] == "assessed"]
    t = a.groupby(a["subdistrict"].fillna("").replace("", "(none)"))[cols].sum() / 1000.0
    t.columns = list(range(1, 13))
    return t


def _bar_chart(values: np.ndarray, months: list[str], title: str) -> str:
    w, h, pad = 520, 180, 34
    vmax = float(values.max()) if len(values) and values.max() > 0 else 1.0
    bw = (w - pad - 8) / 12
    bars = []
    for k, v in enumerate(values):
        bh = (h - 2 * pad + 10) * v / vmax
        x = pad + k * bw
        y = h - pad - bh
        bars.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bw - 6:.1f}" height="{bh:.1f}" fill="#1a9850">'
                    f"<title>{_e(months[k])}: {v:,.0f} MWh</title></rect>"
                    f'<text x="{x + bw / 2:.1f}" y="{h - pad + 14}" font-size="10" text-anchor="middle">{_e(months[k])}</text>'
                    f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle">{v:,.0f}</text>')
    return (f'<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{_e(title)}">'
            f'<text x="{pad}" y="14" font-size="12" font-weight="600">{_e(title)}</text>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - 8}" y2="{h - pad}" stroke="#333"/>' + "".join(bars) + "</svg>")


def _unclosed(p: dict, lang: str) -> str:
    """A mark on a shortfall the candidate roofs cannot close."""
    if p.get("closable", True):
        return ""
    return f'<div class="unclosed">{_e(label("not_closable", lang))} ({p.get("unclosed", 0):,})</div>'


def _money(cny) -> str:
    return "–" if cny is None else f"{cny / 1e6:,.2f}"


def _economics_html(econ: dict | None, lang: str) -> str:
    """Totals over suitable roofs and payback quantiles per category, with the price assumptions in one line."""
    if not econ:
        return ""
    t = econ["total"]
    p10, p50, p90 = t["payback_years_p10_p50_p90"]
    rows = "".join(
        f"<tr><td>{_e(c)}</td><td>{v['suitable_roofs']:,}</td><td>{v['payback_years_p10']}</td>"
        f"<td>{v['payback_years_p50']}</td><td>{v['payback_years_p90']}</td><td>{v['lcoe_cny_per_kwh_p50']}</td></tr>"
        for c, v in econ["by_category"].items())
    a = econ["assumptions"]
    return (f"<h2>{_e(label('capex', lang))} · {_e(label('payback', lang))}</h2>"
            f"<div>{t['suitable_roofs']:,} suitable roofs, {t['capacity_kwp'] / 1000:,.1f} MWp: capex "
            f"{_money(t['capex_cny'])} M CNY, year-one savings {_money(t['annual_savings_cny'])} M CNY, NPV "
            f"{_money(t['npv_cny'])} M CNY, CO₂ {t['co2_t_per_year']:,.0f} t/yr; payback p10/p50/p90 "
            f"{p10} / {p50} / {p90} years</div>"
            "<table><tr><th>category</th><th>suitable roofs</th><th>payback p10</th><th>p50</th><th>p90</th>"
            f"<th>LCOE p50, CNY/kWh</th></tr>{rows}</table>"
            f"<div style=\"font-size:11px\">Assumptions: discount rate {a['discount_rate']:.0%}, {a['lifetime_years']} "
            f"years, export {a['export_cny_per_kwh']} CNY/kWh; {_e(a['tariffs'])}.</div>")


def render_report(roofs: pd.DataFrame, summary: dict, *, lang: str = "both") -> str:
    t = summary.get("totals", {})
    months = _MONTHS_EN if lang == "en" else _MONTHS_ZH if lang == "zh" else [f"{z}" for z in _MONTHS_ZH]
    monthly = monthly_by_subdistrict(roofs)
    charts = "".join(_bar_chart(row.to_numpy(dtype=float), months, f"{sub} · MWh") for sub, row in monthly.iterrows())
    rules = []
    for p in summary.get("policy", []):
        ok = _e(status_label(p, lang)) + (f"<br><small>{_e(p['reason'])}</small>" if p.get("reason") else "")
        share = lambda v: "–" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        rules.append(
            f"<tr><td>{_e(p['rule_id'])}</td><td>{_e(p.get('subdistrict', ''))}</td><td>{_e(p.get('text', ''))}</td>"
            f"<td>{p.get('eligible_buildings', 0)}</td><td>{p.get('buildings_with_pv', 0)}</td>"
            f"<td>{share(p.get('share_by_count'))}</td><td>{share(p.get('share_by_gross_area'))}</td>"
            f"<td>{share(p.get('share_by_installable_area'))}</td><td>{ok}</td>"
            f"<td>{p.get('shortfall_buildings', 0)}{_unclosed(p, lang)}</td><td>{p.get('shortfall_kwp', 0):,.0f}</td>"
            f"<td>{_money(p.get('shortfall_capex_cny'))}</td><td>{p.get('removed_by_zones', 0)}</td></tr>")
    cats = summary.get("categories") or {}
    if cats:
        source = cats.get("column") or ", ".join(cats.get("tag_columns") or []) or ""
        use_line = (f"<div>{_e(label('category_column', lang))}: "
                    + (f"{_e(source)} ({_e(cats.get('scheme', ''))})" if source else _e(label("category_none", lang)))
                    + "</div>")
    else:
        use_line = ""
    excluded = "".join(f"<li>{_e(k)}: {v:,}</li>" for k, v in summary.get("excluded_by_reason", {}).items())
    zones = "".join(
        f"<li>{_e(z['name'])} ({_e(label('v_' + z['action'], lang))}, {_e(Path(z['path']).name)}): "
        f"{z['buildings_inside']:,} buildings inside, {z['excluded']:,} excluded, {z['flagged']:,} flagged</li>"
        for z in summary.get("exclusions", []))
    economics = _economics_html(summary.get("economics"), lang)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(summary.get('title', 'solarmap'))}</title>
<style>
body {{ font: 13px/1.45 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px; max-width: 1100px; }}
h1 {{ font-size: 20px; margin: 0 0 6px 0; }} h2 {{ font-size: 15px; margin: 18px 0 6px 0; }}
.kpi {{ display: inline-block; margin: 4px 18px 4px 0; }} .kpi b {{ font-size: 18px; display: block; }}
table {{ border-collapse: collapse; font-size: 12px; }} td, th {{ border: 1px solid #bbb; padding: 3px 6px; text-align: left; }}
.chart {{ margin: 4px 12px 4px 0; }}
.all {{ color: #444; margin: 2px 0 6px 0; }} .unclosed {{ color: #b00020; font-weight: 600; }}
.sm-warnings {{ margin: 10px 0; padding: 6px 10px; background: #fff4ce; border: 1px solid #d9a400; }}
.sm-warnings ul {{ margin: 4px 0 0 0; padding-left: 18px; }}
@media print {{ body {{ margin: 8mm; }} }}
</style></head><body>
<h1>{_e(summary.get('title', 'solarmap'))}</h1>
<div>{_e(label('title', lang))} · run {_e(summary.get('run_id', ''))} · {_e(summary.get('weather', {}).get('source', ''))}</div>
<div>
<span class="kpi"><b>{t.get('buildings', 0):,}</b>{_e(label('roofs', lang))}</span>
<span class="kpi"><b>{t.get('assessed', 0):,}</b>{_e(label('assessed', lang))}</span>
<span class="kpi"><b>{t.get('suitable', 0):,}</b>{_e(label('suitable_roofs', lang))}</span>
<span class="kpi"><b>{t.get('suitable_capacity_mw', 0):,.1f} MWp</b>{_e(label('potential', lang))} · {_e(label('suitable_roofs', lang))}</span>
<span class="kpi"><b>{t.get('suitable_annual_gwh', 0):,.2f} GWh/yr</b>{_e(label('annual', lang))} · {_e(label('suitable_roofs', lang))}</span>
<span class="kpi"><b>{t.get('suitable_co2_t_per_year', 0):,.0f} t/yr</b>{_e(label('co2', lang))}</span>
</div>
<div class="all">{_e(label('all_assessed', lang))}: {t.get('capacity_mw', 0):,.1f} MWp, {t.get('annual_gwh', 0):,.2f} GWh/yr
({t.get('assessed', 0) - t.get('suitable', 0):,} {_e(label('excluded_shaded', lang))})</div>
<div>
<span class="kpi"><b>{t.get('median_shading_loss_pct') or 0:.1f} %</b>{_e(label('shading', lang))} (median)</span>
</div>
{warnings_html(summary, lang, escape=_e)}
<h2>{_e(label('monthly', lang))}</h2>
{charts}
<h2>{_e(label('rules', lang))}</h2>
{use_line}
<table><tr><th>rule</th><th>subdistrict</th><th>text</th><th>eligible</th><th>with PV</th><th>by count</th>
<th>by gross area</th><th>by installable area</th><th>status</th><th>shortfall buildings</th><th>shortfall kWp</th>
<th>capex to close, M CNY</th><th>removed by zones</th></tr>
{''.join(rules)}</table>
{economics}
<h2>{_e(label('excluded', lang))}</h2><ul>{excluded}</ul>
{f"<h2>{_e(label('layer_zones', lang))}</h2><ul>{zones}</ul>" if zones else ""}
</body></html>
"""
