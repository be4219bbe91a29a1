"""`simgen generate` SIGKILLed at any moment is recoverable, the merge window included: after a
kill while the run state, images or scene records are written, while the COCO files are merged
(their temporary files, the copy into annotations/, one split's file renamed and not the next),
while the manifest is written, or after it, `--resume` with the same arguments exits 0 and gives
the bytes of an uninterrupted run (every file outside .simgen/), keeps every committed scene
(renders none again), leaves no temporary file, and `simgen verify` passes.

The kills are deterministic: tests/run/_kill_at.py runs the CLI with named points in the
dataset writer and SIGKILLs itself at the N-th. One instrumented run lists the points; the kills
hit every point of the merge, manifest and exit, and a spread of the points where the run state
and scenes are committed. A few timed SIGKILLs of an unmodified run, at seeded random moments,
and one of a 2-worker run's whole process group, cover what the named points do not (a kill
inside a render, between two points). A run killed before its run state is in place (OUT made,
run.json not yet renamed) is started again by --resume, and one killed while --overwrite empties
an old dataset is still taken by --resume and by --overwrite. test_resume.py covers the resume
promises themselves (no re-rendering, SIGINT, refused settings, damaged records); this file the
kill points.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simgen.cli import main
from tests.conftest import REPO, SCENES, dataset_files

pytestmark = pytest.mark.slow

HOOK = Path(__file__).with_name("_kill_at.py")
# 3 scenes of 4 views, TinyRenderer, small images: about a second per run.
ARGS = ["generate", str(next(s for s in SCENES if s.stem == "tabletop")), "-n", "12",
        "--renderer", "tiny", "-q",
        "-w", "1", "--set", "image.width=96", "--set", "image.height=72"]


def _run(args: list[str]) -> tuple[int, str]:
    """The CLI in this process: the resumes and verifies (no interpreter start each time)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def _hooked(out: Path, env: dict[str, str], args: list[str] = ARGS) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HOOK), *args, "-o", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, **env})


def _records(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / ".simgen/scenes").glob("*.json")}


