"""Read building footprints from any common vector format into a validated GeoDataFrame in a metric CRS.

Formats: GeoJSON, GeoPackage, Shapefile (GBK-encoded attributes detected when there is no .cpg), GeoParquet,
FlatGeobuf, CSV with a WKT column or with lon/lat columns plus a footprint-area column, OpenStreetMap ``.osm`` /
``.osm.pbf`` extracts (:mod:`solarmap.sources.osm`), and tables in Overture's buildings schema or with OSM tags as
columns (recognised by their columns, whatever the format; :mod:`~solarmap.sources.overture`). The result keeps one
row per input feature, in input order, with the input's attributes carried through; rows that cannot be used are
kept with ``assessment = 'excluded'`` and a ``reason`` instead of being dropped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from solarmap.columns import FLAG_COLUMNS
from solarmap.errors import ConfigError, InputDataError, InputDataWarning, InputFileError, warn
from solarmap.sources.coords import gcj02_to_wgs84, utm_crs_for
from solarmap.sources.names import find_column

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet", ".fgb", ".csv", ".zip", ".osm", ".pbf"}
#: looked for in this order, any case (building_i: .dbf names are cut to 10 characters)
ID_CANDIDATES = ("building_id", "building_i", "id", "osm_id", "fid", "objectid", "编号", "建筑编号", "楼栋编号", "楼号",
                 "bldg_id")
NAME_CANDIDATES = ("name", "name:zh", "名称", "建筑名称", "楼名", "address", "addr")


def _detect_dbf_encoding(path: Path) -> str | None:
    """For a shapefile without .cpg: 'UTF-8' or 'GBK' from the attribute bytes, None when all ASCII."""
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = path.with_suffix(".DBF")
    if not dbf.exists():
        return None
    return guess_encoding(dbf.read_bytes()[32:])


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def guess_encoding(body: bytes) -> str | None:
    """'UTF-8' or 'GB18030' (a superset of GBK and GB2312) for text bytes, None when they are all ASCII or
    neither decodes. Short GBK text is often valid UTF-8 by accident (楼 in GBK, C2 A5, is UTF-8 for ¥), so
    UTF-8 wins only when it gives Chinese characters, or when GB18030 gives none."""
    if body.isascii():
        return None
    try:
        utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None and _CJK.search(utf8):
        return "UTF-8"
    try:
        if _CJK.search(body.decode("gb18030")):
            return "GB18030"
    except UnicodeDecodeError:
        pass
    return "UTF-8" if utf8 is not None else None


#: what a vector file is for -> the settings that name it, for messages
_WHAT = {"buildings": "buildings.path or --buildings", "boundary": "boundary or --boundary",
         "exclusion": "[[exclusions]] path or --exclude"}


def read_vector(path: str | Path, *, layer: str = "", encoding: str = "", wkt_column: str = "",
                lon_column: str = "", lat_column: str = "", what: str = "buildings") -> gpd.GeoDataFrame:
    """Read any supported vector file as it is (no reprojection), except that OSM data and Overture's schema are
    mapped to solarmap's columns (and OSM comes back in its UTM zone). Raises InputFileError naming the file and
    what it is for (``what``: buildings, boundary, exclusion)."""
    path = Path(path)
    if not path.exists():
        msg = f"{what} file {path} does not exist; check the path ({_WHAT.get(what, what)})"
        raise InputFileError(msg)
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        msg = (f"{what} file {path}: unknown format '{suffix}'. Use GeoJSON, GeoPackage, Shapefile, "
               "GeoParquet, FlatGeobuf, CSV with a WKT column, or an OpenStreetMap .osm / .osm.pbf extract")
        raise InputFileError(msg)
    from solarmap.sources import osm, overture

    if osm.is_osm_path(path):
        return osm.read_osm(path)
    raw = _read_any(path, suffix, layer=layer, encoding=encoding, wkt_column=wkt_column, lon_column=lon_column,
                    lat_column=lat_column, what=what)
    if what != "buildings":
        return raw
    if overture.is_overture_frame(raw):
        log.info("%s is in Overture's buildings schema; mapping its columns", path.name)
        return overture.buildings_from_overture(raw, source=str(path))
    if osm.is_osm_frame(raw):
        log.info("%s holds OSM features with their tags as columns; mapping the tags", path.name)
        return osm.buildings_from_features(osm.features_from_frame(raw), source=str(path))
    return raw


def _read_any(path: Path, suffix: str, *, layer: str, encoding: str, wkt_column: str, lon_column: str,
              lat_column: str, what: str = "buildings") -> gpd.GeoDataFrame:
    try:
        if suffix in (".parquet", ".geoparquet"):
            return _read_parquet(path)
        if suffix == ".csv":
            return _read_csv(path, wkt_column=wkt_column, lon_column=lon_column, lat_column=lat_column,
                             encoding=encoding)
        kwargs = {}
        layer = layer or _only_layer(path, what)
        if layer:
            kwargs["layer"] = layer
        if suffix == ".shp":
            enc = encoding or (None if path.with_suffix(".cpg").exists() else _detect_dbf_encoding(path))
            if enc:
                kwargs["encoding"] = enc
                if not encoding:
                    warn(f"{path.name} has no .cpg; its attributes decode as {enc}, read them so", InputDataWarning,
                         zh=f"{path.name} 缺少 .cpg 文件；其属性可按 {enc} 编码解读，已按 {enc} 读取")
        elif encoding:
            kwargs["encoding"] = encoding
        return gpd.read_file(path, engine="pyogrio", **kwargs)
    except (InputFileError, InputDataError):
        raise
    except Exception as exc:  # GDAL, arrow and pandas raise many kinds of error on broken files
        msg = f"{what} file {path} could not be read as {suffix[1:]}: {exc.__class__.__name__}: {exc}"
        if isinstance(exc, UnicodeError) or "codec can't decode" in str(exc):
            msg += (". Its text is in another encoding than the one read: give it with --encoding (buildings.encoding), "
                    "such as --encoding GBK or --encoding UTF-8 (a Shapefile's .cpg may name the wrong one)")
        raise InputFileError(msg) from None


def _only_layer(path: Path, what: str) -> str:
    """The layer to read from a file of several (a GeoPackage, a FileGDB) when none is named: the one layer with
    polygons, with a warning; an error listing the layers when there are more (GDAL would read the first)."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception:  # not a multi-layer format GDAL lists: read it as it is
        return ""
    if len(layers) <= 1:
        return ""
    polygons = [str(n) for n, g in layers if g is None or "polygon" in str(g).lower() or str(g) == "Unknown"]
    listed = []
    for n, g in layers:
        try:
            k = int(pyogrio.read_info(path, layer=str(n))["features"])
            count = f", {k:,} feature{'' if k == 1 else 's'}"
        except Exception:
            count = ""
        listed.append(f"{n} ({g or 'no geometry'}{count})")
    if len(polygons) == 1:
        warn(f"{path.name} has {len(layers)} layers; the {what} are read from '{polygons[0]}', its only layer of "
             f"polygons ({'; '.join(listed)}). Name another with --layer NAME", InputDataWarning,
             zh=f"{path.name} 含 {len(layers)} 个图层；已从其唯一的面图层 '{polygons[0]}' 读取（{'；'.join(listed)}）。"
                "如需其他图层，请用 --layer 指定")
        return polygons[0]
    msg = (f"{what} file {path} has {len(layers)} layers: {'; '.join(listed)}. Name the one to read with --layer "
           "NAME (buildings.layer in the pipeline file)")
    raise InputDataError(msg)


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    """GeoParquet; or plain Parquet with a WKB ``geometry`` column (DuckDB's COPY without the spatial extension),
    read with no CRS (so lon/lat coordinates are taken as WGS84, with a warning)."""
    try:
        return gpd.read_parquet(path)
    except ValueError as exc:
        if "geo" not in str(exc).lower():
            raise
        df = pd.read_parquet(path)
        if "geometry" not in df.columns or not df["geometry"].map(lambda v: isinstance(v, bytes | type(None))).all():
            raise
        warn(f"{path.name} is Parquet without GeoParquet metadata; its 'geometry' column is read as WKB", InputDataWarning,
             zh=f"{path.name} 是不含 GeoParquet 元数据的 Parquet 文件；其“geometry”字段按 WKB 读取")
        return gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=shapely.from_wkb(df["geometry"].to_numpy()), crs=None)


