"""Small hand-written OpenStreetMap, Overture and PVGIS inputs near the centre of Dapuqiao, made in the tests."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from pyproj import Transformer

CENTRE = (121.4700, 31.2095)  # inside the embedded Dapuqiao outline
_TO_WGS = Transformer.from_crs(32651, 4326, always_xy=True)
_TO_UTM = Transformer.from_crs(4326, 32651, always_xy=True)
_CX, _CY = _TO_UTM.transform(*CENTRE)


def lonlat(dx: float, dy: float) -> tuple[float, float]:
    """The point dx m east and dy m north of CENTRE."""
    return _TO_WGS.transform(_CX + dx, _CY + dy)


class OsmWriter:
    """Writes OSM XML: rectangles (in metres from CENTRE) as closed ways, relations, tagged nodes."""

    def __init__(self):
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []
        self._next = 1

    def _node(self, dx, dy, tags=None) -> int:
        i = self._next
        self._next += 1
        lon, lat = lonlat(dx, dy)
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in (tags or {}).items())
        self.nodes.append(f'<node id="{i}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">{body}</node>')
        return i

    def node(self, dx, dy, **tags) -> int:
        return self._node(dx, dy, _keys(tags))

    def box(self, way_id: int, x0, y0, w, h, tags: dict | None = None) -> int:
        """A closed way around the rectangle [x0, x0+w] × [y0, y0+h] (anticlockwise)."""
        corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        refs = [self._node(x, y) for x, y in corners]
        refs.append(refs[0])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in (tags or {}).items())
        self.ways.append(f'<way id="{way_id}" version="1">{nds}{body}</way>')
        return way_id

    def relation(self, rel_id: int, members: list[tuple[int, str]], tags: dict) -> int:
        mem = "".join(f'<member type="way" ref="{w}" role="{role}"/>' for w, role in members)
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        self.relations.append(f'<relation id="{rel_id}" version="1">{mem}{body}</relation>')
        return rel_id

    def write(self, path: Path) -> Path:
        text = ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="solarmap tests">\n'
                + "\n".join(self.nodes + self.ways + self.relations) + "\n</osm>\n")
        Path(path).write_text(text, encoding="utf-8")
        return Path(path)


def _keys(tags: dict) -> dict:
    """Python keywords → OSM keys: building__levels → building:levels."""
    return {k.replace("__", ":"): v for k, v in tags.items()}


def dapuqiao_osm(path: Path) -> Path:
    """Eight buildings and parts around CENTRE covering the tag rules (expected values in the tests)."""
    w = OsmWriter()
    w.box(101, -60, -40, 30, 20, {"building": "school", "name": "打浦桥第一小学", "height": "25 m", "roof:shape": "flat"})
    w.box(102, -20, -40, 30, 20, {"building": "residential", "building:levels": "6", "roof:shape": "gabled"})
    w.node(-5, -30, power="generator", generator__source="solar", generator__method="photovoltaic")  # on 102, no size
    w.box(103, 20, -40, 30, 20, {"building": "office", "building:levels": "10", "roof:height": "4"})
    # a hospital as a multipolygon relation with a courtyard
    w.box(201, -60, 10, 40, 40)
    w.box(202, -50, 20, 20, 20)
    w.relation(301, [(201, "outer"), (202, "inner")], {"type": "multipolygon", "building": "hospital", "height": "82 ft"})
    # a mall outline replaced by two parts: a 4-level podium and a 60 m tower standing on it
    w.box(104, 0, 10, 40, 30, {"building": "commercial", "name": "打浦桥商场", "start_date": "2022"})
    w.box(105, 0, 10, 40, 30, {"building:part": "yes", "building:levels": "4"})
    w.box(106, 25, 25, 15, 15, {"building:part": "yes", "height": "60", "min_height": "12", "roof:shape": "flat"})
    w.node(10, 20, power="generator", generator__source="solar", generator__output__electricity="30 kW")
    # a subdistrict office with a mapped panel area (10 m × 5 m) on its roof
    w.box(107, 60, -40, 30, 20, {"building": "yes", "amenity": "townhall", "name": "打浦桥街道办事处", "building:levels": "3"})
    w.box(108, 65, -35, 10, 5, {"power": "generator", "generator:source": "solar", "generator:method": "photovoltaic"})
    return w.write(path)


def overture_buildings(path: Path, *, geoparquet: bool = True) -> Path:
    """Five buildings in Overture's buildings schema (as `overturemaps download --type=building` writes it)."""
    import geopandas as gpd
    import shapely

    def box(x0, y0, w, h):
        return shapely.Polygon([lonlat(x0, y0), lonlat(x0 + w, y0), lonlat(x0 + w, y0 + h), lonlat(x0, y0 + h)])

    geoms = [box(-60, -40, 30, 20), box(-20, -40, 30, 20), box(20, -40, 30, 20), box(-60, 10, 30, 20), box(60, -40, 30, 20)]

    def src(dataset, record, prop=""):
        return [{"property": prop, "dataset": dataset, "record_id": record, "update_time": "2024-05-01T00:00:00.000Z",
                 "confidence": None, "between": None}]

    rows = {
        "id": ["08b31190a4d1bfff0200b2f2d6d2a3f1", "08b31190a4d1bfff0200c1a4bd8e31a2", "08b31190a4d1bfff0200a7e6f1c35c13",
               "08b31190a4d1bfff0200f0e1c2b4d5e4", "08b31190a4d1bfff0200d4c3b2a1f0e5"],
        "version": [1, 0, 2, 0, 0],
        "sources": [src("OpenStreetMap", "w101@3"), src("Microsoft ML Buildings", "m-2207"),
                    src("OpenStreetMap", "w103@1") + src("Esri Community Maps", "e-55", "/properties/height"),
                    src("Google Open Buildings", "g-9"), src("OpenStreetMap", "w105@2")],
        "level": [None, None, None, None, -1],
        "subtype": ["education", "residential", "civic", None, "commercial"],
        "class": ["school", None, None, None, "parking"],
        "names": [{"primary": "打浦桥中学", "common": {"en": "Dapuqiao Middle School"}, "rules": None}, None,
                  {"primary": "打浦桥街道办事处", "common": None, "rules": None}, None, None],
        "has_parts": [False, False, False, False, False],
        "is_underground": [False, False, False, False, True],
        "height": [22.5, None, None, 0.0, None],
        "num_floors": [6, 8, 4, None, 2],
        "min_height": [None, None, None, None, None],
        "min_floor": [None, None, None, None, None],
        "roof_shape": ["flat", "gabled", None, None, None],
        "roof_height": [None, None, 2.0, None, None],
    }
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    b = gdf.bounds
    gdf.insert(1, "bbox", [{"xmin": r.minx, "xmax": r.maxx, "ymin": r.miny, "ymax": r.maxy} for r in b.itertuples()])
    if geoparquet:
        gdf.to_parquet(path)
    else:  # DuckDB's COPY ... TO 'x.parquet' without the spatial extension: WKB, no geo metadata
        import pandas as pd

        pd.DataFrame(gdf.drop(columns="geometry")).assign(geometry=shapely.to_wkb(gdf.geometry.to_numpy())).to_parquet(path)
    return Path(path)


