"""Forecast weather for ``solarmap forecast``: a CSV, Open-Meteo's JSON, a NetCDF or GRIB2 grid (through xarray), or
any solarmap weather file (EPW, TMY3, PVGIS), read into one or more :class:`StepWeather` members.

Every member is on the run's time zone and labelled, like the run's weather, by the **start** of each interval (the
value is the mean over ``[time, time + step)``; the sun is taken at ``time + step / 2``). Files labelled by the
interval's end (Open-Meteo's radiation is "the preceding hour's mean", an ECMWF accumulation ends at its valid
time) are moved back one step on reading; ``time_label`` overrides each format's default.

A file that gives GHI alone is split into DNI and DHI with a pvlib decomposition model (``erbs`` by default, named
in :attr:`Forecast.decomposition`) at the run's site. Several members in one file (an ensemble) give several
members; the forecast reports their P10/P50/P90.

Bad input is refused with one paragraph naming the file and the fix: no time zone or the wrong one, gaps or
repeated times, missing values, negative or absurd irradiance, implausible temperature or wind, a grid that does
not cover the run's site.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from solarmap.errors import InputDataWarning, WeatherError, warn
from solarmap.sources.weather import Weather, load_weather

log = logging.getLogger(__name__)

#: pvlib ModelChain's values when a weather file has no temperature or wind (pvlib.modelchain)
DEFAULT_TEMP_AIR_C, DEFAULT_WIND_SPEED = 20.0, 0.0
#: above these a value is taken for a unit or column mix-up [W m⁻²]: the solar constant is 1361 W m⁻², and
#: the highest surface GHI ever recorded (cloud enhancement) is about 1,500 W m⁻²
MAX_GHI, MAX_DNI, MAX_DHI = 1500.0, 1400.0, 1000.0
DECOMPOSITIONS = ("erbs", "erbs_driesse")
GRID_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".grib", ".grib2", ".grb", ".grb2")


@dataclass
class StepWeather(Weather):
    """A :class:`Weather` at any fixed step: the sun is evaluated at the middle of each interval."""

    step: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(hours=1))

    @property
    def sun_times(self) -> pd.DatetimeIndex:
        return self.data.index + self.step / 2

    def annual_ghi_kwh_m2(self) -> float:
        return float(self.data["ghi"].sum() * self.step / pd.Timedelta(hours=1) / 1000.0)


@dataclass
class Forecast:
    """The members of a forecast file (one for a deterministic forecast), on one index and step."""

    members: list[StepWeather]
    member_names: list[str]
    source: str
    step: pd.Timedelta
    decomposition: str = ""  # the pvlib model DNI/DHI came from, when the file gave GHI alone
    notes: list[str] = field(default_factory=list)

    @property
    def ensemble(self) -> bool:
        return len(self.members) > 1

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.members[0].data.index


@dataclass
class Site:
    """Where the run is: the forecast is computed there, whatever point of a grid the weather came from."""

    latitude: float
    longitude: float
    altitude: float
    tz: str


# ------------------------------------------------------------------------------------------------ entry point


def read_forecast(path: str | Path, site: Site, *, time_label: str = "", decomposition: str = "erbs",
                  interpolation: str = "nearest") -> Forecast:
    """Read a forecast file of any supported format for the run at ``site``; validate every member."""
    path = Path(path)
    if not path.exists():
        msg = f"forecast weather file {path} does not exist"
        raise WeatherError(msg)
    if decomposition not in DECOMPOSITIONS:
        msg = f"decomposition {decomposition!r} is not one of {', '.join(DECOMPOSITIONS)}"
        raise WeatherError(msg)
    if time_label not in ("", "start", "end"):
        msg = f"time label {time_label!r}: use 'start' (interval start, solarmap's convention) or 'end'"
        raise WeatherError(msg)
    suffix = path.suffix.lower()
    where = str(path)
    if suffix in GRID_SUFFIXES:
        frames, names, source, default_label = _read_grid(path, site, interpolation)
    elif suffix == ".json" and _is_open_meteo(path):
        frames, names, source, default_label = _read_open_meteo(path, site)
    elif suffix == ".csv" and _has_time_column(path):
        frames, names, source, default_label = _read_csv(path, site)
    elif suffix in (".epw", ".csv", ".json"):
        return _from_weather_file(path, site)
    else:
        msg = (f"forecast weather file {path}: unknown format '{suffix}' (a CSV with a 'time' column, Open-Meteo "
               f"JSON, NetCDF/GRIB2 ({', '.join(GRID_SUFFIXES)}), or an EPW/TMY3/PVGIS weather file)")
        raise WeatherError(msg)
    label = time_label or default_label
    members, step, deco, notes = [], None, "", []
    for name, df in zip(names, frames, strict=True):
        df = _to_site_tz(df, site, where)
        step = _check_index(df, where, name)
        if label == "end":
            df.index = df.index - step
        df = _fill_defaults(df, where, notes)
        df, used = _decompose(df, site, step, decomposition, where)
        deco = deco or used
        w = StepWeather(df[["ghi", "dni", "dhi", "temp_air", "wind_speed"]], site.latitude, site.longitude,
                        site.altitude, source, step=step)
        validate_forecast(w, where, member=name if len(names) > 1 else "")
        members.append(w)
    if not members:
        msg = f"forecast weather file {path} holds no forecast"
        raise WeatherError(msg)
    first = members[0].data.index
    for w, name in zip(members[1:], names[1:], strict=True):
        if not w.data.index.equals(first):
            msg = f"forecast weather file {path}: member {name} has other times than member {names[0]}; members must share one time axis"
            raise WeatherError(msg)
    if label == "end":
        notes.append(f"times labelled by the interval end in the file, moved back one step ({step}) to the interval start")
    return Forecast(members, list(names), source, step, deco, list(dict.fromkeys(notes)))


# ------------------------------------------------------------------------------------------------ formats


def _has_time_column(path: Path) -> bool:
    try:
        head = pd.read_csv(path, nrows=0, comment="#", encoding="utf-8-sig").columns
    except Exception:  # noqa: BLE001 - not a CSV with a header: another reader decides
        return False
    return "time" in [str(c).strip().lower() for c in head]


def _read_csv(path: Path, site: Site):
    """``time`` (ISO 8601 with its offset), ``ghi`` [W m⁻²], optional ``dni``, ``dhi`` [W m⁻²], ``temp_air``
    [°C], ``wind_speed`` [m s⁻¹], optional ``member`` (ensembles). Labels: interval start."""
    try:
        df = pd.read_csv(path, comment="#", encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001
        msg = f"forecast weather file {path} is not a readable CSV ({exc.__class__.__name__}: {exc})"
        raise WeatherError(msg) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "ghi" not in df.columns:
        msg = f"forecast weather file {path}: no 'ghi' column (columns: {', '.join(df.columns)}); a forecast needs GHI [W m⁻²]"
        raise WeatherError(msg)
    times = _parse_times(df.pop("time"), path)
    df.index = times
    if "member" in df.columns:
        groups = [(str(k), g.drop(columns="member")) for k, g in df.groupby("member", sort=True)]
    else:
        groups = [("", df)]
    return [g for _, g in groups], [k for k, _ in groups], f"forecast-csv:{path.name}", "start"


def _parse_times(col: pd.Series, path: Path) -> pd.DatetimeIndex:
    text = col.astype(str).str.strip()
    has_offset = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    if not has_offset.all():
        bad = text[~has_offset].iloc[0]
        msg = (f"forecast weather file {path}: time '{bad}' has no UTC offset; write times with their offset, "
               "e.g. 2026-07-15T14:00+08:00 for Shanghai (UTC+8) or 2026-07-15T06:00Z")
        raise WeatherError(msg)
    try:
        return pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601"), name="time")
    except (ValueError, TypeError) as exc:
        msg = f"forecast weather file {path}: times are not ISO 8601 ({exc})"
        raise WeatherError(msg) from None


def _is_open_meteo(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("hourly"), dict) and "time" in data["hourly"]


_OPEN_METEO = {"shortwave_radiation": "ghi", "direct_normal_irradiance": "dni", "diffuse_radiation": "dhi",
               "temperature_2m": "temp_air", "wind_speed_10m": "wind_speed"}


def _read_open_meteo(path: Path, site: Site):
    """Open-Meteo's forecast (or ensemble) JSON: ``hourly`` ``shortwave_radiation``, ``direct_normal_irradiance``,
    ``diffuse_radiation`` [W m⁻²], ``temperature_2m``, ``wind_speed_10m`` (units from ``hourly_units``); times in
    local time at ``utc_offset_seconds``; radiation is the preceding hour's mean (labelled by the interval end).
    Ensemble members are the keys with a ``_memberNN`` suffix, the plain key being the control run."""
    data = json.loads(path.read_text(encoding="utf-8"))
    hourly, units = data["hourly"], data.get("hourly_units", {})
    offset = pd.Timedelta(seconds=float(data.get("utc_offset_seconds", 0)))
    try:
        local = pd.to_datetime(pd.Series(hourly["time"]), format="ISO8601")
    except (ValueError, TypeError) as exc:
        msg = f"forecast weather file {path}: Open-Meteo times are not ISO 8601 ({exc})"
        raise WeatherError(msg) from None
    if local.dt.tz is not None:
        times = pd.DatetimeIndex(local.dt.tz_convert("UTC"), name="time")
    else:
        times = pd.DatetimeIndex((local - offset).dt.tz_localize("UTC"), name="time")
    members: dict[str, dict[str, np.ndarray]] = {}
    for key, values in hourly.items():
        base, _, member = key.partition("_member")
        if base not in _OPEN_METEO:
            continue
        arr = np.array([np.nan if v is None else v for v in values], dtype=float)
        unit = str(units.get(key, units.get(base, ""))).strip()
        if base == "wind_speed_10m":
            arr = arr * {"km/h": 1 / 3.6, "mph": 0.44704, "kn": 0.514444}.get(unit, 1.0)
        if base == "temperature_2m" and unit in ("°F", "F"):
            arr = (arr - 32.0) * 5.0 / 9.0
        members.setdefault(member or "control", {})[_OPEN_METEO[base]] = arr
    control = members.get("control", {})
    ens = sorted(m for m in members if m != "control" and "ghi" in members[m])
    if "ghi" not in control and not ens:
        msg = (f"forecast weather file {path}: Open-Meteo JSON without hourly 'shortwave_radiation'; request it with "
               "&hourly=shortwave_radiation,direct_normal_irradiance,diffuse_radiation,temperature_2m,wind_speed_10m")
        raise WeatherError(msg)
    if ens:  # members share what they do not give themselves (the control's temperature, say)
        names = (["control"] if "ghi" in control else []) + [f"member{m}" for m in ens]
        frames = [pd.DataFrame(control, index=times)] if "ghi" in control else []
        frames += [pd.DataFrame({**control, **members[m]}, index=times) for m in ens]
    else:
        names, frames = [""], [pd.DataFrame(control, index=times)]
    return frames, names, f"open-meteo:{path.name}", "end"


_GRID_VARS = {
    "ghi": ("ghi", "shortwave_radiation", "ssrd", "surface_solar_radiation_downwards", "rsds", "swdown", "dswrf"),
    "dni": ("dni", "direct_normal_irradiance"),
    "dhi": ("dhi", "diffuse_radiation"),
    "temp_air": ("temp_air", "t2m", "2t", "tas", "temperature_2m", "tmp2m"),
    "wind_speed": ("wind_speed", "si10", "10si", "wind_speed_10m", "ws10"),
}
_MEMBER_DIMS = ("number", "member", "realization", "ensemble", "ens")
_LAT, _LON = ("latitude", "lat", "y"), ("longitude", "lon", "x")


def _read_grid(path: Path, site: Site, interpolation: str):
    """A NetCDF or GRIB2 grid through xarray: the point nearest the run's site (or bilinear), every member.

    Variables by name (CF and ECMWF short names): GHI ``ghi``/``ssrd``/``rsds`` …, optional ``dni``, ``dhi``,
    temperature ``t2m``/``tas`` (kelvin converted), wind ``si10`` or ``u10``/``v10``. Accumulated fields
    (units J m⁻², as ECMWF's ``ssrd``) are differenced to mean W m⁻² over each step and labelled by the step's
    end; W m⁻² fields are taken as interval means labelled by the start. Times without a zone are UTC (CF)."""
    if interpolation not in ("nearest", "bilinear"):
        msg = f"grid interpolation {interpolation!r}: use 'nearest' or 'bilinear'"
        raise WeatherError(msg)
    try:
        import xarray as xr
    except ImportError:
        msg = (f"forecast weather file {path} is a grid: reading it needs xarray (pip install 'solarmap[forecast]', "
               "which brings xarray and h5netcdf; GRIB2 also needs cfgrib)")
        raise WeatherError(msg) from None
    grib = path.suffix.lower() in (".grib", ".grib2", ".grb", ".grb2")
    try:
        ds = _open_grib(path, xr) if grib else xr.open_dataset(path)
    except (ValueError, ImportError) as exc:
        need = "cfgrib and eccodes (pip install cfgrib eccodes)" if grib else "h5netcdf or netCDF4 (pip install 'solarmap[forecast]')"
        msg = f"forecast weather file {path} could not be opened by xarray ({exc}); install {need}"
        raise WeatherError(msg) from None
    except Exception as exc:  # noqa: BLE001 - a damaged file
        msg = f"forecast weather file {path} is not a readable NetCDF/GRIB2 file ({exc.__class__.__name__}: {exc})"
        raise WeatherError(msg) from None
    with ds:
        lat_name = next((n for n in _LAT if n in ds.coords or n in ds.dims), None)
        lon_name = next((n for n in _LON if n in ds.coords or n in ds.dims), None)
        if lat_name is None or lon_name is None:
            msg = f"forecast weather file {path}: no latitude/longitude coordinates (looked for {', '.join(_LAT + _LON)})"
            raise WeatherError(msg)
        lats, lons = np.asarray(ds[lat_name].values, dtype=float), np.asarray(ds[lon_name].values, dtype=float)
        lon_site = site.longitude if lons.max() <= 180 else site.longitude % 360
        _check_cover(path, lats, lons, site.latitude, lon_site)
        point = {lat_name: site.latitude, lon_name: lon_site}
        if interpolation == "bilinear" and len(lats) > 1 and len(lons) > 1:
            ds = ds.interp(point, method="linear")
        else:
            ds = ds.sel(point, method="nearest")
        time_name, times = _grid_times(ds, path)
        variables = {}
        for k, names in _GRID_VARS.items():
            v = next((n for n in names if n in ds.data_vars), None)
            if v is not None:
                variables[k] = v
        if "wind_speed" not in variables and "u10" in ds.data_vars and "v10" in ds.data_vars:
            variables["wind_speed"] = ("u10", "v10")
        if "ghi" not in variables:
            msg = (f"forecast weather file {path}: no surface solar radiation variable (looked for "
                   f"{', '.join(_GRID_VARS['ghi'])}; variables: {', '.join(map(str, ds.data_vars))})")
            raise WeatherError(msg)
        member_dim = next((d for d in _MEMBER_DIMS if d in ds[variables["ghi"]].dims), None)
        n_members = ds.sizes[member_dim] if member_dim else 1
        accumulated = _is_accumulated(ds[variables["ghi"]])
        frames, names = [], []
        for m in range(n_members):
            sel = ds.isel({member_dim: m}) if member_dim else ds
            cols = {}
            for k, v in variables.items():
                if isinstance(v, tuple):
                    cols[k] = np.hypot(_series(sel[v[0]], time_name), _series(sel[v[1]], time_name))
                    continue
                arr = _series(sel[v], time_name)
                if k in ("ghi", "dni", "dhi") and _is_accumulated(sel[v]):
                    arr = _deaccumulate(arr, times)
                if k == "temp_air" and str(sel[v].attrs.get("units", "")).strip().upper() in ("K", "KELVIN"):
                    arr = arr - 273.15
                cols[k] = arr
            frames.append(pd.DataFrame(cols, index=times))
            names.append(str(ds[member_dim].values[m]) if member_dim and member_dim in ds.coords else (str(m) if member_dim else ""))
        if accumulated:  # the first step has no preceding value to difference
            for f in frames:  # instantaneous fields at the steps: the interval takes the mean of its two ends
                for k in ("temp_air", "wind_speed"):
                    if k in f.columns:
                        v = f[k].to_numpy()
                        f[k] = np.r_[v[:1], (v[:-1] + v[1:]) / 2.0]
            frames = [f.iloc[1:] for f in frames]
    return frames, names, f"grid:{path.name}", "end" if accumulated else "start"


def _open_grib(path: Path, xr):
    """A GRIB file's fields as one dataset: cfgrib splits it by level type (ECMWF open data mixes surface and 2 m
    fields), so the hypercubes are opened apart and merged without their level coordinates. No index file is
    written beside the GRIB file."""
    import cfgrib

    parts = cfgrib.open_datasets(str(path), backend_kwargs={"indexpath": ""})
    keep = {"number", "step", "time", "valid_time", "latitude", "longitude"}
    parts = [p.drop_vars([c for c in p.coords if c not in keep and c not in p.dims]) for p in parts]
    return xr.merge(parts, compat="override", join="outer")


def _check_cover(path: Path, lats: np.ndarray, lons: np.ndarray, lat: float, lon: float) -> None:
    def half(v):
        u = np.unique(v)
        return float(np.min(np.diff(u))) / 2 if len(u) > 1 else 0.25

    lat_lo, lat_hi = lats.min() - half(lats), lats.max() + half(lats)
    lon_lo, lon_hi = lons.min() - half(lons), lons.max() + half(lons)
    if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
        msg = (f"forecast weather file {path}: the grid covers latitude {lats.min():.2f}…{lats.max():.2f}° and "
               f"longitude {lons.min():.2f}…{lons.max():.2f}°, which does not include the run's site "
               f"({lat:.3f}° N, {lon:.3f}° E); download the grid for an area around the district")
        raise WeatherError(msg)


def _grid_times(ds, path: Path):
    if "valid_time" in ds.coords and ds["valid_time"].ndim == 1:
        name = ds["valid_time"].dims[0]
        values = ds["valid_time"].values
    elif "time" in ds.dims:
        name, values = "time", ds["time"].values
    elif "step" in ds.dims and "time" in ds.coords:
        name, values = "step", ds["time"].values + ds["step"].values
    else:
        msg = f"forecast weather file {path}: no time dimension (time, or step with a reference time)"
        raise WeatherError(msg)
    idx = pd.DatetimeIndex(pd.to_datetime(values), name="time").as_unit("ns")
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return name, idx


def _series(da, time_name: str) -> np.ndarray:
    da = da.squeeze(drop=True)
    extra = [d for d in da.dims if d != time_name]
    if extra:
        msg = f"variable {da.name} has dimensions {', '.join(extra)} left after choosing the grid point and member"
        raise WeatherError(msg)
    return np.asarray(da.values, dtype=float)


def _is_accumulated(da) -> bool:
    units = str(da.attrs.get("units", "")).replace("**", "").replace("^", "").replace(" ", "").lower()
    return units in ("jm-2", "j/m2", "jm-2s0")


def _deaccumulate(arr: np.ndarray, times: pd.DatetimeIndex) -> np.ndarray:
    """Mean power [W m⁻²] over each step from an accumulation [J m⁻²] since the forecast's start."""
    dt = np.diff(times.asi8) / 1e9
    out = np.full(len(arr), np.nan)
    out[1:] = np.diff(arr) / dt
    return out