def _read_csv(path: Path, *, wkt_column: str, lon_column: str, lat_column: str, encoding: str = "") -> gpd.GeoDataFrame:
    """A CSV with a WKT column, or lon/lat points with a footprint area. UTF-8 (with or without a BOM, as Excel
    writes it) unless ``encoding`` names another; a file that is not UTF-8 is tried as GB18030 (which GBK and
    GB2312 are part of), with a warning."""
    if not encoding:
        with open(path, "rb") as f:
            sample = f.read(4 << 20)
        if len(sample) == 4 << 20:
            sample = sample[: sample.rfind(b"\n") + 1] or sample
        gbk = guess_encoding(sample.removeprefix(b"\xef\xbb\xbf")) == "GB18030"
    try:
        df = pd.read_csv(path, encoding=encoding or ("gb18030" if gbk else "utf-8-sig"))
    except UnicodeDecodeError as exc:
        msg = (f"{path} does not decode as {encoding or ('GB18030' if gbk else 'UTF-8')} ({exc.reason} at byte "
               f"{exc.start}): give its encoding with --encoding (buildings.encoding), such as --encoding GBK")
        raise InputFileError(msg) from None
    if not encoding and gbk:
        warn(f"{path.name} is not UTF-8; its text decodes as GB18030 (GBK) and was read so (--encoding to choose)",
             InputDataWarning, zh=f"{path.name} 不是 UTF-8 编码；其文字可按 GB18030（GBK）解读，已按此读取（可用 --encoding 指定）")
    cols = {c.lower(): c for c in df.columns}
    wkt = wkt_column or next((cols[c] for c in ("wkt", "geometry", "geom", "the_geom") if c in cols), "")
    if wkt:
        if wkt not in df.columns:
            msg = f"{path}: no column '{wkt}' for WKT geometry (columns: {', '.join(df.columns)})"
            raise InputDataError(msg)
        geoms = shapely.from_wkt(df[wkt].astype("string").fillna("").replace("", None).to_numpy(dtype=object), on_invalid="warn")
        return gpd.GeoDataFrame(df.drop(columns=[wkt]), geometry=geoms, crs=None)
    lon = lon_column or next((cols[c] for c in ("lon", "lng", "longitude", "x") if c in cols), "")
    lat = lat_column or next((cols[c] for c in ("lat", "latitude", "y") if c in cols), "")
    area = next((cols[c] for c in ("footprint_area_m2", "area_m2", "area") if c in cols), "")
    if lon and lat and area:
        # points with a footprint area: a square of that area centred on the point, flagged
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[lon], df[lat]), crs=None)
        gdf.attrs["square_area_column"] = area
        return gdf
    if lon and lat:
        msg = (f"{path}: has lon/lat columns ('{lon}', '{lat}') but no footprint: add a WKT column, or a "
               "'footprint_area_m2' column so each point becomes a square roof of that area")
        raise InputDataError(msg)
    msg = f"{path}: no geometry column; add a WKT column named 'wkt' (or set buildings.wkt_column)"
    raise InputDataError(msg)


