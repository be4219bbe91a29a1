"""The dataset on disk: atomic per-scene commits, then COCO files and a manifest.

The layout and names are simgen.dataset.layout's.

A scene's images are written first, each through a temporary file and a rename; its record is
written last, the same way, so a record on disk always means the whole scene is there. The
manifest is written last of all: a folder without one is an unfinished run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

from simgen.errors import SimgenError
from simgen.files import write_atomic  # noqa: F401 - the writers' helper, used from here
from simgen.dataset.layout import (ANNOTATIONS_DIR, DATASET_FORMAT_PREFIX, IMAGE_DIRS, MANIFEST,
                                   RUN_STATE, SCENES_DIR, STATE_DIR, coco_path)



def check_output(out: Path, overwrite: bool) -> None:
    """Raise SimgenError unless OUT may be written; touches nothing.

    A non-empty folder that is not a simgen dataset is never emptied, --overwrite or not.
    """
    try:
        if os.path.lexists(out):
            os.stat(out)   # a dangling or looping link: refused here, not at mkdir
        else:
            out.exists()   # a name too long
    except OSError as err:
        raise SimgenError(f"{out}: cannot use as output folder ({err.strerror or err})") from None
    if out.exists() and not out.is_dir():
        raise SimgenError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SimgenError(f"{out}: output folder is not empty (use --overwrite to replace "
                              "a simgen dataset there)")
        if not _provably_simgen(out):
            raise SimgenError(f"{out}: not a simgen dataset, so --overwrite will not empty it; "
                              "choose an empty or new folder")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in SIMGEN_ENTRIES)
        if foreign:
            raise SimgenError(f"{out}: holds {foreign[0]!r}, which simgen did not write, so "
                              "--overwrite will not empty it; move it or choose another folder")


# What simgen writes at the top of OUT: --overwrite removes these and nothing else.
SIMGEN_ENTRIES = frozenset({*IMAGE_DIRS, ANNOTATIONS_DIR, MANIFEST,
                            STATE_DIR})
_RUN_STATE_KEYS = {"scenario_sha256", "seed", "images", "image_format"}


def _provably_simgen(out: Path) -> bool:
    """OUT holds a simgen dataset: a manifest with simgen's dataset format id, or the run
    state of an unfinished run. A file that is merely named manifest.json is not enough."""
    from simgen.dataset.reader import read_json

    try:
        manifest = read_json(out / MANIFEST, "manifest", max_bytes=1 << 30)
        if (isinstance(manifest, dict)
                and str(manifest.get("format", "")).startswith(DATASET_FORMAT_PREFIX)):
            return True
    except SimgenError:
        pass
    try:
        state = read_json(out / RUN_STATE, "run state", max_bytes=1 << 20)
    except SimgenError:
        # Nothing but what a run killed before writing its run state leaves (or one killed
        # at the end of emptying an old dataset for --overwrite, see prepare_output).
        return never_started(out)
    return isinstance(state, dict) and _RUN_STATE_KEYS <= set(state)


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """One writer per output folder: OUT (made here if missing) is locked for the block with an
    advisory flock on the folder itself. The kernel drops the lock when the holder exits, killed
    or not, so nothing stays stuck. SimgenError when another run holds it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SimgenError(f"{out}: cannot create the output folder "
                          f"({err.strerror or err})") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock to take
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SimgenError(f"{out}: another simgen run is writing to this folder (one writer "
                              "per output folder); wait for it or choose another folder") from None
        yield
    finally:
        os.close(fd)


def prepare_output(out: Path, overwrite: bool) -> None:
    """Check OUT (see check_output), empty an old dataset there if overwriting, create it."""
    check_output(out, overwrite)
    if out.is_dir() and overwrite:
        # What proves OUT is simgen's goes last: the other folders, then the manifest, then the
        # run state (its scene records before run.json itself). Killed part-way through, this
        # leaves an OUT that --overwrite (see _provably_simgen) and --resume still take; removed
        # in folder order, a kill could leave images without either proof, refused by both.
        children = sorted((c for c in out.iterdir() if c.name in SIMGEN_ENTRIES),   # only these
                          key=lambda c: (c.name == STATE_DIR, c.name == MANIFEST, c.name))
        for child in children:
            if child.name == STATE_DIR and child.is_dir() and not child.is_symlink():
                for part in sorted(child.iterdir(), key=lambda p: p.name == RUN_STATE_NAME):
                    _remove(part)
            _remove(child)
    out.mkdir(parents=True, exist_ok=True)


RUN_STATE_NAME = Path(RUN_STATE).name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()




def write_run_state(out: Path, state: dict[str, Any]) -> None:
    """What a run was started with: a resume must match it to give the same bytes."""
    write_atomic(out / RUN_STATE, json.dumps(state, indent=1, sort_keys=True).encode(), durable=True)


def read_run_state(out: Path) -> dict[str, Any] | None:
    """The run state, None when there is none; SimgenError when it is not one."""
    from simgen.dataset.reader import read_json

    path = out / RUN_STATE
    if not path.exists() and not path.is_symlink():
        return None
    state = read_json(path, "run state", max_bytes=1 << 20)
    if not isinstance(state, dict):
        raise SimgenError(f"{path}: not a simgen run state")
    return state


