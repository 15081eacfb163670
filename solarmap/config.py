"""The pipeline configuration: one TOML file per run, read into dataclasses.

Unknown keys, wrong types and out-of-range values are errors that name the file and the key. Relative paths in a
file are resolved against the file's folder; paths given on the command line against the working directory.
Defaults cite ``FACTS.md`` (the project's facts sheet) where a number comes from there.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solarmap.errors import ConfigError
from solarmap.resources import PIPELINES_DIR


@dataclass
class BuildingsConfig:
    """Where the footprints are and which columns mean what."""

    path: str = ""
    layer: str = ""  # GeoPackage layer; empty = the first
    crs: str = ""  # CRS to assume when the file has none, e.g. "EPSG:4326"
    encoding: str = ""  # attribute encoding for shapefiles without a .cpg (e.g. "GBK")
    input_datum: str = "wgs84"  # "wgs84" or "gcj02" (coordinates from Chinese web maps)
    id_column: str = ""  # empty = "building_id"/"id" when present, else the row number
    name_column: str = ""  # empty = "name" when present
    height_column: str = ""  # empty = "height_m"/"height" when present
    floors_column: str = ""  # empty = "floors"/"building:levels" when present
    storey_height_m: float = 3.0
    impute_heights: bool = True  # a building with no plausible height takes its neighbours' median (flagged)
    dsm: str = ""  # GeoTIFF of heights above ground (nDSM), or a DSM together with dtm
    dtm: str = ""
    category_column: str = ""  # empty = found by name (category, euluc, landuse, type, 用地性质, OSM tags …)
    category_scheme: str = "auto"  # auto (from the column's values) | column | euluc | osm
    max_other_share: float = 0.5  # warn when more of the buildings than this fall to category 'other'
    stage_column: str = ""  # empty = "stage" when present
    year_built_column: str = ""  # empty = "year_built" when present
    existing_pv_column: str = ""  # empty = "existing_pv_kwp" when present
    wkt_column: str = ""  # CSV: a WKT geometry column (empty = "wkt"/"geometry" when present)
    lon_column: str = ""  # CSV with points: not supported for footprints, listed for a clear error
    lat_column: str = ""
    # column mappings carried over from a pipeline written for another buildings file (set when --buildings or a
    # GeoDataFrame replaces the pipeline's file): those whose column the new data lacks are dropped with a warning
    inherited_mappings: dict = field(default_factory=dict)


#: BuildingsConfig keys that name a column of the buildings file
MAPPING_KEYS = ("id_column", "name_column", "height_column", "floors_column", "category_column", "stage_column",
                "year_built_column", "existing_pv_column", "wkt_column", "lon_column", "lat_column")


@dataclass
class WeatherConfig:
    """Hourly weather for a typical year."""

    source: str = "embedded"  # embedded | clearsky | pvgis[:DATABASE] | path to EPW / TMY3 CSV / PVGIS TMY (JSON or CSV)
    year: int = 2023  # the single year a typical year is placed in (a TMY mixes years)
    max_distance_km: float = 50.0  # the weather's site must be this near the buildings' centre [km]
    anywhere: bool = False  # true: weather for another place or hemisphere warns instead of failing


@dataclass
class RoofsConfig:
    """How much of a roof takes modules, and how they are laid out (FACTS §5)."""

    edge_setback_m: float = 1.0  # parapet and fire-access setback from the roof edge [m]
    obstruction_share: float = 0.25  # share of the set-back roof taken by stair/lift towers and HVAC [-]
    min_usable_area_m2: float = 10.0  # NREL's smallest suitable plane (FACTS §5) [m²]
    surface_tilt_deg: float = 15.0  # flat-roof rows at 15° (NREL, FACTS §5) [°]
    surface_azimuth_deg: float = 180.0  # facing south [°]
    ground_coverage_ratio: float = 0.0  # 0 = from the tilt, no inter-row shade 09-15 h at the solstice (FACTS §5)
    module_power_w_per_m2: float = 215.0  # modern modules 210-220 W m⁻² (FACTS §5)
    # pitched roofs (solarmap/planes.py): where each building's roof shape comes from
    shape_source: str = "auto"  # auto (column, then DSM, then shape_rules, else flat) | column | dsm | rules | flat
    default_pitch_deg: float = 26.0  # a pitched shape given without pitch or rise; 25-30° is an assumption for tiled lane-house roofs [°]
    flat_tilt_deg: float = 5.0  # a DSM plane flatter than this is flat [°]
    flush_coverage: float = 0.95  # module area ÷ set-back plane area of flush-mounted modules (0.9-0.98) [-]
    plane_setback_m: float = 0.5  # module-free margin along a plane's edges, in plan [m]
    plane_obstruction_share: float = 0.1  # share of a plane taken by chimneys, dormers, skylights (assumption) [-]
    north_limit_deg: float = 45.0  # planes facing within this of north take no modules [°]
    min_plane_area_m2: float = 5.0  # smallest plane worth modules (about 1 kWp) [m²]
    min_specific_yield_kwh_per_kwp: float = 800.0  # planes yielding less (shaded) take no modules [kWh kWp⁻¹ yr⁻¹]
    # [[roofs.shape_rules]]: shape, pitch_deg, orientation, and conditions (categories, use_classes, built_before,
    # built_from, max_floors, min_floors, max_height_m, max_area_m2); the first match wins; an assumption
    shape_rules: list = field(default_factory=list)


@dataclass
class LossesConfig:
    """pvlib.pvsystem.pvwatts_losses parameters [%], PVWatts' defaults (14.08 % in all; FACTS §5: 14 %).

    ``shading`` stays at PVWatts' 3 %: it stands for near-field shade solarmap does not model (rows on each other
    outside 09-15 h, parapets, stair towers); shade from neighbouring buildings is modelled explicitly on top.
    """

    soiling: float = 2.0
    shading: float = 3.0
    snow: float = 0.0
    mismatch: float = 2.0
    wiring: float = 2.0
    connections: float = 0.5
    lid: float = 1.5
    nameplate_rating: float = 1.0
    age: float = 0.0
    availability: float = 3.0


@dataclass
class PVConfig:
    """The PV model: names follow pvlib."""

    transposition_model: str = "perez"  # perez | haydavies | isotropic
    albedo: float = 0.2
    temperature_model: str = "open_rack_glass_polymer"  # pvlib SAPM temperature parameter set
    gamma_pdc: float = -0.0037  # PVWatts DC temperature coefficient [1/°C]
    dc_ac_ratio: float = 1.2  # NREL (FACTS §5)
    eta_inv_nom: float = 0.96  # inverter nominal efficiency (FACTS §5)
    aoi_model: str = "physical"
    losses: LossesConfig = field(default_factory=LossesConfig)
    chunk_roofs: int = 512  # roofs per (roofs, hours) block; bounds memory


@dataclass
class ShadingConfig:
    """Shade from neighbouring buildings."""

    enabled: bool = True
    sector_deg: float = 2.0  # azimuth sector of the horizon profile [°]
    # lowest sun whose shade matters; sets the search radius (a 176 m tower reaches 2 km). Beam with the sun
    # below 5° is under 0.08 % of annual POA on a 15° south plane in Shanghai (measured on both weather sets).
    min_sun_elevation_deg: float = 5.0
    max_search_radius_m: float = 1500.0
    point_spacing_m: float = 0.0  # 0 = adapt to the roof size
    max_points_per_roof: int = 16
    max_loss_pct: float = 20.0  # a roof losing more is not suitable, reason 'shaded'


def _default_pv_share() -> dict[str, float]:
    # share of the usable wall that takes PV, by use class. Curtain walls (office, commercial): a published
    # curtain-wall BIPV study (unnamed in the facts the project builds on) puts PV on about 90 % of the spandrel
    # panels and 40-50 % of the vision glass; with a third of the wall in spandrels (an assumption) that is
    # 0.3 × 0.9 + 0.7 × 0.45 ≈ 0.6. Walls with punched windows,
    # balconies and air-conditioner units are assumptions: residential 0.3, public buildings 0.4, industrial and
    # transport halls (few windows) 0.5.
    return {"office": 0.6, "commercial": 0.6, "industrial": 0.5, "transport": 0.5, "government": 0.4,
            "education": 0.4, "medical": 0.4, "culture_sport": 0.4, "public_service": 0.4, "other_public": 0.4,
            "residential": 0.3}


@dataclass
class FacadesConfig:
    """Facade PV (光伏幕墙, BIPV) on every exposed wall. Numbers without a source are assumptions."""

    enabled: bool = True
    min_length_m: float = 2.0  # wall pieces shorter than this (after merging collinear ones) are dropped [m]
    merge_angle_deg: float = 10.0  # consecutive ring segments turning less than this form one facade [°]
    touch_tolerance_m: float = 0.5  # facing walls of two buildings closer than this are one shared wall [m]
    ground_storey_m: float = 4.0  # the lowest storey (shop fronts, entrances) takes no PV; an assumption [m]
    pv_share: dict = field(default_factory=_default_pv_share)  # by use class (see above) [-]
    pv_share_default: float = 0.3  # use classes not in pv_share (unknown, park) [-]
    # BIPV glass (CdTe, opaque to semi-transparent) gives roughly 60-150 W m⁻² by transparency, itself an
    # assumption with no cited source; the middle, for a mix of opaque spandrels and semi-transparent vision glass
    module_power_w_per_m2: float = 100.0
    # BIPV sits in the building envelope, not on an open rack: pvlib's SAPM close-mount glass/glass set
    temperature_model: str = "close_mount_glass_glass"
    # unshaded vertical walls on the embedded year: south 795, east/west 675, north-east/north-west 440, north
    # 305 kWh/kWp (close-mount, measured); 450 leaves out every wall facing within about 45° of north
    min_specific_yield_kwh_per_kwp: float = 450.0
    min_usable_area_m2: float = 10.0  # as for roofs: NREL's smallest suitable plane (Gagnon et al. 2016) [m²]
    azimuth_step_deg: float = 1.0  # walls are modelled at their azimuth rounded to this (one transposition each) [°]
    point_spacing_m: float = 8.0  # sample points on a wall: one per this many metres along and up [m]
    max_points_along: int = 4
    max_points_up: int = 4


@dataclass
class PolicyConfig:
    """Installation rules and energy use."""

    rules: str = "huangpu-2023"
    # candidate ranking: annual_kwh | specific_yield | npv | payback | usable_area; ties go to the next key of
    # policy.RANK_CHAINS and finally the building id, each key compared at its CSV precision (columns.py)
    rank_by: str = "annual_kwh"


@dataclass
class EconomicsConfig:
    """Cost, savings and payback per roof (:mod:`solarmap.economics`). Every figure is an assumption to set.

    Prices are flat over the lifetime (no escalation), so the discount rate applies to constant cash flows.
    Tariffs are flat prices: time-of-use needs hourly profiles, which this version does not keep.
    Keys of ``tariff_cny_per_kwh`` and ``self_consumption`` are policy categories or use classes (a use class
    wins over its category).
    """

    enabled: bool = True
    # installed cost [CNY/kWp] against system size [kWp], points (kWp, CNY/kWp), linear in log(kWp), flat beyond
    # the ends. 3,300 at 100 kWp: 2024 EPC tender average for all PV; 3,040 at 1 MWp: large distributed tenders
    # (SMM/Polaris 2025; International Energy Network 2024). 3,500 at 20 kWp: the top of the 2.5-3.5 CNY/W
    # residential vendor range, as small systems carry fixed costs (ASSUMED shape of the curve).
    capex_cny_per_kwp: list = field(default_factory=lambda: [[20.0, 3500.0], [100.0, 3300.0], [1000.0, 3040.0]])
    # about 1 % of capex a year (research assumption, unverified for China): 1 % of 3,300 CNY/kWp
    om_cny_per_kwp_year: float = 33.0
    degradation_per_year: float = 0.005  # module warranties 0.4-0.6 %/yr (MDPI 2024)
    lifetime_years: int = 25  # warranties 25-30 years (MDPI 2024); the shorter end
    # inverters replaced every 10-15 years (MDPI 2024): at multiples of this, before the end of life (one
    # replacement in 25 years); cost about 0.18 CNY/W (2024-2025 tenders: pv-tech, SMM, CGN). 0 = never
    inverter_replacement_years: int = 13
    inverter_cny_per_kwp: float = 180.0
    discount_rate: float = 0.06  # 5-7 % in Chinese distributed-PV studies (Zhao & Xie 2019; weak)
    # flat retail price of the energy a roof uses itself [CNY/kWh]. Non-residential: the 'flat' period price of one
    # 2024 Shanghai C&I dataset (peak 1.007, flat 0.618, valley 0.313; category unstated, unverified). Residential:
    # 0.617, tier 1 (Shanghai tariff); schools (education) are on the residential tariff (上海市可再生能源和新能源
    # 发展专项资金扶持办法, 2022-11-24). Daytime PV output falls largely in peak and flat hours, so the flat price
    # understates its value under time-of-use.
    tariff_cny_per_kwh: dict = field(default_factory=lambda: {
        "public_institution": 0.618, "other_public": 0.618, "commercial": 0.618, "industrial": 0.618,
        "residential": 0.617, "other": 0.618, "education": 0.617})
    # share of the generation used in the building (the rest is exported). ASSUMED, not from a source: daytime
    # loads of offices, shops, hospitals and plants take most of a rooftop array; schools stand empty on weekends
    # and in the holidays; homes use power mornings and evenings. Shanghai sets no minimum share (NEA
    # 国能发新能规〔2025〕7号).
    self_consumption: dict = field(default_factory=lambda: {
        "public_institution": 0.8, "other_public": 0.8, "commercial": 0.85, "industrial": 0.85,
        "residential": 0.5, "other": 0.5, "education": 0.6})
    export_cny_per_kwh: float = 0.4155  # Shanghai coal-fired benchmark price (沪发改 2025-08, Document 136)
    # Shanghai subsidy for projects commissioned 2022-2026 (上海市可再生能源和新能源发展专项资金扶持办法,
    # 2022-11-24): other distributed PV 0.05 CNY/kWh (on exported kWh for C&I on non-residential tariffs, on
    # generation for homes); schools on the residential tariff 0.12 on generation; BIPV 0.30 on generation;
    # for 5 years or 6,050 full-load hours, whichever comes first
    subsidy_distributed_cny_per_kwh: float = 0.05
    subsidy_school_cny_per_kwh: float = 0.12
    subsidy_bipv_cny_per_kwh: float = 0.30
    subsidy_years: int = 5
    subsidy_full_load_hours: float = 6050.0

    def check(self, where: str, prefix: str) -> None:
        """Keys TOML types alone cannot check: the capex curve and the per-category tables."""
        from solarmap.sources.categories import CATEGORIES, USE_CLASSES

        curve = self.capex_cny_per_kwp
        ok = bool(curve) and all(isinstance(p, list | tuple) and len(p) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in p) for p in curve)
        if not ok or any(b[0] <= a[0] for a, b in zip(curve, curve[1:], strict=False)):
            msg = (f"{where}: '{prefix}capex_cny_per_kwp' must be [kWp, CNY per kWp] pairs of positive numbers with "
                   f"kWp rising, e.g. [[20, 3500], [100, 3300], [1000, 3040]]; got {curve!r}")
            raise ConfigError(msg)
        for key, lo, hi in (("tariff_cny_per_kwh", 0.0, 10.0), ("self_consumption", 0.0, 1.0)):
            table = getattr(self, key)
            for k, v in table.items():
                if k not in CATEGORIES and k not in USE_CLASSES:
                    msg = (f"{where}: '{prefix}{key}.{k}': not a category or use class (categories: "
                           f"{', '.join(CATEGORIES)}; use classes: {', '.join(USE_CLASSES)})")
                    raise ConfigError(msg)
                if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                    msg = f"{where}: '{prefix}{key}.{k}' = {v!r} must be a number in [{lo:g}, {hi:g}]"
                    raise ConfigError(msg)
            missing = [c for c in CATEGORIES if c not in table]
            if missing:
                msg = f"{where}: '{prefix}{key}' needs every category; missing {', '.join(missing)}"
                raise ConfigError(msg)


EXCLUSION_ACTIONS = ("exclude", "flag")


@dataclass
class ExclusionConfig:
    """A zone (polygons in any vector format) or a list of building ids (a text or CSV file) that excludes or
    flags buildings (:mod:`solarmap.sources.exclusions`); ``[[exclusions]]`` in the pipeline file."""

    path: str = ""
    name: str = ""  # shown in outputs; empty = the file's name without its suffix
    action: str = "exclude"  # exclude: not assessed (reason below) | flag: assessed, not counted by rules
    reason: str = ""  # the reason excluded buildings carry; empty = the zone's name
    min_share: float = 0.5  # share of a footprint's area inside the zone that puts it inside [-]
    kind: str = "auto"  # auto (.txt, or .csv without a WKT column: ids) | zones | ids
    id_column: str = ""  # ids in a CSV: empty = building_id, id, else the first column
    layer: str = ""  # GeoPackage layer of a zone file; empty = the first


@dataclass
class OutputConfig:
    dir: str = "outputs"
    database: str = ""  # empty = <dir>/solarmap.duckdb
    tiles: str = "none"  # none | osm | carto | tianditu | amap
    tianditu_key: str = ""  # or the environment variable TIANDITU_KEY
    lang: str = "both"  # zh | en | both
    co2_kg_per_kwh: float = 0.42  # Shanghai local grid factor (FACTS §5)
    chinese_headers: bool = False  # CSV headers as "中文 english" instead of english alone
    # fixed colour breaks of the map's layers, the same for every run so that two maps compare (ascending, 2-6 each)
    breaks_specific_yield: list = field(default_factory=lambda: [600.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0])  # kWh/kWp
    breaks_annual_mwh: list = field(default_factory=lambda: [5.0, 10.0, 20.0, 50.0, 100.0, 200.0])  # MWh per roof and year
    breaks_shading_pct: list = field(default_factory=lambda: [2.0, 5.0, 10.0, 20.0, 40.0])  # % of the unshaded yield


@dataclass
class EngineConfig:
    """How the assessment is run: in this process, in tiles, or on a Dask cluster."""

    kind: str = "local"  # local | dask
    tile_above_roofs: int = 30000  # the local engine tiles inputs with more buildings than this
    tile_size_m: float = 3000.0  # local engine tile side [m]
    workers: int = 2  # dask: LocalCluster workers (ignored with a scheduler address)
    scheduler: str = ""  # dask: address of an existing scheduler, e.g. tcp://10.0.0.5:8786
    npartitions: int = 0  # dask: spatial partitions (0 = about one per 20,000 buildings, at least 2 per worker)
    max_map_roofs: int = 50000  # larger runs: one map per subdistrict that fits, the other roofs in maps by tile


@dataclass
class HourlyConfig:
    """Hourly profiles (hourly.parquet), the stored shade a forecast re-uses (shade/), per-roof hourly output."""

    enabled: bool = True  # profiles per subdistrict, category and set, and the shade store
    roofs: str = ""  # per-roof hourly_roofs.parquet: "" none, "all", "category:commercial,office", or a file of building ids
    shade_in_database: bool = True  # the shade store in DuckDB too (forecasts by run id); false: in shade/ only


@dataclass
class Config:
    """A whole pipeline run."""

    name: str = "run"
    subdistrict: str = ""  # embedded subdistrict whose outline is the boundary; "" or "none" = no boundary
    boundary: str = ""  # a boundary file (overrides the subdistrict outline); "none" = every building
    boundary_name_column: str = ""  # the boundary file's column naming each polygon (empty = name, name:zh, NAME, …)
    buildings: BuildingsConfig = field(default_factory=BuildingsConfig)
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    roofs: RoofsConfig = field(default_factory=RoofsConfig)
    pv: PVConfig = field(default_factory=PVConfig)
    shading: ShadingConfig = field(default_factory=ShadingConfig)
    facades: FacadesConfig = field(default_factory=FacadesConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    economics: EconomicsConfig = field(default_factory=EconomicsConfig)
    exclusions: list[ExclusionConfig] = field(default_factory=list)
    output: OutputConfig = field(default_factory=OutputConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    hourly: HourlyConfig = field(default_factory=HourlyConfig)
    source: str = ""  # the TOML file this came from (set by load_config)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check(self, where: str, prefix: str = "") -> None:
        """Keys that depend on each other."""
        if self.policy.rank_by in ("npv", "payback") and not self.economics.enabled:
            msg = (f"{where}: 'policy.rank_by' = {self.policy.rank_by!r} ranks by economics, but "
                   "'economics.enabled' is false; enable economics or rank by annual_kwh")
            raise ConfigError(msg)
        for k, e in enumerate(self.exclusions):
            if not e.path:
                msg = f"{where}: 'exclusions[{k}].path' is missing: each [[exclusions]] needs a file of zones or ids"
                raise ConfigError(msg)

    def validate(self) -> Config:
        """Check every key as the TOML loader does (types, choices, ranges); raise :class:`ConfigError` naming
        the first bad key. Returns the config itself, so ``Config(...).validate()`` chains."""
        data = self.to_dict()
        data.pop("source", None)
        config_from_dict(data, where=f"config {self.source}" if self.source else "config")
        return self


_CHOICES = {
    "buildings.category_scheme": {"auto", "column", "euluc", "osm"},
    "buildings.input_datum": {"wgs84", "gcj02"},
    "pv.transposition_model": {"perez", "haydavies", "isotropic"},
    # pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
    "pv.temperature_model": {"open_rack_glass_glass", "close_mount_glass_glass", "open_rack_glass_polymer",
                             "insulated_back_glass_polymer"},
    "pv.aoi_model": {"physical", "ashrae", "martin_ruiz", "no_loss"},
    "output.tiles": {"none", "osm", "carto", "tianditu", "amap"},
    "output.lang": {"zh", "en", "both"},
    "engine.kind": {"local", "dask"},
    "policy.rank_by": {"annual_kwh", "specific_yield", "npv", "payback", "usable_area"},
    "exclusions.action": set(EXCLUSION_ACTIONS),
    "exclusions.kind": {"auto", "zones", "ids"},
    "roofs.shape_source": {"auto", "column", "dsm", "rules", "flat"},
    "facades.temperature_model": {"open_rack_glass_glass", "close_mount_glass_glass", "open_rack_glass_polymer",
                                  "insulated_back_glass_polymer"},
}
_RANGES = {
    "roofs.edge_setback_m": (0, 50),
    "roofs.obstruction_share": (0, 0.99),
    "roofs.min_usable_area_m2": (0, 1e6),
    "roofs.surface_tilt_deg": (0, 90),
    "roofs.surface_azimuth_deg": (0, 360),
    "roofs.ground_coverage_ratio": (0, 1),
    "roofs.module_power_w_per_m2": (50, 400),
    "roofs.default_pitch_deg": (1, 75),
    "roofs.flat_tilt_deg": (0, 20),
    "roofs.flush_coverage": (0.5, 1),
    "roofs.plane_setback_m": (0, 10),
    "roofs.plane_obstruction_share": (0, 0.99),
    "roofs.north_limit_deg": (0, 180),
    "roofs.min_plane_area_m2": (0, 1e6),
    "roofs.min_specific_yield_kwh_per_kwp": (0, 5000),
    "buildings.storey_height_m": (1.5, 10),
    "buildings.max_other_share": (0, 1),
    "pv.albedo": (0, 1),
    "pv.dc_ac_ratio": (0.5, 3),
    "pv.eta_inv_nom": (0.5, 1),
    "pv.chunk_roofs": (1, 1_000_000),
    "shading.sector_deg": (0.25, 15),
    "shading.min_sun_elevation_deg": (0.5, 45),
    "shading.max_loss_pct": (0, 100),
    "shading.max_points_per_roof": (1, 400),
    "shading.max_search_radius_m": (1, 20000),
    "shading.point_spacing_m": (0, 1000),
    "output.co2_kg_per_kwh": (0, 5),
    "pv.gamma_pdc": (-0.02, 0.0),
    **{f"pv.losses.{k}": (0, 100) for k in ("soiling", "shading", "snow", "mismatch", "wiring", "connections", "lid",
                                            "nameplate_rating", "age", "availability")},
    "weather.year": (1901, 2099),
    "weather.max_distance_km": (1, 20040),  # 20,040 km: beyond half the Earth's circumference, nothing is farther
    "engine.tile_size_m": (200, 100000),
    "engine.workers": (1, 1024),
    "engine.tile_above_roofs": (1, 10**9),
    "engine.npartitions": (0, 100000),
    "engine.max_map_roofs": (0, 10**9),
    "economics.om_cny_per_kwp_year": (0, 10000),
    "economics.degradation_per_year": (0, 0.1),
    "economics.lifetime_years": (1, 50),
    "economics.inverter_replacement_years": (0, 50),
    "economics.inverter_cny_per_kwp": (0, 10000),
    "economics.discount_rate": (0, 0.5),
    "economics.export_cny_per_kwh": (0, 10),
    "economics.subsidy_distributed_cny_per_kwh": (0, 10),
    "economics.subsidy_school_cny_per_kwh": (0, 10),
    "economics.subsidy_bipv_cny_per_kwh": (0, 10),
    "economics.subsidy_years": (0, 50),
    "economics.subsidy_full_load_hours": (0, 1e6),
    "exclusions.min_share": (0, 1),
    "facades.min_length_m": (0, 1000),
    "facades.merge_angle_deg": (0, 45),
    "facades.touch_tolerance_m": (0, 5),
    "facades.ground_storey_m": (0, 30),
    "facades.pv_share_default": (0, 1),
    "facades.module_power_w_per_m2": (10, 400),
    "facades.min_specific_yield_kwh_per_kwp": (0, 3000),
    "facades.min_usable_area_m2": (0, 1e6),
    "facades.azimuth_step_deg": (0.01, 45),
    "facades.point_spacing_m": (0.5, 1000),
    "facades.max_points_along": (1, 100),
    "facades.max_points_up": (1, 100),
}
_BREAKS = {"output.breaks_specific_yield", "output.breaks_annual_mwh", "output.breaks_shading_pct"}
#: dict keys whose values are shares by use class: every value a number in [0, 1]
_SHARE_TABLES = {"facades.pv_share"}
_PATH_KEYS = {"buildings.path", "buildings.dsm", "buildings.dtm", "boundary", "output.dir", "output.database"}


#: the shapes modelled as planes, and flat
SHAPES = ("flat", "gabled", "hipped", "pyramidal", "skillion")
#: OSM roof:shape values (and common Chinese ones) → the shape modelled; values not listed are modelled flat
#: with a warning. Approximations: half-hipped, mansard → hipped; gambrel, saltbox → gabled.
SHAPE_ALIASES = {
    "flat": "flat", "gabled": "gabled", "hipped": "hipped", "pyramidal": "pyramidal", "skillion": "skillion",
    "gable": "gabled", "hip": "hipped", "half-hipped": "hipped", "half_hipped": "hipped", "mansard": "hipped",
    "side_hipped": "hipped", "gambrel": "gabled", "saltbox": "gabled", "lean_to": "skillion", "shed": "skillion",
    "mono-pitched": "skillion", "pyramid": "pyramidal",
    "平屋顶": "flat", "平顶": "flat", "坡屋顶": "gabled", "双坡": "gabled", "人字": "gabled", "四坡": "hipped",
    "单坡": "skillion", "攒尖": "pyramidal",
}

def shape_rule_problem(rule, k: int) -> str:
    """What is wrong with one ``[[roofs.shape_rules]]`` entry ('' when nothing)."""
    if not isinstance(rule, dict):
        return f"roofs.shape_rules[{k}] must be a table, got {type(rule).__name__}"
    allowed = {"id", "shape", "pitch_deg", "orientation", "categories", "use_classes", "built_before", "built_from",
               "max_floors", "min_floors", "max_height_m", "max_area_m2", "note"}
    if unknown := sorted(set(rule) - allowed):
        return f"roofs.shape_rules[{k}]: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})"
    if rule.get("shape") not in SHAPE_ALIASES:
        return (f"roofs.shape_rules[{k}]: 'shape' = {rule.get('shape')!r} is not a roof shape "
                f"({', '.join(SHAPES)}, or an OSM roof:shape synonym)")
    pitch = rule.get("pitch_deg", 26.0)
    if not isinstance(pitch, int | float) or isinstance(pitch, bool) or not 0 < pitch < 80:
        return f"roofs.shape_rules[{k}]: 'pitch_deg' = {pitch!r} must be a number in (0, 80) [°]"
    if rule.get("orientation", "along") not in ("along", "across"):
        return f"roofs.shape_rules[{k}]: 'orientation' must be 'along' or 'across'"
    for key in ("categories", "use_classes"):
        if key in rule and not (isinstance(rule[key], list) and all(isinstance(x, str) for x in rule[key])):
            return f"roofs.shape_rules[{k}]: '{key}' must be a list of strings"
    for key in ("built_before", "built_from", "max_floors", "min_floors", "max_height_m", "max_area_m2"):
        if key in rule and (not isinstance(rule[key], int | float) or isinstance(rule[key], bool)):
            return f"roofs.shape_rules[{k}]: '{key}' must be a number"
    return ""


def is_weather_name(value: str) -> bool:
    """A weather source that names a source rather than a file: embedded, clearsky, pvgis or pvgis:DATABASE."""
    return value in ("embedded", "clearsky", "pvgis") or value.startswith("pvgis:")


def _build(cls: type, data: dict[str, Any], where: str, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{prefix}{unknown[0]}"
        allowed = ", ".join(sorted(n for n in names if n != "source"))
        msg = f"{where}: unknown key '{key}' (keys allowed under '{prefix.rstrip('.') or 'top level'}': {allowed})"
        raise ConfigError(msg)
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                msg = f"{where}: '{key}' must be a table ([{key}]), got {type(value).__name__}"
                raise ConfigError(msg)
            kwargs[name] = _build(hint, value, where, f"{key}.")
            continue
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if item is not None and dataclasses.is_dataclass(item):  # an array of tables ([[key]])
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                msg = f"{where}: '{key}' must be an array of tables ([[{key}]]), got {value!r}"
                raise ConfigError(msg)
            kwargs[name] = [_build(item, v, where, f"{key}[{k}].") for k, v in enumerate(value)]
            continue
        kwargs[name] = _check_value(key, value, hint, where)
    obj = cls(**kwargs)
    if hasattr(obj, "check"):  # checks across keys, or of values TOML types cannot express
        obj.check(where, prefix)
    return obj


def _check_value(key: str, value: Any, hint: Any, where: str) -> Any:
    expected = hint if not isinstance(hint, types.UnionType) else typing.get_args(hint)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is bool and not isinstance(value, bool) or not isinstance(value, expected):
        name = getattr(hint, "__name__", str(hint))
        msg = f"{where}: '{key}' must be {name}, got {value!r}"
        raise ConfigError(msg)
    if hint is int and isinstance(value, bool):
        msg = f"{where}: '{key}' must be int, got {value!r}"
        raise ConfigError(msg)
    generic = re.sub(r"\[\d+\]", "", key)  # exclusions[2].action is checked as exclusions.action
    if generic in _CHOICES and value not in _CHOICES[generic]:
        msg = f"{where}: '{key}' = {value!r} is not one of {sorted(_CHOICES[generic])}"
        raise ConfigError(msg)
    if key in _BREAKS:
        if (not 2 <= len(value) <= 6 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
                or any(b <= a for a, b in zip(value, value[1:], strict=False))):
            msg = f"{where}: '{key}' = {value!r} must be 2 to 6 numbers in ascending order (the colour breaks)"
            raise ConfigError(msg)
        value = [float(v) for v in value]
    if key in _SHARE_TABLES:
        from solarmap.sources.categories import USE_CLASSES

        for k, v in value.items():
            if k not in USE_CLASSES:
                msg = f"{where}: '{key}.{k}': unknown use class (use classes: {', '.join(sorted(USE_CLASSES))})"
                raise ConfigError(msg)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                msg = f"{where}: '{key}.{k}' = {v!r} must be a share between 0 and 1"
                raise ConfigError(msg)
    if generic in _RANGES:
        lo, hi = _RANGES[generic]
        if not lo <= value <= hi:
            msg = f"{where}: '{key}' = {value!r} is outside [{lo}, {hi}]"
            raise ConfigError(msg)
    return value


def _given(data: dict[str, Any], key: str) -> bool:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _resolve_paths(cfg: Config, base: Path, data: dict[str, Any]) -> None:
    """Resolve relative paths written in the file against the file's folder (defaults stay relative to the cwd)."""
    for key in _PATH_KEYS:
        if not _given(data, key):
            continue
        section, _, attr = key.rpartition(".")
        obj = getattr(cfg, section) if section else cfg
        value = getattr(obj, attr)
        if value and value.lower() != "none" and not Path(value).is_absolute():
            setattr(obj, attr, str((base / value).resolve()))
    for e, raw in zip(cfg.exclusions, data.get("exclusions", []), strict=False):
        if "path" in raw and e.path and not Path(e.path).is_absolute():
            e.path = str((base / e.path).resolve())
    src = cfg.weather.source
    if _given(data, "weather.source") and not is_weather_name(src) and not Path(src).is_absolute():
        cfg.weather.source = str((base / src).resolve())


