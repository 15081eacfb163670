"""Hourly typical-year weather: EPW, TMY3 CSV, PVGIS TMY (JSON/CSV), the embedded Shanghai year, clear sky, or PVGIS's
TMY for the site fetched and cached (``pvgis``, :mod:`solarmap.sources.pvgis`).

Every source is returned as a :class:`Weather`: a DataFrame with pvlib's column names (``ghi``, ``dni``, ``dhi``
[W m⁻²], ``temp_air`` [°C], ``wind_speed`` [m s⁻¹]) on an hourly, time-zone-aware index placed in one year, plus
the site and the label convention. Sun positions belong at the middle of each interval (:attr:`Weather.sun_times`).
:func:`load_weather` checks that the weather is a full year whose irradiance peaks at solar noon, and that it is the
buildings' own: its site near theirs and its seasons those of their hemisphere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from solarmap.errors import Message, WeatherError, WeatherWarning, warn
from solarmap.resources import EMBEDDED_WEATHER

log = logging.getLogger(__name__)

SHANGHAI_TZ = "Etc/GMT-8"  # UTC+8 all year (no daylight saving)
REQUIRED = ("ghi", "dni", "dhi", "temp_air", "wind_speed")

#: Monthly figures of the Shanghai Hongqiao TMYx 2007-2021 typical year (FACTS §4).
SHANGHAI_MONTHLY = pd.DataFrame(
    {
        "ghi_kwh_m2_day": [2.94, 2.81, 4.30, 5.16, 5.66, 4.31, 5.45, 5.15, 3.94, 3.49, 2.78, 2.58],
        "diffuse_share": [0.35, 0.49, 0.37, 0.34, 0.36, 0.50, 0.37, 0.37, 0.41, 0.40, 0.41, 0.40],
        "temp_air_c": [5.5, 7.7, 11.4, 17.9, 21.7, 24.5, 29.8, 29.3, 25.4, 20.0, 15.1, 8.0],
    },
    index=pd.RangeIndex(1, 13, name="month"),
)
#: Embedded site: the centre of Huangpu District (FACTS §2).
HUANGPU_LATITUDE, HUANGPU_LONGITUDE, HUANGPU_ALTITUDE = 31.23, 121.48, 4.0

EARTH_RADIUS_KM = 6371.0088  # the mean radius R1 of IUGG/WGS84
SUMMER_NORTH, WINTER_NORTH = (5, 6, 7, 8), (11, 12, 1, 2)  # months compared by the season check
TROPICS_DEG = 15.0  # the season check is skipped nearer the equator (see _season_problem)
#: The fix for weather that is another place's (or hemisphere's); --weather-anywhere only when nothing else is wrong
NEARBY_FIX = "Use a weather file for the buildings' place or --weather clearsky (clear sky computed at the buildings)"
ELSEWHERE_FIX = (
    "Use a weather file for the buildings' place, --weather clearsky (clear sky computed at the buildings), or "
    "--weather-anywhere (weather.anywhere = true) to use this one anyway"
)


@dataclass
class Weather:
    """Hourly weather for one site.

    ``data`` is indexed by the *start* of each hourly interval (time-zone aware); ``source`` names where it came
    from. ``sun_times`` is the interval midpoint, where solarmap and the reference ModelChain evaluate the sun.
    """

    data: pd.DataFrame
    latitude: float
    longitude: float
    altitude: float
    source: str

    @property
    def sun_times(self) -> pd.DatetimeIndex:
        return self.data.index + pd.Timedelta(minutes=30)

    @property
    def location(self) -> pvlib.location.Location:
        return pvlib.location.Location(self.latitude, self.longitude, tz=str(self.data.index.tz), altitude=self.altitude)

    def annual_ghi_kwh_m2(self) -> float:
        return float(self.data["ghi"].sum() / 1000.0)


def _place_in_year(data: pd.DataFrame, year: int, label_end: bool, where: str) -> pd.DataFrame:
    """Put a typical year (whose months come from different years) into one year, labelled by interval start."""
    idx = data.index
    if label_end:
        idx = idx - pd.Timedelta(hours=1)
    tz = idx.tz
    naive = idx.tz_localize(None) if tz is not None else idx
    month, day, hour = naive.month, naive.day, naive.hour
    keep = ~((month == 2) & (day == 29))
    data = data.loc[keep].copy()
    stamps = pd.to_datetime(
        {"year": year, "month": month[keep], "day": day[keep], "hour": hour[keep]}, errors="coerce"
    )
    new = pd.DatetimeIndex(stamps)
    data.index = new.tz_localize(tz) if tz is not None else new
    data = data.sort_index()
    if tz is not None:
        offset_h = data.index[0].utcoffset().total_seconds() / 3600
        if offset_h == int(offset_h):  # name fixed offsets the way zoneinfo (and so pvlib) knows them
            data.index = data.index.tz_convert(f"Etc/GMT{-int(offset_h):+d}" if offset_h else "UTC")
    if data.index.has_duplicates:
        msg = f"{where}: the typical year has duplicate hours after placing it in {year}; is it hourly?"
        raise WeatherError(msg)
    return data


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [km] between two points [°] (haversine on a sphere of the Earth's mean radius).

    The sphere is within 0.5 % of the WGS84 geodesic at any distance: ample for "is this weather for here".
    """
    p1, l1, p2, l2 = np.radians([lat1, lon1, lat2, lon2])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return float(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(min(1.0, h))))


