"""Hourly profiles (hourly.parquet, hourly_profiles), the stored shade (shade/, shade_* tables) and per-roof hourly
output, checked against roofs.csv, against pvlib's ModelChain hour by hour, and against the shading model itself."""

from __future__ import annotations

import copy
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from solarmap import assessment, hourly
from solarmap.cli import main
from solarmap.config import Config
from solarmap.solar import daylight_hours, sun_positions
from solarmap.sources.weather import load_weather
from solarmap.spill import spill_file


@pytest.fixture(scope="module")
def run_dir(dapuqiao_run):
    return dapuqiao_run / "dapuqiao"


@pytest.fixture(scope="module")
def roofs_csv(run_dir):
    return pd.read_csv(run_dir / "roofs.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def profiles(run_dir):
    return pd.read_parquet(run_dir / "hourly.parquet")


def test_profiles_sum_to_the_annual_totals_of_roofs_csv_per_group(roofs_csv, profiles):
    r = roofs_csv.copy()
    r["subdistrict"] = r["subdistrict"].fillna("")
    assessed = r["assessment"] == "assessed"
    expected = {
        "potential": r[r["suitable"].astype(str) == "True"].groupby(["subdistrict", "category"])["annual_kwh"].sum(),
        "existing": (r[assessed & (r["existing_pv_kwp"] > 0)].assign(
            e=lambda d: d["existing_pv_kwp"] * d["specific_yield_kwh_per_kwp"]).groupby(["subdistrict", "category"])["e"].sum()),
        "candidates": r[r["policy_candidate_for"].fillna("") != ""].groupby(["subdistrict", "category"])["annual_kwh"].sum(),
    }
    got = profiles.groupby(["set", "subdistrict", "category"])["ac_kw"].sum()  # kW × 1 h = kWh
    for name, exp in expected.items():
        assert len(exp), name
        for key, value in exp.items():
            # roofs.csv rounds annual_kwh to 0.1 kWh and specific yield to 0.1 kWh/kWp (1e-4 of ~1,150): 0.1 %
            assert got[(name, *key)] == pytest.approx(value, rel=1e-3), (name, key)
        assert set(got[name].index) == set(exp.index)


def test_hourly_parquet_is_long_with_local_times_labelled_by_interval_start(profiles, run_dir):
    times = pd.DatetimeIndex(profiles["time"].unique())
    assert len(times) == 8760
    assert str(times.tz) in ("UTC+08:00", "+08:00")
    assert times[0].isoformat() == "2023-01-01T00:00:00+08:00"
    assert list(profiles.columns) == ["time", "subdistrict", "category", "set", "ac_kw"]
    total = profiles[profiles["set"] == "potential"].groupby("time")["ac_kw"].sum()
    night = total[(total.index.hour < 4) | (total.index.hour >= 20)]
    assert (night == 0).all()
    # the summary's peak and capacity factor are the table's
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["hourly"]
    pot = summary["sets"]["potential"]
    assert pot["peak_kw"] == pytest.approx(total.max(), abs=0.1)
    assert pd.Timestamp(pot["peak_time"]) == total.idxmax()
    assert pot["capacity_factor"] == pytest.approx(total.sum() / (pot["capacity_kwp"] * 8760), rel=1e-3)
    assert len(summary["average_day_kw"]["potential"]) == 12 and len(summary["average_day_kw"]["potential"][0]) == 24
    assert "average day per month" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_unshaded_profile_equals_modelchain_hour_by_hour():
    """Three unshaded roofs: the potential profile is the sum of ModelChain's hourly AC power of each roof."""
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    x, y = 353000.0, 3455000.0
    gdf = gpd.GeoDataFrame({"building_id": ["a", "b", "c"], "height_m": [20.0, 30.0, 12.0],
                            "category": ["commercial", "commercial", "public_institution"]},
                           geometry=[shapely.box(x + k * 500, y, x + k * 500 + 30 + 10 * k, y + 25) for k in range(3)],
                           crs="EPSG:32651")
    cfg = Config()
    cfg.shading.enabled = False
    res = assessment.run_assessment(gdf, cfg)
    roofs = res.roofs
    w = res.weather
    pot = res.profiles.set_total("potential")
    ref = np.zeros(len(w.data))
    data = w.data.copy()
    data.index = w.sun_times
    for r in roofs[roofs["suitable"]].itertuples():
        pdc0 = r.capacity_kwp * 1000.0
        system = PVSystem(surface_tilt=r.surface_tilt_deg, surface_azimuth=r.surface_azimuth_deg, albedo=cfg.pv.albedo,
                          module_parameters={"pdc0": pdc0, "gamma_pdc": cfg.pv.gamma_pdc},
                          inverter_parameters={"pdc0": pdc0 / cfg.pv.dc_ac_ratio / cfg.pv.eta_inv_nom,
                                               "eta_inv_nom": cfg.pv.eta_inv_nom},
                          temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][cfg.pv.temperature_model],
                          losses_parameters=vars(cfg.pv.losses))
        mc = ModelChain(system, w.location, transposition_model="perez", aoi_model="physical", spectral_model="no_loss",
                        dc_model="pvwatts", ac_model="pvwatts", losses_model="pvwatts", temperature_model="sapm",
                        airmass_model="kastenyoung1989")
        mc.run_model(data)
        ref += mc.results.ac.clip(lower=0).fillna(0).to_numpy() / 1000.0
    # the same pvlib functions hour by hour, summed in another order: equal to float rounding; 1e-9 of the peak
    assert np.abs(pot - ref).max() <= 1e-9 * ref.max()
    assert pot.sum() == pytest.approx(roofs.loc[roofs["suitable"], "annual_kwh"].sum(), rel=1e-12)


