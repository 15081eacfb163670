"""PV yield per roof: the sun once per run, irradiance once per module orientation, then numpy over
(roofs × daylight hours) in chunks.

The physics is pvlib's, and the same chain as ``pvlib.modelchain.ModelChain`` configured with
``dc_model='pvwatts'``, ``ac_model='pvwatts'``, ``aoi_model`` (physical by default), ``spectral_model='no_loss'``,
``temperature_model='sapm'`` and ``losses_model='pvwatts'`` (see :func:`pv_model_description`), so that a roof's
unshaded yield can be reproduced with ModelChain. Shade enters as two per-roof factors from :mod:`solarmap.shading`:
the visible share of the sun each hour (applied to the beam and the circumsolar diffuse) and the sky-view factor
(applied to the isotropic and horizon-band diffuse).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np
import pandas as pd
import pvlib

from solarmap.config import PVConfig
from solarmap.sources.weather import Weather

log = logging.getLogger(__name__)


@dataclass
class Sun:
    """Sun positions at the weather's interval midpoints, computed once per run (per weather site)."""

    index: pd.DatetimeIndex  # the weather's index (interval starts)
    apparent_zenith: np.ndarray  # [°]
    zenith: np.ndarray  # [°]
    apparent_elevation: np.ndarray  # [°]
    azimuth: np.ndarray  # clockwise from north [°]
    dni_extra: np.ndarray  # [W m⁻²]
    airmass_relative: np.ndarray  # Kasten-Young 1989 [-]

    @property
    def up(self) -> np.ndarray:
        """Hours with the sun above the horizon."""
        return self.apparent_zenith < 90.0


def sun_positions(weather: Weather) -> Sun:
    """Solar position (NREL SPA, numpy) with refraction from the hour's air temperature, as ModelChain does."""
    times = weather.sun_times
    sp = weather.location.get_solarposition(times, temperature=weather.data["temp_air"].to_numpy())
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    am = pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"], model="kastenyoung1989")
    return Sun(
        index=weather.data.index,
        apparent_zenith=sp["apparent_zenith"].to_numpy(),
        zenith=sp["zenith"].to_numpy(),
        apparent_elevation=sp["apparent_elevation"].to_numpy(),
        azimuth=sp["azimuth"].to_numpy(),
        dni_extra=np.asarray(dni_extra, dtype=float),
        airmass_relative=np.nan_to_num(np.asarray(am, dtype=float), nan=0.0),
    )


@dataclass
class PlaneIrradiance:
    """Irradiance components on one module plane, daylight hours only [W m⁻²]."""

    poa_direct: np.ndarray
    sky_isotropic: np.ndarray
    sky_circumsolar: np.ndarray
    sky_horizon: np.ndarray
    ground: np.ndarray
    iam: np.ndarray  # incidence-angle modifier of the beam [-]

    @property
    def poa_global(self) -> np.ndarray:
        return self.poa_direct + self.sky_isotropic + self.sky_circumsolar + self.sky_horizon + self.ground


