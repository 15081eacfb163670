"""City scale: the same district single-process, in local tiles and on a Dask LocalCluster gives the same roofs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from solarmap.assessment import assess_in_tiles, prepare
from solarmap.assessment import assess_roofs as assess
from solarmap.config import Config
from solarmap.solar import sun_positions
from solarmap.sources.footprints import footprints_from_frame
from solarmap.sources.weather import read_embedded
from solarmap.synth import generate_buildings
from solarmap.tiles import add_halos, grid_partition

COLUMNS = ["annual_kwh", "annual_kwh_unshaded", "sky_view_factor", "shading_loss_pct", "capacity_kwp", "kwh_m06", "kwh_m12"]


@pytest.fixture(scope="module")
def district():
    region = shapely.box(352000, 3453000, 352000 + 2200, 3453000 + 2200)  # about 3,000 buildings
    raw = generate_buildings(region, crs="EPSG:32651", seed=5, id_prefix="Z")
    cfg = Config()
    fp = footprints_from_frame(raw, source="synthetic")
    roofs = prepare(fp, cfg, baseline_year=2021)
    w = read_embedded()
    sun = sun_positions(w)
    single = assess(roofs, cfg, weather=w, sun=sun)
    return roofs, cfg, w, sun, single


def _agree(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Rows whose every compared figure agrees within 1e-6 relative (NaN where NaN)."""
    ok = np.ones(len(a), dtype=bool)
    for c in COLUMNS:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        both_nan = np.isnan(x) & np.isnan(y)
        close = np.abs(x - y) <= 1e-6 * np.maximum(np.abs(x), 1e-9)
        ok &= both_nan | close
    return ok


def test_dask_local_cluster_matches_single_process_including_partition_edges(district):
    roofs, cfg, w, sun, single = district
    assert len(roofs) > 2000
    dask = assess_in_tiles(roofs, cfg, weather=w, sun=sun, engine="dask", workers=2, npartitions=6)
    assert dask["building_id"].tolist() == single["building_id"].tolist()
    assert _agree(single, dask).all()
    # the halo matters: without it, roofs near partition edges lose the shade of the neighbouring partition
    no_halo = assess_in_tiles(roofs, cfg, weather=w, sun=sun, engine="dask", workers=2, npartitions=6, halo=False)
    edge = ~_agree(single, no_halo)
    assert edge.sum() >= 20
    assert (no_halo.loc[edge, "annual_kwh"].to_numpy() >= single.loc[edge, "annual_kwh"].to_numpy() - 1e-6).all()
    assert _agree(single[edge], dask[edge]).all()


def test_local_tiles_match_single_process(district):
    roofs, cfg, w, sun, single = district
    tiled = assess_in_tiles(roofs, cfg, weather=w, sun=sun, engine="local", tile_size_m=700.0)
    assert tiled["building_id"].tolist() == single["building_id"].tolist()
    assert _agree(single, tiled).all()


def test_an_input_handed_over_in_a_list_is_freed_before_the_join(district):
    import weakref

    from solarmap import tiles

    roofs, cfg, w, sun, _ = district
    table = roofs.copy()
    ref, seen = weakref.ref(table), []

    def per_tile(sub, core, cfg, weather, sun):  # the core rows as they are, and a dict for on_extra
        return sub[core], {}, {"n": int(core.sum())}

    holder = [table]
    del table
    out = tiles.assess_in_tiles(holder, cfg, per_tile, weather=w, sun=sun, tile_size_m=700.0,
                                on_extra=lambda extra: seen.append(ref() is None))
    assert holder == [] and seen and all(seen)  # gone by the time the tiles' results are handed on and joined
    assert out["building_id"].tolist() == roofs["building_id"].tolist()


def test_halo_holds_every_obstacle_that_can_reach_the_core(district):
    roofs, cfg, *_ = district
    cores = grid_partition(roofs, 700.0)
    tiles = add_halos(roofs, cores, cfg)
    assert sorted(np.concatenate([t.core for t in tiles]).tolist()) == list(range(len(roofs)))
    tan5 = math.tan(math.radians(cfg.shading.min_sun_elevation_deg))
    h = roofs["height_m"].to_numpy(float)
    cent = shapely.centroid(roofs.geometry.to_numpy())
    for t in tiles[:4]:
        z = np.nanmin(h[t.core])
        outside = np.setdiff1d(np.flatnonzero(np.isfinite(h)), t.members)
        box = shapely.box(*shapely.total_bounds(roofs.geometry.to_numpy()[t.core]))
        d = shapely.distance(cent[outside], box)
        # everything left out stands too low or too far to rise 5° above the lowest core roof, or lies beyond
        # the search radius that the horizons use as well
        assert (((h[outside] - z) < d * tan5 + 1e-6) | (d > cfg.shading.max_search_radius_m)).all()