def _recovery_problems(out: Path, clean: dict[str, bytes], args: list[str] = ARGS,
                       kept: bool = True) -> list[str]:
    """What is wrong after `--resume` of the killed run in `out`: nothing, if all is well.
    `kept`: scenes committed before the kill must not be made again."""
    committed = _records(out)
    code, stderr = _run([*args, "-o", str(out), "--resume"])
    if code != 0:
        return [f"--resume exit {code}: {stderr.strip()[-300:]}"]
    problems = []
    now = dataset_files(out, run_state=False)
    if now != clean:
        differ = sorted(k for k in now.keys() | clean.keys() if now.get(k) != clean.get(k))
        problems.append(f"bytes differ from an uninterrupted run: {differ[:4]}")
    remade = sorted(name for name, mtime in _records(out).items()
                    if kept and name in committed and committed[name] != mtime)
    if remade:
        problems.append(f"committed scenes made again: {remade}")
    leftovers = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if ".tmp-" in p.name)
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    code, _ = _run(["verify", str(out)])
    if code != 0:
        problems.append(f"verify exit {code}")
    return problems


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> tuple[dict[str, bytes], list[str]]:
    """An uninterrupted run through the hook, killed nowhere: its files and the points it
    reached, in order (the hook itself changes no byte)."""
    root = tmp_path_factory.mktemp("clean")
    log = root / "points.txt"
    done = _hooked(root / "ds", {"SIMGEN_KILL_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    plain = root / "plain"
    assert _run([*ARGS, "-o", str(plain)])[0] == 0
    assert dataset_files(root / "ds", run_state=False) == dataset_files(plain, run_state=False)
    return dataset_files(plain, run_state=False), log.read_text().splitlines()


def _kill_points(points: list[str]) -> dict[str, list[int]]:
    """The points to kill at (1-based, as SIMGEN_KILL_AT counts them), by phase: every point
    of the merge, the manifest and after; of the render/commit points the run state's and every
    7th (which cycles through before / partial / after, and hits each scene's record)."""
    merge = [i for i, p in enumerate(points, 1) if p.startswith("merge: ")]
    manifest = [i for i, p in enumerate(points, 1) if p.endswith(" manifest.json")]
    commit = list(range(1, merge[0]))
    assert merge == list(range(merge[0], manifest[0])) and manifest[-1] + 1 == len(points)
    assert points[-1] == "exit"
    return {"render/commit": commit[:3] + commit[3::7], "merge": merge, "manifest": manifest,
            "after": [len(points)]}


def test_the_hook_reaches_every_point_of_the_merge_window(clean_run):
    _, points = clean_run
    assert points[:3] == ["before .simgen/run.json", "partial .simgen/run.json",
                          "after .simgen/run.json"]
    assert sum(p.startswith("partial scenes/") for p in points) == 3
    for split in ("train", "val", "test"):
        for point in (f"open {split}", f"partial {split} images", f"partial {split} annotations",
                      f"before replace annotations/instances_{split}.json",
                      f"after replace annotations/instances_{split}.json"):
            assert f"merge: {point}" in points
    assert points[-5:] == ["merge: hashing", "before manifest.json", "partial manifest.json",
                           "after manifest.json", "exit"]
    chosen = _kill_points(points)
    assert 25 <= sum(map(len, chosen.values())) <= 40


def test_a_kill_at_any_point_resumes_to_the_same_bytes(clean_run, tmp_path):
    clean, points = clean_run
    chosen = _kill_points(points)
    at = sorted(i for phase in chosen.values() for i in phase)

    def kill(n: int) -> subprocess.CompletedProcess:
        return _hooked(tmp_path / f"at{n:03d}", {"SIMGEN_KILL_AT": str(n)})

    with ThreadPoolExecutor(2) as pool:     # the killed runs two at a time, the resumes here
        killed = dict(zip(at, pool.map(kill, at)))
    failures = []
    for n in at:
        out = tmp_path / f"at{n:03d}"
        name = f"kill at {n} ({points[n - 1]})"
        if killed[n].returncode != -signal.SIGKILL:
            failures.append(f"{name}: not killed there (exit {killed[n].returncode}: "
                            f"{killed[n].stderr.strip()[-200:]})")
            continue
        # The kill came where the point says: no manifest before it is renamed into place.
        finished = n > points.index("after manifest.json")
        if (out / "manifest.json").exists() != finished:
            failures.append(f"{name}: manifest {'missing' if finished else 'already there'}")
        failures += [f"{name}: {problem}" for problem in _recovery_problems(out, clean)]
    assert not failures, (f"{len(failures)} of {len(at)} kill points "
                          f"({ {k: len(v) for k, v in chosen.items()} }) failed:\n"
                          + "\n".join(failures))


def test_a_kill_while_overwrite_empties_the_old_dataset_resumes_or_overwrites(clean_run,
                                                                              tmp_path):
    """--overwrite first removes the old dataset in OUT, folder by folder: killed there, OUT
    must still be taken by --resume and by --overwrite (not refused as 'not a simgen
    dataset' because its manifest and run state went first)."""
    clean, _ = clean_run
    old = tmp_path / "old"
    assert _run([*ARGS, "-o", str(old)])[0] == 0
    log = tmp_path / "points.txt"
    shutil.copytree(old, tmp_path / "count")
    assert _hooked(tmp_path / "count", {"SIMGEN_KILL_LOG": str(log)},
                   [*ARGS, "--overwrite"]).returncode == 0
    points = [p for p in log.read_text().splitlines() if p.startswith("overwrite: ")]
    # Before each folder is removed and with half its files removed: images, annotations,
    # .simgen (or its scene records, then what is left of it once run.json went).
    assert {p.split()[-1] for p in points} >= {"images", "annotations", ".simgen"}

    def kill(n: int) -> subprocess.CompletedProcess:
        shutil.copytree(old, tmp_path / f"at{n}")
        return _hooked(tmp_path / f"at{n}", {"SIMGEN_KILL_AT": str(n)}, [*ARGS, "--overwrite"])

    with ThreadPoolExecutor(2) as pool:
        killed = list(pool.map(kill, range(1, len(points) + 1)))
    failures = []
    for n, (point, done) in enumerate(zip(points, killed), 1):
        assert done.returncode == -signal.SIGKILL, done.stderr
        if not (tmp_path / f"at{n}/manifest.json").exists():   # only run.json may prove it
            again = shutil.copytree(tmp_path / f"at{n}", tmp_path / f"again{n}", symlinks=True)
            code, stderr = _run([*ARGS, "-o", str(again), "--overwrite"])
            if code != 0 or dataset_files(again, run_state=False) != clean:
                failures.append(f"kill at {point}, then --overwrite: exit {code} "
                                f"{stderr.strip()[-200:]}")
        # The images it removed are made again (their scenes are no longer whole).
        failures += [f"kill at {point}, then --resume: {problem}"
                     for problem in _recovery_problems(tmp_path / f"at{n}", clean, kept=False)]
    assert not failures, "\n".join(failures)


def _start(out: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simgen", *args, "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> float:
    """Wait until `path` exists (or the run ended); the time waited."""
    start = time.monotonic()
    while not path.exists() and proc.poll() is None and time.monotonic() - start < timeout:
        time.sleep(0.005)
    return time.monotonic() - start


def test_sigkill_at_random_moments_resumes_to_the_same_bytes(clean_run, tmp_path):
    clean, _ = clean_run
    # How long an unmodified run writes: from its run state to its exit.
    probe = _start(tmp_path / "probe", ARGS)
    _wait_for(tmp_path / "probe/.simgen/run.json", probe)
    start = time.monotonic()
    probe.wait(timeout=120)
    writing = time.monotonic() - start
    assert probe.returncode == 0, probe.stderr.read()
    rng = random.Random(12)
    failures = []
    for attempt in range(4):
        out = tmp_path / f"timed{attempt}"
        proc = _start(out, ARGS)
        _wait_for(out / ".simgen/run.json", proc)
        delay = rng.uniform(0, writing * 1.1)    # now and then just after the run ended
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
        landed = (f"kill {delay:.2f} s in ({len(_records(out))} scenes committed, merge "
                  f"{'done' if (out / 'manifest.json').exists() else 'not done'})")
        failures += [f"{landed}: {problem}" for problem in _recovery_problems(out, clean)]
    assert not failures, "\n".join(failures)


def test_sigkill_of_a_two_worker_run_group_resumes_to_the_same_bytes(tmp_path):
    # 6 scenes, so that the workers are still rendering when the first scene is committed.
    args = list(ARGS)
    args[args.index("-n") + 1], args[args.index("-w") + 1] = "24", "2"
    assert _run([*args, "-o", str(tmp_path / "clean")])[0] == 0
    clean = dataset_files(tmp_path / "clean", run_state=False)
    out = tmp_path / "pooled"
    proc = _start(out, args)
    _wait_for(out / ".simgen/scenes/000000.json", proc)
    time.sleep(random.Random(3).uniform(0, 0.1))
    os.killpg(proc.pid, signal.SIGKILL)        # the parent and its workers at once
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(_records(out)) < 6 and not (out / "manifest.json").exists(), "killed part-way"
    assert _recovery_problems(out, clean, args) == []
