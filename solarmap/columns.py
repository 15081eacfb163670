"""The column registry: every column solarmap writes, with its dtype, unit, CSV decimals, description and labels.

One place knows the output columns. The CSV's order, decimals and Chinese headers, the DuckDB types, the
GeoPackage fields and the map's popup labels all come from :data:`COLUMNS`; ``solarmap columns`` prints it.
Input columns that are not in the registry are carried through after these, as given (renamed ``input_<name>``
when they would clash with a name here).

Units follow pvlib's style: in the column name, and in brackets in the description.
"""

from __future__ import annotations

from dataclasses import dataclass

MONTHS = tuple(f"{m:02d}" for m in range(1, 13))

#: the unit in a column name, as written after the Chinese label of a CSV header (longest suffix first)
_UNIT_TOKENS = (("_cny_per_kwh", "CNY_per_kWh"), ("_t_per_year", "t_per_yr"), ("_cny", "CNY"), ("_years", "yr"),
                ("_kwh_per_kwp", "kWh_per_kWp"), ("_kwh_m2", "kWh_m2"), ("_m2", "m2"), ("_kwp", "kWp"),
                ("_kwh", "kWh"), ("_pct", "pct"), ("_deg", "deg"), ("_m", "m"))

_SQL = {"str": "VARCHAR", "bool": "BOOLEAN", "int": "INTEGER", "float": "DOUBLE"}


@dataclass(frozen=True)
class Column:
    """One output column.

    ``dtype``: ``str``, ``bool``, ``int`` or ``float``; ``unit``: as shown to a person (empty when none);
    ``decimals``: CSV rounding of a float column (None: as computed); ``group``: ``roof`` (the documented roof
    columns, in CSV order), ``policy`` (added by the rules), ``flag`` (repairs and imputations).
    """

    name: str
    dtype: str
    unit: str
    decimals: int | None
    description: str
    zh: str
    label: str
    group: str = "roof"

    @property
    def sql_type(self) -> str:
        return _SQL[self.dtype]

    def header(self, *, chinese: bool = False) -> str:
        """The CSV header: the name, or ``中文_unit name`` with Chinese headers (``装机容量_kWp capacity_kwp``)."""
        if not (chinese and self.zh):
            return self.name
        token = next((t for suffix, t in _UNIT_TOKENS if self.name.endswith(suffix)), "")
        return f"{self.zh}_{token} {self.name}" if token else f"{self.zh} {self.name}"

    def unit_in(self, lang: str = "en") -> str:
        """The unit as a reader of ``lang`` writes it (``元/年`` for ``CNY/yr`` in Chinese); empty when none."""
        unit = self.unit if self.unit and self.unit != "-" else ""
        return UNITS_ZH.get(unit, unit) if lang == "zh" else unit

    def display(self, lang: str = "both") -> str:
        """A label for maps and reports with its unit once: ``投资（元）``, ``Capex CNY``, or ``投资 Capex CNY``."""
        unit = self.unit_in(lang)
        if lang == "zh":
            return f"{self.zh}（{unit}）" if unit else self.zh
        en = f"{self.label} {unit}" if unit else self.label
        if lang == "en":
            return en
        head, _, rest = en.partition(" ")
        return f"{self.zh} {rest if rest and head in self.zh else en}"  # "年减排CO₂ avoided t/yr", not "CO₂ CO₂"


#: units in Chinese where a planner writes them so (元, 年, 吨); kWh, kWp, m² and % stay as they are
UNITS_ZH = {"CNY": "元", "CNY/yr": "元/年", "CNY/kWh": "元/kWh", "yr": "年", "t/yr": "吨/年", "kWh/yr": "kWh/年",
            "kWh/kWp/yr": "kWh/kWp/年", "kWh/m²/yr": "kWh/m²/年"}


def _c(name, dtype, unit, decimals, description, zh, label, group="roof") -> Column:
    return Column(name, dtype, unit, decimals, description, zh, label, group)


