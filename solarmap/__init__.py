"""solarmap: rooftop PV potential, neighbour shading and installation-rule compliance, roof by roof.

From Python, the way pvlib's ModelChain or momepy's functions are used (a GeoDataFrame in, one out)::

    import geopandas as gpd
    import solarmap

    buildings = gpd.read_file(solarmap.resources.sample_buildings("dapuqiao"))
    roofs = solarmap.assess(buildings)              # same index and CRS, every roofs.csv column; writes nothing
    roofs[["building_id", "capacity_kwp", "annual_kwh", "shading_loss_pct"]]

    result = solarmap.run(solarmap.load_pipeline("dapuqiao"))   # the whole pipeline: files, map, DuckDB
"""

import logging

from solarmap import resources
from solarmap.assessment import assess, run_assessment
from solarmap.config import Config, load_config, resolve_pipeline
from solarmap.errors import ConfigError, SolarmapError, SolarmapWarning
from solarmap.version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())


def load_pipeline(name_or_path: str) -> Config:
    """A shipped pipeline by subdistrict name (``dapuqiao``, ``打浦桥``) or a pipeline TOML path, as a :class:`Config`."""
    return load_config(resolve_pipeline(name_or_path))


def run(config: Config):
    """Run the pipeline for a :class:`Config` and write its outputs; returns a :class:`solarmap.pipeline.RunResult`."""
    from solarmap.pipeline import run as _run

    return _run(config)


def read_footprints(path, **kwargs):
    """Read building footprints (see :func:`solarmap.sources.footprints.read_footprints`)."""
    from solarmap.sources.footprints import read_footprints as _read

    return _read(path, **kwargs)


__all__ = ["Config", "ConfigError", "SolarmapError", "SolarmapWarning", "__version__", "assess", "load_config",
           "load_pipeline", "read_footprints", "resources", "run", "run_assessment"]
