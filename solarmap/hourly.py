"""Hourly AC power: the run's profiles per group, the shade a forecast re-uses, and the per-roof engine over it.

Three *sets* of roofs are profiled, each aggregated by (subdistrict, category):

- ``potential``: every suitable roof at its ``capacity_kwp``;
- ``existing``: every assessed roof with PV at its ``existing_pv_kwp`` (a roof's hourly AC power is linear in its
  capacity: :func:`solarmap.solar.ac_per_kwp` is per kWp, so the existing array takes the roof's per-kWp shaded
  profile);
- ``candidates``: the roofs the rules pick to close a shortfall (``policy_candidate_for`` not empty) at
  ``capacity_kwp``.

A pitched roof counts with the planes its figures are summed over (:func:`solarmap.planes.summarise_buildings`),
each plane a unit of its own with its own orientation and shade. ``potential`` and ``existing`` of flat roofs are
summed inside the yield stage, chunk by chunk, as
:func:`solarmap.solar.roof_yields` computes each chunk's hourly AC power (:class:`ProfileAccumulator`): no
(roofs × hours) array outlives its chunk; the planes' sets are known once every plane of a building is, so they
are profiled from the :class:`ShadeStore` right after (:func:`group_profiles`, the engine a forecast runs), and
so are the candidates, known only after the policy stage.

Time convention: as the run's weather, every value is labelled by the *start* of its interval (the sun is taken at
the interval's middle), so a forecast file with the run's own timestamps lines up hour for hour.

The :class:`ShadeStore` keeps what the yield needs from shading for every assessed roof: per sample point its
horizon in the azimuth sectors the sun reaches at the site, as uint8 steps of 90°/255 (0.35°), and its sky-view
factor; per roof its sky-view factor, orientation and capacity. A quantised horizon could move the sun across
it: each value is rounded up or down so that every sun position of the run's own weather falls on the same side
as with the exact value, and the few values where neither works (about 3 % of the non-zero ones on Dapuqiao) are
kept exactly beside the uint8 array. So a forecast on the run's weather sees exactly the run's shade; at any
other time the stored horizon is within 0.35° of the computed one (the profile itself is sampled at 2° sectors).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from solarmap.config import PVConfig
from solarmap.errors import InputDataError, InputDataWarning, warn
from solarmap.shading import visible_share
from solarmap.solar import (
    Sun,
    daylight_hours,
    orientation_groups,
    plane_irradiance,
    shaded_ac_per_kwp,
    shading_loss_pct,
)
from solarmap.sources.weather import Weather
from solarmap.spill import release_pages, spill_file, spilled, spilled_copy

log = logging.getLogger(__name__)

SETS = ("potential", "existing", "candidates")
#: one uint8 step of a stored horizon [°]
HORIZON_STEP_DEG = np.float32(90.0 / 255.0)
#: sectors kept on either side of the range the run's sun visited (a forecast in another year stays inside)
SECTOR_MARGIN = 2
STORE_VERSION = 1
TIME_CONVENTION = "interval start (values are means over [time, time + step); sun at the interval middle)"


# ---------------------------------------------------------------------------------------------------- profiles


class Profiles:
    """AC power [kW] per (subdistrict, category, set) over a time index, and each group's capacity [kWp]."""

    def __init__(self, index: pd.DatetimeIndex, step_h: float = 1.0):
        self.index = index
        self.step_h = step_h
        self.power_kw: dict[tuple[str, str, str], np.ndarray] = {}
        self.capacity_kwp: dict[tuple[str, str, str], float] = {}

    def add(self, key: tuple[str, str, str], power_kw: np.ndarray, capacity_kwp: float) -> None:
        if key in self.power_kw:
            self.power_kw[key] = self.power_kw[key] + power_kw
            self.capacity_kwp[key] += capacity_kwp
        else:
            self.power_kw[key] = np.asarray(power_kw, dtype=float).copy()
            self.capacity_kwp[key] = float(capacity_kwp)

    def merge(self, other: Profiles) -> Profiles:
        for k, v in other.power_kw.items():
            self.add(k, v, other.capacity_kwp[k])
        return self

    def keys(self) -> list[tuple[str, str, str]]:
        return sorted(k for k in self.power_kw if self.capacity_kwp[k] > 0)

    def table(self, value: str = "ac_kw") -> pd.DataFrame:
        """Long format: ``time``, ``subdistrict``, ``category``, ``set``, ``value`` [kW]."""
        keys = self.keys()
        n = len(self.index)
        if not keys:
            return pd.DataFrame({"time": pd.Series([], dtype=self.index.dtype), "subdistrict": [], "category": [],
                                 "set": [], value: []})
        return pd.DataFrame({
            "time": tile_index(self.index, len(keys)),
            "subdistrict": np.repeat(np.array([k[0] for k in keys], dtype=object), n),
            "category": np.repeat(np.array([k[1] for k in keys], dtype=object), n),
            "set": np.repeat(np.array([k[2] for k in keys], dtype=object), n),
            value: np.concatenate([self.power_kw[k] for k in keys]),
        })

    def set_total(self, name: str) -> np.ndarray:
        parts = [v for k, v in self.power_kw.items() if k[2] == name]
        return np.sum(parts, axis=0) if parts else np.zeros(len(self.index))

    def summary(self) -> dict:
        """Per set, and per group: capacity, energy, peak kW, the hour of the peak and the capacity factor."""
        def one(power: np.ndarray, kwp: float) -> dict:
            energy = float(power.sum() * self.step_h)
            k = int(np.argmax(power)) if len(power) else 0
            span_h = len(power) * self.step_h
            return {"capacity_kwp": round(kwp, 1), "energy_kwh": round(energy, 1),
                    "peak_kw": round(float(power[k]) if len(power) else 0.0, 1),
                    "peak_time": self.index[k].isoformat() if len(power) else None,
                    "capacity_factor": round(energy / (kwp * span_h), 4) if kwp > 0 and span_h > 0 else None}

        out: dict = {"time_convention": TIME_CONVENTION, "sets": {}, "groups": []}
        for s in SETS:
            keys = [k for k in self.keys() if k[2] == s]
            if keys:
                out["sets"][s] = one(self.set_total(s), sum(self.capacity_kwp[k] for k in keys))
        for k in self.keys():
            out["groups"].append({"subdistrict": k[0], "category": k[1], "set": k[2],
                                  **one(self.power_kw[k], self.capacity_kwp[k])})
        return out