def plane_irradiance(weather: Weather, sun: Sun, hours: np.ndarray, surface_tilt: float, surface_azimuth: float,
                     cfg: PVConfig) -> PlaneIrradiance:
    """Transpose the weather onto one plane with pvlib, keeping the diffuse components apart."""
    d = weather.data
    dni, ghi, dhi = (d[c].to_numpy()[hours] for c in ("dni", "ghi", "dhi"))
    zen, az = sun.apparent_zenith[hours], sun.azimuth[hours]
    aoi = pvlib.irradiance.aoi(surface_tilt, surface_azimuth, zen, az)
    poa_direct = np.maximum(dni * np.cos(np.radians(aoi)), 0.0)
    n = len(dni)
    circ = np.zeros(n)
    horizon = np.zeros(n)
    if cfg.transposition_model == "perez":
        comp = pvlib.irradiance.perez(surface_tilt, surface_azimuth, dhi, dni, sun.dni_extra[hours], zen, az,
                                      sun.airmass_relative[hours], return_components=True)
        iso, circ, horizon = (np.nan_to_num(np.asarray(comp[k], dtype=float)) for k in ("poa_isotropic", "poa_circumsolar", "poa_horizon"))
    elif cfg.transposition_model == "haydavies":
        comp = pvlib.irradiance.haydavies(surface_tilt, surface_azimuth, dhi, dni, sun.dni_extra[hours], zen, az,
                                          return_components=True)
        iso, circ = (np.nan_to_num(np.asarray(comp[k], dtype=float)) for k in ("poa_isotropic", "poa_circumsolar"))
    else:
        iso = np.asarray(pvlib.irradiance.isotropic(surface_tilt, dhi), dtype=float)
    ground = np.asarray(pvlib.irradiance.get_ground_diffuse(surface_tilt, ghi, albedo=cfg.albedo), dtype=float)
    if cfg.aoi_model == "no_loss":
        iam = np.ones(n)
    else:
        iam = np.asarray(getattr(pvlib.iam, cfg.aoi_model)(aoi), dtype=float)
    return PlaneIrradiance(poa_direct, iso, circ, horizon, ground, np.nan_to_num(iam))


def losses_fraction(cfg: PVConfig) -> float:
    """Total PVWatts system losses as a fraction [-]."""
    return float(pvlib.pvsystem.pvwatts_losses(**vars(cfg.losses))) / 100.0


def ac_per_kwp(poa_direct, poa_diffuse, poa_global, iam, temp_air, wind_speed, cfg: PVConfig) -> np.ndarray:
    """AC power per kWp of DC capacity [W kWp⁻¹], broadcasting over any leading (roofs) axis."""
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][cfg.temperature_model]
    effective = poa_direct * iam + poa_diffuse
    temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air, wind_speed, **params)
    pdc0 = 1000.0  # W per kWp
    dc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, pdc0, cfg.gamma_pdc) * (1.0 - losses_fraction(cfg))
    inverter_pdc0 = pdc0 / cfg.dc_ac_ratio / cfg.eta_inv_nom
    ac = pvlib.inverter.pvwatts(dc, inverter_pdc0, eta_inv_nom=cfg.eta_inv_nom)
    return np.maximum(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0)


class ShadeModel(Protocol):
    """What the yield stage needs from shading, for a chunk of roofs (positions into the roofs table)."""

    def sun_visible(self, roofs: np.ndarray, sun_azimuth: np.ndarray, sun_elevation: np.ndarray) -> np.ndarray:
        """Share of each roof's sample points that see the sun, shape (len(roofs), hours) [-]."""

    def sky_view(self, roofs: np.ndarray) -> np.ndarray:
        """Sky-view factor of each roof [-]."""


