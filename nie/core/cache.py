"""An on-disk cache of computed float32 arrays (features, pre-trained embeddings)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from nie.core.io import atomic_path


def cached_array(
    cache_dir: str | Path,
    kind: str,
    key: dict[str, Any],
    shape: tuple[int, ...],
    build: Callable[[], npt.ArrayLike],
) -> npt.NDArray[np.float32]:
    """Load ``kind`` for ``key`` from the cache or build and store it (atomically).

    A cached file whose shape or dtype does not match is rebuilt, never used.
    """
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"{kind}-{name}.npy"
    if path.is_file():
        try:
            array: npt.NDArray[np.float32] = np.load(path, allow_pickle=False)
            if array.shape == shape and array.dtype == np.float32 and np.isfinite(array).all():
                return array
        except (OSError, ValueError):
            pass
    array = np.asarray(build(), dtype=np.float32)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)
    return array
