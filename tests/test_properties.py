"""Property tests: random polygons, heights and attributes never crash the pipeline, rows in = rows out, and
every number is finite (NaN only where a figure does not apply, never ±inf)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solarmap.assessment import assess_roofs as assess
from solarmap.assessment import prepare
from solarmap.columns import ROOF_COLUMNS
from solarmap.config import Config
from solarmap.policy import apply_rules, load_rule_set
from solarmap.solar import sun_positions
from solarmap.sources.footprints import footprints_from_frame
from solarmap.sources.weather import read_embedded

X0, Y0 = 352500.0, 3453500.0  # Dapuqiao, EPSG:32651


@pytest.fixture(scope="module")
def env():
    w = read_embedded()
    return w, sun_positions(w), load_rule_set("huangpu-2023")


coord = st.floats(min_value=-200, max_value=200, allow_nan=False)
size = st.floats(min_value=0, max_value=80, allow_nan=False)


@st.composite
def geometry(draw):
    kind = draw(st.sampled_from(["box", "box", "box", "random", "none", "empty", "point", "line", "multi", "hole"]))
    x, y = X0 + draw(coord), Y0 + draw(coord)
    w, h = draw(size), draw(size)
    if kind == "box":
        return shapely.box(x, y, x + w, y + h)
    if kind == "random":  # may self-intersect or collapse
        pts = draw(st.lists(st.tuples(coord, coord), min_size=3, max_size=7))
        return shapely.Polygon([(X0 + a, Y0 + b) for a, b in pts])
    if kind == "none":
        return None
    if kind == "empty":
        return shapely.Polygon()
    if kind == "point":
        return shapely.Point(x, y)
    if kind == "line":
        return shapely.LineString([(x, y), (x + w, y + h)])
    if kind == "multi":
        return shapely.MultiPolygon([shapely.box(x, y, x + w + 1, y + h + 1), shapely.box(x + 100, y, x + 110, y + 10)])
    outer = shapely.box(x, y, x + w + 10, y + h + 10)
    return outer.difference(shapely.box(x + 3, y + 3, x + 6, y + 6))


height = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=2, max_value=200))
category = st.sampled_from(["public_institution", "commercial", "住宅", "公共机构", "", "nonsense", "residential"])


@st.composite
def buildings(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    geoms = [draw(geometry()) for _ in range(n)]
    return gpd.GeoDataFrame(
        {
            "building_id": draw(st.lists(st.sampled_from(["a", "b", "c", "", "x<y>", "楼"]), min_size=n, max_size=n)),
            "name": draw(st.lists(st.text(max_size=12), min_size=n, max_size=n)),
            "height_m": draw(st.lists(height, min_size=n, max_size=n)),
            "floors": draw(st.lists(st.one_of(st.none(), st.integers(min_value=-3, max_value=300)), min_size=n, max_size=n)),
            "category": draw(st.lists(category, min_size=n, max_size=n)),
            "year_built": draw(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=3000)), min_size=n, max_size=n)),
            "existing_pv_kwp": draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=n, max_size=n)),
        },
        geometry=gpd.GeoSeries(geoms, crs=32651),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(b=buildings())
def test_any_buildings_give_one_finite_row_each(env, b):
    weather, sun, rule_set = env
    cfg = Config()
    try:
        fp = footprints_from_frame(b, source="hypothesis")
    except Exception as exc:  # only a clear solarmap error is allowed, and only when nothing is usable
        from solarmap.errors import SolarmapError

        assert isinstance(exc, SolarmapError)
        assert (b.geometry.isna() | b.geometry.is_empty).all(), exc
        return
    roofs = prepare(fp, cfg, baseline_year=2021)
    roofs = assess(roofs, cfg, weather=weather, sun=sun)
    roofs, results, _ = apply_rules(roofs, rule_set, cfg)
    assert len(roofs) == len(b)
    assert roofs["building_id"].is_unique
    assert set(roofs["assessment"]) <= {"assessed", "excluded"}
    assert (roofs.loc[roofs["assessment"] == "excluded", "reason"] != "").all()
    # solarmap's own columns (the input's columns are carried through as they came, inf included)
    ours = [c for c in roofs.columns if c in ROOF_COLUMNS or c.startswith("policy_") or c == "candidate_rank"]
    numbers = roofs[ours].select_dtypes(include=[np.number])
    assert not np.isinf(numbers.to_numpy(dtype=float)).any()
    assessed = roofs[roofs["assessment"] == "assessed"]
    for col in ("height_m", "roof_area_m2", "usable_area_m2", "capacity_kwp", "annual_kwh", "annual_kwh_unshaded",
                "specific_yield_kwh_per_kwp", "sky_view_factor", "shading_loss_pct"):
        assert np.isfinite(assessed[col].to_numpy(dtype=float)).all(), col
    assert (assessed["annual_kwh"] <= assessed["annual_kwh_unshaded"] * (1 + 1e-9)).all()
    for r in results:  # compliant is True/False where buildings are eligible, None (not applicable) where none is
        assert r["status"] in ("compliant", "not_compliant", "not_applicable")
        assert (r["compliant"] is None) == (r["status"] == "not_applicable") == (r["eligible_buildings"] == 0)
