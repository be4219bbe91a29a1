"""The `simgen` command on bad input: exit code 2, one `simgen: error:` line, nothing written.

The cases run `simgen.cli.main` in this process (what the `simgen` script calls, with stdout
and stderr captured); a few run the real command end to end, in a process of its own
(`process=True`), so the entry point, exit status and a clean stderr are checked there too."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pybullet_data
import pytest

REPO = Path(__file__).resolve().parents[1]
PREFIX = "simgen: error: "

# Line numbers are used below; keep them in step (checked by test_cli_base_line_numbers).
BASE = """\
name: cli
image:
  width: 64
  height: 48
categories: [mug]
static:
  - {asset: "pybullet:plane.urdf"}
objects:
  - asset: "pybullet:objects/mug.urdf"
    category: mug
    count: {randint: [1, 2]}
    spawn: {box: {min: [-0.1, -0.1, 0.1], max: [0.1, 0.1, 0.2]}}
camera:
  fov_deg: 50
  look_at: [0, 0, 0.05]
  distance_m: 0.6
  elevation_deg: 40
settle: {max_steps: 1}
"""

FAST = ["-n", "1", "-q", "--set", "settle.max_steps=1"]


def _replace(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def _simgen(args: list[str], cwd: Path, timeout: float = 120,
            process: bool = False) -> subprocess.CompletedProcess:
    if process:
        try:
            return subprocess.run([sys.executable, "-m", "simgen", *args], cwd=cwd,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"simgen {' '.join(args)} ran longer than {timeout} s")
    from simgen.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exit_:   # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under folder -> its bytes (None for folders)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(PREFIX), result.stderr
    assert result.stderr.endswith("\n")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""
    return result.stderr.rstrip("\n")


def _usage_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return result.stderr


def test_cli_base_line_numbers() -> None:
    lines = BASE.splitlines()
    assert lines[3 - 1] == "  width: 64"
    assert lines[9 - 1] == '  - asset: "pybullet:objects/mug.urdf"'
    assert lines[11 - 1] == "    count: {randint: [1, 2]}"
    assert lines[14 - 1] == "  fov_deg: 50"


def test_cli_base_scenario_is_valid(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    result = _simgen(["check", "scn.yaml"], tmp_path, process=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "scn.yaml: ok"


# --- bad scenarios, `generate` -----------------------------------------------------------------

BAD_SCENARIOS = {
    "broken_yaml": (
        _replace("  width: 64", "  width: [64"),
        "scn.yaml:4: invalid YAML: expected ',' or ']', but got ':'"),
    "unknown_key": (
        _replace("  fov_deg: 50", "  fov: 50"),
        "scn.yaml:14: camera.fov: unknown key (did you mean 'fov_deg'?); expected one of: "),
    "duplicate_key": (
        _replace("    count: {randint: [1, 2]}", "    count: {randint: [1, 2]}\n    count: 3"),
        "scn.yaml:12: objects[0].count: duplicate key (first given on line 11)"),
    "wrong_type": (
        _replace("  width: 64", "  width: abc"),
        "scn.yaml:3: image.width: input should be a valid integer (got 'abc')"),
    "python_tag": (
        _replace("name: cli", 'name: !!python/object/apply:os.system ["touch pwned"]'),
        "scn.yaml:1: name: tag '!!python/object/apply:os.system' is not allowed "
        "(only plain YAML values)"),
    "missing_asset": (
        _replace("pybullet:objects/mug.urdf", "pybullet:nope.urdf"),
        "scn.yaml:9: objects[0].asset: asset not found: 'pybullet:nope.urdf' (looked for "),
    "path_escape": (
        _replace("pybullet:objects/mug.urdf", "../" * 30 + "etc/passwd"),
        f"scn.yaml:9: objects[0].asset: {'../' * 30 + 'etc/passwd'!r} resolves to /etc/passwd, "
        "outside the allowed asset roots"),
    "absolute_path_escape": (
        _replace("pybullet:objects/mug.urdf", "/etc/passwd"),
        "scn.yaml:9: objects[0].asset: '/etc/passwd' resolves to /etc/passwd, outside the "
        "allowed asset roots"),
    "undeclared_category": (
        _replace("    category: mug", "    category: cup"),
        "scn.yaml:10: objects[0].category: unknown category 'cup'; declared: mug"),
    "missing_key": (
        _replace("  distance_m: 0.6\n", ""),
        "scn.yaml:13: camera.distance_m: required key is missing"),
    "not_a_mapping": ("- just\n- a list\n", "scn.yaml:1: a scenario must be a mapping of keys"),
    # BUG: PyYAML's ReaderError escapes parse_yaml (the loader is built outside its try block).
    "control_character": (
        _replace("name: cli", "name: cli\x07"), "scn.yaml"),
    # BUG: math.isfinite(10**400) raises OverflowError inside the distribution validator.
    "huge_integer": (
        _replace("    count: {randint: [1, 2]}", "    count: 1" + "0" * 400),
        "scn.yaml:11: objects[0].count: "),
    "deep_nesting": (
        _replace("  width: 64", "  width: " + "[" * 5000 + "]" * 5000),
        "scn.yaml: invalid YAML: nested more than 50 levels deep"),
    "deep_nesting_parsed": (   # shallow enough for PyYAML's parser, too deep for a scenario
        _replace("  width: 64", "  width: " + "[" * 60 + "]" * 60),
        "scn.yaml:3: image.width[0]...: nested more than 50 levels deep"),
    "recursive_alias": (
        "x: &a [*a]\n" + BASE,
        "scn.yaml:1: x[0][0]...: nested more than 50 levels deep (or an alias that contains "
        "itself)"),
    "integer_of_5000_digits": (
        _replace("  width: 64", "  width: " + "9" * 5000),
        "scn.yaml:3: image.width: not a usable value (Exceeds the limit (4300 digits)"),
    "nul_in_asset_path": (
        _replace('"pybullet:objects/mug.urdf"', '"pybullet:objects/mug\\0.urdf"'),
        "scn.yaml:9: objects[0].asset: an asset reference may not hold control characters "
        "(got 'pybullet:objects/mug\\x00.urdf')"),
    "asset_path_of_100k_characters": (
        _replace("pybullet:objects/mug.urdf", "pybullet:" + "m" * 100_000 + ".urdf"),
        "scn.yaml:9: objects[0].asset: an asset reference is at most 4096 characters "
        "(got 100014)"),
    "asset_path_of_60k_characters_in_folders": (
        _replace("pybullet:objects/mug.urdf", "m/" * 2_000 + "mug.urdf"),
        "scn.yaml:9: objects[0].asset: asset not found: 'm/m/m/"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_generate_bad_scenario(tmp_path: Path, case: str) -> None:
    text, expected = BAD_SCENARIOS[case]
    (tmp_path / "scn.yaml").write_text(text)
    # The tag case also end to end: nothing of the file may run, in the real command either.
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST], tmp_path,
                     process=case == "python_tag")
    line = _one_error_line(result)
    assert line.startswith(PREFIX + expected), line
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scn.yaml"]


@pytest.mark.parametrize("case", ["unknown_key", "wrong_type", "duplicate_key", "broken_yaml"])
def test_check_bad_scenario(tmp_path: Path, case: str) -> None:
    text, expected = BAD_SCENARIOS[case]
    (tmp_path / "scn.yaml").write_text(text)
    line = _one_error_line(_simgen(["check", "scn.yaml"], tmp_path))
    assert line.startswith(PREFIX + expected), line


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # Expanded, this 550-byte file is 10**8 values; yamlio caps the count (MAX_NODES) so it is
    # refused in a moment instead of costing minutes of CPU and gigabytes of memory.
    text = "l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 8))
    assert len(text) < 600
    (tmp_path / "bomb.yaml").write_text(text)
    line = _one_error_line(_simgen(["check", "bomb.yaml"], tmp_path, timeout=10))
    assert line.startswith(PREFIX + "bomb.yaml")
    assert "document too large" in line


def test_error_names_the_scenario_path_as_given(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my scene.yaml").write_text(_replace("  width: 64", "  width: abc"))
    line = _one_error_line(_simgen(["check", "sub/my scene.yaml"], tmp_path))
    assert line.startswith(PREFIX + "sub/my scene.yaml:3: image.width: ")


def test_missing_scenario_file(tmp_path: Path) -> None:
    result = _simgen(["generate", "nope.yaml", "-o", "out", *FAST], tmp_path, process=True)
    assert _one_error_line(result) == PREFIX + "nope.yaml: file not found"
    assert not (tmp_path / "out").exists()


def test_bad_set_value(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST, "--set", "image.width=-5"],
                     tmp_path)
    assert _one_error_line(result) == (
        PREFIX + "scn.yaml: image.width (from --set 'image.width=-5'): input should be greater "
        "than or equal to 16 (got -5)")
    assert not (tmp_path / "out").exists()


def test_set_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    result = _simgen(["check", "scn.yaml", "--set", "camera.fov=40"], tmp_path)
    assert _one_error_line(result).startswith(
        PREFIX + "scn.yaml: camera.fov (from --set 'camera.fov=40'): unknown key "
        "(did you mean 'fov_deg'?)")


def test_asset_root_option(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    box = extra / "box.urdf"
    box.write_bytes((Path(pybullet_data.getDataPath()) / "cube.urdf").read_bytes())
    scn = tmp_path / "scn"
    scn.mkdir()
    (scn / "scn.yaml").write_text(_replace("pybullet:objects/mug.urdf", str(box)))
    refused = _one_error_line(_simgen(["check", "scn/scn.yaml"], tmp_path))
    assert refused.startswith(PREFIX + "scn/scn.yaml:9: objects[0].asset: ")
    assert "outside the allowed asset roots" in refused
    allowed = _simgen(["check", "scn/scn.yaml", "--asset-root", "extra"], tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert f"of {box}" in allowed.stdout


# --- output folder ----------------------------------------------------------------------------

def _fill(out: Path) -> None:
    out.mkdir()
    (out / "notes.txt").write_bytes(b"my notes\n")
    (out / "sub").mkdir()
    (out / "sub" / "data.bin").write_bytes(bytes(range(256)))
    (out / ".hidden").write_bytes(b"h")


def test_non_empty_out_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    out = tmp_path / "out"
    _fill(out)
    before = _snapshot(out)
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST], tmp_path)
    assert _one_error_line(result) == (
        PREFIX + "out: output folder is not empty (use --overwrite to replace a simgen dataset "
        "there)")
    assert _snapshot(out) == before


def test_non_empty_out_not_a_dataset_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    out = tmp_path / "out"
    _fill(out)
    before = _snapshot(out)
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST, "--overwrite"], tmp_path)
    assert _one_error_line(result) == (
        PREFIX + "out: not a simgen dataset, so --overwrite will not empty it; choose an empty "
        "or new folder")
    assert _snapshot(out) == before


def test_existing_dataset_without_overwrite_is_kept(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_bytes(b'{"format": "simgen-dataset/1"}\n')
    (out / "images").mkdir()
    before = _snapshot(out)
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST], tmp_path)
    assert "output folder is not empty" in _one_error_line(result)
    assert _snapshot(out) == before


def test_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    (tmp_path / "out").write_bytes(b"a file")
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST, "--overwrite"], tmp_path)
    assert _one_error_line(result) == PREFIX + "out: output path exists and is not a folder"
    assert (tmp_path / "out").read_bytes() == b"a file"


def test_bad_scenario_with_non_empty_out_leaves_it(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(_replace("  fov_deg: 50", "  fov: 50"))
    out = tmp_path / "out"
    _fill(out)
    before = _snapshot(out)
    result = _simgen(["generate", "scn.yaml", "-o", "out", *FAST, "--overwrite"], tmp_path)
    assert _one_error_line(result).startswith(PREFIX + "scn.yaml:14: camera.fov: ")
    assert _snapshot(out) == before


# --- argument errors (argparse) ---------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "argument --seed: must be >= 0 (got -1)"),
    (["--seed", "abc"], "argument --seed: expected an integer (got 'abc')"),
    (["-n", "0"], "argument -n/--images: must be >= 1 (got 0)"),
    (["-n", "-3"], "argument -n/--images: must be >= 0 (got -3)"),
    (["--image-ids", "x"], "argument --image-ids: expected ID or FIRST..LAST (got 'x')"),
    (["--renderer", "vulkan"], "argument --renderer: invalid choice: 'vulkan'"),
])
def test_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    argv = ["generate", "scn.yaml", "-o", "out", "-n", "1", "-q", *args]
    stderr = _usage_error(_simgen(argv, tmp_path, process=args[0] == "--renderer"))
    assert f"simgen generate: error: {message}" in stderr
    assert not (tmp_path / "out").exists()


def test_missing_out_argument(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    stderr = _usage_error(_simgen(["generate", "scn.yaml"], tmp_path))
    assert "the following arguments are required: -o/--out" in stderr


# --- `simgen check` ---------------------------------------------------------------------------

def test_check_tabletop_from_repo_root() -> None:
    result = _simgen(["check", "scenes/tabletop.yaml"], REPO)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "scenes/tabletop.yaml: ok"
    assert lines[1].startswith("  scenario    tabletop (sha256 ")
    assert lines[1].endswith("), sampling random")
    assert "  image       640x480, 4 views per scene" in lines
    assert "  splits      train 0.8, val 0.1, test 0.1" in lines
    assert ("  categories  1:mug, 2:duck, 3:lego_brick, 4:jenga_block, 5:teddy_bear, 6:ball"
            in lines)
    assert ("  static      2 bodies: floor (pybullet:plane.urdf), table "
            "(pybullet:table/table.urdf)") in lines
    assert "  objects     mug: count {randint: [1, 2]} of pybullet:objects/mug.urdf" in lines
    assert ("  distractors count {randint: [1, 4]} of pybullet:random_urdfs/0[0-3]*/*.urdf "
            "(40 files)") in lines
    assert ("  camera      fov_deg {uniform: [45.0, 60.0]}; orbit of look_at [0, 0, 0.65]: "
            "distance_m {uniform: [0.8, 1.3]}, azimuth_deg {uniform: [0.0, 360.0]}, "
            "elevation_deg {uniform: [25.0, 70.0]}; near_m 0.01, far_m 20") in lines
    assert lines[-3].startswith("  light       direction [{uniform: [-1.0, 1.0]}, ")
    assert lines[-2:] == ["  outputs     rgb",
                          "  labels      min_pixels 30, min_visibility 0, occlusion exact"]


def test_check_lists_robots_augmentation_and_outputs() -> None:
    result = _simgen(["check", "scenes/robot_workcell.yaml", "--set", "outputs.depth=true",
                      "--set", "augment={pipeline: [{HorizontalFlip: {p: 0.5}}], "
                               "augmentations_per_view: 2}"], REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  image       640x480, 4 views per scene, 2 augmented per view" in lines
    robot = next(line for line in lines if line.startswith("  robot "))
    assert robot.startswith("  robot       panda (pybullet:franka_panda/panda.urdf), labeled "
                            "robot_arm; joints panda_joint1 {uniform: [-1.5, 1.5]}, ")
    assert robot.endswith("; other joints random; gripper {uniform: [0.0, 1.0]} on the *finger* "
                          "joints")
    assert "  outputs     rgb + depth" in lines
    assert "  augment     1 step: HorizontalFlip" in lines


def test_check_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(BASE)
    result = _simgen(["check", "scn.yaml"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scn.yaml"]


def test_check_bad_file_from_repo_root(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nname: y\n")
    line = _one_error_line(_simgen(["check", str(bad)], REPO))
    assert line == f"{PREFIX}{bad}:2: name: duplicate key (first given on line 1)"


def test_an_error_line_stays_short_whatever_it_echoes(tmp_path: Path) -> None:
    (tmp_path / "scn.yaml").write_text(_replace("    category: mug",
                                                "    category: " + "m" * 1_000_000))
    line = _one_error_line(_simgen(["check", "scn.yaml"], tmp_path))
    assert len(line) < 1200 and "characters left out" in line
    assert line.startswith(PREFIX + "scn.yaml:10: objects[0].category: unknown category")


@pytest.mark.parametrize("scenario, reason", [
    ("/dev/zero", "not a regular file"),         # was read without end until killed
    (".", "not a regular file"),
    ("loop.yaml", "cannot read file ([Errno 40] Too many levels of symbolic links"),
    ("big.yaml", "1048577 bytes, more than the 1048576 a scenario may have"),
])
def test_a_scenario_that_is_no_regular_file_of_bounded_size_is_refused(tmp_path, scenario,
                                                                        reason):
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "big.yaml").write_text("#" * (1024**2 + 1))
    line = _one_error_line(_simgen(["check", scenario], tmp_path, timeout=10))
    assert line.startswith(f"{PREFIX}{scenario}: {reason}"), line


def test_bare_simgen_lists_the_commands(tmp_path) -> None:
    result = _simgen([], tmp_path, process=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: simgen [-h] [--version] COMMAND ...")
    for command in ("generate", "check", "info", "preview", "export", "verify", "regen",
                    "report", "mix"):
        assert f"    {command} " in result.stderr, command
