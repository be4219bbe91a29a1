"""Re-make stored images from their provenance and compare them with what is on disk.

Everything comes from the dataset folder itself: the manifest keeps the resolved scenario (and
the folder its relative asset references resolve against), the seed, the renderer and the image
format; an image's provenance gives its scene and view, and its id gives the augmented variant.
The scene is then run again in-process (`simgen.scene.run_scene`, only the wanted views), and the
re-made image file, COCO image entry and annotations are compared with the stored ones: file
bytes exactly, entries as JSON values, annotation ids numbered on from the stored first one the
way finalize numbers them (`output.dataset.coco_entries`).

`simgen regen` re-makes one image; `simgen verify --reproduce K` re-makes K, each scene settled
once for all of its chosen images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from simgen.dataset.layout import MANIFEST, SIDE_FILES, image_path, scenario_sha256
from simgen.dataset.reader import StoredImage, inside, read_manifest, read_stored
from simgen.errors import SimgenError

MAX_SCENARIO_BYTES = 16 * 1024**2   # a scenario file is text: anything bigger is not one

@dataclass(frozen=True)
class RegenResult:
    """The outcome of re-making one image."""

    image_id: int
    file: str                     # the stored image file, relative to OUT
    identical: bool
    differences: list[str]        # one line each; empty when identical
    image_bytes: bytes | None     # the re-made image file (None when it could not be re-made)
    annotations: int = 0          # annotations compared
    notes: list[str] = field(default_factory=list)  # what differs in the environment, if anything

    def to_json(self) -> dict[str, Any]:
        return {"image_id": self.image_id, "file": self.file, "identical": self.identical,
                "differences": self.differences, "annotations": self.annotations,
                "notes": self.notes}


def regenerate(out: str | Path, image_id: int,
               scenario_dir: str | Path | None = None) -> RegenResult:
    """Re-make image `image_id` of the dataset in `out` and compare it with the stored one.

    `scenario_dir` replaces the scenario folder the manifest recorded, against which relative
    asset references resolve (the dataset was made in another checkout or on another machine).
    SimgenError when it cannot be tried: not a dataset, no such image, the manifest's scenario
    no longer resolves (or hashes differently), the recorded renderer cannot start here."""
    return regenerate_many(out, [image_id], scenario_dir=scenario_dir)[0]


def regenerate_many(out: str | Path, image_ids: Iterable[int], *,
                    manifest: Mapping[str, Any] | None = None,
                    stored: Mapping[int, StoredImage] | None = None,
                    scenario_dir: str | Path | None = None,
                    on_scene: Callable[[int], None] | None = None) -> list[RegenResult]:
    """`regenerate` for several images, in the order given; a scene is settled once for all of
    its images. `manifest` and `stored` (from read_manifest / read_stored) save reading them
    again; `on_scene(images)` is called as each scene's images are done (progress)."""
    from simgen.render import RendererUnavailable
    from simgen.run.job import Job, SceneWorker
    from simgen.scene import SceneFailure

    out = Path(out)
    image_ids = list(image_ids)
    manifest = read_manifest(out) if manifest is None else manifest
    stored = read_stored(out) if stored is None else stored
    for image_id in image_ids:
        if image_id not in stored:
            raise SimgenError(f"{out}: no image with id {image_id!r} in "
                              f"annotations/instances_*.json ({_id_range(stored)})")
    scenario = scenario_of(manifest, scenario_dir)
    seed, renderer_name = manifest.get("seed"), manifest.get("renderer")
    image_format = manifest.get("image_format", "png")
    notes = environment_notes(manifest)
    spec = scenario.spec
    per_view = spec.augment.augmentations_per_view if spec.augment else 1
    results: dict[int, RegenResult] = {}
    plan: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    scenes = manifest.get("scenes")
    if not (isinstance(scenes, int) and not isinstance(scenes, bool) and scenes >= 1):
        raise SimgenError(f"{out}: manifest.json gives no run size ('scenes' must be an integer "
                          f">= 1, got {scenes!r}); the splits depend on it")
    for image_id in dict.fromkeys(image_ids):
        item = stored[image_id]
        where = _place(item, image_id, spec.views_per_scene, per_view, seed)
        if not isinstance(where, str) and where[1] >= scenes:
            where = f"provenance.scene_index {where[1]} is beyond the run's {scenes} scenes"
        if isinstance(where, str):
            results[image_id] = RegenResult(image_id, item.file, False,
                                            [f"cannot re-make: {where}"], None, notes=notes)
        else:
            scene_seed, scene_index, view, variant = where
            plan.setdefault((scene_seed, scene_index), []).append((image_id, view, variant))
    if plan:
        try:
            worker = SceneWorker(Job(scenario, renderer_name, image_format, scenes))
        except (RendererUnavailable, ValueError) as err:
            raise SimgenError(f"renderer {renderer_name!r} (recorded in the manifest) cannot "
                              f"start here: {err}") from None
        try:
            for (scene_seed, scene_index), items in sorted(plan.items()):
                output = worker.run(scene_seed, scene_index,
                                    [(view, variant) for _, view, variant in items])
                for image_id, _, _ in items:
                    item = stored[image_id]
                    if isinstance(output, SceneFailure):
                        results[image_id] = RegenResult(
                            image_id, item.file, False,
                            [f"re-making scene {scene_index} failed: {output.error}"], None,
                            notes=notes)
                    else:
                        results[image_id] = _compare(out, image_id, item, output, notes)
                if on_scene:
                    on_scene(len(items))
        finally:
            worker.close()
    return [results[image_id] for image_id in image_ids]


