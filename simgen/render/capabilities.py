"""What each renderer can apply, checked against a scenario before anything is rendered.

TinyRenderer applies every appearance and light setting a scenario can hold. PyBullet's EGL
plugin does not, and says nothing (read in its source, pybullet 3.2.x, and measured):

- Light: its shader (useShadowMapInstancingPS) shades with fixed coefficients and a white light;
  of getCameraImage's light arguments it uses the direction only. lightColor, lightDistance,
  lightAmbientCoeff, lightDiffuseCoeff, lightSpecularCoeff and shadow=0 change no pixel, and
  no other call of the plugin reaches those coefficients. So EGL takes `light.direction`, always
  draws shadows, and refuses the other light keys.
- Textures: the plugin sets a texture on the renderer's *shape* whose index equals the link's
  graphics *instance* id. Those match only while no mesh has been shared: the plugin draws two
  bodies of one mesh file as one shape, after which every later instance id points at another
  body's shape (and a texture set on a shared shape would dress both bodies). The static bodies
  are loaded first, so a texture is exact on EGL on a static body when no static body up to it
  repeats another's asset; textures elsewhere are refused. (The texture index itself is
  another plugin fault, handled in simgen.sim.world: see `World.texture_slots`.)

A refusal is a ScenarioError naming the file, line and key: `--renderer egl` fails at load,
and `--renderer auto` picks tiny and says why.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

# Keys of `light` the EGL renderer cannot apply: any value but the default is refused.
EGL_UNAPPLIED_LIGHT_KEYS = ("color", "distance_m", "ambient", "diffuse", "specular")


def _light_and_default(spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario's light and the default light, as JSON data. Compared with the defaults
    rather than asking which keys the file set: a scenario read back from a manifest has every
    default written out."""
    return spec.light.model_dump(mode="json"), type(spec.light)().model_dump(mode="json")


def egl_refusal(scenario: Any) -> Exception | None:
    """The first setting of `scenario` that the EGL renderer cannot apply, as a ScenarioError
    (None when EGL renders the scenario exactly as it is recorded)."""
    spec = scenario.spec
    light, default = _light_and_default(spec)
    for key in EGL_UNAPPLIED_LIGHT_KEYS:
        if light[key] != default[key]:
            return scenario.error(("light", key), "the egl renderer cannot apply this (it shades "
                                  "with fixed coefficients and a white light); leave it out, "
                                  "or use --renderer tiny")
    if light["shadows"] is not True:
        return scenario.error(("light", "shadows"), "the egl renderer always draws shadows; "
                              "leave it out, or use --renderer tiny")
    for section in ("robots", "objects", "distractors"):
        for index, entry in enumerate(getattr(spec, section)):
            if entry.appearance.textures:
                return scenario.error((section, index, "appearance", "textures"),
                                      "the egl renderer applies textures to static bodies only "
                                      "(it draws bodies of one mesh as one shape); use "
                                      "--renderer tiny")
    # URDF bodies of one mesh at two scales load under two names on EGL (simgen.render.egl_meshes);
    # an SDF loads as it is, so two static bodies of one SDF file must have one fixed scale.
    sdf_scale: dict[str, float | None] = {}   # SDF file -> its first entry's scale (None: drawn)
    for index, entry in enumerate(spec.static):
        low, high = entry.scale.support()
        fixed = low if low == high else None
        for ref in scenario.asset_choices.get(("static", index), ()):
            path = scenario.asset_paths.get(ref, "")
            if not path.endswith(".sdf"):
                continue
            if path in sdf_scale and (fixed is None or sdf_scale[path] != fixed):
                return scenario.error(("static", index, "scale"),
                                      "the egl renderer draws every body of an SDF file at one "
                                      "scale (it draws bodies of one mesh as one shape); give "
                                      "them one fixed scale, or use --renderer tiny")
            sdf_scale.setdefault(path, fixed)
    seen: set[str] = set()
    repeated = False
    for index, entry in enumerate(spec.static):
        refs = set(scenario.asset_choices.get(("static", index), ()))
        repeated = repeated or bool(refs & seen)
        seen |= refs
        if entry.appearance.textures and repeated:
            return scenario.error(("static", index, "appearance", "textures"),
                                  "the egl renderer applies a texture to a static body only when "
                                  "no static body up to it repeats an asset (it draws bodies of "
                                  "one mesh as one shape); use --renderer tiny")
    return None


# Keys of `light` Cycles has no use for. (ambient, diffuse and specular it applies: a world of
# radiance `ambient`, a sun of strength pi * `diffuse`, a specular level of 10 * `specular` on
# the surfaces no cycles.materials rule dresses: see simgen.scenario.look.)
CYCLES_UNAPPLIED_LIGHT_KEYS = {"distance_m": "a sun has no distance; it is where TinyRenderer "
                                             "puts its shadow map"}


def cycles_refusal(scenario: Any) -> Exception | None:
    """The first setting of `scenario` that the cycles renderer cannot apply, as a ScenarioError
    (None when Cycles renders the scenario as it is recorded)."""
    spec = scenario.spec
    light, default = _light_and_default(spec)
    for key, why in CYCLES_UNAPPLIED_LIGHT_KEYS.items():
        if light[key] != default[key]:
            return scenario.error(("light", key), f"the cycles renderer cannot apply this ({why});"
                                  " leave it out, or use --renderer tiny")
    cycles = spec.cycles
    if cycles is not None and cycles.sky is not None and light["ambient"] != default["ambient"]:
        return scenario.error(("light", "ambient"), "cycles.sky lights the scene in place of "
                              "light.ambient; leave one of them out")
    if (cycles is not None and cycles.sun.strength is not None
            and light["diffuse"] != default["diffuse"]):
        return scenario.error(("light", "diffuse"), "cycles.sun.strength sets the sun in place "
                              "of light.diffuse; leave one of them out")
    return None


def egl_texture_files(scenario: Any) -> tuple[str, ...]:
    """The texture files static bodies may draw, in a fixed order (first use in the file)."""
    files: list[str] = []
    for entry in scenario.spec.static:
        for ref in entry.appearance.textures:
            path = scenario.asset_paths[ref]
            if path not in files:
                files.append(path)
    return tuple(files)


def egl_models(scenario: Any) -> list[str]:
    """Every model file a body of `scenario` may be loaded from, in file order (the URDFs whose
    mesh textures EGL loads once per client: simgen.render.egl_textures)."""
    paths: list[str] = []
    for section in ("static", "robots", "objects", "distractors"):
        for index in range(len(getattr(scenario.spec, section))):
            for ref in scenario.asset_choices.get((section, index), ()):
                path = scenario.asset_paths.get(ref)
                if path is not None and path not in paths:
                    paths.append(path)
    return paths


def applied_light(renderer: str, light: Any) -> dict[str, Any]:
    """The light as `renderer` applies it: what provenance records."""
    if renderer == "egl":
        return {"direction": light.direction, "shadows": True}
    if renderer == "cycles":  # ambient and diffuse as applied are in the look (world, sun)
        return {"direction": light.direction, "color": light.color, "shadows": light.shadows}
    return asdict(light)
