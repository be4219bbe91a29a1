"""What every renderer returns, and the error of one that cannot start here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgen.scenario.sample import CameraSample


class RendererUnavailable(RuntimeError):
    """The requested renderer cannot start on this machine."""


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray           # uint8, H x W x 3
    depth_m: np.ndarray       # float32, H x W, distance along the optical axis
    instance_map: np.ndarray  # int32, H x W; 0 = nothing labeled, i = object i - 1
    camera: CameraSample