def _pick(df: pd.DataFrame, configured: str, candidates: tuple[str, ...], what: str, path) -> str:
    if configured:
        if configured not in df.columns:
            msg = f"{path}: no column '{configured}' for the {what} (columns: {', '.join(map(str, df.columns))})"
            raise InputDataError(msg)
        return configured
    return find_column(df.columns, candidates)


def _assume_crs(gdf: gpd.GeoDataFrame, crs: str, path) -> gpd.GeoDataFrame:
    if crs:
        try:
            return gdf.set_crs(crs, allow_override=True)
        except Exception as exc:  # pyproj.CRSError and friends
            msg = (f"{path}: the CRS {crs!r} given for it (buildings.crs or --crs) is not one pyproj knows ({exc}); "
                   "give an EPSG code such as EPSG:4326, EPSG:32651 or EPSG:4547")
            raise ConfigError(msg) from None
    if gdf.crs is not None:
        return gdf
    minx, miny, maxx, maxy = gdf.total_bounds
    if np.isfinite([minx, miny, maxx, maxy]).all() and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        warn(f"{path} has no CRS; its coordinates fit longitude/latitude, read as EPSG:4326", InputDataWarning,
             zh=f"{path} 未定义坐标系；其坐标在经纬度范围内，按 EPSG:4326 读取")
        return gdf.set_crs("EPSG:4326")
    msg = (f"{path} has no CRS and its coordinates (x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}) are not "
           "longitude/latitude; say which CRS they are in with --crs (e.g. --crs EPSG:32651 or EPSG:4547)")
    raise InputDataError(msg)


