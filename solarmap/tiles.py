"""City scale: assess buildings tile by tile, each tile with a halo of the neighbours that can shade it.

A tile's *core* are the buildings it assesses; its *halo* are the other buildings whose shadow can reach the
core: an obstacle of height h reaches (h − z_min) / tan(min_sun_elevation) metres (at most the search radius), so
it joins a tile when its footprint lies that close to the tile's bounding box. With that rule a roof's horizon
sees exactly the obstacles it would see in one whole-city pass, so per-roof results do not depend on the tiling.
A tile's working arrays (its horizons and hourly blocks) go when it is done; what it gives back waits for the
other tiles, its hourly profiles and stored shade handed on at once and its columns of numbers in memory-mapped
files with a spill folder (:mod:`solarmap.spill`), so what grows with the city in memory is its rows' text and
shapes.

Two engines run the same per-tile function (:func:`solarmap.assessment.assess_tile`, passed in): ``local`` runs the tiles one after another in this process; ``dask`` runs
them on a Dask cluster (a LocalCluster of N workers, or any scheduler by address), with the tiles taken as
equal runs along a Hilbert curve through the footprints (:func:`hilbert_partition`).
"""

from __future__ import annotations

import ctypes
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from solarmap.config import Config
from solarmap.spill import release_pages, spill_file, spillable, spilled, spilled_copy

log = logging.getLogger(__name__)


@dataclass
class Tile:
    """Positions (into the prepared buildings table) of a tile's core and of its core plus halo."""

    index: int
    core: np.ndarray
    members: np.ndarray


def grid_partition(roofs: gpd.GeoDataFrame, tile_size_m: float) -> list[np.ndarray]:
    """Positions of the buildings in each square tile of ``tile_size_m`` (by footprint centre), non-empty only."""
    c = shapely.centroid(roofs.geometry.to_numpy())
    x, y = shapely.get_x(c), shapely.get_y(c)
    valid = np.isfinite(x)
    x0, y0 = np.nanmin(x), np.nanmin(y)
    ix = np.where(valid, np.floor((np.nan_to_num(x, nan=x0) - x0) / tile_size_m), 0).astype(np.int64)
    iy = np.where(valid, np.floor((np.nan_to_num(y, nan=y0) - y0) / tile_size_m), 0).astype(np.int64)
    key = ix * 1_000_003 + iy
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return [np.sort(p) for p in np.split(order, cuts)]


def hilbert_partition(roofs: gpd.GeoDataFrame, npartitions: int) -> list[np.ndarray]:
    """Positions in ``npartitions`` runs of about equal length along a Hilbert curve through the footprints'
    bounding-box midpoints (geopandas' ``hilbert_distance``, level 16), each sorted; footprints without a
    geometry form a last part of their own. The same table gives the same parts in every run (dask-geopandas'
    ``spatial_shuffle`` splits at sampled quantiles, different from run to run)."""
    geoms = roofs.geometry.values
    valid = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    pos = np.flatnonzero(valid)
    parts = []
    if len(pos):
        d = gpd.GeoSeries(geoms[pos], crs=roofs.crs).hilbert_distance().to_numpy()
        order = pos[np.argsort(d, kind="stable")]
        parts = [np.sort(p) for p in np.array_split(order, min(max(1, npartitions), len(order)))]
    invalid = np.flatnonzero(~valid)
    if len(invalid):
        parts.append(invalid)
    return parts


