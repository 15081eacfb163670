"""Arrays kept on disk: a city's per-point and per-wall arrays in unnamed temporary files, memory-mapped.

A tiled run keeps, for the whole city until the outputs are written, the stored shade (per sample point its
uint8 horizons, sky-view factor and exact exceptions) and the facades' and roofs' numbers. Kept in memory they
are what a million-building run's resident set grows by, tile after tile. Here they live in files: their pages
are the operating system's file cache, which :func:`release_pages` gives back once they are written or read
(and which the system can drop under pressure, writing them back first), so what stays resident is what is
being worked on. The values are the same bytes as in memory; only where they are kept differs.

Each file has no name from the start (unlinked on creation): it goes with its array, even when the process is
killed, and a folder it was made in holds nothing by name.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

from solarmap.errors import OutputError


def spilled(shape: tuple[int, ...] | int, folder: str | Path, dtype=np.uint8, *, what: str = "arrays") -> np.ndarray:
    """A zeroed array of ``shape`` and ``dtype`` kept in an unnamed temporary file in ``folder``, memory-mapped.
    The room is taken at once (``posix_fallocate``): a full disk is an :class:`OutputError` naming the folder
    here, not a crash on a later write. ``what`` names the contents in that message."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    n = max(count * dtype.itemsize, 1)
    try:
        with tempfile.TemporaryFile(dir=folder) as fh:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fh.fileno(), 0, n)
            else:
                fh.truncate(n)
            mm = mmap.mmap(fh.fileno(), n)  # the mapping keeps the file alive after its descriptor is closed
    except OSError as exc:
        msg = (f"cannot keep the {what} ({n / 1e6:,.0f} MB) in a temporary file in {folder}: "
               f"{exc.strerror or exc}. Free space there, or choose another output folder with --out DIR")
        raise OutputError(msg) from None
    return np.frombuffer(mm, dtype=dtype, count=count).reshape(shape)


def spilled_copy(arr: np.ndarray, folder: str | Path, *, what: str = "arrays") -> np.ndarray:
    """``arr`` (numeric, any shape) copied into a :func:`spilled` array in ``folder``, its pages released."""
    out = spilled(arr.shape, folder, arr.dtype, what=what)
    out[...] = arr
    release_pages(out)
    return out


def spillable(arr) -> bool:
    """Whether ``arr`` is a numpy array of plain numbers or flags (no objects, no strings), so it can be spilled."""
    return isinstance(arr, np.ndarray) and arr.dtype.kind in "biuf" and arr.dtype.isnative


def spill_file(arr) -> mmap.mmap | None:
    """The mapping behind a :func:`spilled` array or a view of one; None for an array in memory."""
    base = arr
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return base


def release_pages(*arrays) -> None:
    """Drop the resident pages of :func:`spilled` arrays from this process (their contents stay in the file and
    are read back on use; on a system without ``madvise`` they stay until the array goes); nothing for an array
    in memory."""
    for arr in arrays:
        mm = spill_file(arr)
        if mm is not None and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED)
