"""What only the Cycles renderer draws: its world, lights, materials, exposure and noise seeds.

Drawn from the scene's own `look` stream (simgen.seeding), after and apart from everything else,
so a scenario's `cycles` section never moves a body, a camera or a split: the same scene under
tiny, EGL and Cycles has the same bodies and labels. Pure NumPy, like the rest of sampling.

The look is plain JSON data: it is what the Blender child builds, and what provenance records.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simgen.scenario.schema import CyclesSpec
from simgen.scenario.streams import RngStream
from simgen.seeding import generator

SECTIONS = ("static", "robots", "objects", "distractors")
SPECULAR_PER_PYBULLET_SPECULAR = 10.0


def draw_look(spec: CyclesSpec | None, sample: Any, categories: list[str],
              stream: np.random.SeedSequence) -> dict[str, Any]:
    """The scene's look under Cycles. `sample` is its SceneSample; `categories` the scenario's
    category names (material rules may name one)."""
    spec = spec if spec is not None else CyclesSpec()
    rng = generator(stream)
    st = RngStream(rng)
    light = sample.light
    seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, size=len(sample.views))]
    exposure = float(spec.exposure.draw(st))
    sun_strength = (float(spec.sun.strength.draw(st)) if spec.sun.strength is not None
                    else math.pi * light.diffuse)
    lights = [{"type": "SUN", "color": list(light.color), "strength": sun_strength,
               "angle_deg": float(spec.sun.angle_deg.draw(st)), "shadows": bool(light.shadows),
               "direction": list(light.direction)}]
    if spec.sky is not None:
        sky = spec.sky
        world = {"strength": float(sky.strength.draw(st)),
                 "sky": {"sun_elevation_deg": float(sky.sun_elevation_deg.draw(st)),
                         "sun_rotation_deg": float(sky.sun_rotation_deg.draw(st)),
                         "air": float(sky.air.draw(st)), "dust": float(sky.dust.draw(st))}}
    else:
        world = {"strength": 1.0, "color": [light.ambient * c for c in light.color]}
    for lamp in spec.lights:
        for _ in range(int(lamp.count.draw(st))):
            lights.append({"type": lamp.type.upper(),
                           "position": [float(d.draw(st)) for d in lamp.position],
                           "look_at": list(lamp.look_at),
                           "power_w": float(lamp.power_w.draw(st)),
                           "size_m": float(lamp.size_m.draw(st)),
                           "color": [float(d.draw(st)) for d in lamp.color],
                           "shadows": True})
    # A body no rule selects shines as `light.specular` says: PyBullet's default 0.05 is the
    # Principled BSDF's default specular level 0.5 (IOR 1.5), and it scales from there.
    plain = {"roughness": 0.5, "metallic": 0.0,
             "specular": min(1.0, SPECULAR_PER_PYBULLET_SPECULAR * light.specular)}
    materials: dict[str, list] = {}
    for section in SECTIONS:
        materials[section] = [_material(spec, section, body, categories, st) or dict(plain)
                              for body in getattr(sample, section)]
    return {"exposure": exposure, "world": world, "lights": lights, "materials": materials,
            "seeds": seeds}


def _material(spec: CyclesSpec, section: str, body: Any, categories: list[str],
              st: RngStream) -> dict[str, float] | None:
    """The first rule's draw for `body`, or None when no rule selects it."""
    for rule in spec.materials:
        if rule.section not in (None, section):
            continue
        if rule.category is not None and (
                not body.category_id or categories[body.category_id - 1] != rule.category):
            continue
        return {"roughness": float(rule.roughness.draw(st)),
                "metallic": float(rule.metallic.draw(st)),
                "specular": float(rule.specular.draw(st))}
    return None