# --------------------------------------------------------------------------------------- a recorded PVGIS TMY

#: the years PVGIS picked per month (ERA5, 2005-2023), as a real response lists them
MONTH_YEARS = [2012, 2015, 2019, 2008, 2021, 2014, 2017, 2010, 2013, 2020, 2006, 2016]


def pvgis_tmy_response(latitude: float, longitude: float, *, database: str = "PVGIS-ERA5") -> bytes:
    """A PVGIS 5.3 ``tmy?outputformat=json`` response body for the site: the layout, field names and metadata of
    the real service, with the hourly values of the embedded Shanghai year in UTC, each month from its TMY year."""
    import json

    import numpy as np
    import pandas as pd

    from solarmap.sources.weather import read_embedded

    emb = read_embedded().data  # local time (UTC+8), labelled by interval start
    values = np.roll(emb[["temp_air", "ghi", "dni", "dhi", "wind_speed"]].to_numpy(), -8, axis=0)  # → UTC hours
    utc = pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC")
    rows = []
    for t, (temp, ghi, dni, dhi, ws) in zip(utc, values, strict=True):
        stamp = f"{MONTH_YEARS[t.month - 1]}{t:%m%d:%H%M}"
        rows.append({"time(UTC)": stamp, "T2m": round(float(temp), 2), "RH": 72.4, "G(h)": round(float(ghi), 2),
                     "Gb(n)": round(float(dni), 2), "Gd(h)": round(float(dhi), 2), "IR(h)": 331.5,
                     "WS10m": round(float(ws), 2), "WD10m": 118.0, "SP": 101215.0})
    doc = {
        "inputs": {
            "location": {"latitude": latitude, "longitude": longitude, "elevation": 4.0},
            "meteo_data": {"radiation_db": database, "meteo_db": "ERA5", "year_min": 2005, "year_max": 2023,
                           "use_horizon": True, "horizon_db": "DEM-calculated"},
        },
        "outputs": {"months_selected": [{"month": m, "year": y} for m, y in enumerate(MONTH_YEARS, start=1)],
                    "tmy_hourly": rows},
        "meta": {
            "inputs": {
                "location": {"description": "Selected location", "variables": {
                    "latitude": {"description": "Latitude", "units": "decimal degree"},
                    "longitude": {"description": "Longitude", "units": "decimal degree"},
                    "elevation": {"description": "Elevation", "units": "m"}}},
                "meteo_data": {"description": "Sources of meteorological data", "variables": {
                    "radiation_db": {"description": "Solar radiation database"},
                    "meteo_db": {"description": "Database used for meteorological variables other than solar radiation"},
                    "year_min": {"description": "First year of the calculations"},
                    "year_max": {"description": "Last year of the calculations"}}},
            },
            "outputs": {
                "months_selected": {"type": "time series", "timestamp": "monthly", "description": "months selected for the TMY"},
                "tmy_hourly": {"type": "time series", "timestamp": "hourly", "variables": {
                    "T2m": {"description": "2-m air temperature", "units": "degree Celsius"},
                    "RH": {"description": "relative humidity", "units": "%"},
                    "G(h)": {"description": "Global irradiance on the horizontal plane", "units": "W/m2"},
                    "Gb(n)": {"description": "Beam/direct irradiance on a plane always normal to sun rays", "units": "W/m2"},
                    "Gd(h)": {"description": "Diffuse irradiance on the horizontal plane", "units": "W/m2"},
                    "IR(h)": {"description": "Surface infrared (thermal) irradiance on a horizontal plane", "units": "W/m2"},
                    "WS10m": {"description": "10-m total wind speed", "units": "m/s"},
                    "WD10m": {"description": "10-m wind direction (0 = N, 90 = E)", "units": "degree"},
                    "SP": {"description": "Surface (air) pressure", "units": "Pa"}}},
            },
        },
    }
    return json.dumps(doc).encode("utf-8")


