"""Installation rules as data: compliance per rule and subdistrict, the shortfall, and the roofs that close it.

Rule sets are loaded and checked by :mod:`solarmap.rules`; this module evaluates them. Measures:

- ``share_of_buildings``: buildings with PV ÷ eligible buildings (portfolio);
- ``share_of_gross_area``: PV-covered roof area ÷ gross roof area of the eligible buildings (portfolio);
- ``share_of_installable_area``: PV-covered roof area ÷ installable (usable) area (portfolio; Suzhou's reading);
- ``building_area_ratio``: each eligible building's PV-covered area ÷ its gross roof area (every building).

Whatever a rule's measure, every result reports the share by count and by both area denominators side by side,
because the plan's text does not say which it means (FACTS §1). PV-covered area is the roof area an array
occupies: module area ÷ the layout's ground-coverage ratio (from ``existing_pv_area_m2`` when the input has it,
else from ``existing_pv_kwp``). A candidate roof is assumed to take a full array on its usable area.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from solarmap.columns import COLUMNS
from solarmap.economics import capex_cny
from solarmap.errors import ConfigError
from solarmap.rules import MEASURES, SCOPES, STAGES, Rule, RuleSet, list_rule_sets, load_rule_set

log = logging.getLogger(__name__)

# rule sets are loaded by solarmap.rules; re-exported here for callers of the evaluation
__all__ = ["MEASURES", "SCOPES", "STAGES", "Rule", "RuleSet", "apply_rules", "evaluate", "list_rule_sets", "load_rule_set"]

# --------------------------------------------------------------------------------------------------- evaluation


def _in_boundary(roofs: pd.DataFrame) -> np.ndarray:
    """Buildings inside the run's boundary (whatever else excluded them): only they count toward rules."""
    if "in_boundary" in roofs.columns:
        return roofs["in_boundary"].fillna(False).to_numpy(dtype=bool)
    return (roofs["reason"] != "outside_boundary").to_numpy()


def pv_covered_area(roofs: pd.DataFrame, *, module_power_w_per_m2: float, gcr: float) -> np.ndarray:
    """Roof area covered by existing PV [m²]: ``existing_pv_area_m2`` where given, else kWp → module area ÷ GCR."""
    kwp = roofs["existing_pv_kwp"].to_numpy(dtype=float)
    from_kwp = kwp / (module_power_w_per_m2 / 1000.0) / gcr
    if "existing_pv_area_m2" in roofs.columns:
        given = pd.to_numeric(roofs["existing_pv_area_m2"], errors="coerce").to_numpy(dtype=float)
        return np.where(np.isfinite(given) & (given > 0), given, np.nan_to_num(from_kwp))
    return np.nan_to_num(from_kwp)


#: ranking key → (column, direction): -1 high first, +1 low first
RANK_KEYS = {"annual_kwh": ("annual_kwh", -1), "specific_yield": ("specific_yield_kwh_per_kwp", -1),
             "npv": ("npv_cny", -1), "payback": ("payback_years", 1), "usable_area": ("usable_area_m2", -1)}

#: policy.rank_by → the keys compared in turn (then the building id). specific_yield is the ranking of earlier
#: versions (specific yield, then usable area), now compared at the reported precision
RANK_CHAINS = {
    "annual_kwh": ("annual_kwh", "specific_yield", "usable_area"),
    "specific_yield": ("specific_yield", "usable_area", "annual_kwh"),
    "npv": ("npv", "annual_kwh", "specific_yield", "usable_area"),
    "payback": ("payback", "npv", "annual_kwh", "specific_yield", "usable_area"),
    "usable_area": ("usable_area", "annual_kwh", "specific_yield"),
}


def _rank_key(roofs: pd.DataFrame, key: str) -> np.ndarray:
    """A key as lexsort sorts it (ascending): at the column's CSV precision, so that differences a planner cannot
    see (floating-point noise in the twelfth digit) never decide a rank; missing values last."""
    col, sign = RANK_KEYS[key]
    v = roofs[col].to_numpy(dtype=float)
    decimals = COLUMNS[col].decimals
    if decimals is not None:
        v = np.round(v, decimals)
    return np.where(np.isfinite(v), sign * v, np.inf)


