"""Load a scenario file: YAML -> overrides -> schema -> cross-checks -> asset paths.

Everything a run needs is checked here, before anything is simulated, and every problem becomes
one `ScenarioError` naming the file, the line (or the `--set` that caused it) and the key path.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import json
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from simgen.dataset.layout import scenario_sha256
from simgen.errors import ScenarioError
from simgen.scenario.assets import (BODY_SUFFIXES, TEXTURE_SUFFIXES, AssetError, asset_stem,
                                   check_texture, expand_pattern,
                                   resolve_asset,
                                   urdf_joints)
from simgen.scenario.meshes import MESH_SUFFIXES, MeshError, mesh_body
from simgen.scenario.schema import FILE_CATEGORY, MeshSpec, ScenarioSpec, asset_refs
from simgen.scenario.yamlio import KeyPath, format_key_path, parse_yaml, read_yaml


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the spec plus where it came from and its resolved asset files."""

    spec: ScenarioSpec
    source: str                      # the path as the user gave it, for messages
    file_sha256: str                 # of the file's bytes
    overrides: tuple[str, ...] = ()  # the `--set key=value` strings applied, in order
    asset_paths: Mapping[str, str] = field(default_factory=dict)  # asset ref -> absolute path
    # (section, index) -> the asset refs a body of that entry is drawn from (patterns expanded)
    asset_choices: Mapping[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)
    # robot index -> (name, type, lower, upper) of its movable joints, from the URDF
    robot_joints: Mapping[int, tuple[tuple[str, str, float, float], ...]] = field(default_factory=dict)
    base_dir: str = ""               # absolute folder relative asset references resolve against
    asset_roots: tuple[str, ...] = ()  # extra allowed asset folders (--asset-root), absolute
    # Where each key came from (file line, or the --set that set it), for errors found after
    # loading (a renderer that cannot apply a setting); not part of the scenario's identity.
    lines: Mapping[KeyPath, int] = field(default_factory=dict, compare=False, repr=False)
    origins: Mapping[KeyPath, str] = field(default_factory=dict, compare=False, repr=False)
    # mesh file asset ref -> {sha256 of the mesh, the settings it was made into a body with}:
    # recorded in the manifest (simgen.scenario.meshes); not part of the scenario's identity.
    mesh_files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def error(self, key_path: KeyPath, message: str) -> ScenarioError:
        """A ScenarioError at `key_path`, located by file line or --set."""
        return ScenarioError(self.source, *_locate(key_path, self.lines, self.origins), message)

    def resolved(self) -> dict[str, Any]:
        """The scenario as plain JSON data, every default filled in."""
        out = self.spec.model_dump(mode="json")
        if out.get("cycles") is None:  # absent, as before there was a cycles section
            out.pop("cycles", None)
        # Likewise the fields added later, at their defaults: an old scenario's sha256 stays.
        for section in ("static", "objects", "distractors"):
            for entry in out.get(section, []):
                for key in ("symmetry", "mesh", "category_map"):
                    if key in entry and not entry[key]:
                        entry.pop(key)
        if out.get("labels", {}).get("amodal_masks") is False:
            out["labels"].pop("amodal_masks")
        return out

    @cached_property
    def sha256(self) -> str:
        """sha256 of the resolved scenario (overrides included, machine paths excluded)."""
        return scenario_sha256(self.resolved())



def load(path: str | Path, overrides: Sequence[str] = (),
         asset_roots: Sequence[str | Path] = ()) -> Scenario:
    """Read, override, validate and resolve a scenario file. Raises ScenarioError.

    `path` may also be the name of a scenario shipped with simgen (`tabletop`, see
    `bundled_scenarios`), when no file of that name exists here."""
    path = _bundled(Path(path))
    name = str(path)
    data, lines = read_yaml(path, name)
    try:
        file_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:  # pragma: no cover - read_yaml already read it
        raise ScenarioError(name, None, "", f"cannot read file ({err})") from None
    if not isinstance(data, dict):
        raise ScenarioError(name, lines.get((), 1), "", "a scenario must be a mapping of keys")
    origins: dict[KeyPath, str] = {}
    for text in overrides:
        key_path, value = _parse_override(text, name)
        _apply(data, key_path, value, name, text)
        origins[key_path] = text
    return _build(data, name, file_sha256, tuple(overrides), path.parent,
                  [Path(r) for r in asset_roots], lines, origins)