def add_halos(roofs: gpd.GeoDataFrame, cores: list[np.ndarray], cfg: Config, *, halo: bool = True) -> list[Tile]:
    """Each core with every building whose shadow can reach the core's bounding box (heights are imputed before
    tiling, so nothing else is needed). One STRtree query of the obstacles' reach boxes against the tile boxes,
    then the exact test per (tile, obstacle) pair: linear in the city, not tiles × buildings."""
    geoms = roofs.geometry.to_numpy()
    h = roofs["height_m"].to_numpy(dtype=float)
    has = np.isfinite(h) & (h > 0) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    # facades: their sample points stand as low as the lowest storey, and a touching neighbour of any height
    # decides which walls are shared, so it joins the halo too
    fac = cfg.facades.enabled
    touch = cfg.facades.touch_tolerance_m if fac else -1.0
    if not halo or not (cfg.shading.enabled or fac) or not has.any():  # halo=False only to show what the halo does
        return [Tile(k, core, core) for k, core in enumerate(cores)]
    tan_min = math.tan(math.radians(cfg.shading.min_sun_elevation_deg))
    bounds = np.full((len(roofs), 4), np.nan)
    bounds[has] = shapely.bounds(geoms[has])
    n = len(cores)
    tb = np.full((n, 4), np.nan)
    z_min = np.full(n, np.inf)
    for k, core in enumerate(cores):  # per tile, over its own buildings only
        cb = bounds[core][np.isfinite(bounds[core]).all(axis=1)]
        if len(cb):
            tb[k] = cb[:, 0].min(), cb[:, 1].min(), cb[:, 2].max(), cb[:, 3].max()
            z_min[k] = np.nanmin(np.where(has[core], h[core], np.inf))
    if fac:
        z_min = np.minimum(z_min, cfg.facades.ground_storey_m)
    live = np.isfinite(tb).all(axis=1)
    pos = np.flatnonzero(has)
    # reach from the lowest roof of any tile: a superset, narrowed per pair below
    reach = np.clip((h[pos] - z_min[live].min()) / tan_min, 0.0, cfg.shading.max_search_radius_m) if live.any() else np.zeros(len(pos))
    if not cfg.shading.enabled:
        reach = np.zeros(len(pos))
    reach = np.maximum(reach, touch)
    b = bounds[pos]
    tree = shapely.STRtree(shapely.box(tb[live, 0], tb[live, 1], tb[live, 2], tb[live, 3]))
    ob, t = tree.query(shapely.box(b[:, 0] - reach, b[:, 1] - reach, b[:, 2] + reach, b[:, 3] + reach))
    t = np.flatnonzero(live)[t]
    dx = np.maximum(np.maximum(tb[t, 0] - b[ob, 2], b[ob, 0] - tb[t, 2]), 0.0)
    dy = np.maximum(np.maximum(tb[t, 1] - b[ob, 3], b[ob, 1] - tb[t, 3]), 0.0)
    own_reach = np.clip((h[pos[ob]] - z_min[t]) / tan_min, 0.0, cfg.shading.max_search_radius_m)
    near = (np.hypot(dx, dy) <= own_reach) & (h[pos[ob]] > z_min[t]) & cfg.shading.enabled
    near |= np.hypot(dx, dy) <= touch
    ob, t = ob[near], t[near]
    order = np.argsort(t, kind="stable")
    ob, t = ob[order], t[order]
    cuts = np.searchsorted(t, np.arange(n + 1))
    return [Tile(k, core, np.union1d(core, pos[ob[cuts[k]:cuts[k + 1]]])) for k, core in enumerate(cores)]