def candidate_order(roofs: pd.DataFrame, rank_by: str = "annual_kwh") -> np.ndarray:
    """Positions of roofs in ranking order: the keys of ``RANK_CHAINS[rank_by]`` in turn, then the building id.

    A key whose column the table lacks is skipped (``npv``, ``payback`` without the economics stage), except the
    first, which is an error."""
    if rank_by not in RANK_CHAINS:
        msg = f"policy.rank_by = {rank_by!r} is not one of {', '.join(RANK_CHAINS)}"
        raise ConfigError(msg)
    first = RANK_KEYS[rank_by][0]
    if first not in roofs.columns:
        msg = (f"policy.rank_by = {rank_by!r} needs the column '{first}', which the roofs do not have "
               "(npv and payback come from the economics stage: economics.enabled = true)")
        raise ConfigError(msg)
    keys = [_rank_key(roofs, k) for k in RANK_CHAINS[rank_by] if RANK_KEYS[k][0] in roofs.columns]
    ids = roofs["building_id"].astype(str).to_numpy()
    return np.lexsort((ids, *reversed(keys)))


#: reasons that mark a row which is not a building of its own (so no rule counts it)
NOT_BUILDINGS = ("replaced_by_parts", "under_higher_part", "covered", "underground")

_S = np.dtypes.StringDType()


def _text(values) -> np.ndarray:
    """Values as a numpy string array (None and NaN as empty), for vectorised string building."""
    v = pd.Series(values, dtype=object)
    return v.where(v.notna(), "").astype(str).to_numpy().astype(_S)


