"""City scale: the same district single-process, in local tiles and on a Dask LocalCluster gives the same roofs."""

from __future__ import annotations

import copy
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
from solarmap.tiles import add_halos, grid_partition, hilbert_partition

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


def test_without_the_halo_roofs_near_partition_edges_lose_the_neighbours_shade(district):
    """A fixed point grid (one pass): each roof has the same points whatever its tile holds, so fewer obstacles
    can only lower its horizons and never its energy. (With the default two passes a roof refined because of a
    neighbour's shadow and left unrefined without it gets other points, and its first pass's energy can be lower:
    the refinement's 0.8 pp, not the halo's doing.)"""
    roofs, cfg, w, sun, _ = district
    fixed = copy.deepcopy(cfg)
    fixed.shading.point_spacing_m = 4.0
    single = assess(roofs, fixed, weather=w, sun=sun)
    dask = assess_in_tiles(roofs, fixed, weather=w, sun=sun, engine="dask", workers=2, npartitions=6)
    no_halo = assess_in_tiles(roofs, fixed, weather=w, sun=sun, engine="dask", workers=2, npartitions=6, halo=False)
    assert _agree(single, dask).all()
    edge = ~_agree(single, no_halo)
    assert edge.sum() >= 20
    kwh, kwh_halo = no_halo["annual_kwh"].to_numpy(), single["annual_kwh"].to_numpy()
    assert np.array_equal(np.isnan(kwh), np.isnan(kwh_halo))  # roofs without a yield are the same ones
    # every roof: the same or more energy without the halo (1e-6 kWh: a sum of 8,760 hours' rounding)
    has = np.isfinite(kwh)
    assert (kwh[has] >= kwh_halo[has] - 1e-6).all()
    assert (kwh[edge & has] > kwh_halo[edge & has]).sum() >= 20


def test_dask_partitions_are_the_same_in_every_run(district):
    """Equal runs along the Hilbert curve, every building in exactly one, the same parts each time (the tile log,
    the memory and any halo-less comparison repeat)."""
    roofs = district[0]
    a, b = hilbert_partition(roofs, 6), hilbert_partition(roofs, 6)
    assert len(a) == 6 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert sorted(np.concatenate(a).tolist()) == list(range(len(roofs)))
    assert max(map(len, a)) - min(map(len, a)) <= 1
    # a part is a compact patch of the city, not a scatter: its bounding box well under the city's
    area = [shapely.area(shapely.box(*shapely.total_bounds(roofs.geometry.to_numpy()[p]))) for p in a]
    assert max(area) < 0.5 * shapely.area(shapely.box(*roofs.total_bounds))


def test_local_tiles_match_single_process(district):
    roofs, cfg, w, sun, single = district
    tiled = assess_in_tiles(roofs, cfg, weather=w, sun=sun, engine="local", tile_size_m=700.0)
    assert tiled["building_id"].tolist() == single["building_id"].tolist()
    assert _agree(single, tiled).all()


def test_an_input_handed_over_in_a_list_is_freed_before_the_join(district, monkeypatch):
    """The input handed over in a list is gone when the tiles' rows are joined; each tile's dict (its hourly
    profiles and stored shade) is handed on as soon as that tile is done, not kept until the last one."""
    import weakref

    from solarmap import tiles

    roofs, cfg, w, sun, _ = district
    table = roofs.copy()
    ref, done, handed, at_join = weakref.ref(table), [], [], []

    def per_tile(sub, core, cfg, weather, sun):  # the core rows as they are, and a dict for on_extra
        done.append(int(core.sum()))
        return sub[core], {}, {"n": int(core.sum())}

    join = tiles._join
    monkeypatch.setattr(tiles, "_join", lambda *a, **k: (at_join.append(ref() is None), join(*a, **k))[1])
    holder = [table]
    del table
    out = tiles.assess_in_tiles(holder, cfg, per_tile, weather=w, sun=sun, tile_size_m=700.0,
                                on_extra=lambda extra: handed.append((len(done), extra["n"])))
    assert holder == [] and at_join and all(at_join)  # gone by the time the tiles' rows are joined
    assert len(done) > 4 and handed == [(k + 1, n) for k, n in enumerate(done)]  # each as its tile is done
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


