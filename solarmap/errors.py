"""Errors solarmap raises on purpose.

Every error is a :class:`SolarmapError`, and each subclass also inherits the matching built-in, so callers can
catch either ``SolarmapError`` or ``ValueError``/``OSError``. Messages say what is wrong, where (file, column,
rows) and how to fix it.
"""

from __future__ import annotations


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


class SolarmapWarning(UserWarning):
    """Root of every warning solarmap gives: a result it computed but that the user should look at.

    Filter them like any Python warning, e.g. ``warnings.simplefilter("error", SolarmapWarning)`` to make them
    errors. Each is also logged on the ``solarmap`` logger, and a run records them in ``summary.json``.
    """


class InputDataWarning(SolarmapWarning):
    """The input was read, with a repair or an assumption (no CRS, an encoding guessed, ids made unique, …)."""


class GCJ02Warning(InputDataWarning):
    """The coordinates look like GCJ-02 (AMap, Tencent) rather than WGS84."""


class CategoryWarning(InputDataWarning):
    """Building categories were not found or not recognised, so rules may count fewer buildings than exist."""


class ConfigWarning(SolarmapWarning):
    """A setting was dropped or adjusted (for example a column mapping that does not apply to another file)."""


class OutputWarning(SolarmapWarning):
    """An output was written elsewhere than asked (the database was busy: the rows went to a side file)."""


class WeatherWarning(SolarmapWarning):
    """The weather was used although a plausibility check failed (``weather.anywhere``)."""


def warn(message: str, category: type[SolarmapWarning] = SolarmapWarning, *, zh: str | None = None,
         stacklevel: int = 2) -> None:
    """Give a warning both ways: through :func:`warnings.warn` (filterable) and on the ``solarmap`` logger (which
    a run collects into its summary, report and map).

    ``zh`` is the same warning in Chinese, built from the same values (numbers, file and column names unchanged):
    summary.json carries it as ``message_zh``, and the report and map show it where the run's language is Chinese.
    Every warning solarmap gives passes one (a test checks the call sites)."""
    import logging
    import warnings

    logging.getLogger("solarmap").warning(message, extra={"solarmap_kind": category.__name__, "solarmap_zh": zh})
    warnings.warn(message, category, stacklevel=stacklevel + 1)


class Message(str):
    """An English message that carries its Chinese text as ``.zh`` (for messages built in one place and warned or
    raised in another): it is the English string everywhere a string is expected."""

    zh: str

    def __new__(cls, en: str, zh: str) -> Message:
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj


def warning_detail(kind: str, message: str, zh: str | None = None, *, title_zh: str | None = None) -> dict:
    """One entry of summary.json's ``warning_details``: the kind (the SolarmapWarning class), the English message,
    its Chinese title and the Chinese message (None where a warning has none: pages then show the English one)."""
    title = title_zh or WARNING_TITLES_ZH.get(kind, WARNING_TITLES_ZH["SolarmapWarning"])
    return {"kind": kind, "message": message, "title_zh": title, "message_zh": zh or None}


#: a short Chinese title per warning kind, shown before the message where the run's language is Chinese
WARNING_TITLES_ZH = {
    "SolarmapWarning": "注意",
    "InputDataWarning": "输入数据已修复或按假设处理",
    "GCJ02Warning": "坐标疑似 GCJ-02（高德/腾讯）",
    "CategoryWarning": "建筑类别未识别，规则可能漏计",
    "ConfigWarning": "设置已调整",
    "WeatherWarning": "气象数据与建筑位置不符",
    "OutputWarning": "输出另存",
}
