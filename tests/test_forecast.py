"""solarmap forecast: the run's own weather gives the run's hourly profile, every input format (recorded files in
tests/data/forecasts and grids made here), ensembles, and bad forecast input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import EPW, needs_epw
from solarmap import forecast as fc
from solarmap.cli import main
from solarmap.errors import InputDataError, WeatherError
from solarmap.sources.forecasts import read_forecast
from solarmap.sources.weather import read_embedded, read_epw

DATA = Path(__file__).parent / "data" / "forecasts"


@pytest.fixture(scope="module")
def run_copy(dapuqiao_run, tmp_path_factory):
    """A copy of the session's Dapuqiao run (folder and database), so forecasts written here touch nothing else."""
    out = tmp_path_factory.mktemp("fc") / "out"
    shutil.copytree(dapuqiao_run, out)
    return out


@pytest.fixture(scope="module")
def stored(run_copy):
    return fc.load_run(run_copy / "dapuqiao")


def week_csv(path: Path, weather: pd.DataFrame, start: str, *, drop=()) -> Path:
    t0 = pd.Timestamp(start, tz=weather.index.tz)
    wk = weather.loc[t0 : t0 + pd.Timedelta(days=6, hours=23)].drop(columns=list(drop))
    wk.set_axis([t.isoformat() for t in wk.index]).rename_axis("time").to_csv(path)
    return path


def test_forecast_on_the_runs_own_weather_reproduces_the_runs_hourly_profile(run_copy, tmp_path, capsys):
    run = run_copy / "dapuqiao"
    csv = week_csv(tmp_path / "week.csv", read_embedded().data, "2023-07-10")
    assert main(["forecast", str(run), "--weather", str(csv), "--format", "parquet"]) == 0
    printed = capsys.readouterr().out
    assert "potential" in printed and "07-11 23:00" in printed and "07-12 00:00" not in printed  # the next 48 h
    got = pd.read_parquet(run / "forecast.parquet")
    want = pd.read_parquet(run / "hourly.parquet")
    m = want.merge(got, on=["time", "subdistrict", "category", "set"], suffixes=("_run", "_fc"))
    assert len(m) == len(got) == 7 * 24 * got.groupby(["subdistrict", "category", "set"]).ngroups
    for s in ("potential", "existing", "candidates"):
        part = m[m["set"] == s]
        assert len(part), s
        # the stored shade is the run's shade and the chain is the yield stage's: equal to float rounding
        scale = np.maximum(part["ac_kw_run"].abs(), 1e-3)
        assert ((part["ac_kw_fc"] - part["ac_kw_run"]).abs() / scale).max() < 1e-6, s
    info = json.loads((run / "forecast.json").read_text(encoding="utf-8"))
    assert info["time_convention"].startswith("interval start") and info["decomposition"] is None


def test_a_run_id_reads_the_shade_from_the_database_and_the_forecast_is_recorded(run_copy, tmp_path):
    from solarmap import store

    run = run_copy / "dapuqiao"
    meta = json.loads((run / "shade" / "meta.json").read_text(encoding="utf-8"))
    csv = week_csv(tmp_path / "week.csv", read_embedded().data, "2023-03-06")
    db = run_copy / "solarmap.duckdb"
    a = fc.forecast(run, csv)
    b = fc.forecast(meta["run_id"], csv, database=db)
    assert b.info["folder"] == str(run)
    assert a.groups.equals(b.groups)
    fc.write_forecast(b, tmp_path / "fc", database=db)
    rows = store.query(db, f"SELECT count(*) AS n, sum(ac_kw) AS kw FROM forecasts WHERE run_id = '{meta['run_id']}' "
                           f"AND forecast_id = '{b.info['forecast_id']}'")
    assert int(rows["n"][0]) == len(b.groups)
    assert float(rows["kw"][0]) == pytest.approx(b.groups["ac_kw"].sum(), rel=1e-12)
    csv_out = pd.read_csv(tmp_path / "fc" / "forecast.csv")
    assert list(csv_out.columns) == ["time", "subdistrict", "category", "set", "ac_kw"]
    assert csv_out["time"].iloc[0] == "2023-03-06T00:00:00+08:00"