def assess_in_tiles(roofs: gpd.GeoDataFrame | list, cfg: Config, assess_tile: Callable, *, weather, sun,
                    engine: str = "local", tile_size_m: float = 3000.0, workers: int = 2, scheduler: str = "",
                    npartitions: int = 0, halo: bool = True, with_timings: bool = False, extras_out: list | None = None,
                    on_extra: Callable | None = None, spill_dir: str | None = None):
    """Assess every building tile by tile (``engine`` local or dask); rows come back in the input's order.

    ``assess_tile(tile_roofs, core_mask, cfg, weather, sun) -> (core rows, timings)`` is what runs per tile
    (:func:`solarmap.assessment.assess_tile`; a module-level function, so Dask can send it to its workers).
    With ``with_timings``, also return the stage timings summed over tiles [s]. A tile function may return
    further items, each a table of rows belonging to its core's buildings (the roof planes, the facades) with
    their index label in ``_row``, or None: each item's tables are joined in building order and appended to
    ``extras_out``, in the order of the items (None when no tile gave a table). An item that is a dict (what
    else the tile computed: its hourly profiles and stored shade) is not joined but handed to ``on_extra`` as
    soon as its tile is done (in tile order here, in the order the tiles finish on Dask).

    ``roofs`` may be handed over as a list holding the one table: the list is emptied once the last tile is done,
    so the input (1.4 GB for a million buildings) is free before the tiles' results are joined.

    With ``spill_dir``, each tile's columns of plain numbers (its roofs', planes' and facades') wait for the join
    in unnamed temporary files there, memory-mapped (:mod:`solarmap.spill`), and are joined into such files: the
    same values, out of the resident set (a million buildings' facades alone are 0.5 GB of doubles)."""
    handed, holder = isinstance(roofs, list), roofs
    if handed:
        roofs = holder[0]
    if engine == "dask":
        n = npartitions or max(workers * 2, int(math.ceil(len(roofs) / 20000)))
        cores = hilbert_partition(roofs, n)
    else:
        cores = grid_partition(roofs, tile_size_m)
    tiles = add_halos(roofs, cores, cfg, halo=halo)
    total_members = sum(len(t.members) for t in tiles)
    log.info("%d tiles (%s engine), %d buildings, %.2f buildings processed per building (halo overhead)",
             len(tiles), engine, len(roofs), total_members / max(len(roofs), 1))
    parts = []
    if engine == "dask":
        parts = _run_dask(roofs, tiles, cfg, weather, sun, assess_tile, workers=workers, scheduler=scheduler,
                          spill_dir=spill_dir, on_extra=on_extra)
    else:
        for t in tiles:
            part = assess_tile(roofs.iloc[t.members], np.isin(t.members, t.core), cfg, weather, sun)
            parts.append(_spill(_compact(_hand_on(part, on_extra), roofs, t), spill_dir))
            del part
            give_back_freed_memory()  # the tile's working arrays, before the next tile's
            log.info("tile %d/%d: %d roofs (+%d halo)", t.index + 1, len(tiles), len(t.core), len(t.members) - len(t.core))
    index, crs = roofs.index, roofs.crs
    from_input = _given_columns(roofs, [p[0] for p in parts])  # the input's columns some tile gave back unchanged
    if handed:
        holder.clear()
        del roofs
    timings: dict[str, float] = {}
    for p in parts:
        for k, v in p[1].items():
            timings[k] = round(timings.get(k, 0.0) + v, 3)
    rank = pd.Series(np.arange(len(index)), index=index)
    parts = [list(p) for p in parts]  # each tile's items are let go as soon as they are joined
    for k in range(2, len(parts[0]) if parts else 2):
        if any(p[k] is _HANDED for p in parts):  # not a table: handed on as its tile was done, not joined
            continue
        if extras_out is None:
            continue
        given = [p[k] for p in parts if p[k] is not None]
        for p in parts:
            p[k] = None
        if not given:
            extras_out.append(None)
            continue
        tables = [t for t in given if len(t)] or given[:1]  # empty tables would blur the dtypes
        del given
        row = np.concatenate([t.columns["_row"] for t in tables]) if tables[0].columns else np.array([])
        order = np.argsort(rank.loc[row].to_numpy(), kind="stable")  # building order; within, as made
        del row
        extras_out.append(_expand(_join(tables, order, reset_index=True, spill_dir=spill_dir), crs))
        del tables
    tables = [p[0] for p in parts]
    parts.clear()
    joined = tables[0].index.append([t.index for t in tables[1:]])
    order = joined.get_indexer(index) if joined.is_unique and index.is_unique else np.array([-1])
    whole = not (order < 0).any()  # every row exactly once, in the input's order
    names = tables[0].names
    same = all(t.names == names for t in tables)  # then the input's columns every tile left out stand as they are
    everywhere = frozenset.intersection(*(t.from_input for t in tables)) if whole and same else frozenset()
    _restore(tables, from_input, everywhere=everywhere)
    if not whole:  # repeated labels, or a row no tile gave back (KeyError): as pd.concat and .loc did
        out = _frames(tables).loc[index]
    else:
        out = _join(tables, order, index=index, spill_dir=spill_dir)  # columns that differ: as pd.concat joined them
        if everywhere:
            out = pd.DataFrame({c: from_input[c] if c in everywhere else out[c].array for c in names}, index=index,
                               copy=False)
    del tables, joined, order, from_input
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs, copy=False)  # geopandas copies a frame by default
    give_back_freed_memory()
    return (out, timings) if with_timings else out