def config_from_dict(data: dict[str, Any], *, where: str = "config", base: Path | None = None) -> Config:
    """Build a :class:`Config` from a nested dict, validating every key. Paths resolve against ``base``."""
    cfg = _build(Config, data, where, "")
    for k, rule in enumerate(cfg.roofs.shape_rules):
        if problem := shape_rule_problem(rule, k):
            msg = f"{where}: {problem}"
            raise ConfigError(msg)
    if base is not None:
        _resolve_paths(cfg, base, data)
    cfg.source = where
    return cfg


def load_config(path: str | Path) -> Config:
    """Read a pipeline TOML file. Raises :class:`ConfigError` naming the file and key on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"pipeline file {path} does not exist"
        raise ConfigError(msg) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    return config_from_dict(data, where=str(path), base=path.resolve().parent)


def resolve_pipeline(name_or_path: str) -> Path:
    """Find a pipeline file from a path, a file in pipelines/, or an embedded subdistrict's name."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.exists():
            msg = f"pipeline file {candidate} does not exist"
            raise ConfigError(msg)
        return candidate
    direct = PIPELINES_DIR / f"{name_or_path.lower()}.toml"
    if direct.exists():
        return direct
    from solarmap.sources.subdistricts import find_subdistrict

    sub = find_subdistrict(name_or_path)  # raises with the list of known names
    path = PIPELINES_DIR / f"{sub.slug}.toml"
    if not path.exists():
        msg = (
            f"subdistrict {sub.name_en} ({sub.name_zh}) is embedded but has no pipeline file "
            f"{path.name}; run with a TOML that sets subdistrict = \"{sub.slug}\" and buildings.path"
        )
        raise ConfigError(msg)
    return path


