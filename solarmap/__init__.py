"""solarmap: rooftop PV potential, neighbour shading and installation-rule compliance, roof by roof.

Public API::

    from solarmap import load_config, run
    result = run(load_config("pipelines/dapuqiao.toml"))
    result.roofs        # GeoDataFrame, one row per input building
    result.summary      # what summary.json holds
"""

__version__ = "0.1.0"

from solarmap.config import Config, load_config  # noqa: E402
from solarmap.errors import SolarmapError  # noqa: E402


def run(config: Config):
    """Run the pipeline for a :class:`Config`; returns a :class:`solarmap.pipeline.RunResult`."""
    from solarmap.pipeline import run as _run

    return _run(config)


def read_footprints(path, **kwargs):
    """Read building footprints (see :func:`solarmap.sources.footprints.read_footprints`)."""
    from solarmap.sources.footprints import read_footprints as _read

    return _read(path, **kwargs)


__all__ = ["Config", "SolarmapError", "__version__", "load_config", "read_footprints", "run"]