def tile_index(index: pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    """``index`` repeated ``n`` times, kept as datetimes with their zone (``np.tile`` would make objects)."""
    return index[np.tile(np.arange(len(index)), n)]


def repeat_labels(labels, n: int) -> pd.Categorical:
    """Each label repeated ``n`` times, as a categorical (one string per label, not per row)."""
    labels = np.asarray(labels, dtype=object).astype(str)
    uniq, codes = np.unique(labels, return_inverse=True)
    return pd.Categorical.from_codes(np.repeat(codes, n), categories=uniq)


def _group_codes(subdistrict, category) -> tuple[np.ndarray, list[tuple[str, str]]]:
    sub = pd.Series(subdistrict, dtype=object).fillna("").astype(str).to_numpy()
    cat = pd.Series(category, dtype=object).fillna("other").astype(str).to_numpy()
    codes, uniq = pd.factorize(pd.Series(sub, dtype=object) + "\x1f" + pd.Series(cat, dtype=object))
    return codes.astype(np.int64), [tuple(u.split("\x1f", 1)) for u in uniq]


class ProfileAccumulator:
    """The ``on_chunk`` of :func:`solarmap.solar.roof_yields`: sums each chunk's hourly AC power into the
    ``potential`` and ``existing`` profiles of its (subdistrict, category) with one (groups × roofs) @ (roofs ×
    hours) product. A roof is suitable when its shading loss stays within ``max_loss_pct``, as in the assessment."""

    def __init__(self, roofs: pd.DataFrame, weather: Weather, sun: Sun, max_loss_pct: float):
        self.index = weather.data.index
        self.hours = daylight_hours(weather, sun)
        self.code, self.groups = _group_codes(roofs["subdistrict"], roofs["category"])
        self.cap = roofs["capacity_kwp"].to_numpy(dtype=float)
        ex = pd.to_numeric(roofs.get("existing_pv_kwp", pd.Series(0.0, index=roofs.index)), errors="coerce")
        self.existing = np.nan_to_num(ex.to_numpy(dtype=float), nan=0.0)
        self.max_loss_pct = max_loss_pct
        self.acc = np.zeros((2 * len(self.groups), len(self.hours)))  # rows 2g: potential, 2g+1: existing [W]
        self.kwp = np.zeros(2 * len(self.groups))

    def __call__(self, pos: np.ndarray, ac: np.ndarray, annual_kwh: np.ndarray, annual_kwh_unshaded: np.ndarray) -> None:
        suitable = ~(shading_loss_pct(annual_kwh, annual_kwh_unshaded) > self.max_loss_pct)
        u, inv = np.unique(self.code[pos], return_inverse=True)
        w = np.zeros((len(pos), 2 * len(u)))
        rows = np.arange(len(pos))
        w[rows, 2 * inv] = np.where(suitable, self.cap[pos], 0.0)
        w[rows, 2 * inv + 1] = self.existing[pos]
        target = np.empty(2 * len(u), dtype=np.int64)
        target[0::2], target[1::2] = 2 * u, 2 * u + 1
        if ac.shape[0] == 1:  # one unshaded profile for the whole orientation group
            self.acc[target] += w.sum(axis=0)[:, None] * ac
        else:
            self.acc[target] += w.T @ ac
        self.kwp[target] += w.sum(axis=0)

    def profiles(self) -> Profiles:
        out = Profiles(self.index)
        for g, (sub, cat) in enumerate(self.groups):
            for j, name in enumerate(("potential", "existing")):
                r = 2 * g + j
                if self.kwp[r] > 0:
                    full = np.zeros(len(self.index))
                    full[self.hours] = self.acc[r] / 1000.0
                    out.add((sub, cat, name), full, self.kwp[r])
        return out


# ---------------------------------------------------------------------------------------------- the shade store

_ROOF_FIELDS = ("row", "building_id", "subdistrict", "category", "tilt", "azimuth", "capacity_kwp",
                "existing_pv_kwp", "svf", "suitable", "candidate", "n_points", "plane")
#: the per-point arrays, which a tiled run keeps in files (:meth:`ShadeStore.spill`)
_POINT_FIELDS = ("horizon_q", "point_svf", "exc_point", "exc_sector", "exc_value")


@dataclass
class ShadeStore:
    """What a forecast needs from a run's shading, for every assessed roof with capacity (see the module doc).

    Per roof (R): ``row`` (the roof's position in the run's table), ``building_id``, ``subdistrict``,
    ``category``, ``tilt``, ``azimuth`` [°], ``capacity_kwp``, ``existing_pv_kwp``, ``svf`` (the sky-view factor
    the yield used) [-], ``suitable``, ``candidate``, ``n_points``. Per point (P, grouped by roof): ``horizon_q``
    (P, stored sectors) uint8 in steps of :data:`HORIZON_STEP_DEG` for sectors ``sector_lo`` … and
    ``point_svf`` [-]; exceptions ``exc_point``, ``exc_sector`` (stored sector), ``exc_value`` [°] hold exact
    horizons the uint8 steps cannot carry.
    """

    row: np.ndarray
    building_id: np.ndarray
    subdistrict: np.ndarray
    category: np.ndarray
    tilt: np.ndarray
    azimuth: np.ndarray
    capacity_kwp: np.ndarray
    existing_pv_kwp: np.ndarray
    svf: np.ndarray
    suitable: np.ndarray
    candidate: np.ndarray
    n_points: np.ndarray
    plane: np.ndarray  # 0 for a flat roof, the plane's number (plane_id in roof_planes.csv) for a roof plane
    horizon_q: np.ndarray
    point_svf: np.ndarray
    exc_point: np.ndarray
    exc_sector: np.ndarray
    exc_value: np.ndarray
    n_sectors: int = 180
    sector_lo: int = 0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.first_point = np.cumsum(self.n_points) - self.n_points

    def __len__(self) -> int:
        return len(self.row)

    @property
    def sector_deg(self) -> float:
        return 360.0 / self.n_sectors

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(self, f.name).nbytes for f in fields(self)
                       if isinstance(getattr(self, f.name), np.ndarray) and getattr(self, f.name).dtype != object))

    def sky_view(self, roofs: np.ndarray) -> np.ndarray:
        return self.svf[roofs]

    def horizons(self, roofs: np.ndarray, sectors: np.ndarray | None = None) -> np.ndarray:
        """Horizons [°] of the roofs' points (in order), (points, len(sectors)) float32, for stored sectors
        ``sectors`` (default all): the uint8 steps with the exact exceptions put back."""
        counts = self.n_points[roofs]
        starts = np.repeat(self.first_point[roofs], counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        pts = starts + local
        cols = np.arange(self.horizon_q.shape[1]) if sectors is None else np.asarray(sectors, dtype=np.int64)
        dense = self.horizon_q[pts][:, cols].astype(np.float32) * HORIZON_STEP_DEG
        if len(self.exc_point) and len(pts):
            lo, hi = np.searchsorted(self.exc_point, [pts.min(), pts.max() + 1])
            ep, es, ev = self.exc_point[lo:hi], self.exc_sector[lo:hi], self.exc_value[lo:hi]
            col_of = np.full(self.horizon_q.shape[1], -1, dtype=np.int64)
            col_of[cols] = np.arange(len(cols))
            order = np.argsort(pts, kind="stable")
            at = np.searchsorted(pts[order], ep)
            hit = (at < len(pts)) & (pts[order][np.minimum(at, len(pts) - 1)] == ep) & (col_of[es] >= 0)
            dense[order[at[hit]], col_of[es[hit]]] = ev[hit]
        return dense

    def sun_visible(self, roofs: np.ndarray, sun_azimuth: np.ndarray, sun_elevation: np.ndarray) -> np.ndarray:
        """Share of each roof's points that see the sun, (len(roofs), hours) [-], as the yield stage computed it.
        Sectors outside the stored range (which the sun does not reach at the site) count as open."""
        roofs = np.asarray(roofs, dtype=np.int64)
        sector = np.minimum((np.mod(sun_azimuth, 360.0) / self.sector_deg).astype(np.int64), self.n_sectors - 1)
        stored = sector - self.sector_lo
        inside = (stored >= 0) & (stored < self.horizon_q.shape[1])
        cols, local = np.unique(stored[inside], return_inverse=True)
        mapped = np.full(len(sector), len(cols), dtype=np.int64)  # the extra open column
        mapped[inside] = local
        out = np.ones((len(roofs), len(sector)))
        counts = self.n_points[roofs]
        has = counts > 0
        if not has.any() or not len(sector):
            return out
        sel = roofs[has]
        dense = self.horizons(sel, cols)
        dense = np.concatenate([dense, np.zeros((len(dense), 1), dtype=np.float32)], axis=1)
        c = counts[has]
        out[has] = visible_share(dense, np.cumsum(c) - c, c, mapped, sun_elevation)
        return out

    def spill(self, folder: str | Path) -> None:
        """Move the per-point arrays (horizons, sky-view factors, exceptions: all but about 0.1 kB of a building's
        stored shade) to :func:`solarmap.spill.spilled` files in ``folder``, their pages released."""
        for f in _POINT_FIELDS:
            v = getattr(self, f)
            if spill_file(v) is None:
                setattr(self, f, spilled_copy(v, folder, what="stored shade's horizons"))

    def release_pages(self) -> None:
        """Give back the resident pages of the spilled per-point arrays (see :meth:`spill`); their contents stay."""
        release_pages(*(getattr(self, f) for f in _POINT_FIELDS))

    def subset(self, mask: np.ndarray) -> ShadeStore:
        """The roofs where ``mask`` holds, with their points and exceptions."""
        keep = np.flatnonzero(mask)
        counts = self.n_points[keep]
        pts = np.repeat(self.first_point[keep], counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        new_index = np.full(len(self.point_svf), -1, dtype=np.int64)
        new_index[pts] = np.arange(len(pts))
        e = new_index[self.exc_point] >= 0 if len(self.exc_point) else np.zeros(0, dtype=bool)
        kw = {f: getattr(self, f)[keep] for f in _ROOF_FIELDS}
        return ShadeStore(**kw, horizon_q=self.horizon_q[pts], point_svf=self.point_svf[pts],
                          exc_point=new_index[self.exc_point[e]], exc_sector=self.exc_sector[e],
                          exc_value=self.exc_value[e], n_sectors=self.n_sectors, sector_lo=self.sector_lo,
                          meta=dict(self.meta))

    @staticmethod
    def concat(parts: list[ShadeStore], *, spill_dir: str | Path | None = None) -> ShadeStore:
        """One store from tile stores (same sectors), rows in the run's table order. The list is emptied as each
        tile's points are copied into place, so a city holds about one copy of its points, not three. With
        ``spill_dir``, the per-point arrays go to temporary files there (see :meth:`spill`): a million-building
        city's 2.4 GB of uint8 horizons and 0.6 GB of exceptions then stay out of memory."""
        live = [p for p in parts if p is not None]
        parts.clear()
        if not live:
            return empty_store()
        if len(live) == 1:
            s = live.pop()
            order = np.argsort(s.row, kind="stable")
            return s if not np.any(np.diff(order) != 1) else s.subset_in_order(order)
        kw = {f: np.concatenate([getattr(p, f) for p in live]) for f in _ROOF_FIELDS}
        order = np.argsort(kw["row"], kind="stable")
        kw = {f: v[order] for f, v in kw.items()}
        new_pos = np.empty(len(order), dtype=np.int64)
        new_pos[order] = np.arange(len(order))  # concatenated roof -> final roof
        first = np.cumsum(kw["n_points"]) - kw["n_points"]
        total = int(kw["n_points"].sum())
        width = live[0].horizon_q.shape[1]
        def room(shape, dtype):  # the joined store's per-point arrays, in files with ``spill_dir``
            return (spilled(shape, spill_dir, dtype, what="stored shade's horizons") if spill_dir is not None
                    else np.empty(shape, dtype=dtype))

        horizon_q = room((total, width), np.uint8)
        point_svf = room(total, np.float32)
        # The exceptions (about 40 per building: 0.56 GB at a million) are put in place roof by roof. In a tile
        # they run by point, then sector, so each roof's are one run; the run lands whole at the roof's place in
        # the run's order, which is sorted by point, then sector, as a sort of the city's exceptions would give,
        # without holding them two or three times over while sorting (that made the hourly stage's peak).
        n_exc = np.zeros(len(order), dtype=np.int64)  # per concatenated roof
        base = 0
        for p in live:
            _sort_exceptions(p)
            n_exc[base : base + len(p)] = np.bincount(_roof_of_points(p, p.exc_point), minlength=len(p))
            base += len(p)
        in_order = n_exc[order]
        first_exc = np.cumsum(in_order) - in_order  # the run's roof -> its first exception
        del in_order
        e = live[0]
        exc = [room(int(n_exc.sum()), a.dtype) for a in (e.exc_point, e.exc_sector, e.exc_value)]
        base = 0
        meta, n_sectors, sector_lo = dict(live[0].meta), live[0].n_sectors, live[0].sector_lo
        while live:
            p = live.pop(0)
            counts = p.n_points
            local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            dest = np.repeat(first[new_pos[base : base + len(p)]], counts) + local
            horizon_q[dest] = p.horizon_q
            point_svf[dest] = p.point_svf
            roof = _roof_of_points(p, p.exc_point)
            runs = n_exc[base : base + len(p)]
            at = first_exc[new_pos[base + roof]] + np.arange(len(roof)) - (np.cumsum(runs) - runs)[roof]
            exc[0][at] = dest[p.exc_point]
            exc[1][at] = p.exc_sector
            exc[2][at] = p.exc_value
            base += len(p)
            p.release_pages()  # a spilled tile store: its files go with it
            del p, dest, roof, at
            release_pages(horizon_q, point_svf, *exc)
        return ShadeStore(**kw, horizon_q=horizon_q, point_svf=point_svf, exc_point=exc[0], exc_sector=exc[1],
                          exc_value=exc[2], n_sectors=n_sectors, sector_lo=sector_lo, meta=meta)

    def subset_in_order(self, order: np.ndarray) -> ShadeStore:
        counts = self.n_points[order]
        pts = np.repeat(self.first_point[order], counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        new_index = np.empty(len(self.point_svf), dtype=np.int64)
        new_index[pts] = np.arange(len(pts))
        ep = new_index[self.exc_point]
        o = np.argsort(ep, kind="stable")
        kw = {f: getattr(self, f)[order] for f in _ROOF_FIELDS}
        return ShadeStore(**kw, horizon_q=self.horizon_q[pts], point_svf=self.point_svf[pts], exc_point=ep[o],
                          exc_sector=self.exc_sector[o], exc_value=self.exc_value[o], n_sectors=self.n_sectors,
                          sector_lo=self.sector_lo, meta=dict(self.meta))


def empty_store(n_sectors: int = 180, sector_lo: int = 0, width: int = 0) -> ShadeStore:
    z = np.zeros(0)
    return ShadeStore(row=np.zeros(0, dtype=np.int64), building_id=np.zeros(0, dtype=object),
                      subdistrict=np.zeros(0, dtype=object), category=np.zeros(0, dtype=object), tilt=z, azimuth=z,
                      capacity_kwp=z, existing_pv_kwp=z, svf=z, suitable=np.zeros(0, dtype=bool),
                      candidate=np.zeros(0, dtype=bool), n_points=np.zeros(0, dtype=np.int64),
                      plane=np.zeros(0, dtype=np.int64),
                      horizon_q=np.zeros((0, width), dtype=np.uint8), point_svf=np.zeros(0, dtype=np.float32),
                      exc_point=np.zeros(0, dtype=np.int64), exc_sector=np.zeros(0, dtype=np.int16),
                      exc_value=np.zeros(0, dtype=np.float32), n_sectors=n_sectors, sector_lo=sector_lo)


def _shared(values: np.ndarray) -> np.ndarray:
    """The same values with each distinct one a single object: a table's text column comes to numpy as one Python
    string per roof (about 55 bytes each; a million buildings' subdistricts and categories, 0.1 GB)."""
    codes, uniques = pd.factorize(values)
    out = np.asarray(uniques, dtype=object)[np.maximum(codes, 0)] if len(uniques) else values.copy()
    out[codes < 0] = values[codes < 0]  # missing values as they were
    return out


def _sort_exceptions(s: ShadeStore) -> None:
    """A store's exceptions by point, then sector (as :func:`encode_horizons` makes them; sorted if not)."""
    p, q = s.exc_point, s.exc_sector
    if len(p) > 1 and not np.all((p[1:] > p[:-1]) | ((p[1:] == p[:-1]) & (q[1:] > q[:-1]))):
        o = np.lexsort((q, p))
        s.exc_point, s.exc_sector, s.exc_value = p[o], q[o], s.exc_value[o]


def _roof_of_points(s: ShadeStore, points: np.ndarray) -> np.ndarray:
    """The store's roof (position) of each of its ``points``."""
    return np.searchsorted(s.first_point, points, side="right") - 1


def sun_sector_range(sun: Sun, hours: np.ndarray, n_sectors: int) -> tuple[int, int]:
    """First and last azimuth sector the sun visits in ``hours``, widened by :data:`SECTOR_MARGIN`."""
    if not len(hours):
        return 0, n_sectors - 1
    sector = np.minimum((np.mod(sun.azimuth[hours], 360.0) / (360.0 / n_sectors)).astype(np.int64), n_sectors - 1)
    return max(int(sector.min()) - SECTOR_MARGIN, 0), min(int(sector.max()) + SECTOR_MARGIN, n_sectors - 1)


def encode_horizons(horizon: np.ndarray, sector_lo: int, sector_hi: int, run_sector: np.ndarray,
                    run_elevation: np.ndarray, *, offset: int = 0, rows: np.ndarray | None = None):
    """uint8 horizons for sectors ``sector_lo … sector_hi`` that split every run sun position (``run_sector``,
    ``run_elevation`` [°], float32 as the visibility kernel compares them) exactly as the float32 ones do, and the
    exceptions ``(point, stored sector, exact value)`` where neither neighbouring step does. ``horizon``'s first
    column is sector ``offset`` (0: all sectors; ``sector_lo``: already cut to the stored ones); ``rows``
    (optional): the rows of ``horizon`` to encode, in this order (default all), without copying them out first.

    A point is in shade when ``elevation <= horizon``. Rounding ``h`` down to step ``q`` changes that only for a
    run elevation in ``(q, h]``, so a value whose step interval ``(q, q + 1]`` holds no run elevation of its sector
    is done at once (a 256-bin table per sector); the others are checked one by one against the run's elevations
    of their sector (sorted: three binary searches). Compiled, rows on threads; the exceptions of a row are
    found again in a second pass, once their count is known."""
    width = sector_hi - sector_lo + 1
    horizon = np.asarray(horizon)
    if horizon.dtype != np.float32 or not horizon.flags.c_contiguous:
        horizon = np.ascontiguousarray(horizon, dtype=np.float32)
    rows = np.arange(len(horizon), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    dec = np.arange(257).astype(np.float32) * HORIZON_STEP_DEG  # exactly as ShadeStore.horizons decodes
    elev = np.asarray(run_elevation, dtype=np.float32)
    rel = np.asarray(run_sector, dtype=np.int64) - sector_lo
    ok = (rel >= 0) & (rel < width)
    e_rel, e_val = rel[ok], elev[ok]
    b = np.searchsorted(dec, e_val, side="left") - 1  # dec[b] < e <= dec[b + 1]
    occupied = np.zeros((width, 257), dtype=np.bool_)
    valid = (b >= 0) & (b < 256)
    occupied[e_rel[valid], b[valid]] = True
    o = np.lexsort((e_val, e_rel))  # each stored sector's run elevations, sorted
    e_sorted = np.ascontiguousarray(e_val[o])
    e_start = np.searchsorted(e_rel[o], np.arange(width + 1)).astype(np.int64)
    col0 = sector_lo - offset
    q = np.empty((len(rows), width), dtype=np.uint8)
    n_exc = np.zeros(len(rows), dtype=np.int64)
    _encode_rows(horizon, rows, col0, dec, occupied, e_start, e_sorted, q, n_exc)
    end = np.cumsum(n_exc)
    p = np.empty(int(end[-1]) if len(end) else 0, dtype=np.int64)
    s, v = np.empty(len(p), dtype=np.int16), np.empty(len(p), dtype=np.float32)
    if len(p):
        _encode_exceptions(horizon, rows, col0, dec, occupied, e_start, e_sorted, n_exc, end - n_exc, p, s, v)
    return q, p, s, v


@numba.njit(inline="always", cache=True)
def _count_le(e, lo, hi, x):  # pragma: no cover - compiled
    """How many of the sorted e[lo:hi] are <= x (numpy's searchsorted, side='right', from lo)."""
    a, b = lo, hi
    while a < b:
        mid = (a + b) // 2
        if e[mid] <= x:
            a = mid + 1
        else:
            b = mid
    return a - lo


@numba.njit(inline="always", cache=True)
def _encode_value(h, k, dec, occupied, e_start, e_sorted):  # pragma: no cover - compiled
    """One float32 horizon value of stored sector k: its step, and whether it must be kept exactly."""
    qq = math.floor(h / HORIZON_STEP_DEG)
    qq = 0 if qq < 0 else (255 if qq > 255 else int(qq))
    if dec[qq] > h:  # the float division can land one step off: make dec[q] <= h < dec[q + 1]
        qq -= 1
    if qq < 0:  # a negative horizon (none is made): what numpy's int16 −1 stored as uint8 gives
        return 255, False
    if qq < 255 and dec[qq + 1] <= h:
        qq += 1
    if not (h > 0 and occupied[k, qq]):
        return qq, False
    lo, hi = e_start[k], e_start[k + 1]
    want = _count_le(e_sorted, lo, hi, h)  # run hours in this sector where the point is in shade
    qh = min(qq + 1, 255)
    if _count_le(e_sorted, lo, hi, dec[qq]) == want:
        return qq, False
    if _count_le(e_sorted, lo, hi, dec[qh]) == want:
        return qh, False
    return qq, True


@numba.njit(parallel=True, cache=True)
def _encode_rows(horizon, rows, col0, dec, occupied, e_start, e_sorted, q, n_exc):  # pragma: no cover - compiled
    width = q.shape[1]
    for i in numba.prange(len(rows)):
        r = rows[i]
        cnt = 0
        for k in range(width):
            qq, exact = _encode_value(horizon[r, col0 + k], k, dec, occupied, e_start, e_sorted)
            q[i, k] = qq
            cnt += exact
        n_exc[i] = cnt


@numba.njit(parallel=True, cache=True)
def _encode_exceptions(horizon, rows, col0, dec, occupied, e_start, e_sorted, n_exc, first, p, s, v):  # pragma: no cover - compiled
    width = occupied.shape[0]
    for i in numba.prange(len(rows)):
        if n_exc[i] == 0:
            continue
        r = rows[i]
        at = first[i]
        for k in range(width):
            h = horizon[r, col0 + k]
            if _encode_value(h, k, dec, occupied, e_start, e_sorted)[1]:
                p[at] = i
                s[at] = k
                v[at] = h
                at += 1


def _make_store(*, row, building_id, subdistrict, category, tilt, azimuth, capacity, existing, suitable, plane,
                rs, t, weather: Weather, sun: Sun, n_sectors: int) -> ShadeStore:
    """A store of units (flat roofs or roof planes): ``t`` is each unit's position in the shade model ``rs`` (a
    :class:`solarmap.shading.RoofShade`, or ``None`` without shading), −1 for a unit that was not shaded."""
    n = len(row)
    hours = daylight_hours(weather, sun)
    lo, hi = sun_sector_range(sun, hours, n_sectors)
    n_pts = np.zeros(n, dtype=np.int64)
    horizon = np.zeros((0, n_sectors), dtype=np.float32)  # the points' horizons: none without shading
    pts = np.zeros(0, dtype=np.int64)
    point_svf = np.zeros(0, dtype=np.float32)
    svf = np.ones(n)
    if rs is not None:
        has = t >= 0
        n_pts[has] = rs.points_per_roof[t[has]]
        starts = np.repeat(rs.first_point[t[has]], n_pts[has])
        pts = starts + np.arange(n_pts.sum()) - np.repeat(np.cumsum(n_pts[has]) - n_pts[has], n_pts[has])
        horizon = rs.horizon
        point_svf = rs._svf_points[pts].astype(np.float32)
        svf[has] = rs.sky_view(t[has])
    sector = np.minimum((np.mod(sun.azimuth[hours], 360.0) / (360.0 / n_sectors)).astype(np.int64), n_sectors - 1)
    # the points' rows, only the sectors the store keeps
    q, ep, es, ev = encode_horizons(horizon, lo, hi, sector, sun.apparent_elevation[hours], rows=pts)
    return ShadeStore(
        row=np.asarray(row, dtype=np.int64), building_id=np.asarray(building_id, dtype=object),
        subdistrict=_shared(np.asarray(subdistrict, dtype=object)), category=_shared(np.asarray(category, dtype=object)),
        tilt=np.asarray(tilt, dtype=float), azimuth=np.asarray(azimuth, dtype=float),
        capacity_kwp=np.asarray(capacity, dtype=float), existing_pv_kwp=np.asarray(existing, dtype=float),
        svf=svf, suitable=np.asarray(suitable, dtype=bool), candidate=np.zeros(n, dtype=bool), n_points=n_pts,
        plane=np.asarray(plane, dtype=np.int64), horizon_q=q, point_svf=point_svf, exc_point=ep, exc_sector=es,
        exc_value=ev, n_sectors=n_sectors, sector_lo=lo)


def _building_columns(roofs: pd.DataFrame, pos: np.ndarray) -> dict:
    ex = pd.to_numeric(roofs.get("existing_pv_kwp", pd.Series(0.0, index=roofs.index)), errors="coerce")
    return {"row": roofs.index.to_numpy()[pos],
            "building_id": roofs["building_id"].astype(str).to_numpy(dtype=object)[pos],
            "subdistrict": roofs["subdistrict"].fillna("").astype(str).to_numpy(dtype=object)[pos],
            "category": roofs["category"].fillna("other").astype(str).to_numpy(dtype=object)[pos],
            "existing": np.nan_to_num(ex.to_numpy(dtype=float)[pos], nan=0.0),
            "suitable": roofs["suitable"].fillna(False).to_numpy(dtype=bool)[pos]}


def build_store(roofs: pd.DataFrame, shade, weather: Weather, sun: Sun, *, n_sectors: int,
                exclude: np.ndarray | None = None) -> ShadeStore:
    """The store of the flat roofs with capacity of ``roofs`` (a tile or the whole run) from the yield stage's
    shade model (``None`` without shading: no points, sky-view factor 1); rows in ``exclude`` (the pitched
    roofs, stored plane by plane) are left out."""
    cap = roofs["capacity_kwp"].to_numpy(dtype=float)
    tilt = roofs["surface_tilt_deg"].to_numpy(dtype=float)
    azim = roofs["surface_azimuth_deg"].to_numpy(dtype=float)
    ok = np.isfinite(cap) & (cap > 0) & np.isfinite(tilt) & np.isfinite(azim)
    if exclude is not None:
        ok &= ~np.asarray(exclude, dtype=bool)
    pos = np.flatnonzero(ok)
    b = _building_columns(roofs, pos)
    return _make_store(**b, tilt=tilt[pos], azimuth=azim[pos], capacity=cap[pos], plane=np.zeros(len(pos)),
                       rs=None if shade is None else shade.shade, t=None if shade is None else shade.map[pos],
                       weather=weather, sun=sun, n_sectors=n_sectors)


def build_plane_store(planes: pd.DataFrame, plane_shade, roofs: pd.DataFrame, summary: pd.DataFrame,
                      weather: Weather, sun: Sun, *, n_sectors: int) -> ShadeStore:
    """The store of the roof planes a building's figures are summed over (its used planes, else the planes that
    could take modules: :func:`solarmap.planes.summarise_buildings`), with their own shade (``plane_shade``, a
    RoofShade over the planes). A plane carries its building's sets; the building's existing PV is shared over
    its planes by capacity, so that the planes' sum is the building's existing array on its own roof."""
    row = planes["row"].to_numpy(dtype=np.int64)
    used = planes["suitable"].to_numpy(dtype=bool)
    eligible = ~np.isin(planes["reason"].to_numpy(dtype=object), ["north_facing", "too_small"])
    any_used = summary["any_used"].to_numpy(dtype=bool)
    cap = np.nan_to_num(planes["capacity_kwp"].to_numpy(dtype=float))
    take = np.where(any_used[row], used, eligible) & (cap > 0)
    keep = np.flatnonzero(take)
    b_cap = np.bincount(row[keep], weights=cap[keep], minlength=len(roofs))
    b = _building_columns(roofs, row[keep])
    share = cap[keep] / np.where(b_cap[row[keep]] > 0, b_cap[row[keep]], 1.0)
    b["existing"] = b["existing"] * share
    plane_id = planes["plane_id"].to_numpy(dtype=np.int64)[keep] if "plane_id" in planes.columns else keep + 1
    return _make_store(**b, tilt=planes["surface_tilt_deg"].to_numpy(dtype=float)[keep],
                       azimuth=planes["surface_azimuth_deg"].to_numpy(dtype=float)[keep], capacity=cap[keep],
                       plane=plane_id, rs=plane_shade, t=None if plane_shade is None else keep,
                       weather=weather, sun=sun, n_sectors=n_sectors)


# -------------------------------------------------------------------------------------------- the engine


def iter_store_ac(store: ShadeStore, weather: Weather, sun: Sun, cfg: PVConfig, roofs: np.ndarray | None = None,
                  chunk_roofs: int | None = None):
    """Hourly AC power per kWp of the store's roofs (positions ``roofs``, default all) on ``weather``:
    yields ``(positions, ac)`` with ``ac`` (len(positions), len(daylight hours)) [W kWp⁻¹], chunk by chunk, with
    the same transposition, shade and PV chain as the yield stage (:func:`solarmap.solar.shaded_ac_per_kwp`)."""
    hours = daylight_hours(weather, sun)
    mask = np.zeros(len(store), dtype=bool)
    mask[np.arange(len(store)) if roofs is None else roofs] = True
    temp_air = weather.data["temp_air"].to_numpy()[hours]
    wind = weather.data["wind_speed"].to_numpy()[hours]
    sun_az, sun_el = sun.azimuth[hours], sun.apparent_elevation[hours]
    step = chunk_roofs or cfg.chunk_roofs
    for (t, a), idx in orientation_groups(store.tilt, store.azimuth, mask):
        if not len(hours):
            yield idx, np.zeros((len(idx), 0))
            continue
        plane = plane_irradiance(weather, sun, hours, t, a, cfg)
        for start in range(0, len(idx), step):
            chunk = idx[start : start + step]
            visible = store.sun_visible(chunk, sun_az, sun_el)
            store.release_pages()  # a spilled store's pages read for this chunk: not held to the end
            ac = shaded_ac_per_kwp(plane, visible, store.sky_view(chunk)[:, None], temp_air, wind, cfg)[0]
            yield chunk, ac


def set_weights(store: ShadeStore, name: str, ids: set[str] | None = None) -> np.ndarray:
    """Capacity [kWp] each store roof counts with in set ``name`` (0 when it is not in the set)."""
    if name == "potential":
        return np.where(store.suitable, store.capacity_kwp, 0.0)
    if name == "existing":
        return store.existing_pv_kwp.copy()
    if name == "candidates":
        return np.where(store.candidate, store.capacity_kwp, 0.0)
    if ids is not None:
        return np.where(np.isin(store.building_id, list(ids)), store.capacity_kwp, 0.0)
    msg = f"unknown set '{name}': use potential, existing, candidates or a file of building ids"
    raise InputDataError(msg)


def group_profiles(store: ShadeStore, weather: Weather, sun: Sun, cfg: PVConfig, weights: dict[str, np.ndarray],
                   step_h: float = 1.0, on_roofs=None) -> Profiles:
    """AC power [kW] per (subdistrict, category, set) on ``weather`` for sets given as per-roof capacities
    (``weights``: set name → kWp per store roof). Only roofs in some set are computed. ``on_roofs(positions,
    hours, ac)``, when given, sees each chunk's per-kWp power [W kWp⁻¹] (per-roof outputs)."""
    names = list(weights)
    w = np.column_stack([weights[n] for n in names]) if names else np.zeros((len(store), 0))
    code, groups = _group_codes(store.subdistrict, store.category)
    hours = daylight_hours(weather, sun)
    acc = np.zeros((len(groups) * len(names), len(hours)))
    kwp = np.zeros(len(groups) * len(names))
    need = np.flatnonzero((w > 0).any(axis=1))
    for pos, ac in iter_store_ac(store, weather, sun, cfg, roofs=need):
        if on_roofs is not None:
            on_roofs(pos, hours, ac)
        rows = code[pos][:, None] * len(names) + np.arange(len(names))[None, :]  # (c, sets)
        u, inv = np.unique(rows.ravel(), return_inverse=True)
        m = np.zeros((len(pos) * len(names), len(u)))
        m[np.arange(m.shape[0]), inv] = w[pos].ravel()
        sums = m.T @ np.repeat(ac, len(names), axis=0)
        acc[u] += sums
        kwp[u] += m.sum(axis=0)
    out = Profiles(weather.data.index, step_h=step_h)
    for g, (sub, cat) in enumerate(groups):
        for j, n in enumerate(names):
            r = g * len(names) + j
            if kwp[r] > 0:
                full = np.zeros(len(weather.data))
                full[hours] = acc[r] / 1000.0
                out.add((sub, cat, n), full, kwp[r])
    return out


def per_roof_hourly(store: ShadeStore, weather: Weather, sun: Sun, cfg: PVConfig, roofs: np.ndarray):
    """Per-roof AC power [kW] at ``capacity_kwp`` over the whole weather index, chunk by chunk: yields
    ``(positions, power)`` with ``power`` (len(positions), len(weather)) float32."""
    hours = daylight_hours(weather, sun)
    for pos, ac in iter_store_ac(store, weather, sun, cfg, roofs=roofs):
        full = np.zeros((len(pos), len(weather.data)), dtype=np.float32)
        full[:, hours] = ac * store.capacity_kwp[pos, None] / 1000.0
        yield pos, full


# ------------------------------------------------------------------------------------------ files and tables

ROOF_FILE, POINT_FILE, META_FILE = "roofs.parquet", "points.parquet", "meta.json"


def write_store(store: ShadeStore, folder: Path) -> None:
    """``folder/roofs.parquet`` (one row per roof), ``folder/points.parquet`` (one row per sample point: roof,
    sky-view factor, uint8 horizon bytes, exact exceptions as lists) and ``folder/meta.json``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(roof_frame(store)), folder / ROOF_FILE, compression="zstd")
    n = len(store.point_svf)
    table = point_table(store, 0, min(n, POINT_GROUP))
    with pq.ParquetWriter(folder / POINT_FILE, table.schema, compression="zstd") as writer:
        writer.write_table(table, row_group_size=POINT_GROUP)
        for a in range(POINT_GROUP, n, POINT_GROUP):  # a group at a time: a spilled store is read once, in order
            writer.write_table(point_table(store, a, min(n, a + POINT_GROUP)), row_group_size=POINT_GROUP)
            store.release_pages()
    (folder / META_FILE).write_text(json.dumps(store_meta(store), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def store_meta(store: ShadeStore) -> dict:
    return {**store.meta, "store_version": STORE_VERSION, "n_sectors": store.n_sectors, "sector_lo": store.sector_lo,
            "stored_sectors": int(store.horizon_q.shape[1]), "horizon_step_deg": float(HORIZON_STEP_DEG),
            "roofs": len(store), "points": len(store.point_svf), "exceptions": len(store.exc_point),
            "time_convention": TIME_CONVENTION}


def roof_frame(store: ShadeStore) -> pd.DataFrame:
    return pd.DataFrame({
        "building_id": store.building_id.astype(str), "row": store.row, "subdistrict": store.subdistrict.astype(str),
        "category": store.category.astype(str), "surface_tilt_deg": store.tilt, "surface_azimuth_deg": store.azimuth,
        "capacity_kwp": store.capacity_kwp, "existing_pv_kwp": store.existing_pv_kwp, "sky_view_factor": store.svf,
        "suitable": store.suitable, "candidate": store.candidate, "n_points": store.n_points,
        "plane": store.plane.astype(np.int32), "unit": np.arange(len(store), dtype=np.int64)})


#: sample points per row group of ``points.parquet`` (and per step of :func:`write_store`)
POINT_GROUP = 100_000


def point_table(store: ShadeStore, start: int = 0, stop: int | None = None):
    """The point rows ``start`` … ``stop`` (default all) of ``points.parquet`` as a pyarrow table."""
    import pyarrow as pa

    n, width = store.horizon_q.shape
    stop = n if stop is None else stop
    m = stop - start
    owner = np.searchsorted(np.cumsum(store.n_points), np.arange(start, stop), side="right")  # each point's roof
    units, local_owner = np.unique(owner, return_inverse=True)
    horizon = pa.FixedSizeBinaryArray.from_buffers(pa.binary(max(width, 1)), m,
                                                   [None, pa.py_buffer(np.ascontiguousarray(store.horizon_q[start:stop]))]) \
        if width else pa.array([b""] * m, type=pa.binary())
    lo, hi = np.searchsorted(store.exc_point, [start, stop])
    ep = store.exc_point[lo:hi] - start
    counts = np.bincount(ep, minlength=m) if len(ep) else np.zeros(m, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.table({
        "building_id": pa.DictionaryArray.from_arrays(pa.array(local_owner.astype(np.int32)),
                                                      pa.array(store.building_id[units].astype(str))),
        "unit": pa.array(owner.astype(np.int64)),
        "point": pa.array((np.arange(start, stop) - store.first_point[owner]).astype(np.int32)),
        "sky_view_factor": pa.array(store.point_svf[start:stop].astype(np.float32)),
        "horizon_u8": horizon,
        "exact_sectors": pa.ListArray.from_arrays(pa.array(offsets), pa.array(store.exc_sector[lo:hi].astype(np.int16))),
        "exact_deg": pa.ListArray.from_arrays(pa.array(offsets), pa.array(store.exc_value[lo:hi].astype(np.float32))),
    })


def store_from_tables(roofs: pd.DataFrame, points, meta: dict) -> ShadeStore:
    """A store from its roof frame, its point table (pyarrow) and its meta (as :func:`write_store` writes them)."""
    import pyarrow as pa

    width = int(meta["stored_sectors"])
    n = points.num_rows
    hcol = points.column("horizon_u8").combine_chunks()
    if width and n:
        if pa.types.is_fixed_size_binary(hcol.type):
            q = np.frombuffer(hcol.buffers()[1], dtype=np.uint8, count=n * width, offset=hcol.offset * width)
        else:  # a BLOB from the database: variable-size binary whose values all have the stored width
            hcol = hcol.cast(pa.large_binary())
            offsets = np.frombuffer(hcol.buffers()[1], dtype=np.int64, count=n + 1, offset=hcol.offset * 8)
            if np.any(np.diff(offsets) != width):
                msg = f"stored shade: horizon values are not {width} bytes each; the store is damaged"
                raise InputDataError(msg)
            q = np.frombuffer(hcol.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        q = q.reshape(n, width).copy()
    else:
        q = np.zeros((n, width), dtype=np.uint8)
    sec = points.column("exact_sectors").combine_chunks()
    val = points.column("exact_deg").combine_chunks()
    lens = np.asarray(sec.value_lengths().fill_null(0), dtype=np.int64)
    return ShadeStore(
        row=roofs["row"].to_numpy(dtype=np.int64), building_id=roofs["building_id"].astype(str).to_numpy(dtype=object),
        subdistrict=roofs["subdistrict"].fillna("").astype(str).to_numpy(dtype=object),
        category=roofs["category"].fillna("other").astype(str).to_numpy(dtype=object),
        tilt=roofs["surface_tilt_deg"].to_numpy(dtype=float), azimuth=roofs["surface_azimuth_deg"].to_numpy(dtype=float),
        capacity_kwp=roofs["capacity_kwp"].to_numpy(dtype=float), existing_pv_kwp=roofs["existing_pv_kwp"].to_numpy(dtype=float),
        svf=roofs["sky_view_factor"].to_numpy(dtype=float), suitable=roofs["suitable"].to_numpy(dtype=bool),
        candidate=roofs["candidate"].to_numpy(dtype=bool), n_points=roofs["n_points"].to_numpy(dtype=np.int64),
        plane=roofs["plane"].to_numpy(dtype=np.int64) if "plane" in roofs.columns else np.zeros(len(roofs), dtype=np.int64),
        horizon_q=q, point_svf=points.column("sky_view_factor").to_numpy().astype(np.float32),
        exc_point=np.repeat(np.arange(n), lens).astype(np.int64),
        exc_sector=np.asarray(sec.flatten(), dtype=np.int16), exc_value=np.asarray(val.flatten(), dtype=np.float32),
        n_sectors=int(meta["n_sectors"]), sector_lo=int(meta["sector_lo"]), meta=dict(meta))


def read_store(folder: Path) -> ShadeStore:
    import pyarrow.parquet as pq

    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    roofs = pq.read_table(folder / ROOF_FILE).to_pandas()
    return store_from_tables(roofs, pq.read_table(folder / POINT_FILE), meta)


def local_offset_index(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The index in a fixed UTC offset (``+08:00``) rather than a zone name, so files carry the offset."""
    if index.tz is None or not len(index):
        return index
    import datetime as dt

    offset = index[0].utcoffset()
    return index.tz_convert(dt.timezone(offset))


def average_day(profiles: Profiles, name: str) -> list[list[float]]:
    """Mean AC power [kW] of set ``name`` (all groups) per month (rows 1–12) and hour of day (columns 0–23)."""
    total = pd.Series(profiles.set_total(name), index=profiles.index)
    t = total.groupby([total.index.month, total.index.hour]).mean().unstack(fill_value=0.0)
    t = t.reindex(index=range(1, 13), columns=range(24), fill_value=0.0)
    return [[round(float(v), 1) for v in row] for row in t.to_numpy()]


def write_profiles(profiles: Profiles, path: Path) -> pd.DataFrame:
    """hourly.parquet: long format ``time`` (local, with offset), ``subdistrict``, ``category``, ``set``,
    ``ac_kw``. Returns the table (for the database)."""
    p = Profiles(local_offset_index(profiles.index), profiles.step_h)
    p.power_kw, p.capacity_kwp = profiles.power_kw, profiles.capacity_kwp
    table = p.table()
    table.to_parquet(path, index=False, compression="zstd")
    return table


def select_roofs(store: ShadeStore, selection: str) -> np.ndarray:
    """Store positions picked by a per-roof selection: ``all``, ``category:a,b``, ``set:potential`` (any set
    name), a file of building ids (one per line), or ids separated by commas."""
    sel = selection.strip()
    if sel == "all":
        return np.arange(len(store))
    if sel.startswith("category:"):
        cats = [c.strip() for c in sel.split(":", 1)[1].split(",") if c.strip()]
        return np.flatnonzero(np.isin(store.category.astype(str), cats))
    if sel.startswith("set:"):
        return np.flatnonzero(set_weights(store, sel.split(":", 1)[1].strip()) > 0)
    path = Path(sel)
    ids = read_id_list(path) if path.is_file() else [s.strip() for s in sel.split(",") if s.strip()]
    found = np.isin(store.building_id.astype(str), ids)
    missing = sorted(set(ids) - set(store.building_id[found].astype(str)))
    if missing and not found.any():
        msg = (f"per-roof selection {selection!r}: none of its {len(ids)} building ids is an assessed roof of the "
               f"run (first: {', '.join(missing[:5])}); use ids from roofs.csv with assessment = assessed")
        raise InputDataError(msg)
    if missing:
        shown = ", ".join(missing[:5])
        warn(f"per-roof selection: {len(missing)} ids are not assessed roofs of the run and were skipped ({shown})",
             InputDataWarning, zh=f"逐屋顶输出的选择：{len(missing)} 个编号不是本次运行已评估的屋顶，已跳过（{shown}）")
    return np.flatnonzero(found)


def read_id_list(path: Path) -> list[str]:
    """Building ids from a text file, one per line (blank lines and lines starting with # skipped)."""
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def write_roof_hourly(store: ShadeStore, weather: Weather, sun: Sun, cfg: PVConfig, roofs: np.ndarray,
                      path: Path) -> int:
    """``building_id``, ``plane`` (0 for a flat roof; a pitched roof has a row per used plane: sum over planes
    for the building), ``time``, ``ac_kw`` (float32, at the capacity it counts with) for the chosen roofs,
    written one chunk of roofs at a time (memory: one chunk × the weather's hours). Returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    times = pa.array(local_offset_index(weather.data.index))
    schema = pa.schema([("building_id", pa.string()), ("plane", pa.int16()), ("time", times.type),
                        ("ac_kw", pa.float32())])
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for pos, power in per_roof_hourly(store, weather, sun, cfg, roofs):
            n = len(weather.data)
            ids = pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.arange(len(pos)), n).astype(np.int32)),
                                                 pa.array(store.building_id[pos].astype(str))).cast(pa.string())
            t = pa.Table.from_arrays([ids, pa.array(np.repeat(store.plane[pos], n).astype(np.int16)),
                                      pa.concat_arrays([times] * len(pos)) if len(pos) else times[:0],
                                      pa.array(power.ravel())], schema=schema)
            writer.write_table(t)
            rows += t.num_rows
    return rows