def apply_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """Return a copy of ``cfg`` with dotted-key overrides (from the command line) applied and validated."""
    data = cfg.to_dict()
    for key, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        if last not in node:
            msg = f"unknown option '{key}'"
            raise ConfigError(msg)
        if key in _PATH_KEYS and value and str(value).lower() != "none":
            value = str(Path(value).resolve())
        if key == "weather.source" and not is_weather_name(value):
            value = str(Path(value).resolve())
        node[last] = value
    source = data.pop("source")
    new = config_from_dict(data, where=source or "command line")
    new.source = source
    return new


def with_buildings(cfg: Config, path: str) -> Config:
    """A copy of ``cfg`` reading buildings from ``path`` instead of its own file. The pipeline's column mappings
    were written for that file: they are kept as *inherited*, and :func:`applicable_mappings` drops, with a
    warning naming them, those whose column the new file does not have."""
    new = copy.deepcopy(cfg)
    b = new.buildings
    if b.path and b.path != path:
        b.inherited_mappings = {k: getattr(b, k) for k in MAPPING_KEYS if getattr(b, k)}
        if b.category_column:
            b.inherited_mappings["category_scheme"] = b.category_scheme
    b.path = path
    return new


#: suffixes a buildings file's run name drops (``shanghai.osm.pbf`` → ``shanghai``)
_DATA_SUFFIXES = {".pbf", ".osm", ".bz2", ".gz", ".zip", ".parquet", ".geoparquet", ".gpkg", ".shp", ".geojson",
                  ".json", ".fgb", ".csv", ".gml", ".kml", ".tab", ".xml"}