_ALL: list[Column] = [
    _c("building_id", "str", "", None, "Building identifier from the input (or the input row number when the input has none).", "编号", "ID"),
    _c("name", "str", "", None, "Building name or address from the input, empty when unknown.", "名称", "Name"),
    _c("subdistrict", "str", "", None, "Subdistrict (街道) the run is for, or the one whose outline contains the building.", "街道", "Subdistrict"),
    _c("in_boundary", "bool", "", None, "True when the footprint's centre lies inside the run's boundary (always true without one); only these count toward rules.", "边界内", "In boundary"),
    _c("assessment", "str", "", None, "'assessed' when the roof was modelled, 'excluded' when it could not be (see reason).", "评估", "Assessment"),
    _c("reason", "str", "", None, "Why a building was excluded, or a note on an assessed one (see README, 'Reasons').", "原因", "Reason"),
    _c("suitable", "bool", "", None, "True when an assessed roof is worth equipping (not too small, not too shaded).", "适宜", "Suitable"),
    _c("category", "str", "", None, "Policy category: public_institution, other_public, commercial, industrial, residential, other.", "类别", "Category"),
    _c("use_class", "str", "", None, "Finer use: government, education, medical, culture_sport, public_service, transport, office, commercial, industrial, residential, park, other_public, unknown.", "用途", "Use class"),
    _c("category_source", "str", "", None, "Where the category came from: the input value it was mapped from, or 'default'.", "类别来源", "Category source"),
    _c("stage", "str", "", None, "'new' or 'existing' building, relative to the rule set's baseline year.", "新建/既有", "Stage"),
    _c("year_built", "int", "", None, "Year of construction from the input, empty when unknown.", "建成年份", "Year built"),
    _c("existing_pv_kwp", "float", "kWp", 3, "PV already installed on the roof [kWp], 0 when none is known.", "已装光伏", "Existing PV"),
    _c("height_m", "float", "m", 2, "Roof height above ground [m].", "高度", "Height"),
    _c("height_source", "str", "", None, "Where the height came from: dsm, column, floors, or neighbours (median within 100 m).", "高度来源", "Height source"),
    _c("height_imputed", "bool", "", None, "True when the height was not measured: from floors where a height column exists but had no plausible value, or from neighbours.", "高度估算", "Height imputed"),
    _c("floors", "int", "", None, "Number of storeys from the input, empty when unknown.", "层数", "Floors"),
    _c("roof_area_m2", "float", "m²", 2, "Gross roof area: the footprint area in the metric CRS, less the part under taller overlapping footprints [m²].", "屋顶面积", "Roof area"),
    _c("roof_overlap", "bool", "", None, "True when more than 1 m² of the footprint lies under a taller footprint (not counted as roof).", "屋顶重叠", "Roof overlap"),
    _c("covered_area_m2", "float", "m²", 2, "Footprint area under taller overlapping footprints, taken off the roof [m²].", "被覆盖面积", "Covered area"),
    _c("roof_shape", "str", "", None, "Roof shape modelled: flat (rows of modules), gabled, hipped, pyramidal or skillion (planes, see roof_planes.csv).", "屋顶形式", "Roof shape"),
    _c("roof_shape_source", "str", "", None, "Where the roof shape came from: column (roof_shape / roof:shape), dsm (planes fitted to the DSM), rule:<id> (a shape rule of the pipeline: an assumption), none (flat by default).", "屋顶形式来源", "Roof shape source"),
    _c("roof_pitch_deg", "float", "°", 1, "Roof pitch of a pitched roof: given, from the roof's rise, fitted to the DSM, or roofs.default_pitch_deg (an assumption); empty for flat roofs [°].", "屋面坡度", "Roof pitch"),
    _c("roof_slope_area_m2", "float", "m²", 2, "Roof area along the slope: the planes' plan areas ÷ cos tilt summed (the roof area for flat roofs) [m²].", "屋面斜面积", "Roof slope area"),
    _c("roof_planes", "int", "", None, "Number of roof planes of a pitched roof (0 for a flat roof).", "屋面数", "Roof planes"),
    _c("roof_planes_used", "int", "", None, "Roof planes that take modules (not north-facing, large enough, not too shaded, yielding enough).", "可用屋面数", "Planes used"),
    _c("usable_area_m2", "float", "m²", 2, "Roof area left for PV after the edge setback and the obstruction share; for pitched roofs the used planes' slope area so set back [m²].", "可用面积", "Usable area"),
    _c("module_area_m2", "float", "m²", 2, "Module area that fits on the usable area at the layout's ground-coverage ratio [m²].", "组件面积", "Module area"),
    _c("ground_coverage_ratio", "float", "-", 4, "Module area ÷ usable area of the row layout [-].", "组件覆盖率", "Ground coverage ratio"),
    _c("surface_tilt_deg", "float", "°", 2, "Module tilt from horizontal [°].", "组件倾角", "Tilt"),
    _c("surface_azimuth_deg", "float", "°", 2, "Module azimuth, clockwise from north (180 = south) [°].", "组件方位角", "Azimuth"),
    _c("capacity_kwp", "float", "kWp", 3, "DC capacity that fits on the roof [kWp].", "装机容量", "Capacity"),
    _c("sky_view_factor", "float", "-", 4, "Share of the sky hemisphere (cosine weighted) seen from the roof, mean of its sample points [-].", "天空可视因子", "Sky view factor"),
    _c("sample_points", "int", "", None, "Points on the roof whose horizons give its shade (more where the shade changes), 0 when not shaded.", "采样点数", "Sample points"),
    _c("shading_loss_pct", "float", "%", 2, "Annual AC energy lost to neighbours' shade, relative to the unshaded roof [%].", "遮挡损失", "Shading loss"),
    _c("annual_poa_kwh_m2", "float", "kWh/m²/yr", 1, "Annual plane-of-array irradiation on the modules, shaded [kWh m⁻² yr⁻¹].", "年组件面辐照量", "Annual POA irradiation"),
    _c("annual_kwh", "float", "kWh/yr", 1, "Annual AC energy with neighbours' shade [kWh yr⁻¹].", "年发电量", "Annual yield"),
    _c("annual_kwh_unshaded", "float", "kWh/yr", 1, "Annual AC energy without neighbours' shade [kWh yr⁻¹].", "无遮挡年发电量", "Annual yield unshaded"),
    _c("specific_yield_kwh_per_kwp", "float", "kWh/kWp/yr", 1, "annual_kwh ÷ capacity_kwp [kWh kWp⁻¹ yr⁻¹].", "单位产能", "Specific yield"),
    *[_c(f"kwh_m{m}", "float", "kWh", 1, f"AC energy in month {int(m)} with shade [kWh].", f"{int(m)}月发电量", f"Month {int(m)} yield")
      for m in MONTHS],
    _c("lon", "float", "°", 7, "Longitude of the roof's centre, WGS84 [°].", "经度", "Longitude"),
    _c("lat", "float", "°", 7, "Latitude of the roof's centre, WGS84 [°].", "纬度", "Latitude"),
    # added by the economics stage: a full array on the usable area (see solarmap.economics and [economics])
    _c("capex_cny", "float", "CNY", 0, "Installed cost of the roof's array: capacity × the size curve's price per kWp [CNY].", "投资", "Capex"),
    _c("annual_savings_cny", "float", "CNY/yr", 0, "Year one: bill saved on self-consumed energy + export revenue + subsidy − O&M [CNY yr⁻¹].", "年收益", "Annual savings"),
    _c("subsidy_cny", "float", "CNY", 0, "Shanghai subsidy over its whole period (5 years or 6,050 full-load hours, whichever first), undiscounted [CNY].", "补贴总额", "Subsidy"),
    _c("payback_years", "float", "yr", 1, "Simple payback: capex ÷ year-one savings [yr]; empty when the savings are not positive.", "回收期", "Payback"),
    _c("npv_cny", "float", "CNY", 0, "Net present value over the lifetime at the discount rate, capex included [CNY].", "净现值", "NPV"),
    _c("lcoe_cny_per_kwh", "float", "CNY/kWh", 4, "Levelised cost: discounted capex, O&M and inverters ÷ discounted generation, no subsidy [CNY kWh⁻¹].", "度电成本", "LCOE"),
    _c("co2_t_per_year", "float", "t/yr", 2, "CO₂ avoided: annual_kwh × output.co2_kg_per_kwh ÷ 1000 [t yr⁻¹].", "年减排CO₂", "CO₂ avoided"),
    _c("subsidy_kind", "str", "", None, "What the subsidy pays on: school, bipv, distributed_generation (homes) or distributed_export (C&I, exported kWh).", "补贴类型", "Subsidy kind"),
    # exclusion zones and lists ([[exclusions]], --exclude)
    _c("exclusion_zone", "str", "", None, "The exclusion zone or id list the building falls in (the first that excludes, else the first that flags); empty when none.", "排除区", "Exclusion zone"),
    _c("exclusion_action", "str", "", None, "'exclude' (not assessed; reason = the zone's reason or name), 'flag' (assessed, not counted by rules unless a rule includes flagged), or empty.", "排除方式", "Exclusion action"),
    # facade PV (光伏幕墙): the building's suitable facades summed (see facades.csv); written when facades run
    _c("facade_capacity_kwp", "float", "kWp", 3, "BIPV capacity on the building's suitable facades [kWp], 0 when none is suitable.", "立面光伏容量", "Facade capacity"),
    _c("facade_annual_kwh", "float", "kWh/yr", 1, "Annual AC energy of the building's suitable facades, with shade [kWh yr⁻¹].", "立面年发电量", "Facade annual yield"),
    # roof planes (roof_planes.csv): a plane has building_id, the roof's tilt/azimuth/area/yield columns above
    _c("plane_id", "int", "", None, "Plane number within its building (1, 2, …): with building_id, one roof plane.", "屋面编号", "Plane", "plane"),
    _c("plane_area_m2", "float", "m²", 2, "Area of the roof plane along its slope: plan area ÷ cos tilt [m²].", "屋面面积", "Plane area", "plane"),
    _c("plane_plan_area_m2", "float", "m²", 2, "Area of the roof plane seen from above [m²].", "屋面投影面积", "Plane plan area", "plane"),
    # added by the policy stage
    _c("policy_rules", "str", "", None, "Rule ids (comma-separated) whose categories and stage cover the building.", "适用规则", "Rules", "policy"),
    _c("policy_candidate_for", "str", "", None, "Rule ids whose shortfall this roof is picked to close.", "候选规则", "Candidate for", "policy"),
    _c("policy_status", "str", "", None, "Per rule: 'candidate k/N (#rank)' (k-th of the N roofs picked for that rule; #rank among all candidates), or 'cannot count: why' for eligible roofs that cannot host PV.", "政策状态", "Rule status", "policy"),
    _c("candidate_rank", "int", "", None, "Rank among suitable roofs without PV by policy.rank_by (default annual kWh, high first), ties by the next key and the id, each compared at its CSV precision.", "候选排名", "Candidate rank", "policy"),
    _c("existing_pv_area_m2", "float", "m²", 2, "Roof area covered by existing PV [m²]: the input's, or kWp ÷ module power ÷ GCR.", "已装光伏面积", "Existing PV area", "policy"),
    # written by the open-data readers (sources/osm.py, sources/overture.py); empty for other inputs
    _c("osm_kind", "str", "", None, "OSM: 'building' (an outline) or 'building:part' (a part with its own height).", "OSM要素类型", "OSM kind", "source"),
    _c("osm_part_of", "str", "", None, "OSM: the outline a building:part belongs to (its building_id).", "所属OSM建筑", "OSM part of", "source"),
    _c("min_height_m", "float", "m", 2, "OSM/Overture: height of the part's bottom above ground (min_height, building:min_level) [m].", "底部高度", "Minimum height", "source"),
    _c("height_rule", "str", "", None, "OSM/Overture: which tags gave the height (height, levels × storey height, + roof height).", "高度规则", "Height rule", "source"),
    _c("category_tag", "str", "", None, "OSM: the tag the category was read from (e.g. amenity=school).", "类别标签", "Category tag", "source"),
    _c("existing_pv_source", "str", "", None, "OSM: where existing PV came from (generator node, panel area, unsized: counted as 1 kWp).", "已装光伏来源", "Existing PV source", "source"),
    _c("osm_trimmed", "bool", "", None, "OSM: the part lost the area of a higher part standing on it (seen from above).", "OSM已裁剪", "OSM trimmed", "source"),
    # repairs and imputations (flags)
    _c("geometry_repaired", "bool", "", None, "True when a self-intersecting footprint was repaired (make_valid).", "几何已修复", "Geometry repaired", "flag"),
    _c("id_deduplicated", "bool", "", None, "True when the input id repeated or was blank and was made unique (A#2, row5).", "编号已去重", "Id deduplicated", "flag"),
    _c("geometry_from_point", "bool", "", None, "True when the footprint was made from a point and an area (CSV with lon/lat and area).", "几何由点生成", "Geometry from point", "flag"),
]