@pytest.fixture(scope="module")
def dapuqiao_assessment():
    from solarmap.config import load_config, resolve_pipeline

    cfg = load_config(resolve_pipeline("dapuqiao"))
    return cfg, assessment.run_assessment(cfg.buildings.path, cfg)


def test_stored_horizons_split_every_run_sun_position_as_the_shading_model_does(monkeypatch):
    """The uint8 store (with its exact exceptions) gives, for every flat roof and every roof plane and every
    daylight hour of the run's weather, the visible share of the very shade model the yield stage used: brute
    force over the whole year."""
    from solarmap.config import load_config, resolve_pipeline

    seen = []
    make = hourly._make_store

    def spy(**kw):
        out = make(**kw)
        seen.append((kw["rs"], kw["t"], out))
        return out

    monkeypatch.setattr(hourly, "_make_store", spy)
    cfg = load_config(resolve_pipeline("dapuqiao"))
    res = assessment.run_assessment(cfg.buildings.path, cfg)
    sun = sun_positions(res.weather)
    hours = daylight_hours(res.weather, sun)
    kinds = 0
    for rs, t, store in seen:
        units = np.flatnonzero(t >= 0)
        if not len(units):
            continue
        kinds += 1
        got = store.sun_visible(units, sun.azimuth[hours], sun.apparent_elevation[hours])
        want = rs.sun_visible(t[units], sun.azimuth[hours], sun.apparent_elevation[hours])
        assert np.array_equal(got, want)
        assert np.array_equal(store.svf[units], rs.sky_view(t[units]))
        # the stored horizon is within one step of the computed one everywhere
        dense = store.horizons(units)
        pts = np.concatenate([np.arange(rs.first_point[k], rs.first_point[k] + rs.points_per_roof[k]) for k in t[units]])
        exact = rs.horizon[pts][:, store.sector_lo : store.sector_lo + store.horizon_q.shape[1]]
        assert np.abs(dense - exact).max() <= float(hourly.HORIZON_STEP_DEG) + 1e-6
    assert kinds == 2  # flat roofs and roof planes (the embedded lane houses are gabled)
    # uint8 alone (no exceptions) would not do: the exceptions are needed
    assert len(res.shade_store.exc_point) > 0
    assert (res.shade_store.plane > 0).any() and (res.shade_store.plane == 0).any()