def _place(latitude: float, longitude: float) -> str:
    ns = "N" if latitude >= 0 else "S"
    ew = "E" if longitude >= 0 else "W"
    return f"{abs(latitude):.2f}° {ns}, {abs(longitude):.2f}° {ew}"


def _place_zh(latitude: float, longitude: float) -> str:
    return (f"{'北' if latitude >= 0 else '南'}纬 {abs(latitude):.2f}°、"
            f"{'东' if longitude >= 0 else '西'}经 {abs(longitude):.2f}°")


def _peak_hour(d: pd.DataFrame) -> float:
    """Hour of day [h, local clock] around which the mean daily GHI is centred, taken at interval midpoints.

    A circular mean: an arithmetic mean of hours puts a peak split across midnight (data twelve hours off) at noon.
    """
    hours = d.index.hour + d.index.minute / 60 + 0.5
    profile = d["ghi"].clip(lower=0).groupby(hours).mean()
    angle = 2 * np.pi * profile.index.to_numpy() / 24
    w = profile.to_numpy()
    return float(np.degrees(np.arctan2((w * np.sin(angle)).sum(), (w * np.cos(angle)).sum())) / 15 % 24)


def _noon_problem(d: pd.DataFrame, longitude: float) -> str | None:
    """The daily GHI must peak near solar noon at ``longitude``, or the time zone (or the time labels) are wrong."""
    peak = _peak_hour(d)
    utc_offset = d.index[0].utcoffset().total_seconds() / 3600
    solar_noon = (12 + utc_offset - longitude / 15) % 24
    if abs((peak - solar_noon + 12) % 24 - 12) <= 1.5:
        return None
    return (
        f"irradiance peaks at {peak:.1f} h local time but solar noon at longitude {longitude:.2f} is "
        f"{solar_noon:.1f} h for UTC{utc_offset:+.0f}: the time zone or the time labels look wrong (Shanghai is UTC+8)"
    )


def _distance_problem(weather: Weather, latitude: float, longitude: float, max_distance_km: float) -> str | None:
    """The weather's site must be within ``max_distance_km`` of the buildings' centre."""
    km = great_circle_km(weather.latitude, weather.longitude, latitude, longitude)
    if km <= max_distance_km:
        return None
    return Message(
        f"it is for {_place(weather.latitude, weather.longitude)}, {km:,.0f} km from the buildings at "
        f"{_place(latitude, longitude)} (weather.max_distance_km = {max_distance_km:g}): its sun, seasons and yield "
        "would be another place's",
        f"其站点位于{_place_zh(weather.latitude, weather.longitude)}，距建筑（{_place_zh(latitude, longitude)}）"
        f"{km:,.0f} 公里（weather.max_distance_km = {max_distance_km:g}）：太阳位置、季节和发电量都将是另一地点的",
    )