#: name -> :class:`Column`, every column solarmap writes.
COLUMNS: dict[str, Column] = {c.name: c for c in _ALL}

_FACADES: list[Column] = [
    _c("building_id", "str", "", None, "Identifier of the building the facade belongs to (as in roofs.csv).", "建筑编号", "Building ID", "facade"),
    _c("facade_id", "str", "", None, "Facade identifier: the building id and the facade's number along the footprint's rings (exterior first, then courtyards).", "立面编号", "Facade ID", "facade"),
    _c("surface_azimuth_deg", "float", "°", 2, "Outward azimuth of the wall, clockwise from north (180 = facing south), rounded to facades.azimuth_step_deg: the vertical plane the yield is modelled on [°].", "立面朝向", "Azimuth", "facade"),
    _c("length_m", "float", "m", 2, "Length of the facade along the footprint [m].", "立面长度", "Length", "facade"),
    _c("exposed_from_m", "float", "m", 2, "Height above ground where the facade's exposed part begins: 0, or the height of the touching neighbour that hides the wall below [m].", "外露下沿", "Exposed from", "facade"),
    _c("exposed_to_m", "float", "m", 2, "Height above ground where the facade ends: the building's height [m].", "外露上沿", "Exposed to", "facade"),
    _c("gross_area_m2", "float", "m²", 2, "Exposed wall area, length × (exposed_to_m − exposed_from_m) [m²].", "立面毛面积", "Gross area", "facade"),
    _c("usable_area_m2", "float", "m²", 2, "Wall area taking PV: the exposed wall above the lowest storey × the PV share of the building's use class (windows, balconies) [m²].", "可装面积", "Usable area", "facade"),
    _c("capacity_kwp", "float", "kWp", 3, "BIPV capacity on the usable area at facades.module_power_w_per_m2 [kWp]; empty when the facade is too small.", "装机容量", "Capacity", "facade"),
    _c("annual_kwh", "float", "kWh/yr", 1, "Annual AC energy of the facade with neighbours' shade [kWh yr⁻¹].", "年发电量", "Annual yield", "facade"),
    _c("annual_kwh_unshaded", "float", "kWh/yr", 1, "Annual AC energy of the facade without shade [kWh yr⁻¹].", "无遮挡年发电量", "Annual yield unshaded", "facade"),
    _c("specific_yield_kwh_per_kwp", "float", "kWh/kWp/yr", 1, "annual_kwh ÷ capacity_kwp [kWh kWp⁻¹ yr⁻¹].", "单位产能", "Specific yield", "facade"),
    _c("sky_view_factor", "float", "-", 4, "Sky seen from the facade (cosine weighted, its front half-space) relative to an unobstructed vertical wall, mean of its sample points: 1 in the open [-].", "天空可视因子", "Sky view factor", "facade"),
    _c("shading_loss_pct", "float", "%", 2, "Annual AC energy lost to shade, relative to the unshaded facade [%].", "遮挡损失", "Shading loss", "facade"),
    _c("suitable", "bool", "", None, "True when the facade is worth equipping (large enough, specific yield at least facades.min_specific_yield_kwh_per_kwp).", "适宜", "Suitable", "facade"),
    _c("reason", "str", "", None, "Why a facade is not suitable: ground_storey, too_small, low_yield (its orientation), shaded (see README).", "原因", "Reason", "facade"),
]