def _from_weather_file(path: Path, site: Site) -> Forecast:
    """A solarmap weather file (EPW, TMY3, PVGIS), checked as for a run, at the run's site: a typical year placed
    in 2023 as the run's weather is, so its forecast lines up with the run's hourly profiles."""
    w = load_weather(str(path), latitude=site.latitude, longitude=site.longitude)
    data = w.data.tz_convert(site.tz) if str(w.data.index.tz) != site.tz else w.data
    sw = StepWeather(data[["ghi", "dni", "dhi", "temp_air", "wind_speed"]], site.latitude, site.longitude,
                     site.altitude, w.source, step=pd.Timedelta(hours=1))
    validate_forecast(sw, str(path))
    return Forecast([sw], [""], w.source, pd.Timedelta(hours=1), "", [])


# ------------------------------------------------------------------------------------------------ checks


def _to_site_tz(df: pd.DataFrame, site: Site, where: str) -> pd.DataFrame:
    if df.index.tz is None:
        msg = f"forecast weather file {where}: times have no time zone; give them with their UTC offset"
        raise WeatherError(msg)
    df = df.sort_index() if df.index.is_monotonic_increasing else df
    out = df.copy()
    out.index = pd.DatetimeIndex(df.index.tz_convert(site.tz), name="time").as_unit("ns")
    return out