def test_store_reads_back_from_the_run_folder_and_the_database(run_dir, dapuqiao_run):
    from solarmap import forecast

    folder = forecast.load_run(run_dir)
    meta = json.loads((run_dir / "shade" / "meta.json").read_text(encoding="utf-8"))
    db = forecast.load_run(meta["run_id"], database=dapuqiao_run / "solarmap.duckdb")
    a, b = folder.store, db.store
    assert len(a) == meta["roofs"] and len(a.point_svf) == meta["points"]
    for f in ("row", "capacity_kwp", "svf", "n_points", "horizon_q", "point_svf", "exc_point", "exc_sector", "exc_value",
              "suitable", "candidate", "existing_pv_kwp"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert folder.pv == db.pv and folder.site == db.site
    roofs = pd.read_csv(run_dir / "roofs.csv", encoding="utf-8-sig")
    assessed = roofs[(roofs["assessment"] == "assessed") & (roofs["capacity_kwp"] > 0)]
    # a flat roof is one unit, a pitched roof one unit per plane its figures are summed over
    assert set(a.building_id) == set(assessed["building_id"].astype(str))
    flat = assessed[assessed["roof_planes"] == 0]
    assert (a.plane == 0).sum() == len(flat)
    cap = pd.Series(a.capacity_kwp).groupby(a.building_id).sum()
    ref = assessed.set_index(assessed["building_id"].astype(str))["capacity_kwp"]
    assert np.allclose(cap.loc[ref.index], ref, atol=6e-4)  # the CSV's 3 decimals


def test_tiled_run_gives_the_single_pass_profiles_and_store(dapuqiao_assessment, tmp_path, monkeypatch):
    cfg, single = dapuqiao_assessment
    tiled_cfg = copy.deepcopy(cfg)
    tiled_cfg.engine.tile_above_roofs = 10
    tiled_cfg.engine.tile_size_m = 400.0  # many tiles with halos across Dapuqiao
    spill = tmp_path / "spill"
    spill.mkdir()
    tiled = assessment.run_assessment(cfg.buildings.path, tiled_cfg, spill_dir=spill)
    for s in hourly.SETS:
        a, b = single.profiles.set_total(s), tiled.profiles.set_total(s)
        # the same per-roof numbers summed in another grouping: float rounding only
        assert np.abs(a - b).max() <= 1e-12 * a.max(), s
    x, y = single.shade_store, tiled.shade_store
    # a tiled run keeps its per-point arrays in unnamed files in the spill folder (nothing left there by name)
    for f in ("horizon_q", "point_svf", "exc_point", "exc_sector", "exc_value"):
        assert spill_file(getattr(y, f)) is not None and spill_file(getattr(x, f)) is None, f
    assert list(spill.iterdir()) == []
    for f in ("row", "plane", "horizon_q", "exc_point", "exc_value", "candidate"):
        assert np.array_equal(getattr(x, f), getattr(y, f)), f
    # written a few points at a time (groups that cut roofs and their exceptions apart), it reads back the same
    monkeypatch.setattr(hourly, "POINT_GROUP", 7)
    hourly.write_store(y, tmp_path / "shade")
    z = hourly.read_store(tmp_path / "shade")
    for f in ("row", "n_points", "horizon_q", "point_svf", "exc_point", "exc_sector", "exc_value"):
        assert np.array_equal(getattr(x, f), getattr(z, f)), f
    import pyarrow.parquet as pq

    written, whole = pq.read_table(tmp_path / "shade" / hourly.POINT_FILE), hourly.point_table(x)
    for c in ("building_id", "unit", "point"):  # each point's roof and number, group by group
        assert written.column(c).to_pylist() == whole.column(c).to_pylist(), c


def test_a_full_disk_for_the_stored_shade_is_an_error_naming_the_folder(tmp_path, monkeypatch):
    import errno
    import os

    from solarmap.errors import OutputError
    from solarmap.spill import spilled

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(OutputError, match=r"No space left on device.*--out DIR") as info:
        spilled((1000, 120), tmp_path)
    assert str(tmp_path) in str(info.value)


def test_hourly_roofs_parquet_holds_each_chosen_roof_hour_by_hour(tmp_path, roofs_csv):
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--out", str(out), "-q", "--hourly-roofs", "category:public_institution"]) == 0
    per_roof = pd.read_parquet(out / "dapuqiao" / "hourly_roofs.parquet")
    assert list(per_roof.columns) == ["building_id", "plane", "time", "ac_kw"]
    assert per_roof["ac_kw"].dtype == np.float32
    want = roofs_csv[(roofs_csv["assessment"] == "assessed") & (roofs_csv["category"] == "public_institution")]
    got = per_roof.assign(ac_kw=per_roof["ac_kw"].astype(float)).groupby("building_id")["ac_kw"].agg(["sum", "size"])
    assert set(got.index) == set(want["building_id"].astype(str))
    assert (got["size"] % 8760 == 0).all()  # a pitched roof: one series per plane it uses
    ref = want.set_index(want["building_id"].astype(str))["annual_kwh"]
    # float32 power (6e-8 relative each, summed in float64) against the CSV's 0.1 kWh rounding (±0.05 kWh)
    assert np.allclose(got["sum"].to_numpy(), ref.loc[got.index].to_numpy(), rtol=1e-6, atol=0.05)


def test_no_hourly_writes_no_profiles_and_a_forecast_says_why(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "dapuqiao", "--out", str(out), "-q", "--no-hourly"]) == 0
    run = out / "dapuqiao"
    assert not (run / "hourly.parquet").exists() and not (run / "shade").exists()
    week = tmp_path / "week.csv"
    w = load_weather("embedded", latitude=31.2, longitude=121.47).data.iloc[4000:4168]
    w.set_axis([t.isoformat() for t in w.index]).rename_axis("time").to_csv(week)
    assert main(["forecast", str(run), "--weather", str(week)]) == 2
    err = capsys.readouterr().err
    assert "has no stored shading" in err and "hourly.enabled = false" in err