#: name -> :class:`Column`, the columns of facades.csv (and the facades table and layer), in order.
FACADE_COLUMNS: dict[str, Column] = {c.name: c for c in _FACADES}

#: Reasons a facade is not suitable.
FACADE_REASONS: dict[str, str] = {
    "ground_storey": "The wall's exposed part lies wholly within the lowest storey (facades.ground_storey_m), which takes no PV.",
    "too_small": "Usable area below facades.min_usable_area_m2.",
    "low_yield": "Even unshaded, the specific yield is below facades.min_specific_yield_kwh_per_kwp (most walls facing north).",
    "shaded": "Unshaded it would qualify; neighbours' shade takes its specific yield below facades.min_specific_yield_kwh_per_kwp.",
}

#: name -> description of the documented roof columns, in roofs.csv order.
ROOF_COLUMNS: dict[str, str] = {c.name: c.description for c in _ALL if c.group == "roof"}

#: Columns the policy stage adds.
POLICY_COLUMNS: dict[str, str] = {c.name: c.description for c in _ALL if c.group == "policy"}

#: Repair and imputation flags written after the policy columns (``height_imputed`` is a roof column).
FLAG_COLUMNS: tuple[str, ...] = tuple(c.name for c in _ALL if c.group == "flag")

#: Columns of candidates.csv, in order (a subset of the roof columns plus the rank).
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
    "capex_cny",
    "payback_years",
    "npv_cny",
    "exclusion_zone",
    "exclusion_action",
    "lon",
    "lat",
)