def _mixed(n: int, seed: int, *, all_nan: bool = False):
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame({
        "x": np.full(n, np.nan) if all_nan else rng.normal(size=n),  # all NaN in one tile, floats in others
        "k": rng.integers(0, 9, n), "ki": pd.array(rng.integers(0, 9, n), dtype="Int64"),
        "b": rng.random(n) < 0.5, "bn": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "s": pd.array([f"楼{i}" for i in rng.integers(0, 99, n)], dtype="string"),
        "o": np.array([None if i % 3 == 0 else f"r{i}" for i in range(n)], dtype=object),
        "c": pd.Categorical(rng.choice(["a", "b"], n)), "t": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 9, n), "D"),
    }, geometry=[shapely.box(i, 0, i + 1, 1) for i in rng.integers(0, 99, n)], crs=32651)


def test_the_column_by_column_join_equals_concat_then_take():
    """tiles._join against what the tiles' results were joined with before: pd.concat of the frames, then the
    input's order (.loc) for the roofs and a positional order (take) for the facades and planes. Every dtype the
    roofs table carries, a column all NaN in one tile, and the empty-table case."""
    from solarmap import tiles

    parts = [_mixed(50, 1), _mixed(30, 2, all_nan=True), _mixed(45, 3)]
    for p, start in zip(parts, (0, 50, 80), strict=True):
        p.index = pd.RangeIndex(start, start + len(p))
    index = pd.Index(np.random.default_rng(4).permutation(125))
    expected = pd.concat(parts).loc[index]
    order = pd.concat(parts).index.get_indexer(index)
    got = tiles._join([tiles._columns(p) for p in parts], order, index=index)
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(expected), check_exact=True)
    positional = np.random.default_rng(5).permutation(125)
    expected = pd.concat(parts, ignore_index=True).take(positional).reset_index(drop=True)
    got = tiles._join([tiles._columns(p) for p in parts], positional, reset_index=True)
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(expected), check_exact=True)
    one_empty = [_mixed(0, 6)]
    got = tiles._join([tiles._columns(p) for p in one_empty], np.array([], dtype=np.int64), reset_index=True)
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(one_empty[0]).reset_index(drop=True), check_exact=True)


def test_tiled_rows_equal_the_frames_joined_as_before(district):
    """The whole prepared table through assess_in_tiles (tiles of 700 m, rows as they are) against pd.concat of
    the same tiles' rows then .loc in the input's order: every column, every dtype."""
    _tiled_against_concat(district, lambda rows, k: rows)


def _tiled_against_concat(district, change, spill_dir=None):
    """The prepared district through tiles.assess_in_tiles (tiles of 700 m) with a tile function giving back its
    core's rows as ``change(rows, k)`` makes them (k: the tile's number), against pd.concat of the same rows then
    .loc in the input's order: every column, every dtype. Returns both."""
    from solarmap import tiles

    roofs, cfg, w, sun, _ = district
    seen = []

    def per_tile(sub, core, cfg, weather, sun):
        seen.append(change(sub[core].copy(), len(seen)))
        return seen[-1], {}

    out = tiles.assess_in_tiles(roofs, cfg, per_tile, weather=w, sun=sun, tile_size_m=700.0, spill_dir=spill_dir)
    assert len(seen) > 4
    expected = pd.concat(seen).loc[roofs.index]
    pd.testing.assert_frame_equal(pd.DataFrame(out), pd.DataFrame(expected), check_exact=True)
    return out, expected


def test_tiles_whose_numbers_wait_in_files_join_as_before(district, tmp_path):
    """With a spill folder the tiles' columns of numbers (their own and those they changed) wait for the join in
    unnamed files and are joined into such files; rows and a further table (as the facades are) equal pd.concat
    then .loc, and pd.concat in building order, bit for bit; the folder holds nothing by name."""
    from solarmap import tiles
    from solarmap.spill import spill_file

    def change(out, k):
        out["computed"] = np.arange(len(out), dtype=float) - 0.5 * k
        out["count"] = np.arange(len(out), dtype=np.int32)
        out["flag"] = (np.arange(len(out)) % 3) == k % 3
        if k % 2:
            out["height_m"] = out["height_m"] + 1.0  # changed in some tiles: then joined as pd.concat joins it
        return out

    out, _ = _tiled_against_concat(district, change, spill_dir=tmp_path)
    for c in ("computed", "count", "flag"):
        assert spill_file(out[c].to_numpy()) is not None, c
    assert spill_file(out["height_m"].to_numpy()) is None  # some tiles left it out as the input's: kept in memory
    assert list(tmp_path.iterdir()) == []

    roofs, cfg, w, sun, _ = district
    walls = []

    def per_tile(sub, core, cfg, weather, sun):  # two "walls" per core building, the second first
        rows = sub[core]
        n = len(rows)
        t = pd.DataFrame({"_row": np.repeat(rows.index.to_numpy(), 2)[::-1].copy(),
                          "length_m": np.arange(2 * n, dtype=float) + len(walls), "facing": np.arange(2 * n) % 2 == 0})
        walls.append(t)
        return rows, {}, None, t

    extras = []
    tiles.assess_in_tiles(roofs, cfg, per_tile, weather=w, sun=sun, tile_size_m=700.0, extras_out=extras,
                          spill_dir=tmp_path)
    rank = pd.Series(np.arange(len(roofs)), index=roofs.index)
    whole = pd.concat(walls, ignore_index=True)
    expected = whole.iloc[np.argsort(rank.loc[whole["_row"]].to_numpy(), kind="stable")].reset_index(drop=True)
    pd.testing.assert_frame_equal(extras[1], expected, check_exact=True)
    assert spill_file(extras[1]["length_m"].to_numpy()) is not None


