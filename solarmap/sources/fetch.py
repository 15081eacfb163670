"""``solarmap fetch``: download open building data for an area, when there is a network.

- OSM: buildings, building parts and solar generators through osmnx's ``features`` module (its HTTP cache under
  solarmap's cache folder), written as a table of OSM features with their tags as columns (``osm_type``,
  ``osm_id``, one column per tag), which ``--buildings`` maps as it maps an ``.osm`` file.
- Overture: the ``building`` type of the latest (or a named) release through the official ``overturemaps``
  package, written as GeoParquet in Overture's schema.

Both clients are optional (``pip install 'solarmap[fetch]'``) and imported only here. Without the client, or
without a network, the error says what to download by hand and which file to pass to ``--buildings``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import shapely

from solarmap.errors import ConfigError, FetchError

log = logging.getLogger(__name__)

OUT_SUFFIXES = (".gpkg", ".parquet", ".geoparquet", ".geojson")
OSM_TAGS = {"building": True, "building:part": True, "generator:source": "solar", "plant:source": "solar"}
HALO_M = 200.0  # around a subdistrict's outline: the neighbours whose shade reaches its roofs
MAX_BBOX_DEG2 = 0.25  # about 50 km × 50 km at Shanghai's latitude: more is an extract's job, not Overpass's


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """"W,S,E,N" in degrees → (west, south, east, north), checked."""
    try:
        w, s, e, n = (float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        msg = f"--bbox {text!r}: give four numbers W,S,E,N in degrees (e.g. --bbox 121.455,31.200,121.482,31.216)"
        raise ConfigError(msg) from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        msg = (f"--bbox {text!r}: needs west < east within ±180 and south < north within ±90 "
               "(the order is W,S,E,N: longitude first)")
        raise ConfigError(msg)
    if (e - w) * (n - s) > MAX_BBOX_DEG2:
        msg = (f"--bbox {text!r} covers {(e - w) * (n - s):.2f} square degrees; fetch at most {MAX_BBOX_DEG2} "
               "(a district), or download an extract for a whole city")
        raise ConfigError(msg)
    return w, s, e, n


def area_of(*, subdistrict: str = "", bbox: str = "") -> tuple[shapely.Geometry, tuple[float, float, float, float], str]:
    """The area to fetch (WGS84 polygon), its bounds and a label, from a subdistrict (outline plus a 200 m halo of
    shading neighbours) or a bounding box."""
    if bool(subdistrict) == bool(bbox):
        msg = "say where to fetch: --subdistrict NAME or --bbox W,S,E,N (one of them)"
        raise ConfigError(msg)
    if bbox:
        b = parse_bbox(bbox)
        return shapely.box(*b), b, f"bbox {','.join(f'{v:.5f}' for v in b)}"
    from solarmap.sources.coords import utm_crs_for
    from solarmap.sources.subdistricts import find_subdistrict

    sub = find_subdistrict(subdistrict)
    if sub.outline is None:
        msg = f"subdistrict {sub.label} has no embedded outline; fetch with --bbox W,S,E,N instead"
        raise ConfigError(msg)
    c = sub.outline.centroid
    halo = gpd.GeoSeries([sub.outline], crs="EPSG:4326").to_crs(utm_crs_for(c.x, c.y)).buffer(HALO_M).to_crs("EPSG:4326")
    poly = halo.iloc[0]
    b = tuple(round(v, 5) for v in poly.bounds)
    return poly, b, f"{sub.label} (with a {HALO_M:.0f} m halo; bbox {','.join(f'{v:.5f}' for v in b)})"


def _check_out(out: str) -> Path:
    path = Path(out)
    if path.suffix.lower() not in OUT_SUFFIXES:
        msg = f"--out {out}: write a GeoPackage (.gpkg), GeoParquet (.parquet) or GeoJSON (.geojson) file"
        raise ConfigError(msg)
    return path


def _write(gdf: gpd.GeoDataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        gdf.to_parquet(tmp)
    else:
        gdf.to_file(tmp, engine="pyogrio")
    tmp.replace(path)


def osm_by_hand(bounds: tuple[float, float, float, float], out: str) -> str:
    """What to download without solarmap's client: an extract cut with osmium, or an Overpass query."""
    w, s, e, n = bounds
    q = (f'[out:xml][timeout:300];(nwr["building"]({s},{w},{n},{e});nwr["building:part"]({s},{w},{n},{e});'
         f'nwr["generator:source"="solar"]({s},{w},{n},{e}););(._;>;);out body;')
    name = Path(out).stem or "area"
    return (f"Where there is a network, get the area's OSM data either (1) as an extract: the China extract (or the "
            f"province's, where offered) from https://download.geofabrik.de/asia/china.html, cut to the area with "
            f"'osmium extract -b {w},{s},{e},{n} china-latest.osm.pbf -o {name}.osm.pbf', or (2) from Overpass: "
            f"curl -o {name}.osm https://overpass-api.de/api/interpreter --data-urlencode 'data={q}'; "
            f"then pass the file to solarmap run ... --buildings {name}.osm.pbf (or {name}.osm)")