def _season_problem(d: pd.DataFrame, latitude: float) -> str | None:
    """The irradiance (and air temperature) cycle must peak in the summer of the hemisphere at ``latitude``.

    Compares May-August with November-February: irradiation summed, air temperature averaged. The weather is the
    other hemisphere's only when its summer months have less irradiation than its winter months and are not
    clearly warmer (by 1 °C) either, so a monsoon climate, whose rainy summer can be duller than its dry winter
    but is still warmer, passes; a year shifted by six months inverts both (at Shanghai 0.55 × and 17 °C colder).
    """
    # Within about 15° of the equator the sun is high all year and wet and dry seasons, not the sun's declination,
    # set the monthly irradiance and temperature cycle (Singapore, Nairobi, Manila): no hemisphere can be told from
    # the data there, so the check is skipped rather than false-alarm.
    if abs(latitude) < TROPICS_DEG:
        return None
    north = latitude >= 0
    summer, winter = (SUMMER_NORTH, WINTER_NORTH) if north else (WINTER_NORTH, SUMMER_NORTH)
    month = d.index.month
    in_summer, in_winter = month.isin(summer), month.isin(winter)
    ratio = float(d["ghi"][in_summer].sum() / max(float(d["ghi"][in_winter].sum()), 1e-9))
    warmer = float(d["temp_air"][in_summer].mean() - d["temp_air"][in_winter].mean())
    if ratio >= 1.0 or warmer >= 1.0:
        return None
    s_name, w_name = ("May-August", "November-February") if north else ("November-February", "May-August")
    s_zh, w_zh = ("5–8 月", "11 月至次年 2 月") if north else ("11 月至次年 2 月", "5–8 月")
    hemisphere = "southern" if north else "northern"
    return Message(
        f"its seasons are the {hemisphere} hemisphere's: {s_name} has {ratio:.2f} × the irradiation of {w_name} and "
        f"is {abs(warmer):.1f} °C {'colder' if warmer < 0 else 'warmer'}, but at {abs(latitude):.2f}° "
        f"{'N' if north else 'S'} {s_name} is summer (is the year shifted by six months, or from the other hemisphere?)",
        f"其季节属于{'南' if north else '北'}半球：{s_zh}的辐照量仅为 {w_zh}的 {ratio:.2f} 倍，气温"
        f"{'低' if warmer < 0 else '高'} {abs(warmer):.1f} °C，而在{'北' if north else '南'}纬 {abs(latitude):.2f}° 处 "
        f"{s_zh}是夏季（年份是否错开了六个月，或数据来自另一半球？）",
    )