def _append(acc: np.ndarray, mask: np.ndarray, text, sep: str) -> np.ndarray:
    """``acc`` with ``text`` appended where ``mask`` (joined by ``sep``, none before the first item)."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return acc
    text = np.asarray(text, dtype=_S)
    text = text[idx] if text.ndim else text
    cur = acc[idx]
    acc = acc.copy()
    acc[idx] = np.where(cur == "", text, np.strings.add(np.strings.add(cur, sep), text))
    return acc


def _why_not(reasons: np.ndarray, assessed: np.ndarray, suitable: np.ndarray) -> np.ndarray:
    """Why each roof cannot host PV: 'excluded (reason)', 'not suitable (reason)', or '' (vectorised)."""
    r = _text(reasons)
    excluded = np.strings.add(np.strings.add("excluded (", r), ")")
    unsuitable = np.strings.add(np.strings.add("not suitable (", np.where(r == "", "shaded", r)), ")")
    return np.where(~assessed, excluded, np.where(~suitable, unsuitable, np.asarray("", dtype=_S)))


def _records(ids: np.ndarray, why: np.ndarray, mask: np.ndarray) -> list[dict]:
    """``[{"building_id", "why"}]`` for the roofs in ``mask``."""
    return pd.DataFrame({"building_id": ids[mask], "why": why[mask].astype(object)}).to_dict("records")


def evaluate(roofs: pd.DataFrame, rule_set: RuleSet, *, module_power_w_per_m2: float = 215.0,
             gcr: float = 0.68, rank_by: str = "annual_kwh", capex=None) -> tuple[pd.DataFrame, list[dict]]:
    """Check every rule for every subdistrict (or the whole run). Returns per-building policy columns (index
    aligned) and one result dict per rule and group.

    ``rank_by``: the candidate ranking (:data:`RANK_CHAINS`); a count rule's shortfall is closed down it, an area
    rule's by the roofs that add the most area first (the fewest buildings), ties in ranking order.
    ``capex``: a function kWp → CNY for the cost of partial arrays (building-level rules); full arrays cost the
    roofs' ``capex_cny``. Buildings an exclusion zone excludes (``exclusion_action = exclude``) or flags (``flag``,
    unless the rule sets ``include_flagged``) are not eligible; each result counts them in ``removed_by_zones``.
    """
    n = len(roofs)
    inside = _in_boundary(roofs)
    assessed = (roofs["assessment"] == "assessed").to_numpy()
    suitable = roofs["suitable"].fillna(False).to_numpy(dtype=bool)
    pv_area = pv_covered_area(roofs, module_power_w_per_m2=module_power_w_per_m2, gcr=gcr)
    has_pv = (roofs["existing_pv_kwp"].to_numpy(dtype=float) > 0) | (pv_area > 0)
    gross = np.nan_to_num(roofs["roof_area_m2"].to_numpy(dtype=float))
    usable = np.nan_to_num(roofs["usable_area_m2"].to_numpy(dtype=float))
    cap = np.nan_to_num(roofs["capacity_kwp"].to_numpy(dtype=float))
    kwh = np.nan_to_num(roofs["annual_kwh"].to_numpy(dtype=float))
    sy = roofs["specific_yield_kwh_per_kwp"].to_numpy(dtype=float)
    sy_median = float(np.nanmedian(sy)) if np.isfinite(sy).any() else 0.0
    reasons = roofs["reason"].fillna("").astype(str).to_numpy()
    ids = roofs["building_id"].astype(str).to_numpy()
    cat = roofs["category"].to_numpy()
    use = roofs["use_class"].to_numpy() if "use_class" in roofs.columns else np.full(n, "unknown", dtype=object)
    stage = roofs["stage"].to_numpy()
    sub = roofs["subdistrict"].fillna("").astype(str).to_numpy()
    order = candidate_order(roofs, rank_by)
    # the candidate rank: position among feasible roofs without PV, in ranking order
    pool = order[(assessed & suitable & ~has_pv)[order]]
    rank = np.full(n, np.nan)
    rank[pool] = np.arange(1, len(pool) + 1)
    # area rules: the roofs adding the most area first (usable area at its CSV precision), ties in ranking order
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    area_order = np.lexsort((pos, _rank_key(roofs, "usable_area")))
    roof_capex = roofs["capex_cny"].to_numpy(dtype=float) if "capex_cny" in roofs.columns else \
        (np.asarray(capex(cap), dtype=float) if capex is not None else None)
    action = roofs["exclusion_action"].fillna("").astype(str).to_numpy() if "exclusion_action" in roofs.columns \
        else np.full(n, "", dtype=object)
    zone = roofs["exclusion_zone"].fillna("").astype(str).to_numpy() if "exclusion_zone" in roofs.columns \
        else np.full(n, "", dtype=object)
    zone_excluded, flagged = action == "exclude", action == "flag"

    # per-building texts, built rule by rule with array operations (no loop over buildings)
    eligible_for = np.full(n, "", dtype=_S)
    picked_for = np.full(n, "", dtype=_S)
    status = np.full(n, "", dtype=_S)
    why_not = _why_not(reasons, assessed, suitable)
    zone_text = np.strings.add(np.strings.add(np.strings.add(_text(action), " zone '"), _text(zone)), "'")
    overall_text = np.where(np.isfinite(rank),
                            np.strings.add(np.strings.add(" (#", _text(np.where(np.isfinite(rank), rank, 0).astype(np.int64))), ")"),
                            np.asarray("", dtype=_S))
    results = []
    # rows that are no building of their own never count: an OSM outline replaced by its parts, a part or a
    # footprint wholly under a taller one (a podium drawn under its tower, a duplicate), a building underground
    countable = inside & ~np.isin(reasons, NOT_BUILDINGS)
    for rule in rule_set.rules:
        base = countable & np.isin(cat, rule.categories)
        if rule.uses:
            base &= np.isin(use, rule.uses)
        if rule.stage != "any":
            base &= stage == rule.stage
        covered = int(base.sum())  # before the feasibility filter, for the not-applicable reason
        # zones: excluded buildings never count, flagged ones only where the rule says so (feasible-only rules:
        # an excluded building was not assessed, so it is counted as removed whatever its roof)
        drop = zone_excluded | (flagged & (not rule.include_flagged))
        if rule.feasible_only:
            drop = zone_excluded | (drop & assessed & suitable)
            base &= (assessed & suitable) | zone_excluded
        removed = base & drop
        base &= ~removed
        eligible_for = _append(eligible_for, base, rule.id, ",")
        status = _append(status, removed, np.strings.add(f"{rule.id}: not counted: ", zone_text), "; ")
        groups = sorted(set(sub[base | removed])) if rule.scope == "subdistrict" else ["(all)"]
        if not (base | removed).any():  # no eligible building anywhere: the rule does not apply (it is not met either)
            subs = sorted(set(sub[inside]) - {""})
            results.append(_empty_result(rule, covered=covered, subdistrict=subs[0] if len(subs) == 1 else "(all)"))
            continue
        for g in groups:
            in_g = (sub == g) if rule.scope == "subdistrict" else np.ones(n, dtype=bool)
            el = base & in_g
            gone = removed & in_g
            by_zone = {str(z): int(c) for z, c in zip(*np.unique(zone[gone].astype(str), return_counts=True), strict=True)}
            if not el.any():  # every building the rule covers here lies in an exclusion zone
                res = _empty_result(rule, covered=covered, subdistrict=g)
                res["reason"] = f"no eligible building: the {int(gone.sum())} it covers here lie in exclusion zones"
                results.append(res | {"removed_by_zones": int(gone.sum()), "removed_by_zone": by_zone})
                continue
            res, picks, noted, notes = _evaluate_group(rule, el, has_pv, pv_area, gross, usable, cap, kwh, sy,
                                                       sy_median, assessed, suitable, why_not, ids, order, gcr,
                                                       module_power_w_per_m2, area_order=area_order,
                                                       roof_capex=roof_capex, capex=capex)
            res["subdistrict"] = g
            res["removed_by_zones"], res["removed_by_zone"] = int(gone.sum()), by_zone
            results.append(res)
            picked = np.zeros(n, dtype=bool)
            picked[picks] = True
            picked_for = _append(picked_for, picked, rule.id, ",")
            # picks are in ranking order: k/N is the rank within the rule, (#r) the overall candidate rank
            within = np.full(n, "", dtype=_S)
            within[picks] = np.strings.add(np.strings.add(f"{rule.id}: candidate ",
                                                          _text(np.arange(1, len(picks) + 1))), f"/{len(picks)}")
            status = _append(status, picked, np.strings.add(within, overall_text), "; ")
            status = _append(status, noted, np.strings.add(f"{rule.id}: cannot count: ", notes), "; ")
    cols = pd.DataFrame(index=roofs.index)
    cols["policy_rules"] = eligible_for.astype(object)
    cols["policy_candidate_for"] = picked_for.astype(object)
    cols["policy_status"] = status.astype(object)
    cols["candidate_rank"] = pd.array(rank).astype("Int64")
    cols["existing_pv_area_m2"] = np.round(pv_area, 2)
    return cols, results


#: A rule's status in one group: compliant, not compliant, or not applicable (no eligible building).
STATUSES = ("compliant", "not_compliant", "not_applicable")


def _not_applicable_reason(rule: Rule, covered: int = 0) -> str:
    """Why a rule has no eligible building, naming what it looked for."""
    what = " or ".join(rule.categories) + (f" ({', '.join(rule.uses)})" if rule.uses else "")
    stage = "" if rule.stage == "any" else f" {rule.stage}"
    if rule.feasible_only and covered:
        return (f"no eligible building: none of the {covered} {what}{stage} buildings inside the boundary is assessed "
                "and suitable (the rule counts feasible roofs only)")
    return f"no eligible building: no {what}{stage} building inside the boundary; check the category mapping"


def _empty_result(rule: Rule, *, covered: int = 0, subdistrict: str = "(all)") -> dict:
    """The result of a rule that no building is eligible for: not applicable, with the reason."""
    return {"rule_id": rule.id, "text": rule.text, "subdistrict": "(all)" if rule.scope == "district" else subdistrict,
            "measure": rule.measure, "level": rule.level, "threshold": rule.threshold, "deadline": rule.deadline,
            "categories": list(rule.categories), "uses": list(rule.uses), "stage": rule.stage,
            "eligible_buildings": 0, "buildings_with_pv": 0,
            "share_by_count": None, "share_by_gross_area": None, "share_by_installable_area": None,
            "eligible_gross_area_m2": 0.0, "eligible_installable_area_m2": 0.0, "pv_covered_area_m2": 0.0, "value": None,
            "status": "not_applicable", "compliant": None, "reason": _not_applicable_reason(rule, covered),
            "shortfall_measure_units": 0.0, "shortfall_buildings": 0, "shortfall_area_m2": 0.0, "shortfall_kwp": 0.0,
            "shortfall_kwh_per_year": 0.0, "shortfall_capex_cny": 0.0, "candidate_ids": [], "closable": True,
            "unclosed": 0.0, "cannot_count": [], "removed_by_zones": 0, "removed_by_zone": {}}


def result_status(result: dict) -> str:
    """A result's status; results written before statuses existed are read from ``compliant``."""
    if result.get("status") in STATUSES:
        return result["status"]
    if result.get("compliant") is None or not result.get("eligible_buildings", 1):
        return "not_applicable"
    return "compliant" if result["compliant"] else "not_compliant"


