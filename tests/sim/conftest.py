"""Physics-world tests: placement, robots, randomizers and physics facts.

Shared helpers: a tiny scenario written into a test's folder, drawn and settled in a World.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

import simgen
from simgen.scenario.sample import SceneSample, sample

# A small image and a camera looking down at the table top; prepended by `scenario_text`.
HEADER = """\
name: {name}
image: {{width: 96, height: 72}}
"""
CAMERA = """\
camera: {fov_deg: 60, look_at: [0, 0, 0.65], distance_m: 1.6, azimuth_deg: 0, elevation_deg: 60}
"""
PLANE = '  - {asset: "pybullet:plane.urdf", name: floor}\n'
TABLE = '  - {asset: "pybullet:table/table.urdf", name: table}\n'
TABLE_TOP_Z_M = 0.626   # pybullet_data's table/table.urdf
PANDA = "pybullet:franka_panda/panda.urdf"


def write_scenario(folder: Path, body: str, name: str = "simtest", camera: str = CAMERA) -> Path:
    """Write HEADER + body (dedented) + camera (unless body has its own) to folder/name.yaml."""
    text = HEADER.format(name=name) + textwrap.dedent(body)
    if "\ncamera:" not in "\n" + textwrap.dedent(body):
        text += camera
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def load(folder: Path, body: str, name: str = "simtest", overrides=()) -> "simgen.scenario.Scenario":
    return simgen.load_scenario(write_scenario(folder, body, name), list(overrides))


def draw(scenario, seed: int, scene_index: int = 0) -> SceneSample:
    """The scene sample, drawn as the brief's tests do: SeedSequence([seed, scene_index])."""
    return sample(scenario, np.random.SeedSequence([seed, scene_index]))


def robot_uid(world) -> int:
    """Body id of the (single) robot in the world's last scene."""
    uids = [uid for uid, name in world._names.items() if name.startswith("robot:")]
    assert len(uids) == 1, world._names
    return uids[0]


def all_bodies(world) -> list[int]:
    p = world.p
    return [p.getBodyUniqueId(i, physicsClientId=world.client)
            for i in range(p.getNumBodies(physicsClientId=world.client))]


def deepest_overlap_m(world, a: int, b: int) -> float:
    """Largest penetration between bodies a and b (0 when apart), from closest points."""
    points = world.p.getClosestPoints(a, b, 0.0, physicsClientId=world.client)
    return max([0.0] + [-pt[8] for pt in points])


def lowest_z(world, uid: int) -> float:
    lo, _ = world.body_aabb(uid)
    return float(lo[2])