_WKB = "_geometry_wkb"


@dataclass
class _Columns:
    """A table kept as one array per column, each owning its memory, so that a join can let go of each column
    as soon as it is joined (a DataFrame's columns share blocks, which stay alive while any column does).
    ``names``: every column, in order, including the input's columns the tile gave back unchanged, which are not
    kept (``from_input``) but taken from the input at the join; ``rows``: the rows' positions in the input."""

    index: pd.Index
    columns: dict
    names: list = None
    from_input: frozenset = frozenset()
    rows: np.ndarray | None = None

    def __post_init__(self):
        if self.names is None:
            self.names = list(self.columns)

    def __len__(self) -> int:
        return len(self.index)


def _columns(table: pd.DataFrame, given: pd.DataFrame | None = None, rows: np.ndarray | None = None) -> _Columns:
    """``table`` column by column; with ``given`` (the input's rows ``rows``, aligned with ``table``), the columns
    equal to the input's, bit for bit, are left out (a city's input columns are otherwise held twice: once in
    the input, once in the tiles' rows)."""
    same = frozenset() if given is None else frozenset(
        c for c in table.columns if c in given.columns and _identical(table[c].array, given[c].array))
    return _Columns(table.index, {c: table[c].array.copy() for c in table.columns if c not in same},
                    names=list(table.columns), from_input=same, rows=rows)


def _identical(a, b) -> bool:
    """The same dtype and the same values bit for bit (NaN payloads and the sign of zero included; shapes by
    their WKB, so a shape that is merely equal as a set of points is not the same)."""
    if a.dtype != b.dtype or len(a) != len(b):
        return False
    if isinstance(a, pd.arrays.NumpyExtensionArray):  # a numpy column of a frame
        a, b = a.to_numpy(), b.to_numpy()
    if isinstance(a, np.ndarray) and a.dtype != object:
        return np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))
    if hasattr(a, "_pa_array"):  # pyarrow-backed: text only (Arrow compares floats as numbers: -0.0 == 0.0)
        t = a._pa_array.type
        return (pa.types.is_string(t) or pa.types.is_large_string(t)) and a._pa_array.equals(b._pa_array)
    if isinstance(a, (pd.arrays.IntegerArray, pd.arrays.BooleanArray, pd.arrays.FloatingArray)):  # Int64, boolean
        return _identical(a._mask, b._mask) and _identical(a._data, b._data)
    if isinstance(a, gpd.array.GeometryArray):
        x, y = a.to_numpy(), b.to_numpy()
        missing = shapely.is_missing(x)
        # as WKB: the same type, dimensions and doubles (equals_identical takes -0.0 for 0.0)
        return bool(np.array_equal(missing, shapely.is_missing(y)) and (shapely.to_wkb(x[~missing]) == shapely.to_wkb(y[~missing])).all())
    return False  # anything else (object arrays) is kept as the tile gave it


def _given_columns(roofs: pd.DataFrame, tables: list[_Columns]) -> dict:
    """The input's columns that some tile left out, each as an array of its own in the input's order: text,
    shapes and nullable columns are that already; a numpy column is a view into the input's blocks, which would
    keep the whole input alive, so it is copied."""
    names = set().union(*(t.from_input for t in tables)) if tables else set()
    arrays = {c: roofs[c].array for c in roofs.columns if c in names}
    return {c: a.copy() if isinstance(a, pd.arrays.NumpyExtensionArray) else a for c, a in arrays.items()}