def shading_loss_pct(annual_kwh, annual_kwh_unshaded):
    """Annual AC energy lost to neighbours' shade [%] (NaN where the unshaded yield is zero)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (1.0 - np.asarray(annual_kwh) / np.asarray(annual_kwh_unshaded))


def daylight_hours(weather: Weather, sun: Sun) -> np.ndarray:
    """Positions of the hours the yield is computed for: sun above the horizon and some irradiance."""
    return np.flatnonzero(sun.up & (weather.data["ghi"].to_numpy() > 0))


def orientation_groups(tilt: np.ndarray, azim: np.ndarray, active: np.ndarray):
    """Roofs sharing a module orientation (tilt and azimuth to 0.1°): ``((tilt, azimuth), positions)`` pairs."""
    keys = np.round(np.column_stack([tilt, azim]), 1)
    groups = pd.DataFrame({"t": keys[:, 0], "a": keys[:, 1], "i": np.arange(len(tilt))})[active].groupby(["t", "a"])["i"]
    return [((float(t), float(a)), members.to_numpy()) for (t, a), members in groups]


def shaded_ac_per_kwp(plane: PlaneIrradiance, visible: np.ndarray, svf: np.ndarray, temp_air, wind_speed,
                      cfg: PVConfig, month: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AC power per kWp [W kWp⁻¹] of roofs under shade, (roofs, hours); each roof's plane-of-array irradiation
    summed over the hours [W h m⁻²], (roofs,); and its AC energy per kWp by month [W h kWp⁻¹], (roofs, 12), with
    ``month`` the month of each hour (0–11), or over all the hours, (roofs, 1), without it.

    ``visible`` is the share of each roof's sample points that see the sun, (roofs, hours) [-]; ``svf`` the
    sky-view factor, (roofs, 1) or (roofs,) [-]. The beam and the circumsolar diffuse are scaled by the visible
    share, the isotropic and horizon-band diffuse by the sky-view factor; the ground-reflected part is left as it
    is. The one place the shaded PV chain is written: the yield stage, the hourly profiles and the forecast call
    it. It is :func:`ac_per_kwp` (pvlib's ``sapm_cell``, ``pvwatts_dc``, ``pvwatts_losses`` and
    ``inverter.pvwatts``) fused into one compiled pass over (roofs × hours), with no (roofs × hours) temporaries
    but the result; ``tests/test_solar.py`` holds it to the pvlib functions (1e-12 relative).
    """
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][cfg.temperature_model]
    visible = np.ascontiguousarray(visible, dtype=float)
    svf = np.ascontiguousarray(np.asarray(svf, dtype=float).reshape(-1))
    wind_factor = np.exp(params["a"] + params["b"] * np.asarray(wind_speed, dtype=float))  # sapm_module's exp()
    pdc0 = 1000.0  # W per kWp
    inverter_pdc0 = pdc0 / cfg.dc_ac_ratio / cfg.eta_inv_nom
    arrays = [np.ascontiguousarray(a, dtype=float) for a in (
        plane.poa_direct, plane.sky_circumsolar, plane.sky_isotropic + plane.sky_horizon, plane.ground, plane.iam,
        np.asarray(temp_air, dtype=float) * np.ones(len(plane.poa_direct)), wind_factor * np.ones(len(plane.poa_direct)))]
    h = len(plane.poa_direct)
    n_month = 1 if month is None else 12
    month = np.zeros(h, dtype=np.int64) if month is None else np.ascontiguousarray(month, dtype=np.int64)
    if month.shape != (h,) or (h and (month.min() < 0 or month.max() >= n_month)):
        raise ValueError("month: one number 0-11 per hour")
    return _shaded_chain(visible, svf, *arrays, month, n_month,
                         float(params["deltaT"]), pdc0, float(cfg.gamma_pdc), 1.0 - losses_fraction(cfg),
                         inverter_pdc0, float(cfg.eta_inv_nom))


#: pvlib.inverter.pvwatts' reference efficiency (its default, which the chain keeps) [-]
ETA_INV_REF = 0.9637


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _shaded_chain(visible, svf, direct0, circ0, iso_hor0, ground0, iam, temp_air, wind_factor, month, n_month,
                  delta_t, pdc0, gamma, keep, inv_pdc0, eta_nom):  # pragma: no cover - compiled
    """:func:`ac_per_kwp` after the shade factors, element by element, in pvlib's order of operations.

    The hours' loop carries no sum and raises nothing (numpy's error model: IEEE division, the same values), so
    the compiler runs it on SIMD lanes, the same operations on several hours at once. The sums are a second loop
    over the row, in the hours' order: the plane-of-array irradiation, and the AC energy of each run of hours of
    one month (added to that month's total; a year's hours are one run per month). Two independent chains of
    additions in one loop take the time of one, so the monthly sums cost next to nothing here, against a
    (roofs × hours) @ (hours × 12) product and a row sum over the returned array."""
    n, h = visible.shape
    ac = np.empty((n, h))
    poa_sum = np.zeros(n)
    ac_month = np.zeros((n, n_month))
    pac0 = eta_nom * inv_pdc0
    scale = eta_nom / ETA_INV_REF
    for i in numba.prange(n):
        s = svf[i]
        row = ac[i]
        vis = visible[i]
        for t in range(h):
            v = vis[t]
            direct = direct0[t] * v
            diff = circ0[t] * v + iso_hor0[t] * s + ground0[t]
            poa = direct + diff
            effective = direct * iam[t] + diff
            temp_cell = (poa * wind_factor[t] + temp_air[t]) + (poa / 1000.0) * delta_t  # sapm_cell
            dc = (effective * 0.001 * pdc0 * (1 + gamma * (temp_cell - 25.0))) * keep  # pvwatts_dc, losses
            zeta = dc / inv_pdc0
            inv = 0.0059 / zeta if dc != 0.0 else 0.0
            p = scale * (-0.0162 * zeta - inv + 0.9858) * dc  # inverter.pvwatts
            p = min(pac0, p)
            p = max(0.0, p)
            row[t] = p if p == p else 0.0
        total = 0.0
        run = 0.0
        m = month[0] if h else 0
        for t in range(h):
            v = vis[t]
            total += direct0[t] * v + (circ0[t] * v + iso_hor0[t] * s + ground0[t])
            if month[t] != m:
                ac_month[i, m] += run
                m = month[t]
                run = 0.0
            run += row[t]
        if h:
            ac_month[i, m] += run
        poa_sum[i] = total
    return ac, poa_sum, ac_month


