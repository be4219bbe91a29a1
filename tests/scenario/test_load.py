"""Tests for simgen.scenario.load: validation errors name file, line and key path; assets; --set."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from simgen.errors import ScenarioError, SimgenError
from simgen.scenario import Scenario, load
from simgen.scenario.assets import pybullet_data_root
from simgen.scenario.distributions import Constant, RandInt, Uniform

# The structure of scenes/tabletop.yaml, small. Line numbers are used below; keep them in step.
BASE = """\
# A small test scenario.
name: tiny
description: two groups of mugs
image:
  width: 64
  height: 48
views_per_scene: 2
splits: {train: 0.5, val: 0.5}
categories: [mug, cup]
static:
  - {asset: "pybullet:plane.urdf"}
objects:
  - asset: "pybullet:objects/mug.urdf"
    category: mug
    count: {randint: [1, 3]}
    spawn: {box: {min: [-0.2, -0.1, 0.1], max: [0.2, 0.1, 0.3]}}
  - asset: "pybullet:objects/mug.urdf"
    category: cup
    count: 2
    scale: {uniform: [0.9, 1.1]}
    spawn: {box: {min: [-0.2, -0.1, 0.1], max: [0.2, 0.1, 0.3]}}
camera:
  fov_deg: 50
  look_at: [0, 0, 0.1]
  distance_m: 1.0
  azimuth_deg: {uniform: [0, 360]}
  elevation_deg: 30
light:
  ambient: 0.5
settle: {max_steps: 100}
"""

LINE = {"name": 2, "image": 4, "width": 5, "height": 6, "splits": 8, "categories": 9,
        "static0": 11, "objects0": 13, "asset0": 13, "category0": 14, "count0": 15,
        "objects1": 17, "category1": 18, "count1": 19, "camera": 22, "fov_deg": 23,
        "distance_m": 25, "light": 28}

BOX_URDF = """<?xml version="1.0"?>
<robot name="box">
  <link name="base">
    <inertial><mass value="0.1"/><inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial>
    <visual><geometry><box size="0.05 0.05 0.05"/></geometry></visual>
    <collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>
  </link>