@needs_epw
def test_ghi_only_forecast_from_the_real_epw_gives_the_weeks_energy_within_10_percent(stored, tmp_path):
    epw = read_epw(EPW).data
    for start in ("2023-01-09", "2023-04-10", "2023-07-10", "2023-10-09"):
        full = read_forecast(week_csv(tmp_path / "full.csv", epw, start), stored.site)
        ghi_only = read_forecast(week_csv(tmp_path / "ghi.csv", epw, start, drop=("dni", "dhi")), stored.site)
        assert full.decomposition == "" and ghi_only.decomposition == "pvlib.irradiance.erbs"
        e_full = fc.run_forecast(stored, full, "potential").groups["ac_kw"].sum()
        e_ghi = fc.run_forecast(stored, ghi_only, "potential").groups["ac_kw"].sum()
        # measured: -0.7 % (Jan), -0.8 % (Apr), -0.9 % (Jul), -3.1 % (Oct); the issue asks for 10 %
        assert abs(e_ghi / e_full - 1) < 0.10, start
        assert abs(e_ghi / e_full - 1) < 0.04, start


@needs_epw
def test_an_epw_file_is_read_as_a_forecast_like_a_csv_of_the_same_numbers(stored, tmp_path):
    year = read_forecast(EPW, stored.site)
    assert len(year.index) == 8760 and year.step == pd.Timedelta(hours=1)
    epw = read_epw(EPW).data
    csv = tmp_path / "year.csv"
    epw.set_axis([t.isoformat() for t in epw.index]).rename_axis("time").to_csv(csv)
    a = fc.run_forecast(stored, year, "potential").groups
    b = fc.run_forecast(stored, read_forecast(csv, stored.site), "potential").groups
    assert np.allclose(a["ac_kw"], b["ac_kw"], rtol=1e-12, atol=1e-9)


def test_open_meteo_json_is_moved_from_interval_end_to_start_and_its_wind_from_km_h(stored, tmp_path):
    f = read_forecast(DATA / "open_meteo_dapuqiao.json", stored.site)
    assert f.source == "open-meteo:open_meteo_dapuqiao.json" and not f.ensemble
    d = f.members[0].data
    assert d.index[0].isoformat() == "2026-07-15T00:00:00+08:00"  # the file's first time is 01:00, the hour's end
    assert any("interval end" in n for n in f.notes)
    raw = json.loads((DATA / "open_meteo_dapuqiao.json").read_text(encoding="utf-8"))["hourly"]
    assert d["ghi"].to_numpy() == pytest.approx(raw["shortwave_radiation"])
    assert d["wind_speed"].to_numpy() == pytest.approx(np.array(raw["wind_speed_10m"]) / 3.6)
    # the same numbers as solarmap's CSV with interval-start labels give the same forecast
    csv = tmp_path / "same.csv"
    pd.DataFrame({"time": [t.isoformat() for t in d.index], **{c: d[c].to_numpy() for c in d.columns}}).to_csv(csv, index=False)
    a = fc.run_forecast(stored, f).groups
    b = fc.run_forecast(stored, read_forecast(csv, stored.site)).groups
    assert np.allclose(a["ac_kw"], b["ac_kw"], rtol=1e-12, atol=1e-9)
    # the cloudy second day of the file is in the forecast
    pot = a[a["set"] == "potential"].groupby("time")["ac_kw"].sum()
    assert pot.iloc[30:40].sum() < 0.75 * pot.iloc[6:16].sum()  # beam × 0.35, diffuse × 1.2 in the file