def roof_yields(roofs: pd.DataFrame, weather: Weather, sun: Sun, cfg: PVConfig, shade: ShadeModel | None = None,
                on_chunk=None) -> pd.DataFrame:
    """Annual and monthly AC energy of every roof with capacity, shaded and unshaded.

    ``roofs`` needs ``capacity_kwp``, ``surface_tilt_deg``, ``surface_azimuth_deg`` (rows with NaN or zero
    capacity get NaN). Returns, index aligned: ``annual_kwh`` and ``annual_kwh_unshaded`` [kWh yr⁻¹],
    ``specific_yield_kwh_per_kwp``, ``annual_poa_kwh_m2`` (shaded) and ``kwh_m01`` … ``kwh_m12`` (shaded) [kWh].
    Roofs sharing an orientation share one transposition; the per-roof work is numpy over chunks of
    ``cfg.chunk_roofs`` roofs × daylight hours.

    ``on_chunk(positions, ac, annual_kwh, annual_kwh_unshaded)``, when given, is called for every chunk with the
    roofs' positions, their hourly AC power per kWp over :func:`daylight_hours` [W kWp⁻¹] (an array
    broadcastable to (roofs, hours)) and their annual energies [kWh], before the chunk is dropped: the hourly
    profiles are summed there, so no (roofs × hours) array outlives its chunk.
    """
    n = len(roofs)
    cap = roofs["capacity_kwp"].to_numpy(dtype=float)
    tilt = roofs["surface_tilt_deg"].to_numpy(dtype=float)
    azim = roofs["surface_azimuth_deg"].to_numpy(dtype=float)
    active = np.isfinite(cap) & (cap > 0) & np.isfinite(tilt) & np.isfinite(azim)
    hours = daylight_hours(weather, sun)
    month = weather.data.index.month.to_numpy()[hours] - 1
    temp_air = weather.data["temp_air"].to_numpy()[hours]
    wind = weather.data["wind_speed"].to_numpy()[hours]
    sun_az, sun_el = sun.azimuth[hours], sun.apparent_elevation[hours]

    annual = np.full(n, np.nan)
    annual_unshaded = np.full(n, np.nan)
    poa_annual = np.full(n, np.nan)
    monthly = np.full((n, 12), np.nan)
    for (t, a), idx in orientation_groups(tilt, azim, active):
        plane = plane_irradiance(weather, sun, hours, t, a, cfg)
        # the unshaded roof through the shaded chain (all of the sun seen, all of the sky): the arithmetic and the
        # sums of a shaded roof that sees everything, so that roof's two energies are equal to the last bit and its
        # shading loss is 0 (ac_per_kwp's numpy chain can differ in the last bit of an hour's power)
        ac0, _, ac0_month = shaded_ac_per_kwp(plane, np.ones((1, len(hours))), np.ones(1), temp_air, wind, cfg, month)
        ac0 = ac0[0]
        annual_unshaded[idx] = ac0_month.sum(axis=1)[0] / 1000.0 * cap[idx]
        if shade is None:
            annual[idx] = annual_unshaded[idx]
            poa_annual[idx] = plane.poa_global.sum() / 1000.0
            monthly[idx] = ac0_month / 1000.0 * cap[idx, None]
            if on_chunk is not None:
                on_chunk(idx, ac0[None, :], annual[idx], annual_unshaded[idx])
            continue
        for start in range(0, len(idx), cfg.chunk_roofs):
            chunk = idx[start : start + cfg.chunk_roofs]
            visible = shade.sun_visible(chunk, sun_az, sun_el)  # (c, h)
            svf = shade.sky_view(chunk)[:, None]
            ac, poa_wh, ac_month = shaded_ac_per_kwp(plane, visible, svf, temp_air, wind, cfg, month)  # W/kWp
            annual[chunk] = ac_month.sum(axis=1) / 1000.0 * cap[chunk]
            poa_annual[chunk] = poa_wh / 1000.0
            monthly[chunk] = ac_month / 1000.0 * cap[chunk, None]
            if on_chunk is not None:
                on_chunk(chunk, ac, annual[chunk], annual_unshaded[chunk])
    out = pd.DataFrame(
        {
            "annual_kwh": annual,
            "annual_kwh_unshaded": annual_unshaded,
            "specific_yield_kwh_per_kwp": annual / np.where(active, cap, np.nan),
            "annual_poa_kwh_m2": poa_annual,
        },
        index=roofs.index,
    )
    for m in range(12):
        out[f"kwh_m{m + 1:02d}"] = monthly[:, m]
    return out