def scenario_of(manifest: Mapping[str, Any], scenario_dir: str | Path | None = None) -> Any:
    """The Scenario the manifest records, checked to hash as it did when the dataset was made;
    relative asset references resolve against `scenario_dir` when given, else the folder the
    manifest recorded.

    A manifest is untrusted input: the folder and extra asset roots it records would let it
    open any file as a texture or URDF. So the recorded folder is used only when it provably
    is the scenario's: it holds the recorded scenario file, which loads (with the recorded
    overrides) to the very scenario recorded; otherwise `scenario_dir` must be given. The
    recorded extra asset roots count only where that proof holds."""
    from simgen.scenario import load_resolved

    recorded = manifest.get("scenario")
    if not isinstance(recorded, dict) or not isinstance(recorded.get("resolved"), dict):
        raise SimgenError(f"{MANIFEST}: no scenario.resolved to re-make images from")
    # Named for messages: an asset that no longer resolves reads
    # "manifest.json: scenario tabletop.yaml: objects[0].asset: asset not found: ...".
    name = f"{MANIFEST}: scenario {recorded.get('file') or recorded.get('name')}"
    base_dir = Path(scenario_dir if scenario_dir is not None else str(recorded.get("dir") or "."))
    proof = _holds_the_scenario(base_dir, recorded)
    if not isinstance(proof, str):
        # The scenario file itself, loaded, is the recorded scenario; the recorded resolved
        # form must still hash to it (an edit there is a tampered manifest).
        _check_hash(scenario_sha256(recorded["resolved"]), proof.sha256)
        _check_meshes(recorded, proof)
        return proof
    if scenario_dir is None:
        raise SimgenError(f"{MANIFEST}: the scenario folder it records ({base_dir}) cannot be "
                          f"used: {proof}; pass --scenario-dir DIR, the folder the scenario's "
                          "relative assets are in")
    # The user's folder, without the manifest's own asset roots.
    scenario = load_resolved(recorded["resolved"], base_dir, name,
                             recorded.get("file_sha256", ""), recorded.get("overrides") or (), ())
    _check_hash(scenario.sha256, recorded.get("sha256"))
    _check_meshes(recorded, scenario)
    return scenario