def validate_weather(
    weather: Weather,
    where: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    max_distance_km: float = 50.0,
    anywhere: bool = False,
) -> Weather:
    """Check a weather set is a complete hourly year, plausible for its place; raise one error listing problems.

    Always: the columns, 8,760 hours, no gaps or negative irradiance, a time zone, the daily irradiance peak near
    solar noon, and seasons of the right hemisphere. With the buildings' centre (``latitude``, ``longitude``) it is a
    site check: the weather must be within ``max_distance_km`` of the buildings, its seasons those of the buildings'
    hemisphere and its noon the buildings'. ``anywhere`` turns the distance and season findings into warnings.
    """
    d = weather.data
    problems = []  # wrong whatever the place
    misplaced = []  # the weather is another place's: errors unless anywhere
    site = latitude is not None and longitude is not None
    if site:
        far = _distance_problem(weather, latitude, longitude, max_distance_km)
        if far:
            misplaced.append(far)
    missing = [c for c in REQUIRED if c not in d.columns]
    if missing:
        problems.append(f"columns missing: {', '.join(missing)}")
    elif len(d) < 8760:
        problems.append(f"{len(d)} hourly rows, a typical year needs 8760 (a full year, hourly)")
    else:
        bad = d[list(REQUIRED)].isna().sum()
        bad = bad[bad > 0]
        if len(bad):
            problems.append("missing values: " + ", ".join(f"{c} ({n} rows)" for c, n in bad.items()))
        neg = (d[["ghi", "dni", "dhi"]] < -1).sum()
        neg = neg[neg > 0]
        if len(neg):
            problems.append("negative irradiance: " + ", ".join(f"{c} ({n} rows)" for c, n in neg.items()))
        if d.index.tz is None:
            problems.append("the time index has no time zone")
        elif not problems:
            # noon at the buildings' longitude when the weather is theirs (within max_distance_km the two differ by
            # under 0.6°, 2.4 min); weather from elsewhere (refused, or used with anywhere) is checked at its own
            # longitude, where the sun is then computed, so that its clock is still checked and not blamed twice
            noon = _noon_problem(d, longitude if site and not misplaced else weather.longitude)
            if noon:
                problems.append(noon)
            seasons = _season_problem(d, latitude if site else weather.latitude)
            if seasons:
                misplaced.append(seasons)
    warnings = []
    if anywhere:
        warnings, misplaced = misplaced, []
    if problems or misplaced:
        msg = f"weather {where}: " + "; ".join(problems + misplaced)
        if misplaced:  # --weather-anywhere would not help with the other problems: then it is not offered
            msg += f". {NEARBY_FIX if problems else ELSEWHERE_FIX}"
        raise WeatherError(msg)
    for text in warnings:
        warn(f"weather {where}: {text} (used anyway: --weather-anywhere / weather.anywhere)", WeatherWarning,
             zh=f"气象文件 {where}：{text.zh}（按 --weather-anywhere / weather.anywhere 仍予使用）")
    return weather


def read_epw(path: str | Path, *, year: int = 2023) -> Weather:
    """Read an EnergyPlus weather file with pvlib (its index labels the interval start)."""
    try:
        data, meta = pvlib.iotools.read_epw(path)
    except Exception as exc:  # pvlib raises assorted errors on malformed files
        msg = f"weather file {path} is not a readable EPW file ({exc.__class__.__name__}: {exc})"
        raise WeatherError(msg) from None
    data = _place_in_year(data[list(REQUIRED)], year, label_end=False, where=str(path))
    return Weather(data, float(meta["latitude"]), float(meta["longitude"]), float(meta["altitude"]), f"epw:{Path(path).name}")


def read_tmy3(path: str | Path, *, year: int = 2023) -> Weather:
    """Read a TMY3 CSV with pvlib (hour-ending labels, shifted here to interval start)."""
    try:
        data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    except Exception as exc:
        msg = f"weather file {path} is not a readable TMY3 CSV ({exc.__class__.__name__}: {exc})"
        raise WeatherError(msg) from None
    data = data[list(REQUIRED)]
    if len(data) == 8760:
        # a TMY3 file is 8,760 consecutive hours of local standard time, hour-ending; placing it by position avoids
        # the 24:00 label of a leap-year February 28 turning into March 1 (pvlib's reading) and losing an hour
        data = data.copy()
        data.index = pd.date_range(f"{year}-01-01", periods=8760, freq="h", tz=data.index.tz)
        data = _place_in_year(data, year, label_end=False, where=str(path))
    else:
        data = _place_in_year(data, year, label_end=True, where=str(path))
    return Weather(data, float(meta["latitude"]), float(meta["longitude"]), float(meta["altitude"]), f"tmy3:{Path(path).name}")


