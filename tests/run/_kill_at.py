"""Test helper: run `simgen` (argv as for the CLI) with named points in the dataset writer, and
SIGKILL this process at one of them. For tests/run/test_kill_points.py only.

    SIMGEN_KILL_LOG=FILE   append the name of every point reached to FILE, one a line
    SIMGEN_KILL_AT=N       SIGKILL this process at the N-th point reached (1-based)

The points, in the order a run reaches them:

    before X / partial X / after X     every write_atomic of simgen.dataset.writer (a scene's
                                       images and record, the run state, the manifest): before
                                       anything is written, with half of X's bytes in its
                                       temporary file (what a kill in the middle leaves), once X
                                       is renamed into place
    merge: open S                      the merge's temporary files for split S were created
    merge: first entry of S            the first entry of S appended to them
    merge: partial S images|annotations  in the middle of copying them into the COCO file's
                                       temporary file (half the bytes written)
    merge: before replace / after replace C   the finished COCO file C, before and after its
                                       os.replace into annotations/
    merge: hashing                     the COCO files are in place, the merge's temporary files
                                       removed, the files are being hashed for the manifest
    exit                               main returned (the process would exit now)

With --overwrite, first (emptying the old dataset in OUT):

    overwrite: before removing X / overwrite: partial X    before a folder X of it is removed,
                                       and with half of its files removed

A point's name uses the last two parts of a path ("train/000000005.png", "scenes/000001.json"),
the manifest's only its name.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import types
from pathlib import Path

from simgen.cli import main
from simgen.dataset import writer

_LOG = os.environ.get("SIMGEN_KILL_LOG")
_AT = int(os.environ.get("SIMGEN_KILL_AT", "0"))
_reached = 0


def _point(name: str) -> bool:
    """Log `name`; True when this is the point to be killed at (the caller may first leave
    what a kill in the middle of its step would leave, then call _die)."""
    global _reached
    _reached += 1
    if _LOG:
        with open(_LOG, "a") as f:
            f.write(name + "\n")
    return _reached == _AT


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _at(name: str) -> None:
    if _point(name):
        _die()


def _short(path: Path) -> str:
    path = Path(path)
    return path.name if path.name == "manifest.json" else f"{path.parent.name}/{path.name}"


_real_write_atomic = writer.write_atomic


def _write_atomic(path, data, durable=False):
    path = Path(path)
    _at(f"before {_short(path)}")
    if _point(f"partial {_short(path)}"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(f".{path.name}.tmp-{os.getpid()}-kill"), "wb") as f:
            f.write(data[:len(data) // 2])
            f.flush()
        _die()
    _real_write_atomic(path, data, durable)
    _at(f"after {_short(path)}")


Split = writer._SplitWriter
_real_init, _real_add, _real_finish, _real_copy = (Split.__init__, Split.add, Split.finish,
                                                   Split._copy)


def _init(self, out, split):
    _real_init(self, out, split)
    self.split_name = split
    _at(f"merge: open {split}")


def _add(self, item):
    _real_add(self, item)
    if self.images == 1:
        _at(f"merge: first entry of {self.split_name}")


def _finish(self, info, categories):
    self.copying = iter(("images", "annotations"))
    _real_finish(self, info, categories)


def _copy_of(writer_self):
    def copy(source, target):
        if _point(f"merge: partial {writer_self.split_name} {next(writer_self.copying)}"):
            source.flush()
            source.seek(0)
            data = source.read()
            target.write(data[:len(data) // 2])
            target.flush()
            _die()
        _real_copy(source, target)
    return copy


def _bind_copy(self, info, categories):
    self._copy = _copy_of(self)        # an instance attribute shadows the staticmethod
    _finish(self, info, categories)


def _replace(src, dst, *args, **kwargs):
    _at(f"merge: before replace {_short(dst)}")
    os.replace(src, dst, *args, **kwargs)
    _at(f"merge: after replace {_short(dst)}")


def _rmtree(path, *args, **kwargs):
    """--overwrite emptying OUT of an old dataset: before a folder is removed, and with half
    of its files removed."""
    path = Path(path)
    _at(f"overwrite: before removing {path.name}")
    if _point(f"overwrite: partial {path.name}"):
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files[:len(files) // 2]:
            file.unlink()
        _die()
    shutil.rmtree(path, *args, **kwargs)


_real_sha256_file = writer.sha256_file
_hashing = {"started": False}


def _sha256_file(path):
    if not _hashing["started"]:
        _hashing["started"] = True
        _at("merge: hashing")
    return _real_sha256_file(path)


writer.write_atomic = _write_atomic
Split.__init__, Split.add, Split.finish = _init, _add, _bind_copy
# finalize's os.replace is the COCO files' (write_atomic has its own os, in simgen.files).
writer.os = types.SimpleNamespace(**{**{name: getattr(os, name) for name in dir(os)
                                        if not name.startswith("__")}, "replace": _replace})
writer.sha256_file = _sha256_file
writer.shutil = types.SimpleNamespace(**{**vars(shutil), "rmtree": _rmtree})

if __name__ == "__main__":
    code = main(sys.argv[1:])
    _at("exit")
    sys.exit(code)