def _check_meshes(recorded: Mapping[str, Any], scenario: Any) -> None:
    """The mesh files the dataset was made from are the ones here (by sha256 and settings)."""
    then = recorded.get("meshes") or {}
    now = {ref: dict(v) for ref, v in scenario.mesh_files.items()}
    for ref in sorted(set(then) | set(now)):
        if then.get(ref) != now.get(ref):
            was = (then.get(ref) or {}).get("sha256", "none")
            raise SimgenError(f"{MANIFEST}: mesh {ref} is not the one the dataset was made from "
                              f"(recorded sha256 {str(was)[:12]}, settings as recorded); "
                              "restore it to re-make images")


def _check_hash(resolved_sha256: str, recorded_sha256: Any) -> None:
    if resolved_sha256 != recorded_sha256:
        raise SimgenError(f"{MANIFEST}: scenario.resolved hashes to {resolved_sha256[:12]}, "
                          f"not the recorded scenario.sha256 {str(recorded_sha256)[:12]} "
                          "(the manifest was edited, or this simgen resolves it differently)")


def _holds_the_scenario(folder: Path, recorded: Mapping[str, Any]) -> Any:
    """The Scenario of the recorded scenario file in `folder`, loaded with the recorded
    overrides and asset roots, when it is the recorded scenario; else why not (a str)."""
    from simgen.scenario import load

    file = str(recorded.get("file") or "")
    if not file or "/" in file or "\\" in file or file in (".", ".."):
        return f"the manifest names no scenario file there (got {file!r})"
    path = folder / file
    if not path.is_file() or path.stat().st_size > MAX_SCENARIO_BYTES:
        return f"no scenario file {file} there"
    try:
        roots = [str(r) for r in recorded.get("asset_roots") or ()]
        loaded = load(path, [str(o) for o in recorded.get("overrides") or ()], roots)
    except (SimgenError, OSError, TypeError) as err:
        return f"its {file} does not load ({str(err)[:200]})"
    if loaded.sha256 != recorded.get("sha256"):
        return f"its {file} is another scenario now"
    return loaded


def environment_notes(manifest: Mapping[str, Any]) -> list[str]:
    """Versions recorded in the manifest that differ here: why bytes may differ."""
    from simgen import __version__
    from simgen.provenance import code_sha256, package_versions

    notes = []
    if manifest.get("simgen_version") not in (None, __version__):
        notes.append(f"made with simgen {manifest['simgen_version']}, this is {__version__}")
    elif manifest.get("simgen_code_sha256") not in (None, code_sha256()):
        notes.append(f"made with other simgen code (source sha256 "
                     f"{str(manifest['simgen_code_sha256'])[:12]}, here {code_sha256()[:12]})")
    recorded = manifest.get("packages")
    if isinstance(recorded, dict):
        here = package_versions()
        for name, version in recorded.items():
            if name in here and here[name] != version:
                notes.append(f"made with {name} {version}, this is {here[name]}")
    return notes


def _place(item: StoredImage, image_id: int, views: int, per_view: int,
           manifest_seed: Any) -> tuple[int, int, int, int] | str:
    """(seed, scene index, view, variant) of a stored image from its provenance and id, or why
    they cannot be had."""
    provenance = item.image.get("provenance")
    if not isinstance(provenance, dict):
        return "the image entry has no provenance"
    values = {}
    for key in ("seed", "scene_index", "view_index"):
        value = provenance.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"provenance.{key} must be an integer >= 0 (got {value!r})"
        values[key] = value
    scene_index, view = values["scene_index"], values["view_index"]
    if view >= views:
        return f"provenance.view_index {view} is not below views_per_scene {views}"
    if not isinstance(image_id, int) or image_id < 1:
        return f"image id {image_id!r} is not an integer >= 1"
    if (image_id - 1) // per_view != scene_index * views + view:
        return (f"provenance scene_index {scene_index}, view_index {view} do not give image id "
                f"{image_id} ({views} views per scene, {per_view} variants per view)")
    if values["seed"] != manifest_seed:
        return (f"provenance.seed {values['seed']} differs from the manifest's seed "
                f"{manifest_seed!r}")
    return values["seed"], scene_index, view, (image_id - 1) % per_view