def overall_status(results) -> str:
    """A rule over its groups: not compliant if any group with eligible buildings fails, compliant if every such
    group complies, not applicable if no group has any."""
    found = {result_status(r) for r in results} - {"not_applicable"}
    return "not_compliant" if "not_compliant" in found else "compliant" if found else "not_applicable"


def _ratio(num: float, den: float):
    return round(num / den, 4) if den > 0 else None


def _evaluate_group(rule, el, has_pv, pv_area, gross, usable, cap, kwh, sy, sy_median, assessed, suitable,
                    why_not, ids, order, gcr, module_power, *, area_order=None, roof_capex=None, capex=None):
    """One rule in one group: the result, the picked positions (ranking order), and the roofs that cannot count
    (a mask) with why (a string array)."""
    n_el = int(el.sum())
    with_pv = el & has_pv
    pv_total = float(pv_area[el].sum())
    gross_total = float(gross[el].sum())
    usable_total = float(usable[el].sum())
    res = {
        "rule_id": rule.id, "text": rule.text, "measure": rule.measure, "level": rule.level,
        "threshold": rule.threshold, "deadline": rule.deadline, "categories": list(rule.categories),
        "uses": list(rule.uses), "stage": rule.stage, "eligible_buildings": n_el,
        "buildings_with_pv": int(with_pv.sum()),
        "share_by_count": _ratio(float(with_pv.sum()), n_el),
        "share_by_gross_area": _ratio(pv_total, gross_total),
        "share_by_installable_area": _ratio(pv_total, usable_total),
        "eligible_gross_area_m2": round(gross_total, 1), "eligible_installable_area_m2": round(usable_total, 1),
        "pv_covered_area_m2": round(pv_total, 1),
    }
    noted = np.zeros(len(el), dtype=bool)
    notes = why_not
    picks: list[int] = []
    kw_per_m2 = gcr * module_power / 1000.0  # kWp per m² of roof covered by rows
    if rule.level == "portfolio":
        measure_value = {"share_of_buildings": res["share_by_count"], "share_of_gross_area": res["share_by_gross_area"],
                         "share_of_installable_area": res["share_by_installable_area"]}[rule.measure]
        res["value"] = measure_value
        if rule.measure == "share_of_buildings":
            need = max(0.0, math.ceil(rule.threshold * n_el - 1e-9) - float(with_pv.sum()))
            gain = np.ones(len(el))
        else:
            den = gross_total if rule.measure == "share_of_gross_area" else usable_total
            need = max(0.0, rule.threshold * den - pv_total)
            gain = usable
        res["compliant"] = bool(n_el == 0 or need <= 1e-9)
        feasible = el & ~has_pv & assessed & suitable
        noted = el & ~has_pv & ~(assessed & suitable)
        if need > 1e-9:
            # a count is closed by any `need` roofs: down the ranking; an area with the fewest: largest first
            walk = order if rule.measure == "share_of_buildings" or area_order is None else area_order
            ranked = walk[feasible[walk]]
            cum = np.cumsum(gain[ranked])
            k = int(np.searchsorted(cum, need - 1e-9) + 1)
            picks = ranked[: min(k, len(ranked))].tolist()
            closed = len(ranked) >= k
            got = float(cum[min(k, len(ranked)) - 1]) if len(ranked) else 0.0
        else:
            closed, got = True, 0.0
        res["shortfall_measure_units"] = round(need, 2)
        res["closable"] = bool(closed)
        res["unclosed"] = round(max(0.0, need - got), 2) if not closed else 0.0
        if rule.measure == "share_of_buildings":
            res["shortfall_buildings"] = int(need)
            res["shortfall_area_m2"] = round(float(usable[picks].sum()), 1)
        else:
            res["shortfall_buildings"] = len(picks)
            res["shortfall_area_m2"] = round(need, 1)
        res["shortfall_kwp"] = round(float(cap[picks].sum()), 2)
        res["shortfall_kwh_per_year"] = round(float(kwh[picks].sum()), 0)
        res["shortfall_capex_cny"] = round(float(np.nansum(roof_capex[picks])), 0) if roof_capex is not None else None
    else:  # building level: each eligible building's PV-covered share of its roof
        ratio = np.where(gross > 0, pv_area / np.where(gross > 0, gross, 1.0), 0.0)
        bad = el & (ratio < rule.threshold - 1e-9)
        missing_area = np.where(bad, rule.threshold * gross - pv_area, 0.0)
        res["value"] = _ratio(float((el & ~bad).sum()), n_el)
        res["buildings_compliant"] = int((el & ~bad).sum())
        res["compliant"] = bool(not bad.any())
        fits = assessed & (usable >= rule.threshold * gross - 1e-9)
        noted = bad & ~fits
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.nan_to_num(np.round(100.0 * usable / np.where(gross > 0, gross, np.nan)))
        too_little = np.strings.add(np.strings.add("usable area is ", _text(pct.astype(np.int64))),
                                    f"% of the roof, below {rule.threshold:.0%}")
        notes = np.where(assessed, too_little, why_not)
        picks = order[(bad & fits)[order]].tolist()  # in ranking order
        kwp_needed = missing_area * kw_per_m2
        res["shortfall_buildings"] = int(bad.sum())
        res["shortfall_area_m2"] = round(float(missing_area.sum()), 1)
        res["shortfall_kwp"] = round(float(kwp_needed.sum()), 2)
        sy_fill = np.where(np.isfinite(sy), sy, sy_median)
        res["shortfall_kwh_per_year"] = round(float((kwp_needed * sy_fill)[bad].sum()), 0)
        # the cost of the partial arrays that close the gap, each at the size curve's price for its size
        res["shortfall_capex_cny"] = (round(float(np.nansum(capex(kwp_needed[picks]))), 0) if picks else 0.0) \
            if capex is not None else None
        res["closable"] = bool(len(picks) == int(bad.sum()))
        res["unclosed"] = round(float(missing_area[bad & ~np.isin(np.arange(len(el)), picks)].sum()), 1)
    res["candidate_ids"] = ids[picks].tolist()
    res["cannot_count"] = _records(ids, notes, noted)
    if n_el == 0:  # callers skip empty groups; kept so that an empty group can never read "compliant"
        res.update(status="not_applicable", compliant=None, reason=_not_applicable_reason(rule))
    else:
        res["status"] = "compliant" if res["compliant"] else "not_compliant"
    return res, picks, noted, notes


