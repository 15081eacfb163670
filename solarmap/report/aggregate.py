"""Aggregates of a run: the summary (``summary.json``), the per-subdistrict table and the per-rule overview.

Pure functions over the assessed roofs; the report page, the map and the database show what they return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from solarmap import economics, overlaps
from solarmap.columns import FLAG_COLUMNS
from solarmap.errors import warning_detail
from solarmap.policy import overall_status
from solarmap.solar import pv_model_description
from solarmap.sources.subdistricts import find_subdistrict
from solarmap.version import __version__


def subdistrict_table(roofs: pd.DataFrame) -> pd.DataFrame:
    a = roofs["assessment"] == "assessed"
    g = roofs.assign(
        _assessed=a, _excluded=~a, _suitable=roofs["suitable"].fillna(False).astype(bool),
        _roof=roofs["roof_area_m2"].where(a, 0.0), _usable=roofs["usable_area_m2"].where(a, 0.0),
    ).groupby("subdistrict", dropna=False)
    t = pd.DataFrame({
        "buildings": g.size(), "assessed": g["_assessed"].sum(), "excluded": g["_excluded"].sum(),
        "suitable": g["_suitable"].sum(), "roof_area_m2": g["_roof"].sum(), "usable_area_m2": g["_usable"].sum(),
        "capacity_kwp": g["capacity_kwp"].sum(), "annual_kwh": g["annual_kwh"].sum(),
        "annual_kwh_unshaded": g["annual_kwh_unshaded"].sum(), "existing_pv_kwp": g["existing_pv_kwp"].sum(),
    })
    if "capex_cny" in roofs.columns:  # the economics of equipping every suitable roof
        s = roofs.assign(**{c: roofs[c].where(roofs["suitable"].fillna(False).astype(bool), 0.0)
                            for c in ("capex_cny", "annual_savings_cny", "npv_cny", "co2_t_per_year")})
        gs = s.groupby("subdistrict", dropna=False)
        for c in ("capex_cny", "annual_savings_cny", "npv_cny", "co2_t_per_year"):
            t[f"suitable_{c}"] = gs[c].sum()
    return t.reset_index()


def _names(name: str, sub) -> bool:
    """Whether a run's name is the subdistrict's own (``dapuqiao``, ``打浦桥``, its code): else the title keeps the
    run's name too (``solarmap · city · Dapuqiao (打浦桥街道)`` for a run over another buildings file)."""
    try:
        return find_subdistrict(name).slug == sub.slug
    except Exception:  # noqa: BLE001 - not a subdistrict's name
        return False


