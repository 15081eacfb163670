"""Money and carbon per roof: installed cost, year-one savings, simple payback, NPV, LCOE, CO₂ avoided.

A roof's array (``capacity_kwp``, ``annual_kwh`` with shade) is a project paid for up front (year 0) and run for
``lifetime_years``; cash flows fall at the end of each year, at flat prices:

- generation in year t: E₁ (1 − d)^(t−1), d the degradation;
- the self-consumed share s saves the building's retail tariff, the rest is exported at the benchmark price;
- the Shanghai subsidy pays per kWh of generation (schools, BIPV, homes) or of exported energy (C&I on
  non-residential tariffs), for ``subsidy_years`` or until the generation reaches ``subsidy_full_load_hours`` ×
  capacity, whichever comes first (the year in which the hours run out is paid in part);
- O&M per kWp each year; the inverter replaced at multiples of ``inverter_replacement_years`` before the end.

Outputs (index aligned): ``capex_cny``; ``annual_savings_cny``, year one's bill saving + export revenue + subsidy
− O&M; ``subsidy_cny``, the subsidy over its whole period (undiscounted); ``payback_years`` = capex ÷ year-one
savings (simple, empty when the savings are not positive); ``npv_cny`` at ``discount_rate``; ``lcoe_cny_per_kwh``
= discounted costs (capex, O&M, inverters; no subsidy) ÷ discounted generation; ``co2_t_per_year`` = annual kWh ×
the grid factor; ``subsidy_kind``.

Tariffs are flat prices. Time-of-use would price each hour's output, and needs the hourly AC profile of every
roof, which this version does not keep: the flat price is used, which understates daytime PV under time-of-use.

Every sum over the lifetime is an annuity factor over years (a handful of numbers) times a per-roof array: no loop
over roofs, and the subsidy cap is a loop over at most ``subsidy_years`` years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solarmap.config import EconomicsConfig

#: what the subsidy pays on, per kind
SUBSIDY_KINDS = {
    "school": "generation (schools on the residential tariff)",
    "bipv": "generation (building-integrated PV)",
    "distributed_generation": "generation (other distributed PV on the residential tariff)",
    "distributed_export": "exported energy (other distributed PV on non-residential tariffs)",
}

#: the note summary.json and the report carry about prices
TARIFF_NOTE = ("flat prices per category: time-of-use tariffs need hourly profiles per roof, which this version does "
               "not keep, so daytime PV is valued at the flat price (an underestimate under time-of-use)")
#: the same note in Chinese, for reports in Chinese
TARIFF_NOTE_ZH = ("各类别按单一电价计：分时电价需要逐屋顶的逐时出力，本版本不保存，因此白天的光伏电量按单一电价计价"
                  "（在分时电价下为低估）")


def capex_per_kwp(capacity_kwp, ec: EconomicsConfig) -> np.ndarray:
    """Installed cost per kWp from the size curve: linear in log(kWp) between its points, flat beyond [CNY kWp⁻¹]."""
    kwp = np.asarray(capacity_kwp, dtype=float)
    pts = np.asarray(ec.capex_cny_per_kwp, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(np.where(kwp > 0, kwp, np.nan))
    return np.interp(x, np.log(pts[:, 0]), pts[:, 1])


def capex_cny(capacity_kwp, ec: EconomicsConfig) -> np.ndarray:
    """Installed cost of arrays of ``capacity_kwp`` [CNY] (NaN where the capacity is not positive)."""
    kwp = np.asarray(capacity_kwp, dtype=float)
    return np.where(kwp > 0, kwp * capex_per_kwp(kwp, ec), np.nan)


def by_category(roofs: pd.DataFrame, table: dict[str, float]) -> np.ndarray:
    """A per-category (or per-use-class, which wins) value for each roof."""
    cat = roofs["category"].astype(str).to_numpy() if "category" in roofs.columns else np.full(len(roofs), "other")
    use = roofs["use_class"].astype(str).to_numpy() if "use_class" in roofs.columns else np.full(len(roofs), "")
    out = pd.Series(cat).map(table).to_numpy(dtype=float)
    from_use = pd.Series(use).map(table).to_numpy(dtype=float)
    return np.where(np.isfinite(from_use), from_use, out)


def subsidy_kinds(roofs: pd.DataFrame) -> np.ndarray:
    """``bipv`` where the input's ``bipv`` column is true, ``school`` for education, homes on generation, others
    (C&I on non-residential tariffs) on exported energy."""
    n = len(roofs)
    use = roofs["use_class"].astype(str).to_numpy() if "use_class" in roofs.columns else np.full(n, "")
    cat = roofs["category"].astype(str).to_numpy() if "category" in roofs.columns else np.full(n, "other")
    bipv = np.zeros(n, dtype=bool)
    if "bipv" in roofs.columns:
        raw = roofs["bipv"]
        bipv = raw.astype("string").str.strip().str.lower().isin(["true", "1", "yes", "y", "是"]).fillna(False).to_numpy(bool)
    kind = np.where(cat == "residential", "distributed_generation", "distributed_export").astype(object)
    kind[use == "education"] = "school"
    kind[bipv] = "bipv"
    return kind


def roof_economics(roofs: pd.DataFrame, ec: EconomicsConfig, *, co2_kg_per_kwh: float = 0.42) -> pd.DataFrame:
    """Economics of a full array on every roof with a capacity (index aligned; NaN elsewhere). See the module."""
    kwp = np.nan_to_num(roofs["capacity_kwp"].to_numpy(dtype=float))
    e1 = np.nan_to_num(roofs["annual_kwh"].to_numpy(dtype=float))
    ok = (kwp > 0) & (e1 > 0)
    life = int(ec.lifetime_years)
    r, d = float(ec.discount_rate), float(ec.degradation_per_year)
    t = np.arange(1, life + 1, dtype=float)
    g = (1.0 - d) ** (t - 1.0)  # generation in year t relative to year one
    v = (1.0 + r) ** -t  # discount factors
    n_rep = int(ec.inverter_replacement_years)
    rep_years = np.arange(n_rep, life, n_rep) if n_rep > 0 else np.array([], dtype=int)  # before the end of life
    inv_pv = float(((1.0 + r) ** -rep_years.astype(float)).sum()) * ec.inverter_cny_per_kwp * kwp

    tariff = by_category(roofs, ec.tariff_cny_per_kwh)
    share = by_category(roofs, ec.self_consumption)
    value = share * tariff + (1.0 - share) * ec.export_cny_per_kwh  # [CNY/kWh] of year-one output
    kind = subsidy_kinds(roofs)
    rate = np.select([kind == "school", kind == "bipv"], [ec.subsidy_school_cny_per_kwh, ec.subsidy_bipv_cny_per_kwh],
                     ec.subsidy_distributed_cny_per_kwh)
    base = np.where(kind == "distributed_export", 1.0 - share, 1.0)  # share of generation the subsidy pays on

    # the subsidy period: whole years while the cumulative full-load hours stay below the cap, then part of a year
    sy = np.divide(e1, kwp, out=np.zeros_like(e1), where=kwp > 0)  # year-one full-load hours [kWh/kWp]
    years = min(int(ec.subsidy_years), life)
    paid_g = np.zeros_like(e1)  # Σ g_t f_t: subsidised generation over the period, in year-one units
    paid_gv = np.zeros_like(e1)  # Σ g_t f_t v_t
    first = np.zeros_like(e1)  # f_1
    used = np.zeros_like(e1)  # full-load hours so far
    for k in range(years):
        hours = sy * g[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.clip((ec.subsidy_full_load_hours - used) / hours, 0.0, 1.0)
        f = np.where(hours > 0, f, 0.0)
        paid_g += g[k] * f
        paid_gv += g[k] * f * v[k]
        if k == 0:
            first = f
        used += hours
    subsidy_rate = rate * base * e1  # CNY per year-one-equivalent kWh of the subsidised generation
    subsidy_total = subsidy_rate * paid_g
    subsidy_pv = subsidy_rate * paid_gv

    capex = capex_cny(kwp, ec)
    om = ec.om_cny_per_kwp_year * kwp
    savings1 = e1 * value + subsidy_rate * first - om
    a_gen = float((g * v).sum())  # discounted generation per kWh of year one
    a_one = float(v.sum())
    npv = -capex + e1 * value * a_gen + subsidy_pv - om * a_one - inv_pv
    with np.errstate(divide="ignore", invalid="ignore"):
        lcoe = (capex + om * a_one + inv_pv) / (e1 * a_gen)
        payback = np.where(savings1 > 0, capex / savings1, np.nan)
    nan = np.full(len(roofs), np.nan)
    out = pd.DataFrame({
        "capex_cny": np.where(ok, capex, nan),
        "annual_savings_cny": np.where(ok, savings1, nan),
        "subsidy_cny": np.where(ok, subsidy_total, nan),
        "payback_years": np.where(ok, payback, nan),
        "npv_cny": np.where(ok, npv, nan),
        "lcoe_cny_per_kwh": np.where(ok, lcoe, nan),
        "co2_t_per_year": np.where(ok, e1 * co2_kg_per_kwh / 1000.0, nan),
        "subsidy_kind": np.where(ok, kind, ""),
    }, index=roofs.index)
    return out


def apply_economics(roofs: pd.DataFrame, cfg) -> pd.DataFrame:
    """The economics stage: the columns of :func:`roof_economics` on every roof (replacing earlier ones)."""
    if not cfg.economics.enabled:
        return roofs
    cols = roof_economics(roofs, cfg.economics, co2_kg_per_kwh=cfg.output.co2_kg_per_kwh)
    return pd.concat([roofs.drop(columns=[c for c in cols.columns if c in roofs.columns]), cols], axis=1)


def _q(v: np.ndarray, p: float):
    return round(float(np.quantile(v, p)), 2) if len(v) else None


def summarise(roofs: pd.DataFrame, cfg, policy_results: list[dict] | None = None) -> dict | None:
    """summary.json's ``economics``: the assumptions, totals over suitable roofs (per subdistrict and for the run),
    payback quantiles per category, and the capex of closing each rule's shortfall."""
    if not cfg.economics.enabled or "capex_cny" not in roofs.columns:
        return None
    suitable = roofs["suitable"].fillna(False).to_numpy(dtype=bool) & roofs["capex_cny"].notna().to_numpy()
    # only the columns read here: a whole-table subset of a city's suitable roofs is gigabytes
    cols = ["capacity_kwp", "capex_cny", "annual_savings_cny", "subsidy_cny", "npv_cny", "co2_t_per_year", "payback_years",
            "lcoe_cny_per_kwh", "category", "subdistrict", "suitable"]
    s = roofs.loc[suitable, [c for c in cols if c in roofs.columns]]

    def totals(part: pd.DataFrame) -> dict:
        pb = part["payback_years"].to_numpy(dtype=float)
        return {"suitable_roofs": int(len(part)), "capacity_kwp": round(float(part["capacity_kwp"].sum()), 1),
                "capex_cny": round(float(part["capex_cny"].sum()), 0),
                "annual_savings_cny": round(float(part["annual_savings_cny"].sum()), 0),
                "subsidy_cny": round(float(part["subsidy_cny"].sum()), 0),
                "npv_cny": round(float(part["npv_cny"].sum()), 0),
                "co2_t_per_year": round(float(part["co2_t_per_year"].sum()), 1),
                "payback_years_of_the_total": round(float(part["capex_cny"].sum() / part["annual_savings_cny"].sum()), 2)
                if part["annual_savings_cny"].sum() > 0 else None,
                "roofs_with_positive_npv": int((part["npv_cny"] > 0).sum()),
                "payback_years_p10_p50_p90": [_q(pb[np.isfinite(pb)], q) for q in (0.1, 0.5, 0.9)]}

    by_cat = {}
    for c, part in s.groupby("category"):
        pb = part["payback_years"].to_numpy(dtype=float)
        pb = pb[np.isfinite(pb)]
        by_cat[str(c)] = {"suitable_roofs": int(len(part)), "payback_years_p10": _q(pb, 0.1),
                          "payback_years_p50": _q(pb, 0.5), "payback_years_p90": _q(pb, 0.9),
                          "share_payback_4_to_10_years": round(float(((pb >= 4) & (pb <= 10)).mean()), 4) if len(pb) else None,
                          "lcoe_cny_per_kwh_p50": _q(part["lcoe_cny_per_kwh"].dropna().to_numpy(), 0.5)}
    rules = [{"rule_id": r["rule_id"], "subdistrict": r.get("subdistrict", ""),
              "shortfall_buildings": r.get("shortfall_buildings", 0), "shortfall_kwp": r.get("shortfall_kwp", 0.0),
              "shortfall_capex_cny": r.get("shortfall_capex_cny")} for r in policy_results or []]
    ec = cfg.economics
    return {
        "assumptions": vars(ec).copy() | {"co2_kg_per_kwh": cfg.output.co2_kg_per_kwh, "tariffs": TARIFF_NOTE,
                                          "cash_flows": "capex in year 0; flat prices; end-of-year flows",
                                          "subsidy_kinds": SUBSIDY_KINDS},
        "scope": "suitable roofs, each with a full array on its usable area (roofs with PV included)",
        "total": totals(s),  # the whole run (the district when the run covers it)
        "per_subdistrict": {str(k): totals(part) for k, part in s.groupby(s["subdistrict"].fillna("").astype(str))},
        "by_category": by_cat,
        "rule_shortfall_capex": rules,
    }
