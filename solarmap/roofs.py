"""Roof geometry: gross and usable area, the module row layout, and the DC capacity that fits.

Flat roofs (the Huangpu norm) take south-facing rows at a fixed tilt, spaced so that rows do not shade each other
from 09:00 to 15:00 solar time on the winter solstice (GB 50797 practice, FACTS §5). The usable area is the roof
inset by the edge setback, less the share taken by stair and lift towers and HVAC.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from solarmap.config import RoofsConfig
from solarmap.overlaps import ROOF_GEOMETRY


def solstice_sun(latitude_deg: float, hour_angle_deg: float = -45.0) -> tuple[float, float]:
    """Sun elevation and azimuth from south [°] at the winter solstice and the given hour angle (−45° = 09:00)."""
    phi, delta, omega = np.radians([latitude_deg, -23.44, hour_angle_deg])
    sin_el = np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.cos(omega)
    el = np.arcsin(sin_el)
    cos_az = (sin_el * np.sin(phi) - np.sin(delta)) / (np.cos(el) * np.cos(phi))
    return float(np.degrees(el)), float(np.degrees(np.arccos(np.clip(cos_az, -1, 1))))


def ground_coverage_ratio(surface_tilt_deg, latitude_deg: float):
    """Module area ÷ roof area of south-facing rows with no row-to-row shade 09:00-15:00 solar time at the winter
    solstice [-]: 1 / (cos β + sin β · cos γ / tan α), α and γ the sun's elevation and azimuth from south at 09:00.
    At 31.2° N this gives 0.68 at 15° and 0.54 at 30° (FACTS §5).
    """
    el, az = solstice_sun(latitude_deg)
    beta = np.radians(np.asarray(surface_tilt_deg, dtype=float))
    gcr = 1.0 / (np.cos(beta) + np.sin(beta) * np.cos(np.radians(az)) / np.tan(np.radians(el)))
    return np.clip(gcr, 0.0, 1.0)


def layout_roofs(footprints: gpd.GeoDataFrame, cfg: RoofsConfig, *, latitude_deg: float) -> pd.DataFrame:
    """Roof areas, layout and capacity per building (index aligned; NaN for rows without a usable geometry).

    Returns ``roof_area_m2``, ``usable_area_m2``, ``module_area_m2``, ``ground_coverage_ratio``,
    ``surface_tilt_deg``, ``surface_azimuth_deg``, ``capacity_kwp`` and ``too_small`` (usable area below
    ``cfg.min_usable_area_m2``). The roof is the ``roof_geometry`` column when there is one (the footprint less
    the taller footprints standing on it, :mod:`solarmap.overlaps`), else the footprint.
    """
    footprint = footprints.geometry.to_numpy()
    has_geom = ~shapely.is_empty(footprint) & ~shapely.is_missing(footprint) & (footprints["reason"] != "invalid_geometry").to_numpy()
    geoms = footprints[ROOF_GEOMETRY].to_numpy() if ROOF_GEOMETRY in footprints.columns else footprint
    has_geom &= ~shapely.is_missing(geoms)
    ok = (footprints["assessment"] == "assessed").to_numpy() & has_geom
    n = len(footprints)
    roof = np.full(n, np.nan)
    usable = np.full(n, np.nan)
    # areas for every building with a footprint (rules count excluded buildings too); layout for assessed ones
    roof[has_geom] = shapely.area(geoms[has_geom])
    inset = shapely.buffer(geoms[has_geom], -cfg.edge_setback_m, join_style="mitre") if cfg.edge_setback_m > 0 else geoms[has_geom]
    usable[has_geom] = shapely.area(inset) * (1.0 - cfg.obstruction_share)
    gcr = cfg.ground_coverage_ratio or float(ground_coverage_ratio(cfg.surface_tilt_deg, latitude_deg))
    module = np.where(ok, usable * gcr, np.nan)
    capacity = module * cfg.module_power_w_per_m2 / 1000.0
    return pd.DataFrame(
        {
            "roof_area_m2": roof,
            "usable_area_m2": usable,
            "module_area_m2": module,
            "ground_coverage_ratio": np.where(ok, gcr, np.nan),
            "surface_tilt_deg": np.where(ok, cfg.surface_tilt_deg, np.nan),
            "surface_azimuth_deg": np.where(ok, cfg.surface_azimuth_deg, np.nan),
            "capacity_kwp": capacity,
            "too_small": ok & ~(usable >= cfg.min_usable_area_m2),
        },
        index=footprints.index,
    )