def run_name_from_file(path: str | Path) -> str:
    """The run name a buildings file gives (``solarmap run dapuqiao --buildings city.parquet`` → ``city``): the
    file's name without its data suffixes, every character that is not a letter (Chinese included), a digit,
    ``-``, ``_`` or ``.`` replaced by ``_``, at most 80 characters; ``run`` when nothing is left."""
    stem = Path(str(path).rstrip("/\\")).name
    while Path(stem).suffix.lower() in _DATA_SUFFIXES:
        stem = stem[: -len(Path(stem).suffix)]
    safe = re.sub(r"[^\w.\-]+", "_", stem, flags=re.UNICODE)
    safe = re.sub(r"_{2,}", "_", safe).strip("._-")[:80].rstrip("._-")
    return safe or "run"


def renames_run(cfg: Config, buildings: str | Path) -> bool:
    """Whether a run over ``buildings`` (``--buildings``) takes the file's name rather than the pipeline's: when
    the pipeline has a buildings file of its own and this is another one. A pipeline without one (the shipped
    Yuyuan, Laoximen, Wuliqiao) keeps its name: the file completes it."""
    own = cfg.buildings.path
    return bool(own) and Path(own).resolve() != Path(buildings).resolve()


def applicable_mappings(b: BuildingsConfig, columns, *, source: str) -> tuple[BuildingsConfig, list[str]]:
    """The buildings settings that apply to data with ``columns``: inherited mappings (see
    :func:`with_buildings`) whose column is missing are reset to their default (detect afresh), and so is the
    category scheme that went with a dropped category column. Returns the settings and the dropped
    ``key='value'`` items; a mapping given for this data itself is kept, and a missing column then stays an
    error where it is read."""
    present = {str(c) for c in columns}
    default = BuildingsConfig()
    new = copy.deepcopy(b)
    dropped = []
    for key, value in b.inherited_mappings.items():
        if key == "category_scheme" or getattr(b, key) != value or value in present:
            continue  # changed since it was inherited (given for this file), or its column is there
        setattr(new, key, getattr(default, key))
        dropped.append(f"{key}={value!r}")
        if key == "category_column" and b.category_scheme == b.inherited_mappings.get("category_scheme"):
            new.category_scheme = default.category_scheme
            dropped.append(f"category_scheme={b.category_scheme!r}")
    new.inherited_mappings = {}
    return new, dropped