def _check_swapped(gdf: gpd.GeoDataFrame, path) -> None:
    if gdf.crs is None or not gdf.crs.is_geographic or gdf.empty:
        return
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return
    if (abs(miny) > 90 or abs(maxy) > 90) and abs(minx) <= 90 and abs(maxx) <= 90:
        msg = (f"{path}: latitudes run {miny:.3f}..{maxy:.3f}, outside ±90°, while longitudes run "
               f"{minx:.3f}..{maxx:.3f}: latitude and longitude look swapped. Swap the x and y coordinates "
               "(in QGIS: Vector ▸ Geometry Tools ▸ Swap X and Y), or write the file with x = longitude")
        raise InputDataError(msg)
    if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
        msg = (f"{path}: its CRS is {gdf.crs.name} (degrees) but its coordinates run x {minx:,.1f}..{maxx:,.1f}, y "
               f"{miny:,.1f}..{maxy:,.1f}, beyond ±180° and ±90°: they are metres of a projected CRS labelled as "
               "degrees. Give the CRS they are in with --crs (buildings.crs), such as --crs EPSG:4549 (CGCS2000 / "
               "3-degree Gauss-Kruger CM 120E) or EPSG:32651 (UTM 51N)")
        raise InputDataError(msg)


def read_footprints(
    path: str | Path,
    *,
    layer: str = "",
    crs: str = "",
    encoding: str = "",
    input_datum: str = "wgs84",
    id_column: str = "",
    name_column: str = "",
    wkt_column: str = "",
    lon_column: str = "",
    lat_column: str = "",
    target_crs: CRS | None = None,
) -> gpd.GeoDataFrame:
    """Read footprints and return them in a metric CRS (the data's UTM zone unless ``target_crs`` is given).

    Returns one row per input feature (index 0..n-1 in input order) with ``building_id`` (str, unique),
    ``name`` (str), ``assessment``/``reason`` (excluded rows for null, empty, non-polygonal or unrepairable
    geometry), the flags ``geometry_repaired``, ``id_deduplicated`` and ``geometry_from_point``, and every input
    attribute (renamed ``input_<name>`` where it clashes with an output column).
    """
    raw = read_vector(path, layer=layer, encoding=encoding, wkt_column=wkt_column, lon_column=lon_column, lat_column=lat_column)
    return footprints_from_frame(raw, source=str(path), layer=layer, crs=crs, input_datum=input_datum,
                                 id_column=id_column, name_column=name_column, target_crs=target_crs)


