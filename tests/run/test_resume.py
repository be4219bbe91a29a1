"""A run killed part-way and resumed equals an uninterrupted run, without re-rendering what was
committed; resuming with other settings is refused; --skip-failed records a failing scene."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import simgen
from tests.conftest import RENDERERS_HERE, REPO, SMALL, dataset_files

pytestmark = pytest.mark.slow

ARGS = [str(REPO / "scenes/tabletop.yaml"), "-n", "48", "--renderer", "tiny", "-q",
        "--set", "image.width=160", "--set", "image.height=120",
        "--set", "cycles.samples=4"]   # what tests.conftest.SMALL says


def _simgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen", "generate", *args],
                          capture_output=True, text=True, timeout=600)


def _args(renderer: str) -> list[str]:
    return [a if a != "tiny" else renderer for a in ARGS]


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory):
    """Uninterrupted runs, made once per renderer."""
    runs: dict[str, dict] = {}

    def clean(renderer: str = "tiny") -> dict:
        if renderer not in runs:
            out = tmp_path_factory.mktemp("clean") / "ds"
            assert _simgen(*_args(renderer), "-o", str(out)).returncode == 0
            runs[renderer] = dataset_files(out, run_state=False)
        return runs[renderer]

    return clean


@pytest.fixture(scope="module")
def clean_run(clean_runs):
    return clean_runs("tiny")


def _start_and_wait_for_commits(out, *extra: str, renderer: str = "tiny") -> subprocess.Popen:
    """`simgen generate` in its own process group (as a shell runs it), once 3 scenes are in."""
    proc = subprocess.Popen([sys.executable, "-m", "simgen", "generate", *_args(renderer), "-o",
                             str(out), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    scenes = out / ".simgen/scenes"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(scenes.glob("*.json"))) < 3:
        time.sleep(0.05)
    return proc


def _resume_and_compare(out, committed: dict, clean_run: dict, renderer: str = "tiny") -> None:
    resumed = _simgen(*_args(renderer), "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    scenes = out / ".simgen/scenes"
    assert {p.name: p.stat().st_mtime_ns for p in scenes.glob("*.json")
            if p.name in committed} == committed     # committed scenes were not made again
    assert dataset_files(out, run_state=False) == clean_run
    assert not list(out.rglob(".*.tmp-*"))


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_sigkill_then_resume_is_byte_identical_and_renders_no_committed_scene(tmp_path, clean_runs,
                                                                               renderer):
    out = tmp_path / "killed"
    proc = _start_and_wait_for_commits(out, renderer=renderer)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    committed = {p.name: p.stat().st_mtime_ns for p in (out / ".simgen/scenes").glob("*.json")}
    assert 3 <= len(committed) < 12, "killed part-way"
    assert not (out / "manifest.json").exists()
    _resume_and_compare(out, committed, clean_runs(renderer), renderer)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_cleanly_says_how_to_resume_and_resume_is_identical(tmp_path, clean_run,
                                                                         workers):
    out = tmp_path / "interrupted"
    proc = _start_and_wait_for_commits(out, "--workers", workers)
    os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the whole group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr                     # no worker traceback either
    lines = stderr.strip().splitlines()
    assert lines[-2].startswith("simgen: interrupted; the scenes already finished are kept")
    assert lines[-1].strip().startswith("simgen generate ") and lines[-1].endswith(" --resume")
    assert f"--workers {workers}" in lines[-1] and "-o " in lines[-1]
    committed = {p.name: p.stat().st_mtime_ns for p in (out / ".simgen/scenes").glob("*.json")}
    assert 3 <= len(committed) < 12, "interrupted part-way"
    assert not (out / "manifest.json").exists()
    _resume_and_compare(out, committed, clean_run)


def test_resume_with_another_seed_or_size_is_refused(tmp_path):
    out = tmp_path / "run"
    assert _simgen(*ARGS[:2], "4", *ARGS[3:], "-o", str(out)).returncode == 0
    for change, key in ((["--seed", "1"], "seed"), (["--set", "image.width=96"], "scenario_sha256")):
        proc = _simgen(*ARGS[:2], "4", *ARGS[3:], "-o", str(out), "--resume", *change)
        assert proc.returncode == 2
        assert f"cannot resume: {key} was" in proc.stderr and "Traceback" not in proc.stderr
    proc = _simgen(*ARGS, "-o", str(tmp_path / "nothing"), "--resume")
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr


def test_skip_failed_records_the_failing_scene_and_goes_on(tmp_path):
    # One try per object, spawn boxes reaching into the table: some scenes fail, most succeed.
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", SMALL + [
        "objects[0].count=1", "placement.max_tries=1",
        "objects[0].spawn={box: {min: [-0.3, -0.2, 0.55], max: [0.3, 0.2, 0.75]}}",
        "distractors=[]"])
    out = tmp_path / "out"
    with pytest.raises(simgen.SimgenError) as err:
        simgen.generate(scenario, tmp_path / "stopped", images=40, renderer="tiny")
    assert "(seed 0)" in str(err.value) and "no collision-free place" in str(err.value)
    simgen.generate(scenario, out, images=40, renderer="tiny", skip_failed=True)
    manifest = json.loads((out / "manifest.json").read_text())
    failed = manifest["failed_scenes"]
    assert failed and all(f["seed"] == 0 and "no collision-free place" in f["error"] for f in failed)
    images = sum(manifest["counts"]["images"].values())
    assert images == 40 - 4 * len(failed)
    listed = [json.loads(p.read_text())["images"] for p in (out / "annotations").glob("*.json")]
    scenes = {im["provenance"]["scene_index"] for ims in listed for im in ims}
    assert scenes.isdisjoint(f["scene_index"] for f in failed)


def test_resume_after_a_kill_in_the_merge_leaves_a_dataset_verify_passes(tmp_path):
    from simgen.trust.verify import verify

    out = tmp_path / "run"
    assert _simgen(*ARGS[:2], "8", *ARGS[3:], "-o", str(out)).returncode == 0
    clean = dataset_files(out, run_state=False)
    # What a SIGKILL between the COCO files and the manifest leaves: no manifest, a
    # half-written COCO file beside the finished ones.
    (out / "manifest.json").unlink()
    (out / "annotations/.instances_train.json.tmp-4242").write_bytes(b'{"images": [')
    resumed = _simgen(*ARGS[:2], "8", *ARGS[3:], "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert not list(out.rglob(".*.tmp-*"))
    assert dataset_files(out, run_state=False) == clean
    assert verify(out).ok


def _interrupted_copy(source, target):
    """A finished small run turned back into an interrupted one (no COCO files, no manifest)."""
    import shutil

    shutil.copytree(source, target)
    (target / "manifest.json").unlink()
    shutil.rmtree(target / "annotations")
    return target


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "ds"
    assert _simgen(*ARGS[:2], "12", *ARGS[3:], "-o", str(out)).returncode == 0
    return out


@pytest.mark.parametrize("damage", ["truncated record", "not json", "annotations removed",
                                    "image replaced"])
def test_resume_remakes_a_committed_scene_that_is_not_whole(small_run, tmp_path, damage):
    out = _interrupted_copy(small_run, tmp_path / "run")
    record = out / ".simgen/scenes/000001.json"
    data = json.loads(record.read_bytes())
    if damage == "truncated record":
        record.write_bytes(record.read_bytes()[:40])
    elif damage == "not json":
        record.write_bytes(b"\x00\x01 nothing")
    elif damage == "annotations removed":
        item = next(i for i in data["images"] if i["annotations"])
        item["annotations"] = []
        record.write_bytes(json.dumps(data).encode())
    else:
        image = out / next(iter(data["files"]))
        other = out / "images" / image.parent.name / sorted(
            p.name for p in image.parent.iterdir() if p != image)[0]
        image.write_bytes(other.read_bytes())   # another valid PNG
    resumed = _simgen(*ARGS[:2], "12", *ARGS[3:], "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert dataset_files(out, run_state=False) == dataset_files(small_run, run_state=False)


@pytest.mark.parametrize("state", [b"{}", b"[1, 2]", b"not json"])
def test_resume_refuses_a_damaged_run_state_with_one_line(small_run, tmp_path, state):
    out = _interrupted_copy(small_run, tmp_path / "run")
    (out / ".simgen/run.json").write_bytes(state)
    resumed = _simgen(*ARGS[:2], "12", *ARGS[3:], "-o", str(out), "--resume")
    assert resumed.returncode == 2
    assert "Traceback" not in resumed.stderr and len(resumed.stderr.strip().splitlines()) == 1
    assert "run.json" in resumed.stderr