def test_open_meteo_ensemble_gives_ordered_p10_p50_p90(stored):
    f = read_forecast(DATA / "open_meteo_ensemble.json", stored.site)
    assert f.member_names == ["control", "member01", "member02", "member03"]
    assert f.decomposition == "pvlib.irradiance.erbs"
    g = fc.run_forecast(stored, f).groups
    assert {"p10_kw", "p50_kw", "p90_kw"} <= set(g.columns) and "ac_kw" not in g.columns
    assert (g["p10_kw"] <= g["p50_kw"] + 1e-9).all() and (g["p50_kw"] <= g["p90_kw"] + 1e-9).all()
    day = g[g["time"].dt.hour == 12]
    assert (day["p10_kw"] < day["p90_kw"]).all()


def test_the_ghi_only_csv_names_its_decomposition_and_fills_nothing_else(stored):
    f = read_forecast(DATA / "forecast_ghi_only.csv", stored.site)
    assert f.decomposition == "pvlib.irradiance.erbs"
    d = f.members[0].data
    assert (d["dni"] >= 0).all() and (d["dhi"] <= d["ghi"] + 1e-9).all()
    assert f.notes == []


def _grid(path: Path, weather: pd.DataFrame, scales, *, lat=(31.0, 31.25, 31.5), lon=(121.25, 121.5, 121.75),
          accumulated: bool = False, engine: str = "h5netcdf") -> Path:
    xr = pytest.importorskip("xarray")
    times = weather.index.tz_convert("UTC").tz_localize(None)
    shape = (len(scales), len(times), len(lat), len(lon))
    ghi = weather["ghi"].to_numpy()[None, :, None, None] * np.asarray(scales)[:, None, None, None] * np.ones(shape)
    t2m = (weather["temp_air"].to_numpy() + 273.15)[None, :, None, None] * np.ones(shape)
    dims = ("number", "time", "latitude", "longitude")
    if accumulated:  # ECMWF style: J m-2 accumulated from the forecast start, one more time at the start
        ghi = np.concatenate([np.zeros(shape[:1] + (1,) + shape[2:]), np.cumsum(ghi * 3600.0, axis=1)], axis=1)
        t2m = np.concatenate([t2m[:, :1], t2m], axis=1)
        times = pd.DatetimeIndex([times[0] - pd.Timedelta(hours=1), *times]) + pd.Timedelta(hours=1)
    ds = xr.Dataset({"ssrd" if accumulated else "ghi": (dims, ghi, {"units": "J m**-2" if accumulated else "W m-2"}),
                     "t2m": (dims, t2m, {"units": "K"}),
                     "u10": (dims, np.full(ghi.shape, 2.0)), "v10": (dims, np.full(ghi.shape, 1.5))},
                    coords={"number": np.arange(len(scales)), "time": times.values, "latitude": list(lat),
                            "longitude": list(lon)})
    ds.to_netcdf(path, engine=engine)
    return path


def test_ensemble_netcdf_made_here_gives_ordered_percentiles_and_its_median_member(stored, tmp_path):
    pytest.importorskip("h5netcdf")
    w = read_embedded().data.loc["2023-07-10":"2023-07-11"]
    scales = [0.6, 0.8, 0.9, 1.0, 1.1]
    ens = read_forecast(_grid(tmp_path / "ens.nc", w, scales), stored.site)
    assert ens.ensemble and len(ens.members) == 5 and ens.source == "grid:ens.nc"
    assert ens.members[0].data["wind_speed"].iloc[0] == pytest.approx(2.5)  # hypot(2, 1.5)
    assert ens.members[0].data["temp_air"].to_numpy() == pytest.approx(w["temp_air"].to_numpy())  # K → °C
    g = fc.run_forecast(stored, ens).groups
    assert (g["p10_kw"] <= g["p50_kw"]).all() and (g["p50_kw"] <= g["p90_kw"]).all()
    noon = g[(g["time"].dt.hour == 12) & (g["set"] == "potential")]
    assert (noon["p10_kw"] < noon["p50_kw"]).all() and (noon["p50_kw"] < noon["p90_kw"]).all()
    # AC power rises with GHI, so the median of five members is the middle member's own forecast
    mid = read_forecast(_grid(tmp_path / "mid.nc", w, [0.9]), stored.site)
    one = fc.run_forecast(stored, mid).groups
    assert np.allclose(g["p50_kw"], one["ac_kw"], rtol=1e-12, atol=1e-9)
    # NetCDF3 through scipy reads the same; bilinear on a uniform field is the nearest point
    nc3 = read_forecast(_grid(tmp_path / "ens3.nc", w, scales, engine="scipy"), stored.site, interpolation="bilinear")
    assert np.allclose(fc.run_forecast(stored, nc3).groups["p50_kw"], g["p50_kw"], rtol=1e-12, atol=1e-9)