def _restore(tables: list[_Columns], given: dict, *, everywhere: frozenset) -> None:
    """Put back, in each tile's table, the input's columns it left out (from ``given``, at the tile's rows),
    except those every tile left out (``everywhere``: they are taken whole from the input), so that the tables
    have the same columns in the same order."""
    for t in tables:
        t.columns = {c: t.columns[c] if c in t.columns else given[c].take(t.rows) for c in t.names
                     if c not in everywhere}


def _frames(tables: list[_Columns]) -> pd.DataFrame:
    """The tables as one frame, ``pd.concat`` of each as a DataFrame (the way they were joined before)."""
    return pd.concat([pd.DataFrame(t.columns, index=t.index, copy=False) for t in tables])


def _join(tables: list[_Columns], order: np.ndarray, *, index: pd.Index | None = None,
          reset_index: bool = False, spill_dir: str | None = None) -> pd.DataFrame:
    """``pd.concat(tables).take(order)`` built column by column: each joined column is put in order, then the
    tiles' arrays of it are freed, so the join holds about one table and a column rather than two tables. The
    columns' values and dtypes are pd.concat's (each column is concatenated by it); tables whose columns differ
    are joined by pd.concat of the whole frames, as before. ``index``: the joined table's index (default the
    tables' own, in ``order``; ``reset_index``: 0..n-1). With ``spill_dir``, a column that every tile kept
    spilled (:func:`_spill`), in one dtype, is joined into a spilled array: each tile's values written straight
    to their places, the same values as concatenating then taking."""
    names = list(tables[0].columns)
    if any(list(t.columns) != names for t in tables) or len(set(names)) != len(names):
        out = _frames(tables).take(order)
        return out.reset_index(drop=True) if reset_index else out.set_axis(index) if index is not None else out
    if reset_index:
        index = pd.RangeIndex(len(order))
    elif index is None:
        index = tables[0].index.append([t.index for t in tables[1:]]).take(order)
    data = {}
    at = None  # each concatenated row's place in the joined table (order's inverse), for spilled columns
    for k, c in enumerate(names):
        arrays = [t.columns.pop(c) for t in tables]
        if spill_dir is not None and _all_spilled(arrays):
            if at is None:
                at = np.empty(len(order), dtype=np.int64)
                at[order] = np.arange(len(order))
            data[c] = _scatter(arrays, at, spill_dir)
            del arrays
            continue
        joined = pd.concat([pd.Series(a, copy=False) for a in arrays], ignore_index=True)
        del arrays
        data[c] = joined.array.take(order)
        del joined
        if k % 8 == 7:  # a tile's column is small enough for glibc's heap, which keeps it unless trimmed
            give_back_freed_memory()
    return pd.DataFrame(data, index=index, copy=False)


#: what stands in a tile's result for an item handed on (:func:`_hand_on`)
_HANDED = object()


def _hand_on(part: tuple, on_extra: Callable | None) -> tuple:
    """A tile's result with each item that is a dict (its hourly profiles and stored shade) handed to
    ``on_extra`` now, as the tile is done, and :data:`_HANDED` in its place: nothing of it waits for the other
    tiles here (a million buildings' stored shade is 2.4 GB)."""
    out = list(part)
    for k in range(2, len(out)):
        if isinstance(out[k], dict):
            if on_extra is not None:
                on_extra(out[k])
            out[k] = _HANDED
    return tuple(out)


def _spill(part: tuple, folder: str | None) -> tuple:
    """A :func:`_compact` tile result with its tables' columns of plain numbers moved to
    :func:`solarmap.spill.spilled` files in ``folder`` (the part as it is without a folder)."""
    if folder is None:
        return part
    for t in part:
        if isinstance(t, _Columns):
            for c, a in t.columns.items():
                if isinstance(a, pd.arrays.NumpyExtensionArray) and spillable(a.to_numpy()):
                    t.columns[c] = pd.arrays.NumpyExtensionArray(spilled_copy(a.to_numpy(), folder,
                                                                              what="tiles' results"))
    return part