def floor_area_m2(roofs: pd.DataFrame, storey_height_m: float) -> np.ndarray:
    """Gross floor area: footprint × floors (from the input, else height ÷ storey height, at least 1) [m²]."""
    floors = pd.to_numeric(roofs["floors"], errors="coerce").to_numpy(dtype=float) if "floors" in roofs.columns else np.full(len(roofs), np.nan)
    est = np.maximum(1.0, np.round(roofs["height_m"].to_numpy(dtype=float) / storey_height_m))
    floors = np.where(np.isfinite(floors) & (floors >= 1), floors, est)
    return np.nan_to_num(roofs["roof_area_m2"].to_numpy(dtype=float)) * np.nan_to_num(floors)


def substitution(roofs: pd.DataFrame, rule_set: RuleSet) -> list[dict]:
    """Renewable substitution rate of new buildings (annual PV yield ÷ estimated annual energy use), per
    subdistrict: with today's PV, and with every suitable new roof equipped."""
    if not rule_set.substitution_targets:
        return []
    eui = rule_set.energy_use_intensity
    use = roofs["use_class"].to_numpy() if "use_class" in roofs.columns else np.full(len(roofs), "", dtype=object)
    intensity = np.array([eui.get(u, eui.get(c, np.nan)) for u, c in zip(use, roofs["category"], strict=True)])
    energy = floor_area_m2(roofs, rule_set.storey_height_m) * intensity
    new = (roofs["stage"] == "new").to_numpy() & _in_boundary(roofs)
    sy = roofs["specific_yield_kwh_per_kwp"].to_numpy(dtype=float)
    sy = np.where(np.isfinite(sy), sy, np.nanmedian(sy) if np.isfinite(sy).any() else 0.0)
    existing_kwh = roofs["existing_pv_kwp"].to_numpy(dtype=float) * sy
    suitable = roofs["suitable"].fillna(False).to_numpy(dtype=bool) & (roofs["existing_pv_kwp"].to_numpy(dtype=float) <= 0)
    potential_kwh = np.where(suitable, np.nan_to_num(roofs["annual_kwh"].to_numpy(dtype=float)), 0.0) + existing_kwh
    sub = roofs["subdistrict"].fillna("").astype(str).to_numpy()
    out = []
    for g in sorted(set(sub[new])):
        m = new & (sub == g)
        e = float(np.nansum(energy[m]))
        now = float(existing_kwh[m].sum())
        pot = float(potential_kwh[m].sum())
        entry = {"subdistrict": g, "new_buildings": int(m.sum()), "energy_use_kwh_per_year": round(e, 0),
                 "pv_kwh_per_year_now": round(now, 0), "pv_kwh_per_year_potential": round(pot, 0),
                 "rate_now": _ratio(now, e), "rate_potential": _ratio(pot, e), "targets": []}
        for year, rate in rule_set.substitution_targets:
            entry["targets"].append({"year": year, "rate": rate, "met_now": bool(e > 0 and now / e >= rate),
                                     "reachable": bool(e > 0 and pot / e >= rate)})
        out.append(entry)
    return out