def test_accumulated_ssrd_is_differenced_to_mean_power_labelled_by_interval_start(stored, tmp_path):
    pytest.importorskip("h5netcdf")
    w = read_embedded().data.loc["2023-07-10":"2023-07-11"]
    acc = read_forecast(_grid(tmp_path / "acc.nc", w, [1.0], accumulated=True), stored.site)
    d = acc.members[0].data
    assert d.index.equals(w.index)
    assert np.allclose(d["ghi"].to_numpy(), w["ghi"].to_numpy(), atol=1e-9)


def test_open_meteo_and_grid_readers_refuse_a_grid_that_misses_the_site(stored, tmp_path):
    pytest.importorskip("h5netcdf")
    w = read_embedded().data.loc["2023-07-10":"2023-07-11"]
    path = _grid(tmp_path / "beijing.nc", w, [1.0], lat=(39.5, 40.0, 40.5), lon=(116.0, 116.5, 117.0))
    with pytest.raises(WeatherError, match=r"does not include the run's site \(31\.2"):
        read_forecast(path, stored.site)


def test_ecmwf_style_ensemble_grib2_gives_ordered_percentiles_on_the_right_hours(stored, tmp_path):
    pytest.importorskip("cfgrib")
    path = DATA / "ecmwf_ens_dapuqiao.grib2"  # made by make_grib2.py: ssrd and 2t, 3 members, steps 0-48 h
    f = read_forecast(path, stored.site)
    assert f.member_names == ["1", "2", "3"] and f.decomposition == "pvlib.irradiance.erbs"
    assert not list(DATA.glob("*.idx"))  # cfgrib wrote no index beside the file
    d = f.members[1].data  # scale 1.0: the embedded year's 15-16 July
    ref = read_embedded().data.loc["2023-07-15":"2023-07-16"]
    assert d.index[0].isoformat() == "2026-07-15T00:00:00+08:00" and len(d) == 48
    # ssrd is packed in GRIB2 at 16 bits of a ~5e7 J/m² range: differenced, ±0.5 W/m²
    assert np.abs(d["ghi"].to_numpy() - ref["ghi"].to_numpy()).max() < 0.5
    # 2 m temperature at the steps, the interval taking the mean of its two ends (kelvin converted)
    t = ref["temp_air"].to_numpy()
    assert d["temp_air"].to_numpy()[5] == pytest.approx((t[5] + t[6]) / 2, abs=0.01)
    g = fc.run_forecast(stored, f).groups
    assert (g["p10_kw"] <= g["p50_kw"]).all() and (g["p50_kw"] <= g["p90_kw"]).all()
    csv = tmp_path / "member2.csv"
    pd.DataFrame({"time": [t.isoformat() for t in d.index], **{c: d[c].to_numpy() for c in d.columns}}).to_csv(csv, index=False)
    one = fc.run_forecast(stored, read_forecast(csv, stored.site)).groups
    # the median of three members rising with GHI is the middle one (float repr round trip through the CSV)
    assert np.allclose(g["p50_kw"], one["ac_kw"], rtol=1e-9, atol=1e-6)