def test_the_per_roof_selection_names_ids_that_are_not_roofs(dapuqiao_assessment, tmp_path):
    from solarmap.errors import InputDataError

    _, res = dapuqiao_assessment
    ids = tmp_path / "ids.txt"
    ids.write_text("# none of these\nnope-1\nnope-2\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="none of its 2 building ids"):
        hourly.select_roofs(res.shade_store, str(ids))
    some = res.shade_store.building_id[:3]
    assert list(hourly.select_roofs(res.shade_store, ",".join(some))) == [0, 1, 2]


def test_dask_run_gives_the_single_pass_profiles_and_store(dapuqiao_assessment):
    pytest.importorskip("distributed")
    cfg, single = dapuqiao_assessment
    dask_cfg = copy.deepcopy(cfg)
    dask_cfg.engine.kind, dask_cfg.engine.workers, dask_cfg.engine.npartitions = "dask", 2, 4
    other = assessment.run_assessment(cfg.buildings.path, dask_cfg)  # tiles' profiles and stores pickled back
    for s in hourly.SETS:
        a, b = single.profiles.set_total(s), other.profiles.set_total(s)
        assert np.abs(a - b).max() <= 1e-12 * a.max(), s
    for f in ("row", "plane", "horizon_q", "exc_point", "exc_value", "candidate"):
        assert np.array_equal(getattr(single.shade_store, f), getattr(other.shade_store, f)), f


def test_shade_kept_out_of_the_database_still_serves_forecasts_from_the_folder(tmp_path):
    from solarmap import forecast, store
    from solarmap.config import apply_overrides, load_config, resolve_pipeline
    from solarmap.errors import InputDataError
    from solarmap.pipeline import run

    out = tmp_path / "out"
    cfg = apply_overrides(load_config(resolve_pipeline("dapuqiao")), {
        "output.dir": str(out), "output.database": str(out / "solarmap.duckdb"), "hourly.shade_in_database": False})
    result = run(cfg)
    db = out / "solarmap.duckdb"
    assert int(store.query(db, "SELECT count(*) AS n FROM shade_points")["n"][0]) == 0
    assert int(store.query(db, "SELECT count(*) AS n FROM hourly_profiles")["n"][0]) > 0
    assert len(forecast.load_run(result.out_dir).store) > 0
    with pytest.raises(InputDataError, match="shade_in_database = false"):
        forecast.load_run(result.run_id, database=db)


def test_stores_of_tiles_concatenate_to_the_whole_store(dapuqiao_assessment):
    # tiles' stores, each holding some buildings' roofs in row order, joined into the run's store: every field
    # must be the whole store's exactly, the exceptions put in place roof by roof in (point, sector) order
    _, single = dapuqiao_assessment
    x = single.shade_store
    assert len(x.exc_point) > 1000 and (x.plane > 0).any()  # exceptions, and buildings of several planes
    rng = np.random.default_rng(3)
    part_of = rng.integers(0, 7, x.row.max() + 1)  # a building's roofs (its planes) go to one tile
    parts = [x.subset(part_of[x.row] == k) for k in range(7)]
    mixed = parts[2]  # a tile whose exceptions come in another order: the join must sort them
    o = rng.permutation(len(mixed.exc_point))
    mixed.exc_point, mixed.exc_sector, mixed.exc_value = mixed.exc_point[o], mixed.exc_sector[o], mixed.exc_value[o]
    rng.shuffle(parts)
    y = hourly.ShadeStore.concat(parts)
    for f in ("row", "plane", "n_points", "capacity_kwp", "building_id", "horizon_q", "point_svf", "exc_point",
              "exc_sector", "exc_value"):
        assert np.array_equal(getattr(x, f), getattr(y, f)), f


def _encode_reference(horizon: np.ndarray, sector_lo: int, sector_hi: int, run_sector: np.ndarray,
                    run_elevation: np.ndarray, *, offset: int = 0):
    """uint8 horizons for sectors ``sector_lo … sector_hi`` that split every run sun position (``run_sector``,
    ``run_elevation`` [°], float32 as the visibility kernel compares them) exactly as the float32 ones do, and the
    exceptions ``(point, stored sector, exact value)`` where neither neighbouring step does. ``horizon``'s first
    column is sector ``offset`` (0: all sectors; ``sector_lo``: already cut to the stored ones).

    A point is in shade when ``elevation <= horizon``. Rounding ``h`` down to step ``q`` changes that only for a
    run elevation in ``(q, h]``, so a value whose step interval ``(q, q + 1]`` holds no run elevation of its sector
    is done at once (a 256-bin table per sector); the others are checked one by one against the run's elevations."""
    width = sector_hi - sector_lo + 1
    sub = np.ascontiguousarray(horizon[:, sector_lo - offset : sector_hi + 1 - offset], dtype=np.float32)
    dec = np.arange(257).astype(np.float32) * hourly.HORIZON_STEP_DEG  # exactly as ShadeStore.horizons decodes
    q = np.clip(np.floor(sub / hourly.HORIZON_STEP_DEG), 0, 255).astype(np.int16)
    q -= dec[q] > sub  # the float division can land one step off: make dec[q] <= h < dec[q + 1]
    q += (q < 255) & (dec[q + 1] <= sub)
    elev = np.asarray(run_elevation, dtype=np.float32)
    rel = np.asarray(run_sector, dtype=np.int64) - sector_lo
    ok = (rel >= 0) & (rel < width)
    b = np.searchsorted(dec, elev[ok], side="left") - 1  # dec[b] < e <= dec[b + 1]
    occupied = np.zeros((width, 257), dtype=bool)
    valid = (b >= 0) & (b < 256)
    occupied[rel[ok][valid], b[valid]] = True
    check = occupied[np.arange(width)[None, :], q] & (sub > 0)
    exc_p, exc_s, exc_v = [], [], []
    for k in np.flatnonzero(check.any(axis=0)):
        rows = np.flatnonzero(check[:, k])
        e = np.sort(elev[ok][rel[ok] == k])
        h = sub[rows, k]
        ql = q[rows, k]
        qh = np.minimum(ql + 1, 255)
        want = np.searchsorted(e, h, side="right")  # run hours in this sector where the point is in shade
        ok_lo = np.searchsorted(e, dec[ql], side="right") == want
        ok_hi = np.searchsorted(e, dec[qh], side="right") == want
        up = ~ok_lo & ok_hi
        q[rows[up], k] = qh[up]
        bad = ~ok_lo & ~ok_hi
        if bad.any():
            exc_p.append(rows[bad])
            exc_s.append(np.full(int(bad.sum()), k, dtype=np.int16))
            exc_v.append(h[bad])
    q = q.astype(np.uint8)
    if exc_p:
        p, s, v = np.concatenate(exc_p), np.concatenate(exc_s), np.concatenate(exc_v)
        o = np.lexsort((s, p))
        return q, p[o].astype(np.int64), s[o], v[o].astype(np.float32)
    return q, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.float32)


