"""Coordinate helpers: the metric CRS for a data set, and the GCJ-02 datum of Chinese web maps.

GCJ-02 ("Mars coordinates") is WGS84 with a deliberate, smooth, non-linear offset of roughly 300-600 m in
Shanghai (FACTS §2). The forward formula is public; the inverse has no closed form and is solved by fixed-point
iteration to well under a millimetre.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS

from solarmap.errors import Message

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula [m]
_EE = 0.00669342162296594323  # its first eccentricity squared


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone CRS containing (lon, lat) [°], e.g. EPSG:32651 for Shanghai."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 lon/lat [°] to GCJ-02 (AMap/Gaode, Tencent). Points outside China are returned unchanged."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, *, iterations: int = 8):
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (error < 1e-9° after a few steps)."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        clon, clat = wgs84_to_gcj02(wlon, wlat)
        wlon = wlon - (clon - glon)
        wlat = wlat - (clat - glat)
    return wlon, wlat


def gcj02_hint(centres_lon, centres_lat, boundary) -> Message:
    """A hint when footprints sit where GCJ-02 data would: many more centres fall inside the boundary once
    converted from GCJ-02 to WGS84 than as given; its Chinese text is ``.zh``."""
    ok = np.isfinite(centres_lon)
    if boundary is None or ok.sum() < 5:
        return Message("", "")
    raw = shapely.contains_xy(boundary, centres_lon[ok], centres_lat[ok]).mean()
    lon, lat = gcj02_to_wgs84(centres_lon[ok], centres_lat[ok])
    conv = shapely.contains_xy(boundary, lon, lat).mean()
    if conv > raw + 0.15 and conv > 0.5:
        return Message(f"the footprints look like GCJ-02 coordinates (AMap/Gaode, Tencent): {raw:.0%} of them lie inside "
                       f"the boundary as given but {conv:.0%} once converted to WGS84. Rerun with --input-datum gcj02",
                       f"建筑轮廓的坐标疑似 GCJ-02（高德、腾讯）：按原坐标有 {raw:.0%} 位于边界内，转换为 WGS84 后为 "
                       f"{conv:.0%}。请加 --input-datum gcj02 重新运行")
    return Message("", "")