def pv_model_description(cfg: PVConfig, weather: Weather) -> dict:
    """Every model choice and parameter by its pvlib name, enough to rebuild a roof's number with ModelChain."""
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][cfg.temperature_model]
    return {
        "pvlib_version": pvlib.__version__,
        "reference": "pvlib.modelchain.ModelChain(system, location, **modelchain) on the weather with its index "
        "moved to the interval midpoints; pdc0 = capacity_kwp * 1000 W; inverter pdc0 = pdc0 / dc_ac_ratio / eta_inv_nom",
        "location": {"latitude": weather.latitude, "longitude": weather.longitude, "altitude": weather.altitude,
                     "tz": str(weather.data.index.tz)},
        "weather_source": weather.source,
        "solar_position": {"method": "nrel_numpy", "times": "interval midpoint (index + 30 min)",
                           "temperature": "temp_air", "pressure": "from altitude"},
        "modelchain": {"transposition_model": cfg.transposition_model, "aoi_model": cfg.aoi_model,
                       "spectral_model": "no_loss", "temperature_model": "sapm", "dc_model": "pvwatts",
                       "ac_model": "pvwatts", "losses_model": "pvwatts", "airmass_model": "kastenyoung1989"},
        "array": {"albedo": cfg.albedo, "module_parameters": {"pdc0": "capacity_kwp * 1000", "gamma_pdc": cfg.gamma_pdc},
                  "temperature_model_parameters": {"set": f"sapm/{cfg.temperature_model}", **temp}},
        "inverter_parameters": {"pdc0": "pdc0 / dc_ac_ratio / eta_inv_nom", "eta_inv_nom": cfg.eta_inv_nom,
                                "eta_inv_ref": ETA_INV_REF, "dc_ac_ratio": cfg.dc_ac_ratio},
        "losses_parameters": vars(cfg.losses).copy(),
        "losses_total_pct": round(losses_fraction(cfg) * 100.0, 3),
        "shading": "beam and circumsolar diffuse × share of roof sample points that see the sun; isotropic and "
        "horizon-band diffuse × sky-view factor; ground-reflected unchanged",
    }