def test_compiled_horizon_encoding_equals_the_numpy_one():
    """The compiled encoding against the numpy one it replaced (kept above as the reference): the same steps,
    the same exceptions in the same (point, sector) order, on values made to be hard: on the steps, a float32 ulp
    either side of them and of the run's sun elevations, zero, and at the top of the scale."""
    from solarmap.sources.weather import read_embedded

    w = read_embedded()
    sun = sun_positions(w)
    hours = daylight_hours(w, sun)
    n_sec = 180
    sector = np.minimum((np.mod(sun.azimuth[hours], 360.0) / 2.0).astype(np.int64), n_sec - 1)
    elev = sun.apparent_elevation[hours].astype(np.float32)
    lo, hi = hourly.sun_sector_range(sun, hours, n_sec)
    rng = np.random.default_rng(11)
    steps = np.arange(257).astype(np.float32) * hourly.HORIZON_STEP_DEG
    pool = np.concatenate([steps, np.nextafter(steps, np.float32(0)), np.nextafter(steps, np.float32(99)), elev,
                           np.nextafter(elev, np.float32(0)), np.nextafter(elev, np.float32(99)),
                           np.float32([0, 89.99, 90.0]), rng.uniform(0, 90, 5000).astype(np.float32)])
    horizon = rng.choice(pool, size=(3000, n_sec)).astype(np.float32)
    horizon[rng.random(horizon.shape) < 0.3] = 0.0
    want = _encode_reference(horizon, lo, hi, sector, elev)
    got = hourly.encode_horizons(horizon, lo, hi, sector, elev)
    assert len(want[1]) > 1000  # many exceptions
    for a, b in zip(want, got, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # rows picked out of a wider array, its first column sector 0: the same as the rows cut out first
    rows = rng.permutation(len(horizon))[:700]
    cut = _encode_reference(np.take(horizon[:, lo : hi + 1], rows, axis=0), lo, hi, sector, elev, offset=lo)
    for a, b in zip(cut, hourly.encode_horizons(horizon, lo, hi, sector, elev, rows=rows), strict=True):
        np.testing.assert_array_equal(a, b)