def overture_by_hand(bounds: tuple[float, float, float, float], out: str) -> str:
    w, s, e, n = bounds
    name = Path(out).with_suffix(".parquet").name if out else "buildings.parquet"
    return (f"Where there is a network, download Overture's buildings either with the overturemaps client "
            f"(pip install overturemaps; overturemaps download --bbox={w},{s},{e},{n} -f geoparquet --type=building "
            f"-o {name}) or with DuckDB (INSTALL httpfs; LOAD httpfs; INSTALL spatial; LOAD spatial; SET s3_region="
            f"'us-west-2'; COPY (SELECT * FROM read_parquet('s3://overturemaps-us-west-2/release/RELEASE/theme=buildings/"
            f"type=building/*', hive_partitioning=1) WHERE bbox.xmin < {e} AND bbox.xmax > {w} AND bbox.ymin < {n} "
            f"AND bbox.ymax > {s}) TO '{name}' (FORMAT parquet), with RELEASE from https://docs.overturemaps.org); "
            f"then pass it to solarmap run ... --buildings {name}")


def fetch_osm(*, subdistrict: str = "", bbox: str = "", out: str) -> tuple[Path, int]:
    """Download OSM buildings, parts and solar generators for the area into ``out``; returns (path, features)."""
    path = _check_out(out)
    poly, bounds, label = area_of(subdistrict=subdistrict, bbox=bbox)
    try:
        import osmnx as ox
    except ImportError:
        msg = ("solarmap fetch osm needs osmnx, which is not installed (pip install 'solarmap[fetch]'). "
               + osm_by_hand(bounds, out))
        raise FetchError(msg) from None
    from solarmap.sources.pvgis import cache_dir

    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache_dir() / "osmnx")
    log.info("downloading OSM buildings for %s through osmnx (Overpass)", label)
    try:
        gdf = ox.features.features_from_polygon(poly, OSM_TAGS)
    except Exception as exc:  # noqa: BLE001 - osmnx raises requests' errors, its own, and ValueError on empty areas
        kind = exc.__class__.__name__
        if kind == "InsufficientResponseError":
            msg = f"OpenStreetMap has no building in {label} (Overpass answered with none)"
            raise FetchError(msg) from None
        msg = f"could not download OSM buildings for {label} (no network? {kind}: {str(exc)[:160]}). " + osm_by_hand(bounds, out)
        raise FetchError(msg) from None
    gdf = gdf.reset_index()
    gdf = gdf.rename(columns={"element": "osm_type", "id": "osm_id"})
    gdf = gdf.drop(columns=[c for c in ("nodes", "ways", "members") if c in gdf.columns])
    gdf["osm_id"] = gdf["osm_id"].astype(str)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=gdf.crs or "EPSG:4326")
    _write(gdf, path)
    return path, len(gdf)


def fetch_overture(*, subdistrict: str = "", bbox: str = "", out: str, release: str = "") -> tuple[Path, int]:
    """Download Overture's buildings for the area into ``out`` (GeoParquet); returns (path, buildings)."""
    path = _check_out(out)
    if path.suffix.lower() not in (".parquet", ".geoparquet"):
        msg = f"--out {out}: Overture's buildings keep nested columns; write GeoParquet (.parquet)"
        raise ConfigError(msg)
    _, bounds, label = area_of(subdistrict=subdistrict, bbox=bbox)
    try:
        from overturemaps import core
    except ImportError:
        msg = ("solarmap fetch overture needs the overturemaps package, which is not installed "
               "(pip install 'solarmap[fetch]'). " + overture_by_hand(bounds, out))
        raise FetchError(msg) from None
    log.info("downloading Overture buildings for %s", label)
    try:
        gdf = core.geodataframe("building", bbox=bounds, release=release or None)
    except Exception as exc:  # noqa: BLE001 - the client wraps network errors in bare Exceptions
        msg = (f"could not download Overture buildings for {label} (no network? {exc.__class__.__name__}: "
               f"{str(exc)[:160]}). " + overture_by_hand(bounds, out))
        raise FetchError(msg) from None
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    _write(gdf, path)
    return path, len(gdf)