BUNDLED_DIR = Path(__file__).resolve().parents[1] / "scenes"


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped inside the package (`simgen generate tabletop ...`)."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def _bundled(path: Path) -> Path:
    if len(path.parts) == 1 and path.suffix == "" and not os.path.lexists(path):
        if (BUNDLED_DIR / f"{path.name}.yaml").is_file():
            return BUNDLED_DIR / f"{path.name}.yaml"
        raise ScenarioError(str(path), None, "", "file not found, and no scenario shipped with "
                                                 f"simgen has that name ({', '.join(bundled_scenarios())})")
    return path


def load_resolved(resolved: Mapping[str, Any], base_dir: str | Path, name: str,
                  file_sha256: str = "", overrides: Sequence[str] = (),
                  asset_roots: Sequence[str | Path] = ()) -> Scenario:
    """A Scenario from its resolved form (`Scenario.resolved()`, as a dataset's manifest keeps
    it), with relative asset references resolved against `base_dir` (the folder the scenario
    file was in). Its sha256 equals the original's when the data is unchanged."""
    data = json.loads(json.dumps(resolved))  # a private copy
    return _build(data, name, file_sha256, tuple(overrides), Path(base_dir),
                  [Path(r) for r in asset_roots], {}, {})


def _build(data: dict[str, Any], name: str, file_sha256: str, overrides: tuple[str, ...],
           base_dir: Path, roots: list[Path], lines: Mapping[KeyPath, int],
           origins: Mapping[KeyPath, str]) -> Scenario:
    """Schema, cross-checks and asset resolution of scenario data."""

    def fail(key_path: KeyPath, message: str) -> ScenarioError:
        return ScenarioError(name, *_locate(key_path, lines, origins), message)

    _check_magnitudes(data, (), fail)
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as err:
        raise _to_scenario_error(err, name, lines, origins) from None
    # Again on the validated values: pydantic may have made a number of something else.
    _check_magnitudes(spec.model_dump(mode="json", exclude={"augment"}), (), fail)
    _check_placement_work(spec, fail)
    _check_focal_lengths(spec, fail)

    for index, group in enumerate(spec.objects):
        if group.category not in spec.categories and group.category != FILE_CATEGORY:
            raise fail(("objects", index, "category"),
                       f"unknown category {group.category!r}; declared: {', '.join(spec.categories)}")
    for index, rule in enumerate(spec.cycles.materials if spec.cycles else ()):
        if rule.category is not None and rule.category not in spec.categories:
            raise fail(("cycles", "materials", index, "category"),
                       f"unknown category {rule.category!r}; declared: {', '.join(spec.categories)}")
        if rule.category is not None and rule.section in ("static", "distractors"):
            raise fail(("cycles", "materials", index, "category"),
                       f"{rule.section} have no category; leave out section or category")
    if spec.augment is not None:
        _try_augment(spec, fail)
    if not spec.camera.poses and spec.camera.distance_m is None:
        raise fail(("camera", "distance_m"), "required key is missing")
    for index, robot in enumerate(spec.robots):
        if robot.category is not None and robot.category not in spec.categories:
            raise fail(("robots", index, "category"),
                       f"unknown category {robot.category!r}; declared: {', '.join(spec.categories)}")
    asset_paths: dict[str, str] = {}
    mesh_files: dict[str, dict[str, Any]] = {}
    asset_choices: dict[tuple[str, int], tuple[str, ...]] = {}

    checked: set[tuple[str, tuple[str, ...] | None]] = set()

    def resolve(ref: str, key_path: KeyPath, suffixes: Sequence[str] | None = None,
                entry: Any = None, static: bool = False) -> None:
        # Checked once per (reference, use): a body asset is no texture, and the other way.
        use = tuple(suffixes) if suffixes else None
        if (ref, use) in checked and ref not in mesh_files:   # a mesh: its settings compared
            return
        try:
            path = resolve_asset(ref, base_dir, roots, **({"suffixes": suffixes} if suffixes
                                                          else {}))
            if use == tuple(TEXTURE_SUFFIXES):
                check_texture(path)
            if path.suffix.lower() in MESH_SUFFIXES:
                options = _mesh_options(path, getattr(entry, "mesh", None))
                path, record = mesh_body(path, options, static=static)
                record = {**record, **options.model_dump(mode="json")}
                if mesh_files.get(ref, record) != record:
                    raise AssetError(f"{ref!r} is used with two different mesh settings; "
                                     "give each use the same (or copy the file)")
                mesh_files[ref] = record
            elif getattr(entry, "mesh", None) is not None:
                raise AssetError(f"mesh settings apply to mesh files ({', '.join(MESH_SUFFIXES)}"
                                 f"), not to {path.name}")
        except (AssetError, MeshError) as err:
            raise fail(key_path, f"{ref}: {err}" if isinstance(err, MeshError) else str(err)) \
                from None
        except OSError as err:
            raise fail(key_path, f"cannot read {ref!r} ({err.strerror or err})") from None
        checked.add((ref, use))
        asset_paths[ref] = str(path)

    sections = {"static": spec.static, "robots": spec.robots, "objects": spec.objects,
                "distractors": spec.distractors}
    for section, entries in sections.items():
        for index, entry in enumerate(entries):
            refs: list[str] = []
            for ref in asset_refs(entry.asset):
                try:
                    refs += expand_pattern(ref, base_dir)
                except AssetError as err:
                    raise fail((section, index, "asset"), str(err)) from None
            if not refs:
                raise fail((section, index, "asset"), "needs at least one asset")
            for ref in refs:
                # A robot is a URDF (its joints); any other body may be a mesh file.
                resolve(ref, (section, index, "asset"), BODY_SUFFIXES + (
                    MESH_SUFFIXES if section != "robots" else ()),
                        entry=entry, static=section == "static")
                if section == "objects" and entry.category == FILE_CATEGORY:
                    category = entry.category_of(asset_stem(ref))
                    if category not in spec.categories:
                        raise fail((section, index, "category"),
                                   f"category {{file}}: {ref!r} is category {category!r}, "
                                   f"which is not declared: {', '.join(spec.categories)}")
            if section == "objects" and entry.category_map and entry.category != FILE_CATEGORY:
                raise fail((section, index, "category_map"),
                           'category_map applies with category: "{file}" only')
            asset_choices[(section, index)] = tuple(refs)
            for t_index, texture in enumerate(entry.appearance.textures):
                resolve(texture, (section, index, "appearance", "textures", t_index), TEXTURE_SUFFIXES)
            if section != "static" and any(asset_paths[r].endswith(".sdf") for r in refs):
                raise fail((section, index, "asset"), "SDF files are for static bodies only")
    robot_joints = {}
    for index, robot in enumerate(spec.robots):
        try:
            joints = tuple(urdf_joints(Path(asset_paths[robot.asset])))
        except AssetError as err:
            raise fail(("robots", index, "asset"), str(err)) from None
        limits = {j[0]: (j[2], j[3]) for j in joints}
        for joint_name, value in robot.joints.items():
            if joint_name not in limits:
                raise fail(("robots", index, "joints", joint_name),
                           f"no movable joint {joint_name!r} in {robot.asset}; joints: "
                           f"{', '.join(limits)}")
            low, high = value.support()
            lower, upper = limits[joint_name]
            if low < lower - 1e-9 or high > upper + 1e-9:
                raise fail(("robots", index, "joints", joint_name),
                           f"must stay within the joint limits [{lower:g}, {upper:g}] "
                           f"(got {value.to_spec()!r})")
        for g_index, joint_name in enumerate(robot.gripper_joints):
            if joint_name not in limits:
                raise fail(("robots", index, "gripper_joints", g_index),
                           f"no movable joint {joint_name!r} in {robot.asset}")
        robot_joints[index] = joints
    return Scenario(spec, name, file_sha256, overrides, asset_paths, asset_choices,
                    robot_joints, str(base_dir.resolve()), tuple(str(r.resolve()) for r in roots),
                    dict(lines), dict(origins), mesh_files)


