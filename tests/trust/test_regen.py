"""`simgen regen`: any stored image, re-made from its provenance alone, is identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simgen import scene as scene_module
from simgen.cli import main
from simgen.errors import SimgenError
from simgen.dataset.reader import read_stored
from simgen.trust.regen import regenerate, regenerate_many
from tests.conftest import REPO, SMALL
from tests.trust.conftest import ALL_TRAIN, TRAIN, copy_dataset, edit_coco, flip_byte

TABLETOP = REPO / "scenes/tabletop.yaml"
# As tests/scene/test_augmented.py: geometric transforms, two variants of each render.
GEOMETRIC = ("augment={pipeline: [{HorizontalFlip: {p: 0.5}}, {Rotate: {limit: [-30, 30], p: 1}}, "
             "{Affine: {scale: [0.8, 1.2], translate_percent: [-0.1, 0.1], p: 0.7}}, "
             "{RandomCrop: {height: 100, width: 140, p: 1}}], augmentations_per_view: 2}")


@pytest.fixture(scope="module")
def fresh(make_dataset) -> Path:
    # Every image in train, as the tests below assume (one file to edit).
    return make_dataset(TABLETOP, images=8, overrides=(*SMALL, ALL_TRAIN))


@pytest.fixture(scope="module")
def augmented(make_dataset) -> Path:
    return make_dataset(TABLETOP, images=8, overrides=(*SMALL, GEOMETRIC, ALL_TRAIN))


def test_regen_gives_identical_bytes(fresh):
    result = regenerate(fresh, 7)
    assert result.identical, result.differences
    assert result.differences == [] and result.notes == []
    assert result.file == "images/train/000000007.png"
    assert result.image_bytes == (fresh / result.file).read_bytes()
    stored = read_stored(fresh)[7]
    assert result.annotations == len(stored.annotations) > 0


def test_cli_regen_writes_the_remade_image(fresh, tmp_path, capsys):
    target = tmp_path / "sub" / "remade.png"
    assert main(["regen", str(fresh), "--image-id", "2", "-o", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("simgen: image 2 (images/train/000000002.png) re-made: identical")
    assert out[1] == f"simgen: wrote the re-made image to {target}"
    assert target.read_bytes() == (fresh / "images/train/000000002.png").read_bytes()


def test_regen_of_an_augmented_variant(augmented):
    stored = read_stored(augmented)
    # Image 6 is the second variant (1) of render 3: scene 0, view 2 (4 views, 2 variants each).
    augment = stored[6].image["provenance"]["augment"]
    assert (augment["variant"], augment["render_id"]) == (1, 3)
    assert stored[6].image["provenance"]["scene_index"] == 0
    assert (stored[6].image["width"], stored[6].image["height"]) == (140, 100)
    result = regenerate(augmented, 6)
    assert result.identical, result.differences
    assert result.image_bytes == (augmented / result.file).read_bytes()
    # Its first variant is another picture, also re-made exactly.
    first = regenerate(augmented, 5)
    assert first.identical and first.image_bytes != result.image_bytes


def test_many_images_settle_each_scene_once(fresh, monkeypatch):
    calls = []
    real = scene_module.run_scene_safely

    def counting(scenario, seed, scene_index, world, renderer, items, *rest):
        calls.append((scene_index, list(items)))
        return real(scenario, seed, scene_index, world, renderer, items, *rest)

    monkeypatch.setattr(scene_module, "run_scene_safely", counting)
    results = regenerate_many(fresh, [8, 1, 6, 3])
    assert [r.image_id for r in results] == [8, 1, 6, 3]
    assert all(r.identical for r in results), [r.differences for r in results]
    # ids 1..4 are scene 0 (views 0..3), 5..8 scene 1: two scenes, only the chosen views.
    assert calls == [(0, [(0, 0), (2, 0)]), (1, [(3, 0), (1, 0)])]


def test_a_changed_annotation_or_image_is_different(fresh, tmp_path, capsys):
    ds = copy_dataset(fresh, tmp_path / "ds")
    data = json.loads((ds / TRAIN).read_bytes())
    ann = next(a for a in data["annotations"] if a["image_id"] == 4)

    def tweak(data):
        target = next(a for a in data["annotations"] if a["id"] == ann["id"])
        target["visibility"] = 0.5

    edit_coco(ds, tweak, hide=False)  # regen compares with what is stored, manifest or not
    result = regenerate(ds, 4)
    assert not result.identical
    assert result.differences == [
        f"annotation {ann['id']}: visibility: stored 0.5, re-made {ann['visibility']}"]
    assert regenerate(ds, 3).identical  # the others are untouched
    flip_byte(ds / "images/train/000000003.png")
    assert main(["regen", str(ds), "--image-id", "3"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("simgen: image 3 (images/train/000000003.png) re-made: DIFFERENT")
    assert out[1].startswith("  images/train/000000003.png: bytes differ (stored ")


def test_an_edited_provenance_is_different(fresh, tmp_path):
    ds = copy_dataset(fresh, tmp_path / "ds")
    edit_coco(ds, lambda data: data["images"][0]["provenance"]["physics"].__setitem__("steps", 1))
    result = regenerate(ds, 1)
    assert not result.identical and result.image_bytes == (ds / result.file).read_bytes()
    assert len(result.differences) == 1
    assert result.differences[0].startswith("COCO image entry: provenance.physics.steps: stored 1")


def test_no_such_image_is_a_usage_error(fresh, capsys):
    with pytest.raises(SimgenError, match="no image with id 99"):
        regenerate(fresh, 99)
    assert main(["regen", str(fresh), "--image-id", "99"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"simgen: error: {fresh}: no image with id 99 in "
                            "annotations/instances_*.json (its ids run 1..8)\n")


def test_not_a_dataset_is_a_usage_error(tmp_path, capsys):
    assert main(["regen", str(tmp_path), "--image-id", "1"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("simgen: error: ") and "not a simgen dataset" in line


def test_a_tampered_manifest_scenario_or_renderer_is_a_clear_error(fresh, tmp_path, capsys):
    ds = copy_dataset(fresh, tmp_path / "ds")
    manifest = json.loads((ds / "manifest.json").read_bytes())
    manifest["scenario"]["resolved"]["settle"]["max_steps"] += 1
    (ds / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SimgenError, match="scenario.resolved hashes to .* not the recorded"):
        regenerate(ds, 1)
    manifest["scenario"]["resolved"]["settle"]["max_steps"] -= 1
    manifest["renderer"] = "vulkan"
    (ds / "manifest.json").write_text(json.dumps(manifest))
    assert main(["regen", str(ds), "--image-id", "1"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("simgen: error: renderer 'vulkan' (recorded in the manifest) cannot "
                           "start here")


def test_a_dataset_made_in_another_checkout_needs_scenario_dir(tmp_path, capsys):
    """Relative asset references resolve against the scenario folder the manifest recorded;
    when that folder has moved, regen says it cannot use it, and --scenario-dir points it at
    the new place."""
    import shutil

    import simgen

    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "scenes", checkout / "scenes")
    out = tmp_path / "ds"
    scenario = simgen.load_scenario(checkout / "scenes/shelf_picking.yaml", list(SMALL))
    assert any(not ref.startswith(("pybullet:", "assets:", "catalog:"))
               for ref in scenario.asset_paths), "shelf_picking has a relative asset"
    simgen.generate(scenario, out, images=2, renderer="tiny")
    moved = tmp_path / "moved"
    checkout.rename(moved)

    with pytest.raises(SimgenError, match=r"no scenario file shelf_picking\.yaml there; pass "
                                          r"--scenario-dir DIR"):
        regenerate(out, 2)
    assert main(["regen", str(out), "--image-id", "2"]) == 2
    assert "--scenario-dir" in capsys.readouterr().err

    assert regenerate(out, 2, scenario_dir=moved / "scenes").identical
    assert main(["regen", str(out), "--image-id", "2", "--scenario-dir",
                 str(moved / "scenes")]) == 0
    assert main(["verify", str(out), "--reproduce", "2", "--scenario-dir",
                 str(moved / "scenes")]) == 0
    assert "2 identical" in capsys.readouterr().out


def test_a_stored_path_leading_out_of_the_dataset_is_never_read(fresh, tmp_path):
    ds = copy_dataset(fresh, tmp_path / "ds")
    secret = tmp_path / "secret.png"
    secret.write_bytes((fresh / "images/train/000000002.png").read_bytes())

    def escape(data):
        image = next(i for i in data["images"] if i["id"] == 2)
        image["file_name"] = "../../../secret.png"

    edit_coco(ds, escape, hide=False)
    result = regenerate(ds, 2)
    assert not result.identical
    assert any("not a relative path inside the dataset" in line for line in result.differences)
    # A link inside the dataset that points out of it is refused the same way.
    link = ds / "images/train/000000005.png"
    link.unlink()
    link.symlink_to(secret)
    result = regenerate(ds, 5)
    assert not result.identical
    assert any("leads out of the dataset" in line for line in result.differences)


def test_a_hostile_manifest_cannot_open_files_outside_the_scenario(fresh, tmp_path, capsys):
    """A manifest naming '/' as its scenario folder and asset root, its hash recomputed, with a
    system file as a texture: regen refuses before opening anything."""
    from simgen.dataset.layout import scenario_sha256

    ds = copy_dataset(fresh, tmp_path / "ds")
    manifest = json.loads((ds / "manifest.json").read_text())
    scenario = manifest["scenario"]
    scenario["dir"], scenario["asset_roots"] = "/", ["/"]
    scenario["resolved"]["static"][0]["appearance"]["textures"] = ["etc/hostname"]
    scenario["sha256"] = scenario_sha256(scenario["resolved"])
    (ds / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SimgenError, match=r"the scenario folder it records \(/\) cannot be used"):
        regenerate(ds, 1)
    # Even pointed at a real folder, the manifest's own asset roots do not count.
    with pytest.raises(SimgenError, match="etc/hostname"):
        regenerate(ds, 1, scenario_dir=tmp_path)