def district_target(roofs: pd.DataFrame, rule_set: RuleSet, results: list[dict]) -> dict | None:
    """Existing plus candidate capacity against the district target, per subdistrict and in total [kW]."""
    if not rule_set.district_target_kw:
        return None
    inside = _in_boundary(roofs)
    existing = roofs["existing_pv_kwp"].to_numpy(dtype=float)
    suitable = roofs["suitable"].fillna(False).to_numpy(dtype=bool) & (existing <= 0)
    cap = np.nan_to_num(roofs["capacity_kwp"].to_numpy(dtype=float))
    picked = roofs.get("policy_candidate_for", pd.Series("", index=roofs.index)).fillna("").astype(str).to_numpy() != ""
    sub = roofs["subdistrict"].fillna("").astype(str).to_numpy()
    rows = []
    for g in sorted(set(sub[inside])):
        m = inside & (sub == g)
        rows.append({"subdistrict": g, "existing_kw": round(float(existing[m].sum()), 1),
                     "rule_candidates_kw": round(float(cap[m & picked].sum()), 1),
                     "all_suitable_kw": round(float(cap[m & suitable].sum()), 1)})
    total = {k: round(sum(r[k] for r in rows), 1) for k in ("existing_kw", "rule_candidates_kw", "all_suitable_kw")}
    target = float(rule_set.district_target_kw)
    return {"target_kw": target, "year": rule_set.district_target_year, "per_subdistrict": rows, "total": total,
            "existing_plus_rule_candidates_kw": round(total["existing_kw"] + total["rule_candidates_kw"], 1),
            "share_of_target_existing_plus_candidates": _ratio(total["existing_kw"] + total["rule_candidates_kw"], target),
            "share_of_target_all_suitable": _ratio(total["existing_kw"] + total["all_suitable_kw"], target),
            "note": "the target is district-wide; a run covering part of the district shows that part's contribution"}


