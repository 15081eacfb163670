"""``--weather pvgis``: PVGIS's typical meteorological year for the run's centre, fetched once and cached.

The TMY is requested through :func:`pvlib.iotools.get_pvgis_tmy` at the centre rounded to 0.01° (about 1 km;
ERA5's grid is 0.25°), and stored in PVGIS's own JSON layout under the cache folder::

    $SOLARMAP_CACHE_DIR/pvgis/tmy_<lat>_<lon>_<database>.json      (else $XDG_CACHE_HOME/solarmap, ~/.cache/solarmap)

Every run, the first one included, reads that file through :func:`solarmap.sources.weather.read_pvgis_tmy`, so a
cached year gives the same weather online and offline. PVGIS's TMY tool picks its radiation database by place
(pvlib 0.16 has no database argument for it): outside the SARAH satellite discs, which includes all of China, that
is ``PVGIS-ERA5`` (ERA5 reanalysis). ``--weather pvgis`` expects ERA5; ``--weather pvgis:PVGIS-SARAH3`` names
another. A response from another database than the one asked for is refused, so the cache key always says what the
file holds. The run's ``weather.source`` (in ``summary.json``) names the database, the site, the years and the
cached file with its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from solarmap.errors import WeatherError

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "PVGIS-ERA5"
PVGIS_URL = "https://re.jrc.ec.europa.eu/api/"


def cache_dir() -> Path:
    """solarmap's cache folder: ``$SOLARMAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/solarmap``, else ``~/.cache/solarmap``."""
    if os.environ.get("SOLARMAP_CACHE_DIR"):
        return Path(os.environ["SOLARMAP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "solarmap"


def site_key(latitude: float, longitude: float) -> tuple[float, float]:
    return round(float(latitude), 2), round(float(longitude), 2)


def cache_path(latitude: float, longitude: float, database: str = DEFAULT_DATABASE) -> Path:
    lat, lon = site_key(latitude, longitude)
    return cache_dir() / "pvgis" / f"tmy_{lat:.2f}_{lon:.2f}_{database}.json"


def parse_source(source: str) -> str:
    """The database named by a weather source: ``pvgis`` → PVGIS-ERA5, ``pvgis:PVGIS-SARAH3`` → PVGIS-SARAH3."""
    if source == "pvgis":
        return DEFAULT_DATABASE
    db = source.split(":", 1)[1].strip()
    if not db:
        msg = f"weather source {source!r}: name a PVGIS database after the colon (e.g. pvgis:{DEFAULT_DATABASE})"
        raise WeatherError(msg)
    return db if db.upper().startswith("PVGIS-") else f"PVGIS-{db.upper()}"


def download_url(latitude: float, longitude: float) -> str:
    lat, lon = site_key(latitude, longitude)
    return f"{PVGIS_URL}tmy?lat={lat:.2f}&lon={lon:.2f}&outputformat=json"


def _offline_message(latitude: float, longitude: float, database: str, why: str) -> str:
    lat, lon = site_key(latitude, longitude)
    path = cache_path(latitude, longitude, database)
    return (f"no cached PVGIS typical year for {lat:.2f} N, {lon:.2f} E ({database}) and PVGIS could not be reached "
            f"({why}). Where there is a network, download {download_url(latitude, longitude)} (or the PVGIS web "
            f"tool's TMY tab, JSON) and save it as {path}, which solarmap then reuses offline; or pass a weather file "
            "with --weather FILE (EPW, TMY3 CSV, PVGIS JSON), or use --weather embedded")


def _to_document(data, meta) -> dict:
    """pvlib's (data, meta) from ``get_pvgis_tmy(map_variables=False, coerce_year=None)`` back to PVGIS's JSON."""
    inputs = {k: v for k, v in meta["inputs"].items() if k != "descriptions"}
    rows = data.copy()
    rows.insert(0, "time(UTC)", data.index.tz_convert("UTC").strftime("%Y%m%d:%H%M"))
    rest = {k: v for k, v in meta.items() if k not in ("inputs", "months_selected")}
    rest["inputs"] = meta["inputs"].get("descriptions", {})
    return {"inputs": inputs, "outputs": {"months_selected": meta["months_selected"],
                                          "tmy_hourly": rows.to_dict(orient="records")}, "meta": rest}


def fetch_tmy(latitude: float, longitude: float, database: str = DEFAULT_DATABASE, *, timeout: int = 30) -> Path:
    """Download the TMY through pvlib and store it in the cache; returns the cached file. Raises WeatherError
    saying what to download, and where to put it, when PVGIS cannot be reached."""
    import pvlib
    import requests

    lat, lon = site_key(latitude, longitude)
    try:
        data, meta = pvlib.iotools.get_pvgis_tmy(lat, lon, outputformat="json", map_variables=False,
                                                 coerce_year=None, timeout=timeout)
    except requests.HTTPError as exc:
        msg = f"PVGIS refused the typical-year request for {lat:.2f} N, {lon:.2f} E: {exc}"
        raise WeatherError(msg) from None
    except (requests.RequestException, OSError) as exc:
        raise WeatherError(_offline_message(lat, lon, database, f"{exc.__class__.__name__}")) from None
    served = str(meta.get("inputs", {}).get("meteo_data", {}).get("radiation_db", ""))
    if served and served != database:
        msg = (f"PVGIS serves its typical year for {lat:.2f} N, {lon:.2f} E from {served}, not {database} (its TMY "
               f"tool picks the database by place); use --weather pvgis:{served}")
        raise WeatherError(msg)
    path = cache_path(lat, lon, database)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_to_document(data, meta)), encoding="utf-8")
    os.replace(tmp, path)
    log.info("PVGIS typical year (%s) for %.2f N, %.2f E cached in %s", served or database, lat, lon, path)
    return path


def cached_tmy(source: str, *, latitude: float, longitude: float) -> tuple[Path, str]:
    """The cached PVGIS TMY file for the site (fetched and cached when missing) and a label of its source:
    database, site, years, file and a short SHA-256. :func:`solarmap.sources.weather.load_weather` reads it."""
    database = parse_source(source)
    path = cache_path(latitude, longitude, database)
    if path.exists():
        log.info("PVGIS typical year from the cache: %s", path)
    else:
        path = fetch_tmy(latitude, longitude, database)
    doc = json.loads(path.read_text(encoding="utf-8"))
    meteo = doc.get("inputs", {}).get("meteo_data", {})
    years = f" {meteo['year_min']}-{meteo['year_max']}" if "year_min" in meteo and "year_max" in meteo else ""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    lat, lon = site_key(latitude, longitude)
    label = f"pvgis:{meteo.get('radiation_db', database)} tmy {lat:.2f},{lon:.2f}{years} ({path.name}, sha256 {digest})"
    return path, label
