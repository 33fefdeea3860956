"""The pixel index on disk (``resources/index/{grid}.npz``): saved and loaded with numpy
alone, so the listing jobs, which weigh a window read against a download by the blocks
the index needs, run without the geometry libraries (:mod:`sezlights.index` builds it)."""

from __future__ import annotations

import numpy as np

from .atomic import atomic_path


def save(index: dict, dest) -> None:
    """The index as ``.npz``, atomically."""
    with atomic_path(dest, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **index)


def load(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
