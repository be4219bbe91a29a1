"""The file system fails under `simgen generate`: a full disk while images are written or while
the COCO files are merged, a read-only folder, an OUT that cannot be a folder. Each is one
`simgen: error:` line (exit 2, no traceback), leaves no temporary file, keeps every committed
scene, and a `--resume` once the fault is gone gives the bytes of an uninterrupted run."""

from __future__ import annotations

import contextlib
import errno
import io
import os
from pathlib import Path

import pytest

from simgen.cli import main
from simgen.dataset import writer
from tests.conftest import REPO, dataset_files

# 3 scenes of 4 views, TinyRenderer, small images: about a second per run.
ARGS = ["generate", str(REPO / "scenes/tabletop.yaml"), "-n", "12", "--renderer", "tiny", "-q",
        "-w", "1", "--set", "image.width=96", "--set", "image.height=72"]


def _run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def _one_line(code: int, stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("simgen: renderer")]
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("simgen: error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean") / "ds"
    assert _run([*ARGS, "-o", str(out)])[0] == 0
    return dataset_files(out, run_state=False)


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*") if ".tmp-" in p.name)


@pytest.mark.parametrize("fault", ["second scene's images", "merge", "manifest"])
def test_a_full_disk_is_one_line_and_resume_finishes_the_same_dataset(tmp_path, monkeypatch,
                                                                      clean_run, fault):
    out = tmp_path / "ds"
    real_write = writer.write_atomic
    calls = {"images": 0}

    def failing_write(path, data, durable=False):
        if fault == "second scene's images" and path.suffix == ".png":
            calls["images"] += 1
            if calls["images"] == 5:          # the first image of scene 1
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path.with_name(f".{path.name}.tmp-{os.getpid()}-x"), "wb") as f:
                    f.write(data[:100])       # as a write cut short by the full disk leaves it
                _enospc()
        if fault == "manifest" and path.name == "manifest.json":
            _enospc()
        return real_write(path, data, durable)

    def failing_copy(source, target):
        target.write(b'{"partial": ')          # part of the COCO file is out when space ends
        _enospc()

    monkeypatch.setattr(writer, "write_atomic", failing_write)
    if fault == "merge":
        monkeypatch.setattr(writer._SplitWriter, "_copy", staticmethod(failing_copy))
    line = _one_line(*_run([*ARGS, "-o", str(out)]))
    assert line.startswith(f"simgen: error: {out}: cannot write the dataset: No space left on "
                           "device; the scenes already finished are kept"), line
    assert line.endswith("go on with --resume")
    assert _leftovers(out) == []
    assert not (out / "manifest.json").exists()
    monkeypatch.undo()                         # space freed
    code, stderr = _run([*ARGS, "-o", str(out), "--resume"])
    assert code == 0, stderr
    assert dataset_files(out, run_state=False) == clean_run


def test_a_full_disk_before_any_scene_is_committed_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    real_write = writer.write_atomic
    monkeypatch.setattr(writer, "write_atomic", lambda path, data, durable=False: (
        _enospc() if path.suffix == ".png" else real_write(path, data, durable)))
    line = _one_line(*_run([*ARGS, "-o", str(out)]))
    assert line == (f"simgen: error: {out}: cannot write the dataset: No space left on device; "
                    "nothing was kept")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_one_line_and_nothing_is_written(tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if tmp_path in self.parents:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    out = tmp_path / "ds"
    line = _one_line(*_run([*ARGS, "-o", str(out)]))
    assert line == f"simgen: error: {out}: cannot create the output folder (Read-only file system)"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["parent is a file", "dangling link", "link loop",
                                  "name too long"])
def test_an_out_that_cannot_be_a_folder_is_one_line(tmp_path, case):
    (tmp_path / "afile").write_text("precious")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    before = sorted(os.listdir(tmp_path))
    out, reason = {
        "parent is a file": (tmp_path / "afile" / "ds", "cannot create the output folder "
                                                        "(Not a directory)"),
        "dangling link": (tmp_path / "dangling", "cannot use as output folder (No such file "
                                                 "or directory)"),
        "link loop": (tmp_path / "loop1", "cannot use as output folder (Too many levels of "
                                          "symbolic links)"),
        "name too long": (tmp_path / ("x" * 300), "cannot use as output folder (File name too "
                                                  "long)"),
    }[case]
    line = _one_line(*_run([*ARGS, "-o", str(out)]))
    assert line == f"simgen: error: {out}: {reason}"
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / "afile").read_text() == "precious"
    assert not (tmp_path / "nowhere").exists()