def footprints_from_frame(
    raw: gpd.GeoDataFrame,
    *,
    source: str = "buildings",
    layer: str = "",
    crs: str = "",
    input_datum: str = "wgs84",
    id_column: str = "",
    name_column: str = "",
    target_crs: CRS | None = None,
) -> gpd.GeoDataFrame:
    """Validate a GeoDataFrame of footprints as :func:`read_footprints` does (``source`` names it in messages)."""
    path = source
    if len(raw) == 0:
        msg = f"buildings file {path} has no features (empty layer{f' {layer!r}' if layer else ''})"
        raise InputDataError(msg)
    # reasons a reader already knows (an OSM outline replaced by its parts): they win over the geometry checks
    preset = np.asarray(raw.attrs.get("preset_reasons", [""] * len(raw)), dtype=object)
    raw = raw.reset_index(drop=True)
    raw = _assume_crs(raw, crs, path)
    input_crs = raw.crs
    _check_swapped(raw, path)
    square_area = raw.attrs.get("square_area_column")
    if input_datum == "gcj02":
        raw = _from_gcj02(raw)
    geoms = raw.geometry.to_numpy()
    n = len(raw)
    reason = np.full(n, "", dtype=object)
    repaired = np.zeros(n, dtype=bool)
    from_point = np.zeros(n, dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reason[missing] = "invalid_geometry"

    # metric CRS from the data's centre
    wgs = raw.to_crs("EPSG:4326") if raw.crs.to_epsg() != 4326 else raw
    if target_crs is None:
        valid = wgs.geometry[~missing]
        if valid.empty:
            msg = f"buildings file {path}: none of its {n} features has a geometry"
            raise InputDataError(msg)
        minx, miny, maxx, maxy = shapely.total_bounds(valid.to_numpy())
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        target_crs = utm_crs_for(cx, cy)
    metric = raw.to_crs(target_crs)
    geoms = metric.geometry.to_numpy().copy()

    if square_area:
        pts = shapely.get_type_id(geoms) == 0
        side = np.sqrt(pd.to_numeric(raw[square_area], errors="coerce").to_numpy(dtype=float))
        ok = pts & np.isfinite(side) & (side > 0)
        x, y = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
        geoms[ok] = shapely.box(x - side[ok] / 2, y - side[ok] / 2, x + side[ok] / 2, y + side[ok] / 2)
        from_point[ok] = True
        if ok.any():
            warn(f"{path}: {int(ok.sum())} footprints are squares of the area in '{square_area}' around each point "
                 "(flag geometry_from_point): their outlines, orientation, the gaps between them and so their "
                 "shade are not the buildings' own; squares that overlap lose the overlap (roof_overlap)",
                 InputDataWarning,
                 zh=f"{path}：{int(ok.sum())} 个建筑轮廓是以各点为中心、面积取自 '{square_area}' 的正方形（标记为 "
                    "geometry_from_point）：其形状、朝向、间距及由此得出的遮挡均非建筑实际情况；相互重叠的正方形扣除重叠部分（roof_overlap）")

    collection = ~missing & (shapely.get_type_id(geoms) == 7)  # a GeometryCollection: its polygons are the building
    if collection.any():
        idx = np.flatnonzero(collection)
        parts = np.array([_polygonal_part(g) for g in geoms[idx]], dtype=object)
        ok = ~shapely.is_empty(parts) & (shapely.area(parts) > 0)
        geoms[idx[ok]] = parts[ok]
        repaired[idx[ok]] = True
        if ok.any():
            warn(f"{path}: {int(ok.sum())} geometry collections read as the polygons they hold (their points and "
                 "lines left out; flag geometry_repaired)", InputDataWarning,
                 zh=f"{path}：{int(ok.sum())} 个几何集合按其中的多边形读取（点和线已舍去；标记为 geometry_repaired）")
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    notpoly = ~missing & ~polygonal
    reason[notpoly] = "invalid_geometry"
    invalid = polygonal & ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        # keep only the polygonal part of what make_valid returns (it may add lines or points)
        fixed = np.array([_polygonal_part(g) for g in fixed], dtype=object)
        ok = ~shapely.is_empty(fixed) & (shapely.area(fixed) > 0)
        idx = np.flatnonzero(invalid)
        geoms[idx[ok]] = fixed[ok]
        repaired[idx[ok]] = True
        reason[idx[~ok]] = "invalid_geometry"
    zero_area = polygonal & ~missing & (reason == "") & ~(shapely.area(geoms) > 0)
    reason[zero_area] = "invalid_geometry"
    if len(preset) == n:
        reason = np.where(preset != "", preset, reason)
    if invalid.any() and repaired[invalid].any():
        k = int(repaired[invalid].sum())
        warn(f"{path}: repaired {k} invalid polygons (self-intersections)", InputDataWarning,
             zh=f"{path}：已修复 {k} 个无效多边形（自相交）")

    attrs = pd.DataFrame(raw.drop(columns=raw.geometry.name))
    id_col = _pick(attrs, id_column, ID_CANDIDATES, "building id", path)
    name_col = _pick(attrs, name_column, NAME_CANDIDATES, "building name", path)
    ids = attrs[id_col].astype("string").fillna("") if id_col else pd.Series(np.arange(1, n + 1).astype(str), dtype="string")
    ids = ids.str.strip()
    blank = ids == ""
    ids[blank] = [f"row{i + 1}" for i in np.flatnonzero(blank.to_numpy())]
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        counts = ids.groupby(ids).cumcount().to_numpy()
        ids = pd.Series(np.where(dup, ids.to_numpy(dtype=object) + "#" + (counts + 1).astype(str), ids.to_numpy(dtype=object)), dtype="string")
        warn(f"{path}: {int(dup.sum())} duplicate building ids made unique with a #n suffix", InputDataWarning,
             zh=f"{path}：{int(dup.sum())} 个重复的建筑编号已加 #n 后缀以示区分")
    names = attrs[name_col].astype("string").fillna("") if name_col else pd.Series([""] * n, dtype="string")

    # the id and name columns are consumed; other clashes with this stage's columns are kept as input_<name>
    consumed = {c for c in (id_col, name_col) if c in ("building_id", "name")}
    own = {"building_id", "name", "assessment", "reason", *FLAG_COLUMNS}
    rename = {c: f"input_{c}" for c in attrs.columns if c in own and c not in consumed}
    carried = attrs.drop(columns=list(consumed)).rename(columns=rename)
    out = gpd.GeoDataFrame(
        {
            "building_id": ids.to_numpy(dtype=object),
            "name": names.to_numpy(dtype=object),
            "assessment": np.where(reason == "", "assessed", "excluded"),
            "reason": reason,
            "geometry_repaired": repaired,
            "id_deduplicated": dup,
            "geometry_from_point": from_point,
        },
        geometry=gpd.GeoSeries(geoms, crs=target_crs).values,
        crs=target_crs,
    )
    for c in carried.columns:
        out[c] = carried[c].to_numpy()
    out.attrs["source_columns"] = {"id": id_col, "name": name_col, "renamed": rename}
    out.attrs["input_crs"] = input_crs.to_wkt() if input_crs is not None else None
    return out


def _polygonal_part(g):
    if g is None:
        return shapely.Polygon()
    t = shapely.get_type_id(g)
    if t in (3, 6):
        return g
    if t == 7:  # GeometryCollection
        parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
        return shapely.union_all(parts) if parts else shapely.Polygon()
    return shapely.Polygon()


def _from_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert GCJ-02 coordinates (Chinese web maps) to WGS84."""
    wgs = gdf.to_crs("EPSG:4326")

    def conv(xy):
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    wgs = wgs.set_geometry(shapely.transform(wgs.geometry.to_numpy(), conv))
    return wgs


def list_layers(path: str | Path) -> list[str]:
    """Layer names of a multi-layer file (GeoPackage)."""
    return [name for name, _ in pyogrio.list_layers(path)]