def apply_rules(roofs: pd.DataFrame, rule_set: RuleSet, cfg) -> tuple[pd.DataFrame, list[dict], dict]:
    """The pipeline's policy stage: rule columns on every roof, results per rule and subdistrict, and the rule
    set's description (with district target and substitution rates)."""
    from solarmap.roofs import ground_coverage_ratio

    gcr = float(np.nanmedian(roofs["ground_coverage_ratio"])) if np.isfinite(roofs["ground_coverage_ratio"]).any() else \
        cfg.roofs.ground_coverage_ratio or float(ground_coverage_ratio(cfg.roofs.surface_tilt_deg, 31.2))
    capex = None
    if cfg.economics.enabled:
        def capex(kwp):
            return capex_cny(kwp, cfg.economics)
    cols, results = evaluate(roofs, rule_set, module_power_w_per_m2=cfg.roofs.module_power_w_per_m2, gcr=gcr,
                             rank_by=cfg.policy.rank_by, capex=capex)
    roofs = pd.concat([roofs.drop(columns=[c for c in cols.columns if c in roofs.columns]), cols], axis=1)
    desc = rule_set.describe()
    desc["district_target"] = district_target(roofs, rule_set, results)
    desc["substitution"] = substitution(roofs, rule_set)
    return roofs, results, desc