def _check_index(df: pd.DataFrame, where: str, member: str) -> pd.Timedelta:
    idx = df.index
    of = f" (member {member})" if member else ""
    if len(idx) < 2:
        msg = f"forecast weather file {where}{of}: {len(idx)} time step; a forecast needs at least two to know its step"
        raise WeatherError(msg)
    if idx.has_duplicates:
        dup = idx[idx.duplicated()][0]
        msg = f"forecast weather file {where}{of}: time {dup.isoformat()} appears twice; give each time once (one file per member, or a 'member' column)"
        raise WeatherError(msg)
    if not idx.is_monotonic_increasing:
        msg = f"forecast weather file {where}{of}: times are not in increasing order"
        raise WeatherError(msg)
    steps = np.diff(idx.asi8)
    step = pd.Timedelta(int(np.median(steps)), unit="ns")
    if step <= pd.Timedelta(0) or step > pd.Timedelta(hours=6):
        msg = f"forecast weather file {where}{of}: step {step} is outside 1 min … 6 h"
        raise WeatherError(msg)
    bad = np.flatnonzero(steps != step.value)
    if len(bad):
        k = int(bad[0])
        msg = (f"forecast weather file {where}{of}: {len(bad)} irregular step(s); the first after "
               f"{idx[k].isoformat()} is {pd.Timedelta(int(steps[k]), unit='ns')} where the file's step is {step}. "
               "Fill the gap (or cut the file at it): solarmap does not interpolate missing forecast hours")
        raise WeatherError(msg)
    return step