#: Reasons a building can carry. Excluded buildings always carry one; assessed ones may carry a note.
REASONS: dict[str, str] = {
    "outside_boundary": "The footprint's centre lies outside the run's boundary (kept as an obstacle for shade).",
    "invalid_geometry": "The geometry is empty, null, not a polygon, or could not be repaired.",
    "no_height": "No plausible height (2–650 m, from the DSM, the height column or floors) and fewer than 3 neighbours with one within 100 m.",
    "covered": "The footprint lies (all but a sliver) under a taller overlapping footprint: no roof of its own.",
    "too_small": "Usable roof area below the configured minimum (roofs.min_usable_area_m2).",
    "shaded": "Assessed, but neighbours' shade takes more than shading.max_loss_pct of the yield.",
    "replaced_by_parts": "An OSM building outline whose building:part ways are assessed instead (no geometry: no double count).",
    "under_higher_part": "An OSM building part wholly under a higher part: no roof of its own.",
    "underground": "An Overture building entirely below ground (height ≤ min_height, or a negative level).",
    "north_facing": "A pitched roof (or plane) facing within roofs.north_limit_deg of north: no modules.",
    "low_yield": "A pitched roof (or plane) whose planes yield less than roofs.min_specific_yield_kwh_per_kwp.",
}

#: Columns of roof_planes.csv, in order.
PLANE_COLUMNS: tuple[str, ...] = (
    "building_id", "plane_id", "roof_shape", "surface_tilt_deg", "surface_azimuth_deg", "plane_plan_area_m2",
    "plane_area_m2", "usable_area_m2", "module_area_m2", "capacity_kwp", "sky_view_factor", "sample_points",
    "annual_kwh", "annual_kwh_unshaded", "specific_yield_kwh_per_kwp", "shading_loss_pct", "suitable", "reason",
)