</robot>
"""


def _write(folder: Path, text: str, name: str = "scn.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _replace(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def _error(path: Path, overrides=(), asset_roots=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(path, overrides, asset_roots)
    assert "\n" not in str(info.value)
    return info.value


@pytest.fixture
def scn_dir(tmp_path: Path) -> Path:
    return tmp_path / "scn"


@pytest.fixture
def base_path(scn_dir: Path) -> Path:
    return _write(scn_dir, BASE)


def test_base_line_numbers_match_the_text() -> None:
    lines = BASE.splitlines()
    assert lines[LINE["width"] - 1] == "  width: 64"
    assert lines[LINE["count0"] - 1] == "    count: {randint: [1, 3]}"
    assert lines[LINE["count1"] - 1] == "    count: 2"
    assert lines[LINE["camera"] - 1] == "camera:"
    assert lines[LINE["fov_deg"] - 1] == "  fov_deg: 50"
    assert lines[7 - 1] == "views_per_scene: 2"
    assert lines[LINE["distance_m"] - 1] == "  distance_m: 1.0"
    assert lines[LINE["categories"] - 1] == "categories: [mug, cup]"


# --- a valid file -----------------------------------------------------------------------------

def test_valid_file_loads(base_path: Path) -> None:
    scenario = load(base_path)
    assert isinstance(scenario, Scenario)
    spec = scenario.spec
    assert scenario.name == "tiny"
    assert scenario.source == str(base_path)
    assert scenario.overrides == ()
    assert (spec.image.width, spec.image.height, spec.views_per_scene) == (64, 48, 2)
    assert (spec.splits.train, spec.splits.val, spec.splits.test) == (0.5, 0.5, 0.0)
    assert spec.categories == ["mug", "cup"]
    assert spec.objects[0].count == RandInt(1, 3)
    assert spec.objects[1].count == Constant(2)
    assert spec.objects[1].scale == Uniform(0.9, 1.1)
    assert spec.objects[0].orientation_deg.to_spec() == [0.0, 0.0, {"uniform": [0.0, 360.0]}]
    assert spec.camera.fov_deg == Constant(50)
    assert spec.settle.max_steps == 100
    root = pybullet_data_root()
    assert scenario.asset_paths == {
        "pybullet:plane.urdf": str(root / "plane.urdf"),
        "pybullet:objects/mug.urdf": str(root / "objects" / "mug.urdf"),
    }
    assert scenario.file_sha256 == hashlib.sha256(base_path.read_bytes()).hexdigest()


def test_repo_scenes_load() -> None:
    scenes = Path(__file__).resolve().parents[2] / "scenes"
    scenario = load(scenes / "tabletop.yaml")
    assert scenario.spec.categories == ["mug", "duck", "lego_brick", "jenga_block",
                                        "teddy_bear", "ball"]
    assert len(scenario.spec.objects) == 6


def test_resolved_fills_defaults(base_path: Path) -> None:
    resolved = load(base_path).resolved()
    assert resolved["labels"] == {"min_pixels": 20, "min_visibility": 0.0, "occlusion": "exact"}
    assert resolved["splits"] == {"train": 0.5, "val": 0.5, "test": 0.0, "hold_out": None}
    assert resolved["objects"][0]["count"] == {"randint": [1, 3]}
    assert resolved["objects"][0]["orientation_deg"] == [0.0, 0.0, {"uniform": [0.0, 360.0]}]
    assert resolved["camera"]["near_m"] == 0.01


# --- sha256 -----------------------------------------------------------------------------------

def test_sha256_is_stable_across_loads(base_path: Path) -> None:
    a, b = load(base_path), load(base_path)
    assert a.sha256 == b.sha256
    assert len(a.sha256) == 64 and int(a.sha256, 16) >= 0


def test_sha256_ignores_comments_and_location(tmp_path: Path, base_path: Path) -> None:
    other = _write(tmp_path / "elsewhere" / "deeper", "# another comment\n" + BASE, "copy.yaml")
    a, b = load(base_path), load(other)
    assert a.sha256 == b.sha256
    assert a.file_sha256 != b.file_sha256


def test_sha256_changes_with_an_override(base_path: Path) -> None:
    plain = load(base_path)
    wider = load(base_path, ["image.width=160"])
    assert wider.sha256 != plain.sha256
    assert wider.file_sha256 == plain.file_sha256
    assert load(base_path, ["image.width=160"]).sha256 == wider.sha256


def test_sha256_changes_with_the_content(scn_dir: Path, base_path: Path) -> None:
    changed = _write(scn_dir, _replace("count: 2", "count: 3"), "changed.yaml")
    assert load(changed).sha256 != load(base_path).sha256


# --- schema errors ----------------------------------------------------------------------------

def test_unknown_key_did_you_mean(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("  fov_deg: 50", "  fov: 50"))
    err = _error(path)
    assert (err.file, err.line, err.key_path) == (str(path), LINE["fov_deg"], "camera.fov")
    assert str(err).startswith(
        f"{path}:{LINE['fov_deg']}: camera.fov: unknown key (did you mean 'fov_deg'?); "
        "expected one of: fov_deg, fx, fy, ")
    assert "scn.yaml" in str(err)


def test_unknown_top_level_key_did_you_mean(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("views_per_scene: 2", "views_per_scen: 2"))
    err = _error(path)
    assert (err.line, err.key_path) == (7, "views_per_scen")
    assert "unknown key (did you mean 'views_per_scene'?)" in str(err)


def test_misspelled_required_key_reports_the_typo(scn_dir: Path) -> None:
    # BUG: a misspelled *required* key gives two pydantic errors, `missing` for the real key and
    # `extra_forbidden` for the typo; the first one wins, so the user gets "categories: required
    # key is missing" on line 2 (the document start) instead of the typo's line and a
    # did-you-mean.
    path = _write(scn_dir, _replace("categories:", "catgories:"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["categories"], "catgories")
    assert "unknown key (did you mean 'categories'?)" in str(err)


def test_misspelled_required_nested_key_reports_the_typo(scn_dir: Path) -> None:
    # BUG (same cause): `distance:` for `distance_m:` reports camera.distance_m missing at the
    # `camera:` line.
    path = _write(scn_dir, _replace("  distance_m: 1.0", "  distance: 1.0"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["distance_m"], "camera.distance")
    assert "did you mean 'distance_m'?" in str(err)


def test_unknown_key_without_close_match(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("  ambient: 0.5", "  ambient: 0.5\n  zzzzzz: 1"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["light"] + 2, "light.zzzzzz")
    assert "unknown key; expected one of: direction, color, distance_m, ambient" in str(err)
    assert "did you mean" not in str(err)


def test_unknown_key_inside_list_item(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("    count: 2", "    cout: 2"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["count1"], "objects[1].cout")
    assert "did you mean 'count'?" in str(err)


def test_missing_required_key(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("  distance_m: 1.0\n", ""))
    err = _error(path)
    assert err.key_path == "camera.distance_m"
    assert err.line == LINE["camera"]
    assert str(err) == f"{path}:{LINE['camera']}: camera.distance_m: required key is missing"


def test_missing_top_level_section(scn_dir: Path) -> None:
    text = BASE[:BASE.index("camera:")] + BASE[BASE.index("light:"):]
    path = _write(scn_dir, text)
    err = _error(path)
    assert err.key_path == "camera"
    assert "required key is missing" in str(err)


def test_wrong_type(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("width: 64", "width: abc"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["width"], "image.width")
    assert str(err).startswith(f"{path}:{LINE['width']}: image.width: ")
    assert "(got 'abc')" in str(err)


def test_out_of_range_value(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("height: 48", "height: 8"))
    err = _error(path)
    assert str(err) == (f"{path}:{LINE['height']}: image.height: "
                        "input should be greater than or equal to 16 (got 8)")


def test_error_in_list_item(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("    count: 2", "    count: 2.5"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["count1"], "objects[1].count")
    assert str(err) == f"{path}:{LINE['count1']}: objects[1].count: must be an integer (got 2.5)"


def test_distribution_bound_error_in_list_item(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("count: {randint: [1, 3]}", "count: {randint: [-1, 3]}"))
    err = _error(path)
    assert str(err) == (f"{path}:{LINE['count0']}: objects[0].count: every value drawn must be "
                        ">= 0 (got {'randint': [-1, 3]})")


def test_normal_on_bounded_camera_field(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("fov_deg: 50", "fov_deg: {normal: [50, 5]}"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["fov_deg"], "camera.fov_deg")
    assert "normal is unbounded here; use uniform" in str(err)


def test_error_in_tuple_item(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("look_at: [0, 0, 0.1]", "look_at: [0, 0, {uniform: [1]}]"))
    err = _error(path)
    # look_at is one vector distribution: the error names the vector and the component in it.
    assert (err.line, err.key_path) == (LINE["fov_deg"] + 1, "camera.look_at")
    assert "component 2: uniform takes a list of two numbers (got [1])" in str(err)


def test_undeclared_category(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("category: mug", "category: bowl"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["category0"], "objects[0].category")
    assert str(err) == (f"{path}:{LINE['category0']}: objects[0].category: unknown category "
                        "'bowl'; declared: mug, cup")


def test_duplicate_category(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("categories: [mug, cup]", "categories: [mug, cup, mug]"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["categories"], "categories")
    assert "category names must be unique and non-empty (got 'mug' twice)" in str(err)


def test_splits_must_sum_to_one(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("splits: {train: 0.5, val: 0.5}",
                                    "splits: {train: 0.5, val: 0.4}"))
    err = _error(path)
    assert str(err) == f"{path}:{LINE['splits']}: splits: train + val + test must be 1 (got 0.9)"


def test_splits_over_one_refused(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("splits: {train: 0.5, val: 0.5}",
                                    "splits: {train: 0.8, val: 0.1, test: 0.2}"))
    assert "train + val + test must be 1 (got 1.1)" in str(_error(path))


def test_fov_and_focal_lengths_together_refused(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("  distance_m: 1.0", "  distance_m: 1.0\n  fx: 100\n  fy: 100"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["camera"], "camera")
    assert "give either fov_deg or fx/fy, not both" in str(err)


def test_scenario_must_be_a_mapping(scn_dir: Path) -> None:
    path = _write(scn_dir, "- a\n- b\n")
    assert str(_error(path)) == f"{path}:1: a scenario must be a mapping of keys"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    assert str(_error(path)) == f"{path}: file not found"


def test_yaml_errors_come_through_load(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("    count: 2", "    count: 2\n    count: 3"))
    err = _error(path)
    assert str(err) == (f"{path}:{LINE['count1'] + 1}: objects[1].count: duplicate key "
                        f"(first given on line {LINE['count1']})")
    assert isinstance(err, SimgenError)


# --- assets -----------------------------------------------------------------------------------

def test_missing_asset(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "pybullet:nope.urdf"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["asset0"], "objects[0].asset")
    assert str(err).startswith(f"{path}:{LINE['asset0']}: objects[0].asset: asset not found: "
                               "'pybullet:nope.urdf' (looked for ")


def test_missing_static_asset(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("pybullet:plane.urdf", "pybullet:floor.urdf"))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["static0"], "static[0].asset")
    assert "asset not found" in str(err)


def test_missing_asset_in_second_group(scn_dir: Path) -> None:
    text = _replace('  - asset: "pybullet:objects/mug.urdf"\n    category: cup',
                    '  - asset: "pybullet:nope.urdf"\n    category: cup')
    err = _error(_write(scn_dir, text))
    assert (err.line, err.key_path) == (LINE["objects1"], "objects[1].asset")


@pytest.mark.parametrize("ref", ["../../../etc/passwd", "../" * 40 + "etc/passwd",
                                 "pybullet:../../../../../../../../../etc/passwd"])
def test_relative_path_escape_refused(scn_dir: Path, ref: str) -> None:
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", ref))
    err = _error(path)
    assert (err.line, err.key_path) == (LINE["asset0"], "objects[0].asset")
    assert "outside the allowed asset roots" in str(err)
    assert str(err).startswith(f"{path}:{LINE['asset0']}: objects[0].asset: {ref!r} resolves to ")


def test_absolute_path_outside_roots_refused(tmp_path: Path, scn_dir: Path) -> None:
    box = _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", str(box)))
    err = _error(path)
    assert err.key_path == "objects[0].asset"
    assert "outside the allowed asset roots" in str(err)
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "/etc/passwd"), "etc.yaml")
    assert "outside the allowed asset roots" in str(_error(path))


def test_symlink_pointing_outside_refused(tmp_path: Path, scn_dir: Path) -> None:
    box = _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    scn_dir.mkdir(parents=True)
    os.symlink(box, scn_dir / "link.urdf")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "link.urdf"))
    err = _error(path)
    assert err.key_path == "objects[0].asset"
    assert "'link.urdf' resolves to " in str(err)
    assert "outside the allowed asset roots" in str(err)


def test_symlinked_folder_pointing_outside_refused(tmp_path: Path, scn_dir: Path) -> None:
    _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    scn_dir.mkdir(parents=True)
    os.symlink(tmp_path / "extra", scn_dir / "models")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "models/box.urdf"))
    assert "outside the allowed asset roots" in str(_error(path))


def test_extra_asset_root_allows_a_urdf_elsewhere(tmp_path: Path, scn_dir: Path) -> None:
    box = _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", str(box)))
    scenario = load(path, asset_roots=[tmp_path / "extra"])
    assert scenario.asset_paths[str(box)] == str(box.resolve())
    scenario = load(path, asset_roots=[str(tmp_path / "extra")])
    assert scenario.asset_paths[str(box)] == str(box.resolve())


def test_extra_asset_root_allows_a_symlink_into_it(tmp_path: Path, scn_dir: Path) -> None:
    box = _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    scn_dir.mkdir(parents=True)
    os.symlink(box, scn_dir / "link.urdf")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "link.urdf"))
    scenario = load(path, asset_roots=[tmp_path / "extra"])
    assert scenario.asset_paths["link.urdf"] == str(box.resolve())


def test_unrelated_extra_root_does_not_allow(tmp_path: Path, scn_dir: Path) -> None:
    box = _write(tmp_path / "extra", BOX_URDF, "box.urdf")
    (tmp_path / "other").mkdir()
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", str(box)))
    assert "outside the allowed asset roots" in str(_error(path, asset_roots=[tmp_path / "other"]))


def test_relative_asset_in_the_scenario_folder(scn_dir: Path) -> None:
    box = _write(scn_dir / "models", BOX_URDF, "box.urdf")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "models/box.urdf"))
    assert load(path).asset_paths["models/box.urdf"] == str(box.resolve())


@pytest.mark.parametrize("name", ["box.txt", "box"])
def test_unsupported_suffix_refused(scn_dir: Path, name: str) -> None:
    _write(scn_dir, BOX_URDF, name)
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", name))
    err = _error(path)
    assert err.key_path == "objects[0].asset"
    suffix = Path(name).suffix
    assert (f"unsupported asset type {suffix!r} (got {name!r}); supported here: .urdf, .sdf, "
            ".obj, .stl, .ply, .glb, .gltf") in str(err)


def test_a_urdf_named_like_a_mesh_is_read_as_a_mesh_and_refused(scn_dir: Path) -> None:
    _write(scn_dir, BOX_URDF, "box.obj")
    err = _error(_write(scn_dir, _replace("pybullet:objects/mug.urdf", "box.obj")))
    assert err.key_path == "objects[0].asset" and "box.obj: box.obj has no triangles" in str(err)


def test_uppercase_urdf_suffix_accepted(scn_dir: Path) -> None:
    _write(scn_dir, BOX_URDF, "BOX.URDF")
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "BOX.URDF"))
    assert load(path).asset_paths["BOX.URDF"] == str((scn_dir / "BOX.URDF").resolve())


def test_folder_is_not_an_asset(scn_dir: Path) -> None:
    (scn_dir / "dir.urdf").mkdir(parents=True)
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "dir.urdf"))
    assert "asset not found: 'dir.urdf'" in str(_error(path))


def test_empty_asset_path(scn_dir: Path) -> None:
    path = _write(scn_dir, _replace("pybullet:objects/mug.urdf", "pybullet:"))
    assert "empty asset path (got 'pybullet:')" in str(_error(path))


# --- --set overrides --------------------------------------------------------------------------

def test_set_applied(base_path: Path) -> None:
    scenario = load(base_path, ["image.width=160"])
    assert scenario.spec.image.width == 160
    assert scenario.spec.image.height == 48
    assert scenario.overrides == ("image.width=160",)
    assert scenario.resolved()["image"] == {"width": 160, "height": 48}


def test_set_distribution_in_list_item(base_path: Path) -> None:
    scenario = load(base_path, ["objects[0].count={randint: [1, 2]}"])
    assert scenario.spec.objects[0].count == RandInt(1, 2)
    assert scenario.spec.objects[1].count == Constant(2)


def test_set_with_dotted_index(base_path: Path) -> None:
    scenario = load(base_path, ["objects.0.count=2"])
    assert scenario.spec.objects[0].count == Constant(2)


def test_set_in_order_last_wins(base_path: Path) -> None:
    scenario = load(base_path, ["image.width=100", "image.width=120", "camera.fov_deg={uniform: [40, 60]}"])
    assert scenario.spec.image.width == 120
    assert scenario.spec.camera.fov_deg == Uniform(40.0, 60.0)
    assert scenario.overrides == ("image.width=100", "image.width=120",
                                  "camera.fov_deg={uniform: [40, 60]}")


def test_set_creates_a_missing_section(base_path: Path) -> None:
    scenario = load(base_path, ["labels.min_pixels=5"])
    assert scenario.spec.labels.min_pixels == 5


def test_set_replaces_a_whole_list(base_path: Path) -> None:
    scenario = load(base_path, ["categories=[mug, cup, bowl]"])
    assert scenario.spec.categories == ["mug", "cup", "bowl"]


def test_set_does_not_touch_the_file(base_path: Path) -> None:
    before = base_path.read_bytes()
    load(base_path, ["image.width=160"])
    assert base_path.read_bytes() == before
    assert load(base_path).spec.image.width == 64


def test_bad_set_value_names_the_override(base_path: Path) -> None:
    err = _error(base_path, ["image.width=-5"])
    assert "(from --set 'image.width=-5')" in str(err)
    assert err.line is None
    assert str(err) == (f"{base_path}: image.width (from --set 'image.width=-5'): "
                        "input should be greater than or equal to 16 (got -5)")


def test_bad_set_value_inside_an_overridden_section(base_path: Path) -> None:
    # BUG: _locate walks from the longest prefix down and returns the first hit in either map, so
    # the stale file line of image.height (line 6, which says `height: 48`) wins over the --set
    # that replaced the whole `image` section and holds the bad value.
    err = _error(base_path, ["image={width: 64, height: abc}"])
    assert str(err).startswith(
        f"{base_path}: image.height (from --set 'image={{width: 64, height: abc}}'): ")
    assert "(got 'abc')" in str(err)


def test_set_unknown_key_did_you_mean(base_path: Path) -> None:
    err = _error(base_path, ["camera.fov=5"])
    assert str(err).startswith(f"{base_path}: camera.fov (from --set 'camera.fov=5'): "
                               "unknown key (did you mean 'fov_deg'?)")


def test_set_bad_distribution(base_path: Path) -> None:
    err = _error(base_path, ["objects[1].count={uniform: [0, 3]}"])
    assert str(err) == (f"{base_path}: objects[1].count (from --set "
                        "'objects[1].count={uniform: [0, 3]}'): must be an integer; use randint "
                        "for integers (got {'uniform': [0, 3]})")


def test_set_no_such_list_item(base_path: Path) -> None:
    err = _error(base_path, ["objects[5].count=2"])
    assert str(err) == f"{base_path}: objects[5]: --set 'objects[5].count=2': no such list item"


def test_set_through_a_scalar(base_path: Path) -> None:
    err = _error(base_path, ["image.width.x=2"])
    assert str(err) == f"{base_path}: image.width.x: --set 'image.width.x=2': not a mapping here"


@pytest.mark.parametrize("text, message", [
    ("image.width", "--set expects key.path=value (got 'image.width')"),
    ("=5", "--set expects key.path=value (got '=5')"),
    ("image..width=5", "--set: bad key path 'image..width'"),
])
def test_set_malformed(base_path: Path, text: str, message: str) -> None:
    assert str(_error(base_path, [text])) == f"{base_path}: {message}"


def test_set_invalid_yaml_value(base_path: Path) -> None:
    err = _error(base_path, ["image.width=[1"])
    assert "invalid YAML" in str(err)
    assert err.key_path == "image.width (from --set 'image.width=[1')"
    assert str(err).startswith(f"{base_path}: image.width (from --set")


def test_set_python_tag_refused(base_path: Path) -> None:
    err = _error(base_path, ['name=!!python/object/apply:os.system ["true"]'])
    assert "!!python" in str(err)


def test_set_empty_value_is_null(base_path: Path) -> None:
    err = _error(base_path, ["image.width="])
    assert err.key_path == "image.width (from --set 'image.width=')"
    assert "(got None)" in str(err)


@pytest.mark.parametrize("override, message", [
    ("labels={occlusion: none, amodal_masks: true}", "amodal_masks needs occlusion: exact"),
    ("objects.0.symmetry={continuous: [{axis: [0, 0, 2]}]}", "axis must be a unit vector"),
    ("objects.0.symmetry={discrete: [[1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]}",
     "discrete[0] is not a rigid transform"),
    ("objects.0.symmetry={discrete: [[1, 0, 0]]}", "at least 16"),
])
def test_symmetry_and_amodal_masks_are_checked_at_load(base_path: Path, override, message) -> None:
    err = _error(base_path, [override])
    assert message in str(err) and ("labels" in str(err) or "symmetry" in str(err))


def test_a_symmetry_is_kept_and_a_scenario_without_one_hashes_as_before(base_path: Path) -> None:
    plain = load(base_path)
    spun = load(base_path, ["objects.0.symmetry={continuous: [{axis: [0, 0, 1]}], discrete: "
                            "[[-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]}"])
    assert spun.spec.objects[0].symmetry.continuous[0].axis == (0.0, 0.0, 1.0)
    assert "symmetry" not in plain.resolved()["objects"][0]
    assert "amodal_masks" not in plain.resolved()["labels"]
    assert spun.sha256 != plain.sha256