def test_tiles_that_change_some_input_columns_join_as_before(district):
    """Tiles give back most input columns unchanged, which the join then takes from the input instead of holding
    them twice; a tile that changes a column (a value, a shape merely equal as a set of points, the sign of a
    zero) keeps its own. Against pd.concat of the same tiles' rows then .loc: every column, every dtype."""
    def change(out, k):
        out["computed"] = np.arange(len(out), dtype=float)  # a column of the tile's own
        if k % 2:
            out["height_m"] = out["height_m"] + 1.0
        if k % 3 == 0:  # the same polygon from another vertex: equal as a set of points, not identical
            g = out.geometry.to_numpy().copy()
            g[0] = shapely.Polygon(np.roll(shapely.get_coordinates(g[0].exterior)[:-1], 1, axis=0))
            out["geometry"] = g
        if k == 1:
            out["lon"] = np.full(len(out), -0.0)  # -0.0 where the input holds other values
        return out

    out, expected = _tiled_against_concat(district, change)
    got, want = out.geometry.to_numpy(), expected.geometry.to_numpy()
    assert (shapely.to_wkb(got) == shapely.to_wkb(want)).all()  # each tile's own shape where it changed one
    assert np.array_equal(np.signbit(out["lon"].to_numpy()), np.signbit(expected["lon"].to_numpy()))


def test_identical_means_bit_for_bit():
    import geopandas as gpd

    from solarmap.tiles import _identical

    assert _identical(np.array([0.0, np.nan]), np.array([0.0, np.nan]))
    assert not _identical(np.array([0.0, 1.0]), np.array([-0.0, 1.0]))  # equal as numbers, not as bits
    assert not _identical(np.array([1, 2]), np.array([1.0, 2.0]))  # another dtype
    assert _identical(pd.array([1, None], dtype="Int64"), pd.array([1, None], dtype="Int64"))
    assert not _identical(pd.array([1, None], dtype="Int64"), pd.array([1, 0], dtype="Int64"))
    s = pd.Series(["a", None, "c"], dtype="str").array
    assert _identical(s, pd.Series(["a", None, "c"], dtype="str").array)
    assert not _identical(s, pd.Series(["a", "", "c"], dtype="str").array)
    square = shapely.box(0, 0, 1, 1)
    rolled = shapely.Polygon(np.roll(shapely.get_coordinates(square.exterior)[:-1], 1, axis=0))
    assert square.equals(rolled)  # the same set of points ...
    g = gpd.array.from_shapely
    assert not _identical(g([square, None]), g([rolled, None]))  # ... but not the same shape
    assert _identical(g([square, None]), g([shapely.box(0, 0, 1, 1), None]))
    assert not _identical(np.array(["x"], dtype=object), np.array(["x"], dtype=object))  # object arrays: kept
    # as a frame's columns give them (numpy columns wrapped), and the signed zeros Arrow and GEOS compare as equal
    col = pd.DataFrame({"h": [0.0, 3.0], "f": pd.array([0.0, 1.0], dtype="float64[pyarrow]")})
    neg = pd.DataFrame({"h": [-0.0, 3.0], "f": pd.array([-0.0, 1.0], dtype="float64[pyarrow]")})
    assert _identical(col["h"].array, col.copy()["h"].array) and not _identical(col["h"].array, neg["h"].array)
    assert not _identical(col["f"].array, col["f"].array)  # Arrow numbers: not compared, kept as the tile gave them
    assert not _identical(g([shapely.Point(0.0, 1.0)]), g([shapely.Point(-0.0, 1.0)]))


def test_columns_only_later_tiles_add_are_kept(district):
    """A column that only some tiles give (or one the first tile left out as the input's and a later one did
    not give at all) is joined as pd.concat joined it, never dropped."""
    def change(out, k):
        if k:
            out["extra"] = 1.0  # every tile but the first
        return out

    _tiled_against_concat(district, change)