# No length (m), angle (deg), count or factor of a scene comes near this; 1e308 and its like,
# finite but beyond it, overflowed to inf mid-run (a uniform range of width 2e308 is inf).
MAX_MAGNITUDE = 1e6


def _check_magnitudes(data: Any, path: KeyPath, fail: Any) -> None:
    """Refuse any number beyond +-MAX_MAGNITUDE (augment is albumentations' own, checked by
    it)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not (path == () and key == "augment"):
                _check_magnitudes(value, path + (key,), fail)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _check_magnitudes(value, path + (index,), fail)
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        try:
            beyond = abs(data) > MAX_MAGNITUDE
        except OverflowError:   # pragma: no cover - YAML ints are bounded by yamlio
            beyond = True
        if beyond:
            raise fail(path, f"{data!r} is beyond +-{MAX_MAGNITUDE:g}, larger than any length, "
                             "angle, count or factor a scene needs")


# Placement draws placement.max_tries candidate poses per object up front and tries them in
# turn: 20 groups of 200 objects with max_tries 1000 (4 million candidates) ran past 300 s for
# one image. 400 objects x 1000 tries take 7 s here; these bounds keep a scene to seconds.
MAX_BODIES = 1000
MAX_PLACEMENT_CANDIDATES = 200_000


def _check_placement_work(spec: ScenarioSpec, fail: Any) -> None:
    groups = [("objects", i, g) for i, g in enumerate(spec.objects)]
    groups += [("distractors", i, g) for i, g in enumerate(spec.distractors)]
    bodies = sum(int(g.count.support()[1]) for _, _, g in groups) + len(spec.robots)
    if bodies > MAX_BODIES:
        raise fail(("objects",), f"a scene may hold up to {bodies} bodies (the largest counts "
                                 f"of every group, robots included); at most {MAX_BODIES}")
    tries = spec.placement.max_tries
    if bodies * tries > MAX_PLACEMENT_CANDIDATES:
        raise fail(("placement", "max_tries"),
                   f"{bodies} bodies x {tries} tries is {bodies * tries} candidate poses per "
                   f"scene; at most {MAX_PLACEMENT_CANDIDATES} (fewer tries, or fewer objects)")


def _check_focal_lengths(spec: ScenarioSpec, fail: Any) -> None:
    """fx, fy (pixels) give a field of view with the image size: between 1 and 179 degrees, as
    fov_deg must be (fx 1e5 on a 640 px image made every image a blur of one colour)."""
    import math

    for key, focal, side in (("fx", spec.camera.fx, spec.image.width),
                             ("fy", spec.camera.fy, spec.image.height)):
        if focal is None:
            continue
        low, high = focal.support()
        narrow = math.degrees(2 * math.atan(side / (2 * high)))
        wide = math.degrees(2 * math.atan(side / (2 * low)))
        if narrow < 1.0 or wide > 179.0:
            raise fail(("camera", key), f"with an image {side} px across, {focal.to_spec()!r} "
                                        f"gives a field of view of {narrow:.3g} to {wide:.3g} "
                                        "degrees; it must stay between 1 and 179")


def _try_augment(spec: ScenarioSpec, fail: Any) -> None:
    """Apply the pipeline once to a blank image of the scenario's size: a crop larger than the
    image, say, is an error now rather than mid-run."""
    import numpy as np

    from simgen.augment import Augmenter

    height, width = spec.image.height, spec.image.width
    try:
        Augmenter(spec.augment.pipeline).apply(np.zeros((height, width, 3), np.uint8),
                                               np.zeros((height, width), np.int32),
                                               np.zeros((0, 2)), seed=0)
    except Exception as err:  # whatever albumentations raises, it is this pipeline at this size
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise fail(("augment", "pipeline"),
                   f"cannot be applied to {width}x{height} images: {message}") from None


# --- overrides ---------------------------------------------------------------------------------

def _parse_override(text: str, name: str) -> tuple[KeyPath, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(name, None, "", f"--set expects key.path=value (got {text!r})")
    parts: list[str | int] = []
    for token in key.strip().replace("[", ".").replace("]", "").split("."):
        if not token:
            raise ScenarioError(name, None, "", f"--set: bad key path {key!r}")
        parts.append(int(token) if token.isdigit() else token)
    try:
        value, _ = parse_yaml(raw, "") if raw.strip() else (None, {})
    except ScenarioError as err:
        raise ScenarioError(name, None, f"{format_key_path(tuple(parts))} (from --set {text!r})",
                            err.message) from None
    return tuple(parts), value


def _apply(data: Any, key_path: KeyPath, value: Any, name: str, text: str) -> None:
    node = data
    for depth, part in enumerate(key_path):
        last = depth == len(key_path) - 1
        where = format_key_path(key_path[: depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                raise ScenarioError(name, None, where, f"--set {text!r}: no such list item")
        elif not isinstance(node, dict):
            raise ScenarioError(name, None, where, f"--set {text!r}: not a mapping here")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]


# --- error mapping -----------------------------------------------------------------------------

def _locate(key_path: KeyPath, lines: Mapping[KeyPath, int],
            origins: Mapping[KeyPath, str]) -> tuple[int | None, str]:
    """(line, key path text) for an error at key_path; `--set` origins win over file lines."""
    prefixes = [key_path[:cut] for cut in range(len(key_path), -1, -1)]
    for prefix in prefixes:
        if prefix in origins:
            return None, f"{format_key_path(key_path)} (from --set {origins[prefix]!r})"
    for prefix in prefixes:
        if prefix in lines:
            return lines[prefix], format_key_path(key_path)
    return None, format_key_path(key_path)


def _to_scenario_error(err: ValidationError, name: str, lines: Mapping[KeyPath, int],
                       origins: Mapping[KeyPath, str]) -> ScenarioError:
    # One error is reported: one clear line beats a wall of follow-on errors. An unknown key
    # goes first, since a misspelled required key also shows up as that key "missing".
    errors = err.errors(include_url=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key_path = tuple(p for p in first["loc"] if isinstance(p, (str, int)))
    kind, message = first["type"], first["msg"]
    if message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    if kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(key_path[:-1])
        guess = difflib.get_close_matches(str(key_path[-1]), allowed, n=1)
        message = "unknown key" + (f" (did you mean {guess[0]!r}?)" if guess else "")
        if allowed:
            message += f"; expected one of: {', '.join(allowed)}"
    else:
        message = message[0].lower() + message[1:]
        if "(got " not in message and "input" in first:
            message += f" (got {first['input']!r})"
    line, where = _locate(key_path, lines, origins)
    return ScenarioError(name, line, where, message)


def _allowed_keys(key_path: KeyPath) -> list[str]:
    """The keys the model at key_path accepts (best effort, for 'did you mean')."""
    annotation: Any = ScenarioSpec
    for part in key_path:
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return []
    annotation = _unwrap(annotation, None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any, part: str | int | None) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else None
        elif origin in (list, tuple) and isinstance(part, int):
            args = typing.get_args(annotation)
            return args[0] if origin is list or len(args) == 1 else args[min(part, len(args) - 1)]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
            field = annotation.model_fields.get(part)
            return field.annotation if field else None
        else:
            return annotation


def _mesh_options(path: Path, given: MeshSpec | None) -> MeshSpec:
    """A mesh's settings: `<mesh file>.yaml` beside it (when there is one), with the keys the
    scenario gives on top."""
    import stat

    sidecar = path.with_name(path.name + ".yaml")
    values: dict[str, Any] = {}
    if sidecar.exists() or sidecar.is_symlink():
        # Untrusted like the mesh: a regular file, in the mesh's own folder (links followed).
        if (not sidecar.resolve().is_relative_to(path.parent.resolve())
                or not stat.S_ISREG(sidecar.stat().st_mode)):
            raise AssetError(f"{sidecar.name} is not a regular file beside the mesh")
        if sidecar.stat().st_size > 64 * 1024:
            raise AssetError(f"{sidecar.name} is larger than 64 KiB")
        data, _ = parse_yaml(sidecar.read_text(), str(sidecar))
        if not isinstance(data, dict):
            raise AssetError(f"{sidecar.name} must be a mapping of mesh settings")
        values.update(data)
    if given is not None:
        values.update({k: getattr(given, k) for k in given.model_fields_set})
    try:
        return MeshSpec.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AssetError(f"{sidecar.name}: {where}: {first['msg']}") from None
