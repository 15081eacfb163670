"""Every column solarmap writes, with its unit in the name and one line of documentation.

The order here is the order of ``roofs.csv``. Input columns that are not in this table are carried through after
these, unchanged (renamed ``input_<name>`` if they would clash with a name here).
"""

MONTHS = tuple(f"{m:02d}" for m in range(1, 13))

#: name -> description (units in brackets). Ordered as in the CSV.
ROOF_COLUMNS: dict[str, str] = {
    "building_id": "Building identifier from the input (or the input row number when the input has none).",
    "name": "Building name or address from the input, empty when unknown.",
    "subdistrict": "Subdistrict (街道) the run is for, or the one whose outline contains the building.",
    "in_boundary": "True when the footprint's centre lies inside the run's boundary (always true without one); only these count toward rules.",
    "assessment": "'assessed' when the roof was modelled, 'excluded' when it could not be (see reason).",
    "reason": "Why a building was excluded, or a note on an assessed one (see README, 'Reasons').",
    "suitable": "True when an assessed roof is worth equipping (not too small, not too shaded).",
    "category": "Policy category: public_institution, other_public, commercial, industrial, residential, other.",
    "use_class": "Finer use: government, education, medical, culture_sport, public_service, transport, office, commercial, industrial, residential, park, other_public, unknown.",
    "category_source": "Where the category came from: the input value it was mapped from, or 'default'.",
    "stage": "'new' or 'existing' building, relative to the rule set's baseline year.",
    "year_built": "Year of construction from the input, empty when unknown.",
    "existing_pv_kwp": "PV already installed on the roof [kWp], 0 when none is known.",
    "height_m": "Roof height above ground [m].",
    "height_source": "Where the height came from: dsm, column, floors, or neighbours (median within 100 m).",
    "height_imputed": "True when the height was not measured: from floors where a height column exists but had no plausible value, or from neighbours.",
    "floors": "Number of storeys from the input, empty when unknown.",
    "roof_area_m2": "Gross roof area, the footprint area in the metric CRS [m²].",
    "roof_overlap": "True when more than 1 m² of the footprint lies under a taller footprint (not counted as roof).",
    "covered_area_m2": "Footprint area under taller overlapping footprints, taken off the roof [m²].",
    "usable_area_m2": "Roof area left for PV after the edge setback and the obstruction share [m²].",
    "module_area_m2": "Module area that fits on the usable area at the layout's ground-coverage ratio [m²].",
    "ground_coverage_ratio": "Module area ÷ usable area of the row layout [-].",
    "surface_tilt_deg": "Module tilt from horizontal [°].",
    "surface_azimuth_deg": "Module azimuth, clockwise from north (180 = south) [°].",
    "capacity_kwp": "DC capacity that fits on the roof [kWp].",
    "sky_view_factor": "Share of the sky hemisphere (cosine weighted) seen from the roof, mean of its sample points [-].",
    "sample_points": "Points on the roof whose horizons give its shade (more where the shade changes), 0 when not shaded.",
    "shading_loss_pct": "Annual AC energy lost to neighbours' shade, relative to the unshaded roof [%].",
    "annual_poa_kwh_m2": "Annual plane-of-array irradiation on the modules, shaded [kWh m⁻² yr⁻¹].",
    "annual_kwh": "Annual AC energy with neighbours' shade [kWh yr⁻¹].",
    "annual_kwh_unshaded": "Annual AC energy without neighbours' shade [kWh yr⁻¹].",
    "specific_yield_kwh_per_kwp": "annual_kwh ÷ capacity_kwp [kWh kWp⁻¹ yr⁻¹].",
    **{f"kwh_m{m}": f"AC energy in month {int(m)} with shade [kWh]." for m in MONTHS},
    "lon": "Longitude of the roof's centre, WGS84 [°].",
    "lat": "Latitude of the roof's centre, WGS84 [°].",
}

#: Columns the policy stage adds (after ROOF_COLUMNS in roofs.csv).
POLICY_COLUMNS: dict[str, str] = {
    "policy_rules": "Rule ids (comma-separated) whose categories and stage cover the building.",
    "policy_candidate_for": "Rule ids whose shortfall this roof is picked to close.",
    "policy_status": "Per rule: 'candidate #rank', or 'cannot count: why' for eligible roofs that cannot host PV.",
    "candidate_rank": "Rank among suitable roofs without PV: specific yield (high first), then usable area.",
    "existing_pv_area_m2": "Roof area covered by existing PV [m²]: the input's, or kWp ÷ module power ÷ GCR.",
}

#: Columns of candidates.csv, in order (a subset of ROOF_COLUMNS plus the rank).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_rank",
    "building_id",
    "name",
    "subdistrict",
    "category",
    "stage",
    "roof_area_m2",
    "usable_area_m2",
    "capacity_kwp",
    "annual_kwh",
    "specific_yield_kwh_per_kwp",
    "shading_loss_pct",
    "existing_pv_kwp",
    "lon",
    "lat",
)

#: Reasons a building can carry. Excluded buildings always carry one; assessed ones may carry a note.
REASONS: dict[str, str] = {
    "outside_boundary": "The footprint's centre lies outside the run's boundary (kept as an obstacle for shade).",
    "invalid_geometry": "The geometry is empty, null, not a polygon, or could not be repaired.",
    "no_height": "No plausible height (DSM, column, floors) and fewer than 3 neighbours with one within 100 m.",
    "covered": "The footprint lies (all but a sliver) under a taller overlapping footprint: no roof of its own.",
    "too_small": "Usable roof area below the configured minimum (roofs.min_usable_area_m2).",
    "shaded": "Assessed, but neighbours' shade takes more than shading.max_loss_pct of the yield.",
}


def describe(name: str) -> str:
    """Return the documentation of an output column, or raise KeyError naming the column."""
    return ROOF_COLUMNS[name]