def summarise(cfg, roofs, weather, boundary_label, policy_results, rule_set, warnings, run_id, hashes, crs, *,
              warning_details: list[dict] | None = None, category_detection: dict | None = None,
              exclusions: list[dict] | None = None, planes: pd.DataFrame | None = None, facades=None) -> dict:
    """What summary.json holds: totals, exclusions, categories, repairs, warnings, weather, the models, rules,
    the economics, the exclusion zones, the roof shapes and the facades (when they ran).

    The headline figures are the suitable roofs' (``suitable_capacity_kwp``, ``suitable_annual_kwh``): roofs that
    are assessed and not too shaded. ``capacity_kwp`` and ``annual_kwh`` count every assessed roof, shaded ones too.
    """
    a = roofs["assessment"] == "assessed"
    suitable = roofs["suitable"].fillna(False).astype(bool)
    s_cap = float(roofs.loc[suitable, "capacity_kwp"].sum())
    s_e = float(roofs.loc[suitable, "annual_kwh"].sum())
    cap = float(roofs.loc[a, "capacity_kwp"].sum())
    e = float(roofs.loc[a, "annual_kwh"].sum())
    e0 = float(roofs.loc[a, "annual_kwh_unshaded"].sum())
    co2 = e * cfg.output.co2_kg_per_kwh / 1000.0
    title = f"solarmap · {cfg.name}"
    if cfg.subdistrict and not cfg.boundary:  # the subdistrict's outline is the boundary (not a file, not 'none')
        try:
            sub = find_subdistrict(cfg.subdistrict)
            title = f"solarmap · {sub.label}" if _names(cfg.name, sub) else f"solarmap · {cfg.name} · {sub.label}"
        except Exception:  # noqa: BLE001 - a title is never worth failing a run
            pass
    flags = {c: int(roofs[c].sum()) for c in (*FLAG_COLUMNS, "height_imputed", "roof_overlap") if c in roofs.columns}
    out = {
        "run_id": run_id,
        "name": cfg.name,
        "title": title,
        "subdistrict": cfg.subdistrict,
        "boundary": boundary_label,
        "package_version": __version__,
        "crs_metric": crs.to_string(),
        "inputs": {"buildings": cfg.buildings.path, "weather": weather.source, "sha256": hashes},
        "totals": {
            "buildings": int(len(roofs)),
            "assessed": int(a.sum()),
            "excluded": int((~a).sum()),
            "suitable": int(suitable.sum()),
            "suitable_capacity_kwp": round(s_cap, 1),
            "suitable_capacity_mw": round(s_cap / 1000.0, 3),
            "suitable_annual_kwh": round(s_e, 0),
            "suitable_annual_gwh": round(s_e / 1e6, 4),
            "suitable_co2_t_per_year": round(s_e * cfg.output.co2_kg_per_kwh / 1000.0, 1),
            "roof_area_m2": round(float(roofs.loc[a, "roof_area_m2"].sum()), 1),
            "usable_area_m2": round(float(roofs.loc[a, "usable_area_m2"].sum()), 1),
            "capacity_kwp": round(cap, 1),
            "capacity_mw": round(cap / 1000.0, 3),
            "annual_kwh": round(e, 0),
            "annual_gwh": round(e / 1e6, 4),
            "annual_kwh_unshaded": round(e0, 0),
            "shading_loss_pct_total": round(100.0 * (1 - e / e0), 2) if e0 > 0 else None,
            "median_shading_loss_pct": median(roofs.loc[a, "shading_loss_pct"]),
            "median_specific_yield_kwh_per_kwp": median(roofs.loc[a, "specific_yield_kwh_per_kwp"]),
            "existing_pv_kwp": round(float(roofs["existing_pv_kwp"].sum()), 1),
            "co2_kg_per_kwh": cfg.output.co2_kg_per_kwh,
            "co2_t_per_year": round(co2, 1),
        },
        "roof_shapes": roof_shape_summary(roofs, planes),
        "excluded_by_reason": {str(k): int(v) for k, v in roofs.loc[~a, "reason"].value_counts().sort_index().items()},
        "by_category": {
            str(k): {"buildings": int(len(g)), "assessed": int((g["assessment"] == "assessed").sum()),
                     "capacity_kwp": round(float(g["capacity_kwp"].sum()), 1), "annual_kwh": round(float(g["annual_kwh"].sum()), 0)}
            for k, g in roofs[["category", "assessment", "capacity_kwp", "annual_kwh"]].groupby("category")
        },
        "categories": (category_detection or {}) | {
            "other_share": round(float((roofs["category"] == "other").mean()), 4) if len(roofs) else None,
            "max_other_share": cfg.buildings.max_other_share},
        "repairs": {"flags": flags, **overlaps.overlap_summary(roofs), "height_sources": {str(k): int(v) for k, v in roofs["height_source"].value_counts().items()}},
        "warnings": list(dict.fromkeys(warnings)),
        "warning_details": warning_details if warning_details is not None else [
            warning_detail("SolarmapWarning", w) for w in dict.fromkeys(warnings)],
        "weather": {"source": weather.source, "annual_ghi_kwh_m2": round(weather.annual_ghi_kwh_m2(), 1),
                    "latitude": weather.latitude, "longitude": weather.longitude},
        "roofs_model": vars(cfg.roofs).copy() | {"ground_coverage_ratio_used": median(roofs.loc[a, "ground_coverage_ratio"])},
        "shading_model": vars(cfg.shading).copy(),
        "pv_model": pv_model_description(cfg.pv, weather),
        "rule_set": {k: v for k, v in rule_set.items() if k not in ("district_target", "substitution")},
        "policy": policy_results,
        "policy_overview": policy_overview(policy_results),
        "district_target": rule_set.get("district_target"),
        "substitution": rule_set.get("substitution"),
        "economics": economics.summarise(roofs, cfg, policy_results),
        "exclusions": list(exclusions or []),
    }
    if facades is not None:
        out["facades"] = facade_summary(facades, cfg, weather)
    return out


#: compass quarters of a facade's outward azimuth [°]: north is [315, 45)
ORIENTATIONS = {"N": (315.0, 45.0), "E": (45.0, 135.0), "S": (135.0, 225.0), "W": (225.0, 315.0)}


