"""``solarmap init``: look at a planner's buildings file and write a pipeline TOML for it.

:func:`inspect_buildings` finds the id, name, height, floors, building-use and year-built columns (by name, then
by their values: ids unique, heights and floors numbers, years plausible); :func:`pipeline_text` writes every key
of the configuration with its default and meaning (the comments of :mod:`solarmap.config`), the detected
mappings set and the rest commented out, ready for ``solarmap run NAME.toml``. Pure apart from reading the file;
:func:`write_pipeline` writes it.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from solarmap import config as config_module
from solarmap.errors import ConfigError
from solarmap.sources import categories
from solarmap.sources.footprints import ID_CANDIDATES, NAME_CANDIDATES, read_vector
from solarmap.sources.heights import FLOORS_CANDIDATES, HEIGHT_CANDIDATES

#: names looked for, beyond the ones the readers know, in order of preference (any case)
ID_NAMES = (*ID_CANDIDATES, "uid", "code")
NAME_NAMES = NAME_CANDIDATES
HEIGHT_NAMES = HEIGHT_CANDIDATES
FLOORS_NAMES = FLOORS_CANDIDATES
YEAR_NAMES = ("year_built", "start_date", "建成年份", "建成年代", "建造年份", "竣工年份", "年份", "year", "built")


@dataclass
class Finding:
    """One detected mapping: the config key, the column (empty: none found) and what was seen."""

    key: str
    column: str
    note: str


@dataclass
class Inspection:
    rows: int
    crs: str
    columns: list[str]
    findings: list[Finding] = field(default_factory=list)
    category_scheme: str = "auto"

    def column(self, key: str) -> str:
        return next((f.column for f in self.findings if f.key == key), "")


def _by_name(columns, names) -> list[str]:
    lower = {}
    for c in columns:
        lower.setdefault(str(c).lower(), str(c))
    return [lower[n.lower()] for n in dict.fromkeys(names) if n.lower() in lower]


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def inspect_buildings(path: str | Path, *, layer: str = "", encoding: str = "") -> Inspection:
    """Read a buildings file and find which of its columns mean what (see the module docstring)."""
    gdf = read_vector(path, layer=layer, encoding=encoding)
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    n = len(df)
    cols = [str(c) for c in df.columns]
    out = Inspection(rows=n, crs=str(gdf.crs.to_string()) if gdf.crs is not None else "", columns=cols)

    ident = ""
    for c in _by_name(cols, ID_NAMES):
        v = df[c].astype("string")
        if v.notna().all() and v.is_unique:
            ident = c
            out.findings.append(Finding("id_column", c, f"{n:,} unique values, e.g. {v.iloc[0]!s}"))
            break
    if not ident:
        out.findings.append(Finding("id_column", "", "none found with unique values: roofs are numbered by row"))
    name = next(iter(_by_name(cols, NAME_NAMES)), "")
    filled = int(df[name].astype("string").fillna("").str.strip().ne("").sum()) if name else 0
    out.findings.append(Finding("name_column", name, f"{filled:,} of {n:,} rows named" if name else "none found"))
    for key, names, lo, hi, unit in (("height_column", HEIGHT_NAMES, 1.0, 700.0, "m"),
                                     ("floors_column", FLOORS_NAMES, 1.0, 200.0, "floors")):
        found = ""
        for c in _by_name(cols, names):
            v = _numeric(df[c])
            ok = v.between(lo, hi)
            if n and ok.mean() >= 0.5:
                found = c
                out.findings.append(Finding(key, c, f"{int(ok.sum()):,} of {n:,} rows {lo:g}-{hi:g} {unit}, median "
                                                     f"{float(v[ok].median()):g}"))
                break
        if not found:
            out.findings.append(Finding(key, "", "none found"))
    try:
        det = categories.detect(df, scheme="auto")
    except Exception:  # noqa: BLE001 - an odd column must not stop init; the run reports it
        det = None
    if det is not None and det.column:
        share = f", {det.recognised / n:.0%} of the values recognised" if n else ""
        out.findings.append(Finding("category_column", det.column, f"building use in scheme '{det.scheme}'{share}"))
        out.category_scheme = det.scheme
    else:
        out.findings.append(Finding("category_column", "", "none found: every building counts as 'other' and no rule "
                                                           "applies until you name the land-use column"))
    year = ""
    for c in _by_name(cols, YEAR_NAMES):
        y = _numeric(df[c].astype("string").str[:4])
        ok = y.between(1800, 2100)
        if n and ok.mean() >= 0.5:
            year = c
            out.findings.append(Finding("year_built_column", c, f"{int(ok.sum()):,} of {n:,} rows, "
                                                                f"{int(y[ok].min())}-{int(y[ok].max())}"))
            break
    if not year:
        out.findings.append(Finding("year_built_column", "", "none found: every building counts as existing"))
    return out


def _field_comments(cls) -> dict[str, str]:
    """``name -> comment`` from the dataclass's source lines (``name: type = default  # comment``)."""
    out = {}
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return out
    for line in src.splitlines():
        m = re.match(r"\s+(\w+): [^=]+=.*?#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v), ensure_ascii=False)


_SKIP = {"source", "inherited_mappings"}


def pipeline_text(name: str, buildings: str, *, toml_dir: Path, boundary: str = "", subdistrict: str = "",
                  found: Inspection | None = None, layer: str = "") -> str:
    """The pipeline TOML: every key with its default and meaning; the keys set for this data uncommented."""
    def rel(p: str) -> str:
        if not p or p.lower() == "none":
            return p
        return Path(os.path.relpath(Path(p).resolve(), toml_dir.resolve())).as_posix()

    given: dict[str, object] = {"name": name, "buildings.path": rel(buildings)}
    if layer:
        given["buildings.layer"] = layer
    if subdistrict:
        given["subdistrict"] = subdistrict
    if boundary:
        given["boundary"] = rel(boundary)
    if found is not None:
        for f in found.findings:
            if f.column:
                given[f"buildings.{f.key}"] = f.column
        if found.column("category_column"):
            given["buildings.category_scheme"] = found.category_scheme
    lines = [f"# solarmap pipeline for {name}, written by 'solarmap init'. Run it with: solarmap run {name}.toml",
             "# Every key is listed with its default and meaning; a line starting with '# key =' keeps the default.",
             "# Paths are relative to this file."]
    if found is not None:
        lines += ["#", f"# What init found in {Path(buildings).name}: {found.rows:,} rows, CRS {found.crs or 'none'}",
                  f"# columns: {', '.join(found.columns)}"]
        for f in found.findings:
            lines.append(f"#   {f.key:18} {f.column or '-':14} {f.note}")
    lines.append("")

    def section(cls, prefix: str, header: str | None):
        comments = _field_comments(cls)
        doc = (inspect.getdoc(cls) or "").splitlines()[0] if inspect.getdoc(cls) else ""
        nested = []
        if header:
            lines.append(f"[{header}]" + (f"  # {doc}" if doc else ""))
        for f in dataclasses.fields(cls):
            if f.name in _SKIP:
                continue
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            if dataclasses.is_dataclass(default):
                nested.append((type(default), f"{prefix}{f.name}."))
                continue
            key = f"{prefix}{f.name}"
            meaning = comments.get(f.name, "")
            if key in given:
                lines.append(f"{f.name} = {_toml_value(given[key])}  # default {_toml_value(default)}"
                             + (f"; {meaning}" if meaning else ""))
            else:
                lines.append(f"# {f.name} = {_toml_value(default)}" + (f"  # {meaning}" if meaning else ""))
        lines.append("")
        for sub, p in nested:
            section(sub, p, p.rstrip("."))

    section(config_module.Config, "", None)
    return "\n".join(lines).rstrip() + "\n"


def write_pipeline(name: str, buildings: str, *, out: str = "", boundary: str = "", layer: str = "",
                   encoding: str = "", force: bool = False) -> tuple[Path, Inspection]:
    """Inspect ``buildings`` and write ``NAME.toml`` (in ``out``: a folder, or a .toml file; default the current
    folder). Refuses to overwrite an existing file unless ``force``."""
    if not re.fullmatch(r"[\w\-.]+", name, flags=re.UNICODE):
        msg = f"pipeline name {name!r}: use letters, digits, '-', '_' or '.' only (it names the output folder)"
        raise ConfigError(msg)
    target = Path(out) if out else Path.cwd()
    if target.suffix.lower() != ".toml":
        target = target / f"{name}.toml"
    if target.exists() and not force:
        msg = f"{target} exists already; choose another --out or pass --force to overwrite it"
        raise ConfigError(msg)
    found = inspect_buildings(buildings, layer=layer, encoding=encoding)
    from solarmap.sources.subdistricts import find_subdistrict

    subdistrict = ""
    if not boundary:
        try:
            sub = find_subdistrict(name)
            subdistrict = sub.slug if sub.outline is not None and not sub.outline.is_empty else ""
        except Exception:  # noqa: BLE001 - a name that is no embedded subdistrict: no boundary
            subdistrict = ""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = pipeline_text(name, buildings, toml_dir=target.parent, boundary=boundary, subdistrict=subdistrict,
                         found=found, layer=layer)
    config_module.config_from_dict(_parse(text, target), where=str(target))  # what we write must load
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target, found


def _parse(text: str, where: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a bug here, not the user's
        msg = f"solarmap init wrote invalid TOML for {where}: {exc}"
        raise ConfigError(msg) from None


__all__ = ["Finding", "Inspection", "inspect_buildings", "pipeline_text", "write_pipeline"]