def test_a_grib2_file_without_cfgrib_says_what_to_install(stored, monkeypatch):
    import sys

    pytest.importorskip("xarray")
    monkeypatch.setitem(sys.modules, "cfgrib", None)
    with pytest.raises(WeatherError, match="install cfgrib and eccodes"):
        read_forecast(DATA / "ecmwf_ens_dapuqiao.grib2", stored.site)


def _bad_csv(tmp_path: Path, kind: str) -> Path:
    w = read_embedded().data.loc["2023-07-10":"2023-07-11"].copy()
    times = [t.isoformat() for t in w.index]
    if kind == "no_offset":
        times = [t.strftime("%Y-%m-%d %H:%M") for t in w.index]
    elif kind == "utc_as_local":  # UTC clock times written with Shanghai's offset
        times = [t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M+08:00") for t in w.index]
    elif kind == "gap":
        w, times = w.drop(w.index[20:23]), times[:20] + times[23:]
    elif kind == "negative":
        w.iloc[12, w.columns.get_loc("ghi")] = -50.0
    elif kind == "absurd":
        w["ghi"] *= 3.6  # kJ/m² per hour, not W/m²
    elif kind == "missing":
        w.iloc[13, w.columns.get_loc("temp_air")] = np.nan
    elif kind == "kelvin":
        w["temp_air"] += 273.15
    path = tmp_path / f"{kind}.csv"
    pd.DataFrame({"time": times, **{c: w[c].to_numpy() for c in w.columns}}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("no_offset", "has no UTC offset"),
    ("utc_as_local", "solar noon"),
    ("gap", "irregular step"),
    ("negative", "negative ghi"),
    ("absurd", "absurd ghi"),
    ("missing", "missing values: temp_air"),
    ("kelvin", "kelvin"),
])
def test_bad_forecast_input_is_refused_naming_the_file_and_the_fix(run_copy, tmp_path, capsys, kind, message):
    path = _bad_csv(tmp_path, kind)
    assert main(["forecast", str(run_copy / "dapuqiao"), "--weather", str(path), "--no-db"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err


def test_unknown_runs_sets_and_formats_are_refused(run_copy, stored, tmp_path, capsys):
    csv = week_csv(tmp_path / "week.csv", read_embedded().data, "2023-07-10")
    with pytest.raises(InputDataError, match="not in"):
        fc.forecast("nosuchrun-1", csv, database=run_copy / "solarmap.duckdb")
    with pytest.raises(InputDataError, match="is not potential, existing, candidates or all"):
        fc.parse_sets("tomorrow", stored.store)
    grib = tmp_path / "fc.grib2"
    grib.write_bytes(b"GRIB" + bytes(100))
    with pytest.raises(WeatherError, match="not a readable NetCDF/GRIB2 file|cfgrib"):
        read_forecast(grib, stored.site)
    xlsx = tmp_path / "x.xlsx"
    xlsx.write_bytes(b"")
    with pytest.raises(WeatherError, match="unknown format"):
        read_forecast(xlsx, stored.site)


def test_an_id_file_set_and_per_roof_output_add_up_to_the_group(stored, tmp_path):
    ids = stored.store.building_id[stored.store.suitable][:25]
    idfile = tmp_path / "vpp.txt"
    idfile.write_text("\n".join(ids) + "\n", encoding="utf-8")
    csv = week_csv(tmp_path / "week.csv", read_embedded().data, "2023-07-10")
    r = fc.forecast(stored.folder, csv, sets=str(idfile), per_roof=True)
    assert set(r.groups["set"]) == {"vpp"}
    assert set(r.roofs["building_id"]) == set(ids)
    assert r.roofs["ac_kw"].dtype == np.float32
    # float32 per roof against the float64 group sum
    assert r.roofs["ac_kw"].astype(float).sum() == pytest.approx(r.groups["ac_kw"].sum(), rel=1e-6)
    path = fc.write_forecast(r, tmp_path / "out")
    assert path.name == "forecast.csv" and (tmp_path / "out" / "forecast_roofs.parquet").exists()