def orientation_of(azimuth_deg) -> np.ndarray:
    """N, E, S or W for each azimuth [°] (quarters centred on the compass points)."""
    az = np.mod(np.asarray(azimuth_deg, dtype=float), 360.0)
    return np.array(["N", "E", "S", "W"], dtype=object)[(((az + 45.0) % 360.0) // 90.0).astype(int)]


def _facade_figures(f: pd.DataFrame) -> dict:
    ok = f["suitable"].fillna(False).astype(bool).to_numpy()
    e_ok = float(f.loc[ok, "annual_kwh"].sum())
    e0_ok = float(f.loc[ok, "annual_kwh_unshaded"].sum())
    return {
        "facades": int(len(f)),
        "suitable": int(ok.sum()),
        "gross_area_m2": round(float(f["gross_area_m2"].sum()), 1),
        "usable_area_m2": round(float(f.loc[ok, "usable_area_m2"].sum()), 1),
        "capacity_kwp": round(float(f.loc[ok, "capacity_kwp"].sum()), 1),
        "annual_kwh": round(e_ok, 0),
        "annual_kwh_unshaded": round(e0_ok, 0),
        "shading_loss_pct_total": round(100.0 * (1 - e_ok / e0_ok), 2) if e0_ok > 0 else None,
        # every facade with a capacity, suitable or not: how the walls compare before the yield threshold
        "annual_kwh_all": round(float(f["annual_kwh"].sum()), 0),
        "median_specific_yield_kwh_per_kwp": median(f.loc[ok, "specific_yield_kwh_per_kwp"]),
    }


def facade_summary(f: pd.DataFrame, cfg, weather) -> dict:
    """Facade totals (suitable facades unless named ``_all``), by orientation, unsuitable by reason, the model."""
    from solarmap.facades import pv_config

    totals = _facade_figures(f)
    totals["capacity_mw"] = round(totals["capacity_kwp"] / 1000.0, 3)
    totals["annual_gwh"] = round(totals["annual_kwh"] / 1e6, 4)
    totals["buildings_with_suitable_facades"] = int(f.loc[f["suitable"].astype(bool), "building_id"].nunique())
    totals["median_sky_view_factor"] = median(f["sky_view_factor"])
    totals["co2_t_per_year"] = round(totals["annual_kwh"] * cfg.output.co2_kg_per_kwh / 1000.0, 1)
    side = orientation_of(f["surface_azimuth_deg"])
    return {
        "totals": totals,
        "by_orientation": {k: _facade_figures(f[side == k]) for k in ORIENTATIONS},
        "unsuitable_by_reason": {str(k): int(v) for k, v in
                                 f.loc[~f["suitable"].astype(bool), "reason"].value_counts().sort_index().items()},
        "model": vars(cfg.facades).copy(),
        "pv_model": pv_model_description(pv_config(cfg), weather),
    }




def roof_shape_summary(roofs: pd.DataFrame, planes: pd.DataFrame | None = None) -> dict:
    """Roofs by shape (all, assessed, suitable, capacity) and where the shapes came from; the planes' count and
    why planes were left unused."""
    if "roof_shape" not in roofs.columns:
        return {}
    a = roofs["assessment"] == "assessed"
    suitable = roofs["suitable"].fillna(False).astype(bool)
    by = {str(k): {"buildings": int(len(g)), "assessed": int(a[g.index].sum()), "suitable": int(suitable[g.index].sum()),
                   "capacity_kwp": round(float(g.loc[a[g.index], "capacity_kwp"].sum()), 1)}
          for k, g in roofs[["roof_shape", "capacity_kwp"]].groupby("roof_shape")}  # a group is a copy: two columns
    src = roofs["roof_shape_source"].astype("string").str.replace(r":.*", "", regex=True) if "roof_shape_source" in roofs.columns else None
    out = {"by_shape": by, "by_source": {str(k): int(v) for k, v in src.value_counts().sort_index().items()} if src is not None else {}}
    if planes is not None:
        out["planes"] = int(len(planes))
        out["planes_used"] = int(planes["suitable"].sum()) if len(planes) else 0
        out["planes_unused_by_reason"] = ({str(k): int(v) for k, v in planes.loc[~planes["suitable"].astype(bool), "reason"]
                                           .value_counts().sort_index().items()} if len(planes) else {})
    return out


def policy_overview(results: list[dict]) -> list[dict]:
    """One line per rule: compliant only if every subdistrict with eligible buildings complies, not applicable if
    none has any."""
    out: dict[str, dict] = {}
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["rule_id"], []).append(r)
        o = out.setdefault(r["rule_id"], {"rule_id": r["rule_id"], "text": r.get("text", ""), "eligible_buildings": 0,
                                          "shortfall_buildings": 0, "shortfall_kwp": 0.0, "closable": True,
                                          "shortfall_capex_cny": None, "removed_by_zones": 0})
        o["eligible_buildings"] += int(r.get("eligible_buildings", 0))
        o["shortfall_buildings"] += int(r.get("shortfall_buildings", 0))
        o["shortfall_kwp"] = round(o["shortfall_kwp"] + float(r.get("shortfall_kwp", 0.0)), 2)
        o["closable"] = o["closable"] and bool(r.get("closable", True))
        if r.get("shortfall_capex_cny") is not None:
            o["shortfall_capex_cny"] = round((o["shortfall_capex_cny"] or 0.0) + float(r["shortfall_capex_cny"]), 0)
        o["removed_by_zones"] += int(r.get("removed_by_zones", 0))
    for rid, o in out.items():
        o["status"] = overall_status(groups[rid])
        o["compliant"] = None if o["status"] == "not_applicable" else o["status"] == "compliant"
        if o["status"] == "not_applicable":
            o["reason"] = next((r["reason"] for r in groups[rid] if r.get("reason")), "no eligible building")
    return list(out.values())


def median(s: pd.Series):
    v = s.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return round(float(np.median(v)), 3) if len(v) else None