def read_pvgis_tmy(path: str | Path, *, year: int = 2023, tz: str = SHANGHAI_TZ) -> Weather:
    """Read a PVGIS TMY file (JSON or CSV) with pvlib; its UTC times are converted to ``tz``."""
    fmt = "json" if str(path).lower().endswith(".json") else "csv"
    try:
        result = pvlib.iotools.read_pvgis_tmy(path, pvgis_format=fmt, map_variables=True)
    except Exception as exc:
        msg = f"weather file {path} is not a readable PVGIS TMY {fmt.upper()} ({exc.__class__.__name__}: {exc})"
        raise WeatherError(msg) from None
    data = result[0] if isinstance(result, tuple) else result
    meta = result[-1] if isinstance(result, tuple) else {}
    lat, lon, alt = _pvgis_site(meta)
    if data.index.tz is None:
        data.index = data.index.tz_localize("UTC")
    data = data.tz_convert(tz)
    data = _place_in_year(data[list(REQUIRED)], year, label_end=False, where=str(path))
    return Weather(data, lat, lon, alt, f"pvgis:{Path(path).name}")


def _pvgis_site(meta) -> tuple[float, float, float]:
    if isinstance(meta, dict):
        loc = meta.get("inputs", meta).get("location", meta.get("inputs", meta))
        try:
            return float(loc["latitude"]), float(loc["longitude"]), float(loc.get("elevation", 0.0))
        except (KeyError, TypeError, ValueError):
            pass
    return HUANGPU_LATITUDE, HUANGPU_LONGITUDE, HUANGPU_ALTITUDE


def typical_year_from_monthly(
    monthly: pd.DataFrame = SHANGHAI_MONTHLY,
    *,
    latitude: float = HUANGPU_LATITUDE,
    longitude: float = HUANGPU_LONGITUDE,
    altitude: float = HUANGPU_ALTITUDE,
    year: int = 2023,
    tz: str = SHANGHAI_TZ,
    wind_speed: float = 2.5,
    temp_amplitude_c: float = 3.5,
) -> pd.DataFrame:
    """Build an hourly typical year whose monthly GHI, diffuse share and air temperature match ``monthly``.

    Irradiance: pvlib's Ineichen clear sky (with pvlib's Linke turbidity) at the interval midpoints, its beam and
    diffuse parts each scaled per month so that the month's mean daily GHI [kWh m⁻² day⁻¹] and diffuse share
    [-] are met exactly; DNI stays the scaled clear-sky DNI, so GHI = DNI cos(zenith) + DHI holds every hour.
    Every day of a month is the month's average day (no day-to-day weather).
    Temperature: the monthly mean [°C] with a cosine daily cycle of ``temp_amplitude_c`` peaking at 14:30.
    Wind: a constant ``wind_speed`` [m s⁻¹] (FACTS gives none; a sheltered roof-level assumption).
    Returns a DataFrame indexed by interval start with ``ghi``, ``dni``, ``dhi``, ``temp_air``, ``wind_speed``.
    """
    index = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:00", freq="h", tz=tz)
    loc = pvlib.location.Location(latitude, longitude, tz=tz, altitude=altitude)
    mid = index + pd.Timedelta(minutes=30)
    cs = loc.get_clearsky(mid, model="ineichen")
    zen = loc.get_solarposition(mid)["apparent_zenith"].to_numpy()
    cosz = np.clip(np.cos(np.radians(zen)), 0, None)
    month = index.month.to_numpy()
    days = index.days_in_month.to_numpy()
    beam_h = cs["dni"].to_numpy() * cosz
    diff = cs["dhi"].to_numpy()
    dni = np.zeros(len(index))
    dhi = np.zeros(len(index))
    for m in range(1, 13):
        sel = month == m
        total_wh = monthly.loc[m, "ghi_kwh_m2_day"] * 1000.0 * days[sel][0]
        share = monthly.loc[m, "diffuse_share"]
        dni[sel] = cs["dni"].to_numpy()[sel] * (total_wh * (1 - share) / beam_h[sel].sum())
        dhi[sel] = diff[sel] * (total_wh * share / diff[sel].sum())
    ghi = dni * cosz + dhi
    hour = index.hour.to_numpy() + 0.5
    temp = monthly["temp_air_c"].to_numpy()[month - 1] + temp_amplitude_c * np.cos(2 * np.pi * (hour - 14.5) / 24)
    return pd.DataFrame(
        {"ghi": ghi, "dni": dni, "dhi": dhi, "temp_air": temp, "wind_speed": np.full(len(index), wind_speed)},
        index=pd.DatetimeIndex(index, name="time"),
    )