class RecordedPVGIS:
    """Stands in for requests' HTTP adapter: answers PVGIS ``tmy`` requests with :func:`pvgis_tmy_response`
    (or refuses the connection when ``online`` is False), and records the URLs asked for."""

    def __init__(self, *, database: str = "PVGIS-ERA5"):
        self.urls: list[str] = []
        self.online = True
        self.database = database

    def send(self, adapter, request, **kwargs):
        from urllib.parse import parse_qs, urlparse

        import requests

        self.urls.append(request.url)
        if not self.online:
            raise requests.ConnectionError(f"network refused in the test: {request.url}")
        q = parse_qs(urlparse(request.url).query)
        resp = requests.Response()
        resp.status_code = 200
        resp._content = pvgis_tmy_response(float(q["lat"][0]), float(q["lon"][0]), database=self.database)
        resp.headers["Content-Type"] = "application/json"
        resp.url = request.url
        resp.request = request
        resp.encoding = "utf-8"
        return resp

    def install(self, monkeypatch) -> RecordedPVGIS:
        import requests

        recorder = self

        def send(adapter, request, **kwargs):
            return recorder.send(adapter, request, **kwargs)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
        return self


def refuse_network(monkeypatch) -> None:
    """Send every HTTP(S) request to a closed local port (no outside address is ever contacted)."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