def _fill_defaults(df: pd.DataFrame, where: str, notes: list[str]) -> pd.DataFrame:
    df = df.copy()
    for col, value in (("temp_air", DEFAULT_TEMP_AIR_C), ("wind_speed", DEFAULT_WIND_SPEED)):
        if col not in df.columns:
            df[col] = value
            note = f"no {col} in the file: {value:g} used (pvlib ModelChain's default)"
            if note not in notes:
                notes.append(note)
                what = {"temp_air": "气温", "wind_speed": "风速"}.get(col, col)
                warn(f"forecast weather file {where}: {note}", InputDataWarning,
                     zh=f"预报气象文件 {where}：文件中没有{what}（{col}），按 {value:g} 计算（pvlib ModelChain 的默认值）")
    return df


def _decompose(df: pd.DataFrame, site: Site, step: pd.Timedelta, model: str, where: str):
    """DNI and DHI from GHI with a pvlib model when the file has not both; returns the frame and the model used."""
    have = {c for c in ("dni", "dhi") if c in df.columns and df[c].notna().all()}
    if have == {"dni", "dhi"}:
        return df, ""
    loc = pvlib.location.Location(site.latitude, site.longitude, tz=site.tz, altitude=site.altitude)
    times = df.index + step / 2
    sp = loc.get_solarposition(times, temperature=df["temp_air"].to_numpy())
    ghi = df["ghi"].clip(lower=0)
    fn = getattr(pvlib.irradiance, model)
    parts = fn(pd.Series(ghi.to_numpy(), index=times), pd.Series(sp["zenith"].to_numpy(), index=times), times)
    df = df.copy()
    df["dni"] = np.nan_to_num(np.asarray(parts["dni"], dtype=float))
    df["dhi"] = np.nan_to_num(np.asarray(parts["dhi"], dtype=float))
    return df, f"pvlib.irradiance.{model}"