#: Chinese labels of the reasons (map popups, legends and the report with ``--lang zh``); a code missing here shows as is
REASONS_ZH: dict[str, str] = {
    "outside_boundary": "边界外",
    "invalid_geometry": "几何无效",
    "no_height": "无高度",
    "covered": "被更高建筑覆盖",
    "too_small": "可用面积过小",
    "shaded": "遮挡过重",
    "replaced_by_parts": "由建筑部件代替",
    "under_higher_part": "位于更高部件之下",
    "underground": "地下建筑",
    "north_facing": "朝北坡面",
    "low_yield": "发电量过低",
    "ground_storey": "仅首层外露",
}


def reason_label(code: str, lang: str = "en") -> str:
    """A reason code as shown to a reader: Chinese with ``zh``, the code with ``en``, both with ``both``."""
    code = str(code or "")
    zh = REASONS_ZH.get(code)
    if not code or zh is None or lang == "en":
        return code
    return zh if lang == "zh" else f"{zh} {code}"


def describe(name: str) -> str:
    """Return the documentation of an output column, or raise KeyError naming the column."""
    return COLUMNS[name].description


def ordered(columns) -> list[str]:
    """Output order of a table's columns: registry roof columns, policy columns, flags, then the rest as given.

    ``existing_pv_area_m2`` keeps its historical place after the passed-through input columns.
    """
    cols = list(columns)
    present = set(cols)
    known = [c for c in ROOF_COLUMNS if c in present]
    policy = [c for c in cols if c.startswith("policy_") or c == "candidate_rank"]
    flags = [c for c in FLAG_COLUMNS if c in present and c not in known]
    taken = set(known) | set(policy) | set(flags) | {"geometry"}
    return known + policy + flags + [c for c in cols if c not in taken]
