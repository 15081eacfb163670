"""Economics per roof: one roof worked by hand year by year, the size curve, the subsidy kinds, the config checks,
and the embedded Dapuqiao run against the figures the industry quotes."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from solarmap.config import Config, EconomicsConfig, PolicyConfig, config_from_dict
from solarmap.economics import capex_per_kwp, roof_economics
from solarmap.errors import ConfigError


def _cash_flows_by_hand(kwp, e1, *, capex_per_kwp, tariff, share, subsidy_rate, subsidy_on_export, ec):
    """The project as a year-by-year table, the way a spreadsheet does it (no annuity factors)."""
    capex = kwp * capex_per_kwp
    cap_kwh = ec.subsidy_full_load_hours * kwp  # the subsidy stops when the generation reaches this
    npv, disc_cost, disc_gen, cum_gen, subsidy_total, year1 = -capex, capex, 0.0, 0.0, 0.0, None
    for t in range(1, ec.lifetime_years + 1):
        gen = e1 * (1 - ec.degradation_per_year) ** (t - 1)
        paid = 0.0
        if t <= ec.subsidy_years:
            paid = min(gen, max(0.0, cap_kwh - cum_gen))  # generation inside the subsidy period this year
        cum_gen += gen
        subsidy = subsidy_rate * paid * ((1 - share) if subsidy_on_export else 1.0)
        subsidy_total += subsidy
        om = ec.om_cny_per_kwp_year * kwp
        inverter = ec.inverter_cny_per_kwp * kwp if t % ec.inverter_replacement_years == 0 and t < ec.lifetime_years else 0.0
        net = gen * share * tariff + gen * (1 - share) * ec.export_cny_per_kwh + subsidy - om - inverter
        if t == 1:
            year1 = net
        d = (1 + ec.discount_rate) ** -t
        npv += net * d
        disc_cost += (om + inverter) * d
        disc_gen += gen * d
    return {"capex_cny": capex, "annual_savings_cny": year1, "subsidy_cny": subsidy_total,
            "payback_years": capex / year1, "npv_cny": npv, "lcoe_cny_per_kwh": disc_cost / disc_gen}


def test_one_school_roof_worked_by_hand_with_the_subsidy_cap():
    # a 200 kWp school roof at 1,300 kWh/kWp (a clear year): 5 years would pay 5 × 1,300 × (degraded) ≈ 6,461 h, so
    # the 6,050 full-load-hour cap ends the subsidy in year five
    ec = EconomicsConfig()
    roof = pd.DataFrame({"capacity_kwp": [200.0], "annual_kwh": [260_000.0], "category": ["public_institution"],
                         "use_class": ["education"]})
    got = roof_economics(roof, ec, co2_kg_per_kwh=0.42).iloc[0]
    # capex at 200 kWp: between (100, 3,300) and (1,000, 3,040), linear in log kWp
    per_kwp = 3300 + (3040 - 3300) * math.log(200 / 100) / math.log(1000 / 100)
    assert per_kwp == pytest.approx(3221.73, abs=0.01)
    # schools: the residential tariff 0.617, 60 % self-consumed, 0.12 CNY/kWh on the whole generation
    want = _cash_flows_by_hand(200.0, 260_000.0, capex_per_kwp=per_kwp, tariff=0.617, share=0.6, subsidy_rate=0.12,
                               subsidy_on_export=False, ec=ec)
    # the cap binds: the subsidy is exactly 0.12 CNY × 6,050 h × 200 kWp
    assert want["subsidy_cny"] == pytest.approx(0.12 * 6050 * 200, rel=1e-12)
    assert want["annual_savings_cny"] == pytest.approx(260_000 * (0.6 * 0.617 + 0.4 * 0.4155) + 0.12 * 260_000 - 33 * 200)
    # 0.1 %: the bar; the two computations are the same arithmetic in another order (annuity factors
    # against a year-by-year table), so they agree to about 1e-12 in fact
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-3), key
    assert got["subsidy_kind"] == "school"
    assert got["co2_t_per_year"] == pytest.approx(260_000 * 0.42 / 1000)
    assert 3 < got["payback_years"] < 5 and got["npv_cny"] > 0


def test_commercial_roof_subsidy_on_exported_energy_and_no_cap_below_it():
    ec = EconomicsConfig()
    roof = pd.DataFrame({"capacity_kwp": [50.0], "annual_kwh": [57_500.0], "category": ["commercial"],
                         "use_class": ["office"]})
    got = roof_economics(roof, ec).iloc[0]
    per_kwp = float(np.interp(math.log(50), [math.log(20), math.log(100)], [3500, 3300]))
    want = _cash_flows_by_hand(50.0, 57_500.0, capex_per_kwp=per_kwp, tariff=0.618, share=0.85, subsidy_rate=0.05,
                               subsidy_on_export=True, ec=ec)
    g5 = sum(0.995**k for k in range(5))  # 1,150 h/yr × 4.95 = 5,693 h < 6,050: five whole years
    assert want["subsidy_cny"] == pytest.approx(0.05 * 0.15 * 57_500 * g5)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-3), key  # as above
    assert got["subsidy_kind"] == "distributed_export"


def test_subsidy_kinds_homes_bipv_and_empty_roofs():
    roofs = pd.DataFrame({"capacity_kwp": [10.0, 100.0, 0.0, np.nan], "annual_kwh": [11_500.0, 115_000.0, 0.0, np.nan],
                          "category": ["residential", "commercial", "commercial", "other"],
                          "use_class": ["residential", "office", "office", "unknown"], "bipv": [False, True, False, False]})
    got = roof_economics(roofs, EconomicsConfig())
    assert got["subsidy_kind"].tolist() == ["distributed_generation", "bipv", "", ""]
    g5 = sum(0.995**k for k in range(5))
    assert got["subsidy_cny"].iloc[0] == pytest.approx(0.05 * 11_500 * g5)  # homes: on the whole generation
    assert got["subsidy_cny"].iloc[1] == pytest.approx(0.30 * 115_000 * g5)  # BIPV: 0.30 on generation
    assert got.iloc[2:][["capex_cny", "payback_years", "npv_cny"]].isna().all().all()  # nothing to build


def test_capex_curve_is_flat_beyond_its_ends_and_falls_with_size():
    ec = EconomicsConfig()
    v = capex_per_kwp([5.0, 20.0, 100.0, 1000.0, 5000.0], ec)
    assert v.tolist() == [3500.0, 3500.0, 3300.0, 3040.0, 3040.0]
    assert (np.diff(capex_per_kwp(np.geomspace(1, 5000, 50), ec)) <= 0).all()


@pytest.mark.parametrize(("economics", "match"), [
    ({"capex_cny_per_kwp": [[100, 3300], [50, 3500]]}, r"'economics.capex_cny_per_kwp' must be \[kWp, CNY per kWp\]"),
    ({"tariff_cny_per_kwh": {"schools": 0.6}}, r"'economics.tariff_cny_per_kwh.schools': not a category"),
    ({"self_consumption": {"commercial": 1.5}}, r"'economics.self_consumption.commercial' = 1.5 must be"),
    ({"discount_rate": 6}, r"'economics.discount_rate' = 6.0 is outside"),
    ({"vat": 0.13}, r"unknown key 'economics.vat'"),
])
def test_bad_economics_keys_are_named(economics, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict({"economics": economics}, where="p.toml")


def test_ranking_by_npv_needs_the_economics():
    with pytest.raises(ConfigError, match=r"'policy.rank_by' = 'npv' ranks by economics"):
        Config(policy=PolicyConfig(rank_by="npv"), economics=EconomicsConfig(enabled=False)).validate()
    with pytest.raises(ConfigError, match=r"'policy.rank_by' = 'best' is not one of"):
        Config(policy=PolicyConfig(rank_by="best")).validate()


def test_dapuqiao_payback_npv_and_the_capex_of_closing_each_rule(dapuqiao_run):
    run = dapuqiao_run / "dapuqiao"
    roofs = pd.read_csv(run / "roofs.csv", encoding="utf-8-sig")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    suitable = roofs[roofs["suitable"]]
    for col in ("capex_cny", "annual_savings_cny", "payback_years", "npv_cny", "lcoe_cny_per_kwh", "co2_t_per_year"):
        assert suitable[col].notna().all(), col
    assert roofs.loc[roofs["assessment"] == "excluded", "capex_cny"].isna().all()
    # FACTS §7: C&I payback 5-6 years in industry practice, 4-10 for most suitable roofs
    ci = suitable[suitable["category"].isin(["commercial", "industrial"])]["payback_years"]
    assert len(ci) > 50 and ((ci >= 4) & (ci <= 10)).mean() > 0.9
    assert 0.15 < suitable["lcoe_cny_per_kwh"].median() < 0.45  # below the 0.4155 benchmark and the tariffs
    # the capex of closing a count rule is the candidates' capex, read back from the CSV (rounded to 1 CNY each)
    capex = dict(zip(roofs["building_id"].astype(str), roofs["capex_cny"], strict=True))
    portfolio = [p for p in summary["policy"] if p["level"] == "portfolio" and p["candidate_ids"]]
    assert portfolio
    for p in portfolio:
        assert p["shortfall_capex_cny"] == pytest.approx(sum(capex[i] for i in p["candidate_ids"]), abs=len(p["candidate_ids"]))
    building = [p for p in summary["policy"] if p["level"] == "building" and p["candidate_ids"]]
    for p in building:  # partial arrays: at least the cheapest price per kWp, at most the dearest
        assert 3040 * p["shortfall_kwp"] * 0.99 <= p["shortfall_capex_cny"] <= 3500 * p["shortfall_kwp"] * 1.01
    econ = summary["economics"]
    assert econ["total"]["capex_cny"] == pytest.approx(suitable["capex_cny"].sum(), rel=1e-6)
    assert "flat" in econ["assumptions"]["tariffs"]
    from solarmap import store

    db = dapuqiao_run / "solarmap.duckdb"
    npv = store.query(db, "SELECT sum(npv_cny) AS v FROM roofs WHERE suitable")["v"].iloc[0]
    assert npv == pytest.approx(suitable["npv_cny"].sum(), rel=1e-6)
    sub = store.query(db, "SELECT sum(suitable_capex_cny) AS v FROM subdistrict_summary")["v"].iloc[0]
    assert sub == pytest.approx(econ["total"]["capex_cny"], rel=1e-6)
    report = (run / "report.html").read_text(encoding="utf-8")
    assert "payback p10/p50/p90" in report and "capex to close" in report
    assert "回收期" in (run / "map.html").read_text(encoding="utf-8")
