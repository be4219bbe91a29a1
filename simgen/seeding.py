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


def scene_streams(seed: int, scene_index: int) -> SceneStreams:
    if seed < 0 or scene_index < 0:
        raise ValueError(f"seed and scene_index must be >= 0 (got {seed}, {scene_index})")
    sampling, split, views = np.random.SeedSequence([seed, scene_index]).spawn(3)
    return SceneStreams(sampling, split, views)


def generator(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


def scene_split(splits: Any, seed: int, scene_index: int) -> str:
    """The split a scene lands in: a pure function of (seed, scene_index) and the scenario's
    split fractions (`splits.train`, `splits.val`; test takes the rest). Here, not in
    simgen.scene, so that `verify` can redraw it without importing the renderer's stack."""
    u = generator(scene_streams(seed, scene_index).split).random()
    if u < splits.train:
        return "train"
    return "val" if u < splits.train + splits.val else "test"