def _all_spilled(arrays: list) -> bool:
    """Whether every array is a spilled numpy column (:func:`_spill`) and all have one dtype."""
    return bool(arrays) and all(isinstance(a, pd.arrays.NumpyExtensionArray) and spill_file(a.to_numpy()) is not None
                                and a.dtype == arrays[0].dtype for a in arrays)


def _scatter(arrays: list, at: np.ndarray, folder: str) -> pd.arrays.NumpyExtensionArray:
    """The spilled ``arrays`` concatenated, row j put at ``at[j]``, into a spilled array; each tile's pages are
    given back once its values are placed."""
    out = spilled(len(at), folder, arrays[0].to_numpy().dtype, what="tiles' results")
    base = 0
    for a in arrays:
        v = a.to_numpy()
        out[at[base : base + len(v)]] = v
        base += len(v)
        release_pages(v, out)
    return pd.arrays.NumpyExtensionArray(out)


def _compact(part: tuple, roofs: pd.DataFrame | None = None, tile: Tile | None = None) -> tuple:
    """A tile's result as it waits for the others: its tables column by column (:class:`_Columns`), the shapes of
    the roof planes and facades as WKB in the geometry's place (a two-point wall: 41 bytes rather than about 250
    as a shapely object), turned back by :func:`_expand`. WKB holds the coordinates' doubles as they are, so the
    shapes come back bit for bit. With the input ``roofs`` and the ``tile``, the rows' columns that equal the
    input's are left out (see :func:`_columns`)."""
    out = list(part)
    rows = given = None
    if roofs is not None and tile is not None:
        rows = tile.members[np.isin(tile.members, tile.core)]
        given = roofs.iloc[rows]
        if not given.index.equals(out[0].index):
            rows = given = None
    out[0] = _columns(out[0], given, rows)
    for k in range(2, len(out)):
        t = out[k]
        if isinstance(t, gpd.GeoDataFrame) and t.geometry.name == "geometry":
            wkb = shapely.to_wkb(t.geometry.to_numpy())
            table = pd.DataFrame(t.drop(columns="geometry"))
            table.insert(list(t.columns).index("geometry"), _WKB, wkb)
            t = table
        if isinstance(t, pd.DataFrame):
            out[k] = _columns(t)
    return tuple(out)


def _expand(table: pd.DataFrame, crs) -> pd.DataFrame:
    """:func:`_compact` undone on a joined table: a GeoDataFrame (in ``crs``) with its geometry where it was."""
    if _WKB not in table.columns:
        return table
    at = list(table.columns).index(_WKB)
    geometry = shapely.from_wkb(table.pop(_WKB).to_numpy())
    table.insert(at, "geometry", geometry)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=crs, copy=False)


def give_back_freed_memory() -> None:
    """Hand memory freed by a tile back to the system. glibc keeps freed blocks for reuse, spread over its
    per-thread arenas, so without this a city's run carries its largest tiles' working sets to the end; nothing
    where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _run_dask(roofs, tiles, cfg, weather, sun, assess_tile, *, workers: int, scheduler: str,
              spill_dir: str | None = None, on_extra: Callable | None = None) -> list:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        w_fut, s_fut, c_fut = client.scatter([weather, sun, cfg], broadcast=True)
        futures = [client.submit(assess_tile, roofs.iloc[t.members], np.isin(t.members, t.core), c_fut, w_fut, s_fut,
                                 pure=False) for t in tiles]
        parts = []
        tile_of = {f.key: t for f, t in zip(futures, tiles, strict=True)}
        for done, (fut, result) in enumerate(as_completed(futures, with_results=True), start=1):
            parts.append(_spill(_compact(_hand_on(result, on_extra), roofs, tile_of[fut.key]), spill_dir))
            del result
            log.info("tile %d/%d done on the cluster", done, len(tiles))
        return parts
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