def never_started(out: Path) -> bool:
    """OUT is a folder holding nothing but empty folders of simgen's state and the temporary
    files of writes cut short: what a run killed before its run state was renamed into place
    leaves (from creating OUT to that rename), or --overwrite killed once it had removed the old
    run state. There is nothing to resume and no run state or manifest proves OUT is simgen's:
    --resume starts such a run again (see clear_never_started), --overwrite takes OUT as
    simgen's (see _provably_simgen); before, both refused it."""
    if not out.is_dir() or any(entry.name != STATE_DIR for entry in out.iterdir()):
        return False
    for root, folders, files in os.walk(out):
        if any(os.path.islink(os.path.join(root, name)) for name in folders + files):
            return False
        if not all(name.startswith(".") and ".tmp-" in name for name in files):
            return False
    return True


def clear_never_started(out: Path) -> None:
    """Empty an OUT that never_started holds true of: its temporary files, then its folders."""
    remove_partial_files(out)
    for root, folders, _ in os.walk(out, topdown=False):
        for name in folders:
            os.rmdir(os.path.join(root, name))


def committed_scenes(out: Path) -> set[int]:
    return {int(p.stem) for p in (out / SCENES_DIR).glob("*.json")} if (out / SCENES_DIR).is_dir() else set()


def read_whole_record(path: Path) -> dict[str, Any] | None:
    """A committed scene record that is whole: it parses, its own sha256 (`record_sha256`, left
    out of what is returned) holds, and it has the shape commit_scene writes (a failure, or the
    scene named by its file with its images, and its files' hashes). None for anything else."""
    from simgen.dataset.reader import read_json

    try:
        index = int(path.stem)
        record = read_json(path, "scene record", max_bytes=1 << 30)
    except (SimgenError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    claimed = record.pop("record_sha256", None)
    if (claimed == hashlib.sha256(dumps(record)).hexdigest()
            and isinstance(record.get("files"), dict)
            and (isinstance(record.get("failed"), dict)
                 or (record.get("scene_index") == index
                     and isinstance(record.get("images"), list)))):
        return record
    return None


def verified_committed_scenes(out: Path) -> set[int]:
    """The committed scenes a resume may keep: a record that parses, has the shape commit_scene
    writes, and whose files are all there with the hashes recorded at commit. Any other record
    is removed, so its scene is made again (a truncated or edited record, a replaced image, a
    run from before records kept hashes). This guards against damage, not against someone
    who recomputes the hashes: nothing without a key can."""
    from simgen.dataset.reader import inside

    kept = set()
    folder = out / SCENES_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = read_whole_record(path)
        try:
            whole = record is not None and all(
                isinstance(sha, str) and inside(out, rel, "file").is_file()
                and sha256_file(out / rel) == sha for rel, sha in record["files"].items())
        except (SimgenError, OSError):
            whole = False
        if whole:
            kept.add(int(path.stem))
        else:
            path.unlink()
    return kept


def remove_partial_files(out: Path) -> None:
    """Temporary files a killed run left behind (`.name.tmp-PID...`, in any folder simgen
    writes, the merge's COCO files and manifest included): never part of a dataset."""
    for path in out.glob(".*.tmp-*"):
        if path.is_file() or path.is_symlink():
            path.unlink()
    for folder in (*IMAGE_DIRS, ANNOTATIONS_DIR, STATE_DIR):
        if (out / folder).is_dir() and not (out / folder).is_symlink():
            for path in (out / folder).rglob(".*.tmp-*"):
                if path.is_file() or path.is_symlink():
                    path.unlink()


def dumps(data: Any) -> bytes:
    """The one JSON encoding of the project: stable key order as built, compact, UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def commit_scene(out: Path, scene_index: int, files: Iterable[tuple[str, bytes]],
                 record: dict[str, Any]) -> None:
    """Commit one scene: its files (relative path, bytes), then its record.

    Every file reaches the disk (fsync) before the record is renamed into place, and the folders
    holding the new names are synced after: after a power loss a record on disk still means the
    whole scene is there. (fsync costs about 0.4 ms per 250 kB image here.)"""
    folders = set()
    hashes = {}
    for rel, data in files:
        write_atomic(out / rel, data, durable=True)
        folders.add((out / rel).parent)
        hashes[rel] = hashlib.sha256(data).hexdigest()
    _sync_folders(folders)
    record_path = out / SCENES_DIR / f"{scene_index:06d}.json"
    # The files' hashes and the record's own, so that a resume can tell the scene is still
    # whole (see verified_committed_scenes); finalize reads only the images.
    whole = {**record, "files": hashes}
    whole["record_sha256"] = hashlib.sha256(dumps(whole)).hexdigest()
    write_atomic(record_path, dumps(whole), durable=True)
    _sync_folders({record_path.parent})


def _sync_folders(folders: Iterable[Path]) -> None:
    """fsync folders, so the renames into them survive a power loss (POSIX; a no-op where a
    folder cannot be opened for it, as on Windows)."""
    for folder in sorted(folders):
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _all_records(out: Path) -> Iterator[dict[str, Any]]:
    """Every committed record, scenes and recorded failures alike, in scene order."""
    for path in sorted((out / SCENES_DIR).glob("*.json"), key=lambda p: int(p.stem)):
        yield json.loads(path.read_bytes())


def read_scene_records(out: Path) -> Iterator[dict[str, Any]]:
    """Committed scene records in scene order (scenes recorded as failed left out)."""
    return (record for record in _all_records(out) if "failed" not in record)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finalize(out: Path, categories: list[str], splits: Iterable[str], info: dict[str, Any],
             manifest: dict[str, Any]) -> dict[str, Any]:
    """Merge the scene records into one COCO file per split, then write the manifest.

    Streams: one scene record is in memory at a time, its entries appended to per-split files
    as they come, so memory stays flat however many images a run has. Records come in scene
    order, which is image-id order; annotation ids are assigned here, 1..N per file in that
    order. The bytes equal those of `dumps` of the whole COCO dict. Scenes recorded as failed
    (--skip-failed) are listed in the manifest, from the same pass. Returns the counts.
    """
    from simgen.geometry import CUBOID_KEYPOINT_NAMES, CUBOID_OKS_SIGMAS, CUBOID_SKELETON

    # keypoint_sigmas: not COCO's, but where an evaluator finds what to give COCOeval.
    coco_categories = [{"id": i, "name": name, "supercategory": "object",
                        "keypoints": CUBOID_KEYPOINT_NAMES, "skeleton": CUBOID_SKELETON,
                        "keypoint_sigmas": CUBOID_OKS_SIGMAS}
                       for i, name in enumerate(categories, start=1)]
    writers: dict[str, _SplitWriter] = {}
    try:
        for split in splits:
            writers[split] = _SplitWriter(out, split)
        failed = []
        for record in _all_records(out):
            if "failed" in record:
                failed.append(record["failed"])
                continue
            for item in sorted(record["images"], key=lambda it: it["image"]["id"]):
                split = item["image"]["provenance"]["split"]
                if split not in writers:
                    writers[split] = _SplitWriter(out, split)
                writers[split].add(item)
        counts: dict[str, Any] = {"images": {}, "annotations": {}}
        for split, writer in writers.items():
            writer.finish(info, coco_categories)
            counts["images"][split] = writer.images
            counts["annotations"][split] = writer.annotations
    finally:
        for writer in writers.values():
            writer.discard()
    files = {}
    for rel in sorted(_dataset_files(out)):
        path = out / rel
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {**manifest, "counts": counts, "failed_scenes": failed, "files": files}
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n", durable=True)
    return counts


def coco_entries(item: dict[str, Any], first_annotation_id: int) -> tuple[dict[str, Any],
                                                                        list[dict[str, Any]]]:
    """The COCO image entry and annotations that finalize writes for one scene-record item,
    its annotations numbered from `first_annotation_id` (ids run on through a split's file).
    `simgen regen` rebuilds stored entries with this, so both always agree."""
    return item["image"], [{"id": first_annotation_id + i, **annotation}
                           for i, annotation in enumerate(item["annotations"])]


class _SplitWriter:
    """Builds annotations/instances_<split>.json from entries appended one at a time."""

    def __init__(self, out: Path, split: str) -> None:
        self.path = out / coco_path(split)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = out / STATE_DIR
        state.mkdir(exist_ok=True)
        self._images = open(state / f".images_{split}.tmp-{os.getpid()}", "wb+")
        self._annotations = open(state / f".annotations_{split}.tmp-{os.getpid()}", "wb+")
        self.images = self.annotations = 0

    def add(self, item: dict[str, Any]) -> None:
        image, annotations = coco_entries(item, self.annotations + 1)
        self._images.write((b"," if self.images else b"") + dumps(image))
        self.images += 1
        for annotation in annotations:
            self.annotations += 1
            self._annotations.write((b"," if self.annotations > 1 else b"") + dumps(annotation))

    def finish(self, info: dict[str, Any], categories: list[dict[str, Any]]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                f.write(dumps({"info": info, "licenses": []})[:-1] + b',"images":[')
                self._copy(self._images, f)
                f.write(b'],"annotations":[')
                self._copy(self._annotations, f)
                f.write(b'],"categories":' + dumps(categories) + b"}")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:   # a full disk, say: leave no partial file behind
            tmp.unlink(missing_ok=True)
            raise

    @staticmethod
    def _copy(source: Any, target: Any) -> None:
        source.flush()
        source.seek(0)
        shutil.copyfileobj(source, target, 1 << 20)

    def discard(self) -> None:
        for handle in (self._images, self._annotations):
            handle.close()
            Path(handle.name).unlink(missing_ok=True)


def _dataset_files(out: Path) -> Iterator[str]:
    for folder in (*IMAGE_DIRS, ANNOTATIONS_DIR):
        root = out / folder
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    yield path.relative_to(out).as_posix()
