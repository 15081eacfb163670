"""Errors solarmap raises on purpose.

Every error is a :class:`SolarmapError`, and each subclass also inherits the matching built-in, so callers can
catch either ``SolarmapError`` or ``ValueError``/``OSError``. Messages say what is wrong, where (file, column,
rows) and how to fix it.
"""


class SolarmapError(Exception):
    """Root of every error solarmap raises deliberately."""


class ConfigError(SolarmapError, ValueError):
    """A pipeline or rule file, or a command-line option, is invalid."""


class InputDataError(SolarmapError, ValueError):
    """An input data set (footprints, heights, categories, boundary) cannot be used as it is."""


class WeatherError(SolarmapError, ValueError):
    """A weather file or weather source cannot be used."""


class InputFileError(SolarmapError, OSError):
    """An input file is missing, unreadable or in an unknown format."""


class OutputError(SolarmapError, OSError):
    """An output cannot be written (folder not writable, database locked by another run)."""


class FetchError(SolarmapError, OSError):
    """Open data cannot be downloaded (no network, or the optional client is missing); says what to get by hand."""
