"""Weather readers and the embedded typical year against the real Shanghai EPW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from conftest import EPW, needs_epw
from solarmap.errors import WeatherError
from solarmap.sources.weather import (
    SHANGHAI_MONTHLY,
    Weather,
    great_circle_km,
    load_weather,
    read_embedded,
    validate_weather,
)


def poa_20_south(w: Weather) -> pd.Series:
    sp = w.location.get_solarposition(w.sun_times)
    dni_extra = pvlib.irradiance.get_extra_radiation(w.sun_times)
    am = pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"])
    r = pvlib.irradiance.get_total_irradiance(20, 180, sp["apparent_zenith"], sp["azimuth"], w.data["dni"].to_numpy(),
                                              w.data["ghi"].to_numpy(), w.data["dhi"].to_numpy(), dni_extra=dni_extra,
                                              airmass=am, model="perez", albedo=0.2)
    return pd.Series(np.nan_to_num(r["poa_global"].to_numpy()), index=w.data.index)


def test_embedded_year_matches_the_monthly_figures_it_was_built_from():
    w = read_embedded()
    d = w.data
    assert len(d) == 8760 and d.index.is_monotonic_increasing
    by_month = d.groupby(d.index.month)
    days = d.index.to_series().groupby(d.index.month).count() / 24
    ghi = by_month["ghi"].sum() / 1000 / days
    np.testing.assert_allclose(ghi.to_numpy(), SHANGHAI_MONTHLY["ghi_kwh_m2_day"].to_numpy(), rtol=1e-3)
    share = by_month["dhi"].sum() / by_month["ghi"].sum()
    np.testing.assert_allclose(share.to_numpy(), SHANGHAI_MONTHLY["diffuse_share"].to_numpy(), atol=2e-3)
    np.testing.assert_allclose(by_month["temp_air"].mean().to_numpy(), SHANGHAI_MONTHLY["temp_air_c"].to_numpy(), atol=0.05)


@needs_epw
def test_embedded_year_plane_of_array_matches_real_epw():
    emb = poa_20_south(load_weather("embedded", latitude=31.2, longitude=121.47))
    real = poa_20_south(load_weather(str(EPW), latitude=31.2, longitude=121.47))
    assert emb.sum() == pytest.approx(real.sum(), rel=0.05)
    monthly_ratio = emb.groupby(emb.index.month).sum() / real.groupby(real.index.month).sum()
    assert monthly_ratio.between(0.85, 1.15).all(), monthly_ratio.round(3).to_dict()


@needs_epw
def test_epw_is_read_with_its_site_and_in_one_year():
    w = load_weather(str(EPW), latitude=31.21, longitude=121.47)  # buildings in Dapuqiao; the weather keeps its own site
    assert w.latitude == pytest.approx(31.198) and w.longitude == pytest.approx(121.336)
    assert (w.data.index.year == 2023).all() and len(w.data) == 8760
    assert w.annual_ghi_kwh_m2() == pytest.approx(1481, abs=2)  # SOURCES.md


def test_clearsky_is_brighter_than_the_typical_year():
    cs = load_weather("clearsky", latitude=31.23, longitude=121.48)
    assert cs.annual_ghi_kwh_m2() == pytest.approx(2180, rel=0.06)  # FACTS §4: about 2,180 kWh/m²
    assert cs.annual_ghi_kwh_m2() > read_embedded().annual_ghi_kwh_m2()


def test_weather_shifted_by_hours_is_rejected_as_wrong_time_zone():
    w = read_embedded()
    shifted = w.data.copy()
    shifted.index = shifted.index.tz_convert("UTC").tz_localize(None).tz_localize("Etc/GMT-8")  # UTC labels as local
    with pytest.raises(WeatherError, match="time zone"):
        validate_weather(Weather(shifted, w.latitude, w.longitude, w.altitude, "test"), "test")


def test_short_weather_is_rejected():
    w = read_embedded()
    with pytest.raises(WeatherError, match="8760"):
        validate_weather(Weather(w.data.iloc[:1000], w.latitude, w.longitude, w.altitude, "short"), "short")


def test_missing_weather_file_names_the_file(tmp_path):
    with pytest.raises(WeatherError, match="nope.epw"):
        load_weather(str(tmp_path / "nope.epw"), latitude=31, longitude=121)


def test_tmy3_csv_through_pvlibs_reader():
    from pathlib import Path

    import pvlib as _pvlib

    path = Path(_pvlib.__file__).parent / "data" / "723170TYA.CSV"  # Greensboro NC, shipped with pvlib
    w = load_weather(str(path), latitude=36.1, longitude=-79.9)  # buildings in Greensboro
    assert len(w.data) == 8760 and w.latitude == pytest.approx(36.1, abs=0.1)
    assert str(w.data.index.tz) == "Etc/GMT+5"  # UTC-5 as the file says; validation found the noon peak there
    assert 1300 < w.annual_ghi_kwh_m2() < 1800


def test_pvgis_tmy_json_through_pvlibs_reader(tmp_path):
    """A PVGIS TMY JSON in the layout PVGIS serves (outputformat=json), built from the embedded year in UTC."""
    import json

    emb = read_embedded()
    utc = emb.data.tz_convert("UTC")
    rows = [{"time(UTC)": t.strftime("%Y%m%d:%H%M"), "T2m": r.temp_air, "RH": 70.0, "G(h)": r.ghi, "Gb(n)": r.dni,
             "Gd(h)": r.dhi, "IR(h)": 300.0, "WS10m": r.wind_speed, "WD10m": 90.0, "SP": 101300.0}
            for t, r in zip(utc.index, utc.itertuples(), strict=True)]
    doc = {"inputs": {"location": {"latitude": 31.23, "longitude": 121.48, "elevation": 4.0}},
           "outputs": {"months_selected": [{"month": m, "year": 2015} for m in range(1, 13)], "tmy_hourly": rows},
           "meta": {"inputs": {}}}
    path = tmp_path / "tmy_31.230_121.480.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    w = load_weather(str(path), latitude=31.21, longitude=121.47)
    assert w.source.startswith("pvgis:") and str(w.data.index.tz) == "Etc/GMT-8"
    assert (w.latitude, w.longitude) == (31.23, 121.48)
    assert len(w.data) == 8760
    assert w.annual_ghi_kwh_m2() == pytest.approx(emb.annual_ghi_kwh_m2(), rel=1e-3)


# --- plausibility: the weather must be the buildings' place, hemisphere and clock ------------------------------

DAPUQIAO = {"latitude": 31.21, "longitude": 121.47}


def rolled(w: Weather, hours: int) -> Weather:
    """The same weather with its values moved ``hours`` later in the year (the time stamps stay)."""
    data = w.data.copy()
    data[:] = np.roll(w.data.to_numpy(), hours, axis=0)
    return Weather(data, w.latitude, w.longitude, w.altitude, f"rolled {hours} h")


def test_great_circle_distance_against_known_values():
    # Shanghai (People's Square) to Beijing (Tiananmen): 1,067 km on the mean-radius sphere, the figure atlases
    # quote; the WGS84 geodesic is 1,065.8 km. 1 % covers the sphere-vs-ellipsoid difference (under 0.5 % at any
    # distance) and the choice of each city's centre point (a few km), and still catches a wrong radius unit or
    # degrees taken for radians (errors of tens of percent or more).
    assert great_circle_km(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1067, rel=0.01)
    # and pyproj's WGS84 geodesic for a long pair across the equator (Shanghai-Sydney) within the sphere's 0.5 %
    from pyproj import Geod

    geodesic = Geod(ellps="WGS84").inv(121.47, 31.21, 151.21, -33.87)[2] / 1000
    assert great_circle_km(31.21, 121.47, -33.87, 151.21) == pytest.approx(geodesic, rel=0.005)
    assert great_circle_km(31.2, 121.5, 31.2, 121.5) == 0.0


def test_embedded_year_and_clearsky_pass_the_site_check():
    assert load_weather("embedded", **DAPUQIAO).source.startswith("embedded")
    # clear sky is computed at the buildings, so it passes anywhere, also south of the equator and in the tropics
    for lat, lon in ((-33.87, 151.21), (1.29, 103.85), (59.91, 10.75)):
        assert load_weather("clearsky", latitude=lat, longitude=lon).latitude == lat


def test_embedded_year_for_buildings_elsewhere_is_refused_with_distance_and_fix():
    with pytest.raises(WeatherError, match=r"embedded.*31\.23° N, 121\.48° E, 7,8\d\d km from the buildings at "
                       r"33\.87° S, 151\.21° E.*--weather clearsky.*--weather-anywhere"):
        load_weather("embedded", latitude=-33.87, longitude=151.21)


def test_max_distance_is_configurable():
    # Hangzhou is 165 km from Shanghai: refused at the default 50 km, accepted at 200 km
    with pytest.raises(WeatherError, match=r"1[67]\d km from the buildings .*max_distance_km = 50\)"):
        load_weather("embedded", latitude=30.27, longitude=120.16)
    assert load_weather("embedded", latitude=30.27, longitude=120.16, max_distance_km=200).latitude == 31.23


def test_year_shifted_by_six_months_is_refused_naming_the_seasons():
    w = rolled(read_embedded(), 183 * 24)  # whole days: the daily cycle stays right, only the seasons move
    with pytest.raises(WeatherError, match="seasons are the southern hemisphere's: May-August has 0.5") as exc:
        validate_weather(w, "test", **DAPUQIAO)
    assert "time zone" not in str(exc.value)  # the season check found it on its own
    with pytest.raises(WeatherError, match="seasons"):  # also without a site: against the weather's own latitude
        validate_weather(w, "test")


def test_half_day_shift_is_caught_by_the_noon_check():
    # 4,380 h = 182.5 days: irradiance at night. An arithmetic mean of hours put the split peak at noon and let it
    # through; the circular mean puts it at midnight
    with pytest.raises(WeatherError, match=r"peaks at (23|0)\.\d h local time"):
        validate_weather(rolled(read_embedded(), 4380), "test", **DAPUQIAO)


def test_southern_buildings_with_southern_seasons_pass():
    # the embedded year as if for a place at 31° S: shifted six months and relabelled, it has southern seasons
    w = rolled(read_embedded(), 183 * 24)
    south = Weather(w.data, -31.23, 121.48, 4.0, "south")
    assert validate_weather(south, "test", latitude=-31.23, longitude=121.48) is south
    with pytest.raises(WeatherError, match="seasons are the northern hemisphere's: November-February"):
        validate_weather(Weather(read_embedded().data, -31.23, 121.48, 4.0, "north"), "test", latitude=-31.23, longitude=121.48)


def test_season_check_is_skipped_near_the_equator():
    # within 15° of the equator wet and dry seasons, not the sun, set the monthly cycle: no false alarm there, even
    # for a cycle that would be the other hemisphere's at higher latitude
    w = rolled(read_embedded(), 183 * 24)
    tropical = Weather(w.data, 10.0, 121.48, 4.0, "tropical")
    assert validate_weather(tropical, "test", latitude=10.0, longitude=121.48) is tropical


def test_anywhere_turns_place_and_season_into_warnings(caplog):
    with caplog.at_level("WARNING", logger="solarmap"):
        w = load_weather("embedded", latitude=-33.87, longitude=151.21, anywhere=True)
    assert w.source.startswith("embedded")
    texts = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("7,8" in t and "km from the buildings" in t for t in texts), texts
    assert any("seasons are the northern hemisphere's" in t for t in texts), texts
    # anywhere does not excuse a broken file: a wrong clock still fails
    shifted = read_embedded().data.copy()
    shifted.index = shifted.index.tz_convert("UTC").tz_localize(None).tz_localize("Etc/GMT-8")
    with pytest.raises(WeatherError, match="time zone"):
        validate_weather(Weather(shifted, 31.23, 121.48, 4.0, "t"), "t", **DAPUQIAO, anywhere=True)


def test_weather_config_keys_are_checked():
    from solarmap.config import ConfigError, config_from_dict

    cfg = config_from_dict({"weather": {"max_distance_km": 120, "anywhere": True}})
    assert cfg.weather.max_distance_km == 120.0 and cfg.weather.anywhere is True
    assert config_from_dict({}).weather.max_distance_km == 50.0 and not config_from_dict({}).weather.anywhere
    with pytest.raises(ConfigError, match=r"'weather.max_distance_km' = 0.0 is outside \[1, 20040\]"):
        config_from_dict({"weather": {"max_distance_km": 0}})
    with pytest.raises(ConfigError, match="'weather.anywhere' must be bool"):
        config_from_dict({"weather": {"anywhere": "yes"}})
