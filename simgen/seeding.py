"""Every random stream derives from (seed, scene_index), never from global state or call order.

`scene_streams` spawns the children of `SeedSequence([seed, scene_index])` in a fixed order;
adding a new stream appends a child, so existing streams (and the data they make) do not move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SceneStreams:
    sampling: np.random.SeedSequence  # what the scene contains and where the cameras are
    split: np.random.SeedSequence     # which split the scene lands in
    views: np.random.SeedSequence     # per-view streams (augmentation)
    look: np.random.SeedSequence      # what only Cycles draws: its lights, materials, noise seeds


def scene_streams(seed: int, scene_index: int) -> SceneStreams:
    if seed < 0 or scene_index < 0:
        raise ValueError(f"seed and scene_index must be >= 0 (got {seed}, {scene_index})")
    sampling, split, views, look = np.random.SeedSequence([seed, scene_index]).spawn(4)
    return SceneStreams(sampling, split, views, look)


def generator(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


SPLITS = ("train", "val", "test")
# The stream key of the split assignment (a fixed child of the seed, apart from every scene's).
_SPLIT_KEY = 0x5917


def split_counts(splits: Any, scenes: int) -> dict[str, int]:
    """How many of `scenes` scenes each split gets: the requested fractions rounded by largest
    remainder (ties to the earlier split), then every split asked for (fraction > 0) given at
    least one scene while the largest can spare one. `-n 20` of 4-view scenes (5 scenes) at
    0.8/0.1/0.1 is 3/1/1, not 5/0/0."""
    fractions = [float(getattr(splits, name)) for name in SPLITS]
    exact = [f * scenes for f in fractions]
    counts = [int(e) for e in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[:scenes - sum(counts)]:
        counts[i] += 1
    for i in range(3):
        if fractions[i] > 0 and counts[i] == 0:
            largest = max(range(3), key=lambda j: (counts[j], -j))
            if counts[largest] > 1:
                counts[largest] -= 1
                counts[i] += 1
    return dict(zip(SPLITS, counts))


def scene_split(splits: Any, seed: int, scene_index: int, scenes: int) -> str:
    """The split scene `scene_index` of a run of `scenes` scenes lands in: a pure function of
    the split fractions, seed, scene index and scene count, with exactly `split_counts` scenes
    per split. The scenes are ranked by a seeded affine permutation of 0..scenes-1 (rank =
    (a * index + b) mod scenes, a coprime with scenes), which costs O(1) per scene however long
    the run, and the first ranks go to train, then val, then test. Here, not in simgen.scene,
    so that `verify` can redraw it without importing the renderer's stack."""
    import math

    if not 0 <= scene_index < scenes:
        raise ValueError(f"scene_index must be in 0..{scenes - 1} (got {scene_index})")
    rng = generator(np.random.SeedSequence([seed, _SPLIT_KEY]))
    a, b = (int(v) for v in rng.integers(0, 2**62, size=2))
    a = a % scenes or 1
    while math.gcd(a, scenes) != 1:
        a = a % (scenes - 1) + 1
    rank = (a * scene_index + b) % scenes
    counts = split_counts(splits, scenes)
    if rank < counts["train"]:
        return "train"
    return "val" if rank < counts["train"] + counts["val"] else "test"