def validate_forecast(w: Weather, where: str, member: str = "") -> Weather:
    """Missing values, negative or absurd irradiance, implausible temperature or wind, and a time zone whose
    irradiance does not peak near solar noon: one error listing every problem."""
    d = w.data
    of = f" (member {member})" if member else ""
    problems = []
    na = d.isna().sum()
    na = na[na > 0]
    if len(na):
        problems.append("missing values: " + ", ".join(f"{c} ({n} rows, first at {d.index[d[c].isna().to_numpy()][0].isoformat()})" for c, n in na.items()))
    for c, hi in (("ghi", MAX_GHI), ("dni", MAX_DNI), ("dhi", MAX_DHI)):
        v = d[c].to_numpy(dtype=float)
        if (v < -1).any():
            k = int(np.nanargmin(v))
            problems.append(f"negative {c} ({int((v < -1).sum())} rows, {v[k]:.0f} W/m² at {d.index[k].isoformat()})")
        if (v > hi).any():
            k = int(np.nanargmax(v))
            problems.append(f"absurd {c} ({int((v > hi).sum())} rows above {hi:.0f} W/m², {v[k]:.0f} at "
                            f"{d.index[k].isoformat()}): is it in J/m² or kJ/m² rather than W/m²?")
    t = d["temp_air"].to_numpy(dtype=float)
    if np.isfinite(t).any() and (np.nanmax(t) > 70 or np.nanmin(t) < -60):
        hint = " (kelvin? solarmap wants °C)" if np.nanmin(t) > 150 else ""
        problems.append(f"temp_air outside −60 … 70 °C ({np.nanmin(t):.1f} … {np.nanmax(t):.1f}){hint}")
    ws = d["wind_speed"].to_numpy(dtype=float)
    if np.isfinite(ws).any() and (np.nanmin(ws) < 0 or np.nanmax(ws) > 75):
        problems.append(f"wind_speed outside 0 … 75 m/s ({np.nanmin(ws):.1f} … {np.nanmax(ws):.1f}; km/h?)")
    if not problems:
        step = getattr(w, "step", pd.Timedelta(hours=1))
        mid = d.index + step / 2
        hours = np.asarray(mid.hour + mid.minute / 60 + mid.second / 3600, dtype=float)
        ghi = d["ghi"].clip(lower=0).to_numpy(dtype=float)
        if ghi.sum() > 0 and (d.index[-1] - d.index[0]) >= pd.Timedelta(hours=20):
            weighted = float((hours * ghi).sum() / ghi.sum())
            offset = d.index[0].utcoffset().total_seconds() / 3600
            noon = 12 + offset - w.longitude / 15
            if abs(weighted - noon) > 1.5:
                problems.append(f"irradiance peaks at {weighted:.1f} h local time but solar noon at longitude "
                                f"{w.longitude:.2f} is {noon:.1f} h for UTC{offset:+.0f}: the times' offset is wrong, "
                                "or they are local times written as UTC (Shanghai is UTC+8)")
    if problems:
        msg = f"forecast weather file {where}{of}: " + "; ".join(problems)
        raise WeatherError(msg)
    return w