def read_embedded(*, year: int = 2023) -> Weather:
    """The embedded Shanghai typical year (data/weather/shanghai_typical_year.csv, made by data/build.py)."""
    if not EMBEDDED_WEATHER.exists():
        msg = f"the embedded weather file {EMBEDDED_WEATHER} is missing; run 'python data/build.py' to make it"
        raise WeatherError(msg)
    df = pd.read_csv(EMBEDDED_WEATHER, comment="#")
    index = pd.DatetimeIndex(pd.to_datetime(df.pop("time")), name="time")
    df.index = index.tz_convert(SHANGHAI_TZ)
    if year != df.index[0].year:
        df = _place_in_year(df, year, label_end=False, where=str(EMBEDDED_WEATHER))
    return Weather(df, HUANGPU_LATITUDE, HUANGPU_LONGITUDE, HUANGPU_ALTITUDE, "embedded:shanghai_typical_year")


def clear_sky(latitude: float, longitude: float, *, altitude: float = 4.0, year: int = 2023) -> Weather:
    """Ineichen clear sky at the site (pvlib's Linke turbidity), with the embedded year's temperature and wind."""
    base = read_embedded(year=year).data
    loc = pvlib.location.Location(latitude, longitude, tz=SHANGHAI_TZ, altitude=altitude)
    cs = loc.get_clearsky(base.index + pd.Timedelta(minutes=30), model="ineichen")
    data = base.copy()
    data[["ghi", "dni", "dhi"]] = cs[["ghi", "dni", "dhi"]].to_numpy()
    return Weather(data, latitude, longitude, altitude, "clearsky:ineichen")


def load_weather(
    source: str,
    *,
    latitude: float,
    longitude: float,
    year: int = 2023,
    max_distance_km: float = 50.0,
    anywhere: bool = False,
) -> Weather:
    """Load weather from a source name (``embedded``, ``clearsky``, ``pvgis`` or ``pvgis:DATABASE``) or a file
    path, and validate it.

    ``latitude`` and ``longitude`` are the buildings' centre [°]: the weather must be within ``max_distance_km`` of
    it and have its hemisphere's seasons, or (``anywhere``) a warning says it is not. The embedded year is
    Huangpu's; clear sky is computed at the buildings and so always passes.
    """
    if source == "pvgis" or source.startswith("pvgis:"):
        from solarmap.sources.pvgis import cached_tmy

        path, label = cached_tmy(source, latitude=latitude, longitude=longitude)
        weather = read_pvgis_tmy(path, year=year)
        weather.source = label
        where = weather.source
    elif source == "embedded":
        weather = read_embedded(year=year)
        where = weather.source
    elif source == "clearsky":
        weather = clear_sky(latitude, longitude, year=year)
        where = weather.source
    else:
        path = Path(source)
        where = f"file {path}"
        if not path.exists():
            msg = f"weather file {path} does not exist (use a path, 'embedded', 'clearsky' or 'pvgis')"
            raise WeatherError(msg)
        suffix = path.suffix.lower()
        if suffix == ".epw":
            weather = read_epw(path, year=year)
        elif suffix == ".json" or _looks_like_pvgis(path):
            weather = read_pvgis_tmy(path, year=year)
        elif suffix == ".csv":
            weather = read_tmy3(path, year=year)
        else:
            msg = f"weather file {path}: unknown format '{suffix}' (EPW, TMY3 CSV or PVGIS TMY JSON/CSV)"
            raise WeatherError(msg)
    return validate_weather(weather, where, latitude=latitude, longitude=longitude,
                            max_distance_km=max_distance_km, anywhere=anywhere)


def _looks_like_pvgis(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:400]
    except OSError:
        return False
    if head.lstrip().startswith("{"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
            return True
        except ValueError:
            return False
    return head.startswith("Latitude") or "PVGIS" in head