def _compare(out: Path, image_id: int, item: StoredImage, output: Any,
             notes: list[str]) -> RegenResult:
    from simgen.dataset.writer import coco_entries, dumps

    remade = next((entry for entry in output.record["images"]
                   if entry["image"]["id"] == image_id), None)
    if remade is None:
        return RegenResult(image_id, item.file, False,
                           [f"re-making scene {output.scene_index} gave no image {image_id}"],
                           None, notes=notes)
    first_id = item.annotations[0].get("id") if item.annotations else 1
    first_id = first_id if isinstance(first_id, int) else 1
    image, annotations = json.loads(dumps(coco_entries(remade, first_id)))
    split = remade["image"]["provenance"]["split"]
    files = dict(output.files)
    differences = []
    if split != item.split:
        differences.append(f"split: stored in {item.split}, re-made into {split}")
    image_file = image_path(split, image["file_name"])
    wanted = [(item.file, image_file)]
    for key in SIDE_FILES:
        if key in image:
            wanted.append((str(item.image.get(key)), image[key]))
    for stored_rel, remade_rel in wanted:
        differences += _compare_file(out, stored_rel, files.get(remade_rel))
    differences += [f"COCO image entry: {line}" for line in _diff(item.image, image)]
    if len(item.annotations) != len(annotations):
        differences.append(f"annotations: {len(item.annotations)} stored, {len(annotations)} "
                           "re-made")
    for stored_ann, remade_ann in zip(item.annotations, annotations):
        differences += [f"annotation {stored_ann.get('id')}: {line}"
                        for line in _diff(stored_ann, remade_ann)]
    return RegenResult(image_id, item.file, not differences, differences,
                       files.get(image_file), len(annotations), notes)


def _compare_file(out: Path, rel: str, remade: bytes | None) -> list[str]:
    if remade is None:
        return [f"{rel}: not re-made"]
    try:
        path = inside(out, rel, "stored file")
        if not path.is_file():
            return [f"{rel}: the stored file is missing or not a regular file"]
        size = path.stat().st_size
        if size != len(remade):   # no need to read it (it may be anything, of any size)
            return [f"{rel}: bytes differ (stored {size} bytes, re-made {len(remade)})"]
        data = path.read_bytes()
    except SimgenError as err:
        return [f"{rel}: {err}"]
    except OSError as err:
        return [f"{rel}: cannot read the stored file ({err.strerror or err})"]
    if data == remade:
        return []
    at = next((i for i, (a, b) in enumerate(zip(data, remade)) if a != b),
              min(len(data), len(remade)))
    return [(f"{rel}: bytes differ (stored {len(data)} bytes, re-made {len(remade)}; "
             f"first difference at byte {at})")]


def _diff(stored: Any, remade: Any, path: str = "", limit: int = 5) -> list[str]:
    """Where two JSON values differ, as 'key.path: stored X, re-made Y' lines (a few at most)."""
    if stored == remade:
        return []
    if isinstance(stored, dict) and isinstance(remade, dict):
        lines = []
        for key in list(stored) + [k for k in remade if k not in stored]:
            where = f"{path}.{key}" if path else str(key)
            if key not in remade:
                lines.append(f"{where}: stored but not re-made")
            elif key not in stored:
                lines.append(f"{where}: re-made but not stored")
            else:
                lines += _diff(stored[key], remade[key], where, limit)
            if len(lines) >= limit:
                return lines[:limit]
        return lines
    if (isinstance(stored, list) and isinstance(remade, list) and len(stored) == len(remade)
            and any(isinstance(v, (dict, list)) for v in stored)):
        lines = []
        for index, (a, b) in enumerate(zip(stored, remade)):
            lines += _diff(a, b, f"{path}[{index}]", limit)
            if len(lines) >= limit:
                return lines[:limit]
        return lines
    return [f"{path or 'value'}: stored {_short(stored)}, re-made {_short(remade)}"]


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _id_range(stored: Mapping[int, StoredImage]) -> str:
    ids = sorted(i for i in stored if isinstance(i, int))
    return f"its ids run {ids[0]}..{ids[-1]}" if ids else "it has no images"
