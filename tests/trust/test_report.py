"""`simgen report`: every section for every scenario, exact statistics of a handmade COCO
dataset, any COCO layout, the comparison of two datasets, and the command line."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from simgen.cli import main
from simgen.dataset.coco_source import load_coco_source
from simgen.errors import SimgenError
from simgen.viz.preview import category_color
from simgen.trust.report import NOT_AVAILABLE, default_report_path, write_report
from simgen.trust.report_stats import compare, dataset_stats, near_duplicates
from tests.conftest import REPO, SCENES

pytestmark = pytest.mark.slow

W, H = 64, 48
SECTION_IDS = ["summary", "classes", "objects", "boxes", "centres", "visibility", "truncation",
               "colour", "camera", "duplicates", "samples"]
HEADINGS = {"summary": "Diversity summary", "comparison": "Comparison",
            "classes": "Class balance", "objects": "Objects per image",
            "boxes": "Box size and aspect", "centres": "Object-centre heatmap",
            "visibility": "Visibility", "truncation": "Truncation",
            "colour": "Brightness and colour", "camera": "Camera coverage",
            "duplicates": "Near-duplicate images", "samples": "Random images with labels"}
UNIFORM_BGR = (40, 80, 160)


# --- a handmade "real" COCO dataset with known numbers ----------------------------------------

def _pixels() -> dict[str, np.ndarray]:
    noise = np.random.default_rng(7).integers(0, 256, (H, W, 3), dtype=np.uint8)
    gradient = np.repeat(np.linspace(0, 255, W).astype(np.uint8)[None, :, None], H, axis=0)
    return {"a.png": noise,                                          # id 1
            "b.png": np.repeat(gradient, 3, axis=2),                 # id 2: dHash all ones
            "c.png": noise.copy(),                                   # id 3: a.png saved again
            "d.png": np.full((H, W, 3), UNIFORM_BGR, np.uint8)}      # id 4: dHash 0


def _box_rle(x: int, y: int, w: int, h: int) -> dict:
    mask = np.zeros((H, W), np.uint8)
    mask[y:y + h, x:x + w] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": [H, W], "counts": rle["counts"].decode("ascii")}


def _coco() -> dict:
    images = [{"id": i, "file_name": name, "width": W, "height": H}
              for i, name in enumerate(_pixels(), start=1)]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 5, "bbox": [8, 6, 16, 12], "area": 192,
         "iscrowd": 0, "segmentation": [[8, 6, 23, 6, 23, 17, 8, 17]]},          # polygon
        {"id": 2, "image_id": 1, "category_id": 9, "bbox": [40, 20, 8, 16], "area": 128,
         "iscrowd": 0, "segmentation": _box_rle(40, 20, 8, 16)},                 # RLE
        {"id": 3, "image_id": 3, "category_id": 5, "bbox": [0, 0, 64, 48], "area": 3072,
         "iscrowd": 0},
        {"id": 4, "image_id": 4, "category_id": 5, "bbox": [30, 30, 10, 10], "area": 100,
         "iscrowd": 0},
        {"id": 5, "image_id": 2, "category_id": 9, "bbox": [0, 0, 10, 10], "area": 100,
         "iscrowd": 1},                                                          # not counted
    ]
    categories = [{"id": 9, "name": "spoon"}, {"id": 5, "name": "mug"}]  # out of id order
    return {"images": images, "annotations": annotations, "categories": categories}


def write_real(root: Path, json_rel: str = "annotations.json", images_rel: str = "pictures",
               coco: dict | None = None) -> Path:
    """The handmade dataset: its JSON at root/json_rel, its images in root/images_rel."""
    (root / images_rel).mkdir(parents=True, exist_ok=True)
    for name, bgr in _pixels().items():
        assert cv2.imwrite(str(root / images_rel / name), bgr)
    (root / json_rel).parent.mkdir(parents=True, exist_ok=True)
    (root / json_rel).write_text(json.dumps(coco or _coco()))
    return root / json_rel


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """A COCO JSON file whose images lie in a sibling folder: real/annotations.json + pictures/."""
    return write_real(tmp_path_factory.mktemp("handmade") / "real")


@pytest.fixture(scope="module")
def real_report(real, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "real.html"
    return write_report(real, out), out.read_text()


# --- helpers ---------------------------------------------------------------------------------

def sections(page: str) -> dict[str, tuple[str, str]]:
    """Section id -> (heading, body)."""
    found = re.findall(r'<section id="([a-z]+)"><h2>(.*?)</h2>(.*?)</section>', page, re.S)
    return {sid: (heading, body) for sid, heading, body in found}


def pngs(body: str) -> list[np.ndarray]:
    """Every embedded PNG of an HTML fragment, decoded."""
    images = []
    for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', body):
        raw = base64.b64decode(data, validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 10 and image.shape[1] > 10
        images.append(image)
    return images


def assert_self_contained(page: str) -> None:
    lowered = page.lower()
    for bad in ('src="http', "src='http", "<link", "<script", "url(", "@import", 'href="http',
                "<iframe"):
        assert bad not in lowered, bad
    assert all(src.startswith("data:image/png;base64,")
               for src in re.findall(r'src="([^"]*)"', page))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- (1) every section, for every scenario ---------------------------------------------------

@pytest.mark.parametrize("scene", SCENES, ids=[s.stem for s in SCENES])
def test_every_section_for_each_scenario(make_dataset, scene, tmp_path):
    dataset = make_dataset(scene, images=4)
    before = snapshot(dataset)
    result = write_report(dataset, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert result.out == tmp_path / "report.html"

    found = sections(page)
    assert list(found) == SECTION_IDS == list(result.sections)
    for sid, (heading, body) in found.items():
        assert heading == HEADINGS[sid]
        assert NOT_AVAILABLE not in body, sid   # simgen writes camera and occlusion labels
        if sid != "summary":
            assert pngs(body), f"section {sid} has no image"
    assert_self_contained(page)

    cocos = [json.loads(p.read_text()) for p in sorted(dataset.glob("annotations/*.json"))]
    labels = result.stats.labels
    assert labels.n_images == sum(len(c["images"]) for c in cocos) == 4
    assert labels.n_annotations == sum(len(c["annotations"]) for c in cocos)
    assert labels.objects_per_image.sum() == labels.n_annotations
    assert labels.camera_distance_m is not None and len(labels.camera_distance_m) == 4
    assert labels.visibility is not None and len(labels.visibility) == labels.n_annotations
    assert snapshot(dataset) == before, "the report must not touch the dataset"
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file left behind"


# --- (2) known numbers on a handmade COCO dataset ---------------------------------------------

def test_label_statistics_of_the_handmade_dataset(real_report):
    result, _ = real_report
    labels = result.stats.labels
    assert labels.categories == ["mug", "spoon"]
    assert labels.class_counts == {"mug": 3, "spoon": 1}
    assert labels.images_per_class == {"mug": 3, "spoon": 1}
    assert labels.objects_per_image.tolist() == [2, 0, 1, 1]
    assert (labels.n_annotations, labels.n_crowd) == (4, 1)
    assert labels.coco_sizes == {"small": 3, "medium": 1, "large": 0}
    assert np.allclose(labels.box_rel_size,
                       np.sqrt(np.array([192, 128, 3072, 100]) / (W * H)))
    assert np.allclose(labels.box_aspect_log2, [np.log2(16 / 12), -1.0, np.log2(64 / 48), 0.0])
    assert np.allclose(labels.centre_xy, [[16 / W, 12 / H], [44 / W, 28 / H], [0.5, 0.5],
                                          [35 / W, 35 / H]])
    assert labels.visibility is None and labels.truncation is None
    assert labels.camera_distance_m is None and labels.camera_azimuth_deg is None


def test_pixel_statistics_and_hashes_of_known_images(real_report):
    result, _ = real_report
    px = result.stats.pixels
    assert px.keys == ["annotations/a.png", "annotations/b.png", "annotations/c.png",
                       "annotations/d.png"]
    assert int(px.dhash[1]) == 2 ** 64 - 1           # brightness rises left to right everywhere
    assert int(px.dhash[3]) == 0                     # flat
    assert px.dhash[0] == px.dhash[2]
    assert px.mean_rgb[3].tolist() == [160.0, 80.0, 40.0]   # BGR (40, 80, 160)
    assert px.contrast[3] == 0.0 and px.saturation[3] == pytest.approx(0.75, abs=0.01)
    assert px.brightness[1] == pytest.approx(127.5, abs=1.0)


def test_the_same_image_saved_twice_is_a_near_duplicate_and_no_other_pair(real_report):
    result, page = real_report
    dup = result.stats.duplicates
    assert dup.pairs == [(0, 2, 0)] and dup.n_pairs == 1
    assert dup.groups == 3
    assert dup.nearest[0] == dup.nearest[2] == 0
    assert dup.nearest[1] > 4 and dup.nearest[3] > 4
    body = sections(page)["duplicates"][1]
    assert "annotations/a.png" in body and "annotations/c.png" in body
    assert "annotations/b.png" not in body and "annotations/d.png" not in body
    assert len(pngs(body)) == 2   # nearest-distance histogram + the pair's thumbnails


def test_near_duplicates_match_a_brute_force_count():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2 ** 63, size=3, dtype=np.uint64)
    hashes = base[rng.integers(0, 3, 40)] ^ (np.uint64(1) << rng.integers(0, 64, 40).astype(np.uint64))
    got = near_duplicates(hashes, 2, chunk=7)
    brute = sorted((bin(int(hashes[i]) ^ int(hashes[j])).count("1"), i, j)
                   for i in range(40) for j in range(i + 1, 40)
                   if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 2)
    assert got.pairs == [(i, j, d) for d, i, j in brute] and got.n_pairs == len(brute)
    assert got.groups == 3


def test_real_data_sections_say_not_available(real_report):
    _, page = real_report
    found = sections(page)
    assert list(found) == SECTION_IDS
    for sid in ("visibility", "truncation", "camera"):
        assert f'<p class="na">{NOT_AVAILABLE}</p>' in found[sid][1]
        assert not pngs(found[sid][1])
    for sid in ("classes", "objects", "boxes", "centres", "colour", "duplicates", "samples"):
        assert NOT_AVAILABLE not in found[sid][1] and pngs(found[sid][1])
    assert_self_contained(page)


def test_contact_sheet_draws_the_labels_in_category_colours(real_report):
    _, page = real_report
    sheet = pngs(sections(page)["samples"][1])[0]
    for category_id in (5, 9):   # mug, spoon: their boxes and tags in their colours
        r, g, b = category_color(category_id)
        assert (sheet == (b, g, r)).all(axis=2).sum() >= 20, category_id


def test_pixel_statistics_use_at_most_max_images(real, tmp_path):
    source = load_coco_source(real)
    one = dataset_stats(source, max_images=2, seed=5)
    two = dataset_stats(source, max_images=2, seed=5)
    assert len(one.pixels.keys) == 2 and one.pixels.keys == two.pixels.keys
    assert one.labels.n_annotations == 4 and len(one.labels.objects_per_image) == 4


# --- (3) any COCO layout ---------------------------------------------------------------------

@pytest.mark.parametrize("json_rel, images_rel", [
    ("annotations.json", "pictures"),                    # JSON with a sibling image folder
    ("annotations/instances_val.json", "images/val"),    # simgen's layout
    ("annotations/instances_val.json", "images"),
    ("annotations/instances_val2017.json", "val2017"),   # COCO's layout
    ("annotations/labels.json", "."),                    # images in the folder itself
])
def test_loader_finds_the_images_of_common_layouts(tmp_path, json_rel, images_rel):
    root = tmp_path / "ds"
    write_real(root, json_rel, images_rel)
    for path in (root, root / json_rel):
        source = load_coco_source(path)
        assert source.n_images == 4 and source.category_names() == ["mug", "spoon"]
        (split,) = source.splits
        assert split.images_dir.resolve() == (root / images_rel).resolve()
        assert all(split.image_path(im).is_file() for im in split.images)
        assert [len(anns) for _, _, anns in source.records()] == [2, 1, 1, 1]
        assert not source.is_simgen


def test_loader_takes_images_from_a_given_folder(tmp_path):
    json_file = write_real(tmp_path / "labels", "coco.json", "../elsewhere")
    with pytest.raises(SimgenError, match="image files not found"):
        load_coco_source(json_file)
    source = load_coco_source(json_file, images_dir=tmp_path / "elsewhere")
    assert source.splits[0].images_dir == tmp_path / "elsewhere"


def test_loader_opens_a_simgen_dataset(make_dataset):
    dataset = make_dataset(REPO / "scenes/tabletop.yaml", images=4)
    source = load_coco_source(dataset)
    assert source.is_simgen and source.n_images == 4
    assert [s.name for s in source.splits][0] == "train"
    for split, image, _ in source.records():
        assert split.image_path(image) == dataset / "images" / split.name / image["file_name"]


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file or folder"),
    ("empty_folder", "not a COCO dataset"),
    ("bad_json", "cannot read COCO file"),
    ("not_coco", "not a COCO instances file"),
    ("missing_image", "image file missing"),
    ("unknown_category", "unknown category_id"),
    ("no_bbox", "lacks field 'bbox'"),
])
def test_loader_errors_are_one_line(tmp_path, case, message):
    path = tmp_path / "ds"
    if case == "empty_folder":
        (path / "images").mkdir(parents=True)
    elif case == "bad_json":
        path.mkdir()
        (path / "coco.json").write_text('{"images": [')
        path = path / "coco.json"
    elif case == "not_coco":
        path.mkdir()
        (path / "x.json").write_text('{"a": 1}')
        path = path / "x.json"
    elif case == "missing_image":
        path = write_real(path)
        (path.parent / "pictures/c.png").unlink()
    elif case in ("unknown_category", "no_bbox"):
        coco = _coco()
        if case == "unknown_category":
            coco["annotations"][0]["category_id"] = 77
        else:
            del coco["annotations"][1]["bbox"]
        path = write_real(path, coco=coco)
    with pytest.raises(SimgenError, match=message) as err:
        write_report(path, tmp_path / "r.html")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "r.html").exists()


# --- (4) comparing two datasets --------------------------------------------------------------

def test_against_compares_on_the_same_statistics_matched_by_name(make_dataset, real, tmp_path):
    synthetic = make_dataset(REPO / "scenes/tabletop.yaml", images=4)
    result = write_report(synthetic, tmp_path / "cmp.html", against=real)
    page = (tmp_path / "cmp.html").read_text()
    found = sections(page)
    assert list(found) == ["summary", "comparison", *SECTION_IDS[1:]]
    a_name, b_name = result.stats.name, result.against.name
    assert b_name == "real-annotations" and a_name == synthetic.name
    body = found["comparison"][1]
    assert a_name in body and b_name in body and pngs(body)

    rows = {r.name: r for r in result.comparison.classes}
    tabletop = json.loads((synthetic / "annotations/instances_train.json").read_text())
    mug_id = next(c["id"] for c in tabletop["categories"] if c["name"] == "mug")
    assert (rows["mug"].count_a, rows["mug"].count_b) == (
        sum(a["category_id"] == mug_id for a in tabletop["annotations"]), 3)
    assert (rows["spoon"].count_a, rows["spoon"].count_b) == (0, 1)
    assert rows["duck"].count_b == 0 and list(rows).count("mug") == 1
    assert f"only in {b_name}" in body and "spoon" in body

    by_key = {d.key: d for d in result.comparison.distances}
    assert by_key["visibility"].wasserstein is None and by_key["visibility"].n_b == 0
    assert by_key["brightness"].n_a == 4 and by_key["brightness"].n_b == 4
    assert by_key["objects_per_image"].wasserstein > 0
    # Histograms overlay both; the section for data only A has says so for B.
    assert f"{NOT_AVAILABLE}: {b_name}" in found["visibility"][1] and pngs(found["visibility"][1])
    for sid in ("classes", "objects", "boxes", "colour", "duplicates"):
        assert pngs(found[sid][1])
    assert len(pngs(found["samples"][1])) == 2     # one contact sheet per dataset
    assert_self_contained(page)


def test_a_dataset_against_itself_has_no_distance(real_report):
    result, _ = real_report
    same = compare(result.stats, result.stats)
    assert same.class_total_variation == 0.0
    for d in same.distances:
        if d.n_a:
            assert d.wasserstein == 0.0 and d.intersection == pytest.approx(1.0), d.key
        else:
            assert d.wasserstein is None and d.intersection is None


# --- (5) the command line ----------------------------------------------------------------------

def test_cli_writes_the_report_and_says_where(real, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["report", str(real), "-o", str(out), "--sheet", "2", "--max-images", "3"]) == 0
    stdout = capsys.readouterr().out
    assert stdout == f"simgen: wrote the report of real-annotations (4 images) to {out}\n"
    assert list(sections(out.read_text())) == SECTION_IDS


def test_cli_default_output_is_beside_not_inside(make_dataset, tmp_path, monkeypatch, capsys):
    dataset = make_dataset(REPO / "scenes/tabletop.yaml", images=4)
    before = snapshot(dataset)
    monkeypatch.chdir(tmp_path)
    assert default_report_path(dataset) == tmp_path / f"{dataset.name}_report.html"
    assert main(["report", str(dataset), "--sheet", "1"]) == 0
    assert (tmp_path / f"{dataset.name}_report.html").is_file()
    assert str(tmp_path / f"{dataset.name}_report.html") in capsys.readouterr().out
    # Inside a simgen dataset the report would be a file the manifest does not list.
    assert main(["report", str(dataset), "-o", str(dataset / "report.html")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("simgen: error: ") and "manifest" in err[0]
    assert snapshot(dataset) == before


def test_cli_refuses_what_is_not_a_dataset_with_one_line(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos/x.png"), np.zeros((4, 4, 3), np.uint8))
    for path in (tmp_path / "photos", tmp_path / "missing"):
        assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert captured.out == "" and len(lines) == 1
        assert lines[0].startswith("simgen: error: ")
    assert not (tmp_path / "r.html").exists()


def test_importing_the_cli_and_loader_stays_light():
    code = ("import sys, simgen.cli, simgen.dataset.coco_source; "
            "print(','.join(m for m in ('matplotlib', 'cv2', 'scipy', 'pybullet') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO)
    assert proc.stdout.strip() == ""


@pytest.mark.parametrize("file_name", ["/etc/hostname", "../../../../etc/hostname"])
def test_report_never_embeds_a_file_from_outside_the_dataset(tmp_path, file_name):
    """A COCO file naming a system file as an image: refused with one line (report embedded
    it into the HTML before)."""
    from tests.conftest import write_real

    real = write_real(tmp_path / "real")
    coco_path = next(real.glob("*.json"))
    coco = json.loads(coco_path.read_text())
    coco["images"][0]["file_name"] = file_name
    coco_path.write_text(json.dumps(coco))
    with pytest.raises(SimgenError, match="not a relative path inside"):
        write_report(real, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda coco: coco["images"][0].update(width=1_000_000_000_000),
     "pixels, more than the 100000000 allowed"),
    (lambda coco: coco["annotations"][0].update(
        segmentation={"size": [100_000, 100_000], "counts": "0"}), "RLE size must be"),
])
def test_report_refuses_sizes_it_could_not_hold(tmp_path, edit, message):
    """A declared width of 1e12 (a segfault before) or an RLE of 1e5 x 1e5 (gigabytes):
    refused with one line before anything is decoded."""
    from tests.conftest import write_real

    real = write_real(tmp_path / "real")
    coco_path = next(real.glob("*.json"))
    coco = json.loads(coco_path.read_text())
    edit(coco)
    coco_path.write_text(json.dumps(coco))
    with pytest.raises(SimgenError, match=message):
        write_report(real, tmp_path / "r.html")


def test_report_does_not_decode_an_image_larger_than_its_header_allows(tmp_path):
    """A valid 12000 x 12000 PNG (144 M pixels, 432 MB decoded) listed as a small image:
    refused from its header, never decoded."""
    import struct
    import zlib

    from tests.conftest import write_real

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    side = 12000
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * side)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    real = write_real(tmp_path / "real")
    coco = json.loads(next(real.glob("*.json")).read_text())
    big = real / "imgs" / coco["images"][1]["file_name"]      # b.png
    big.write_bytes(b"\x89PNG\r\n\x1a\n"
                    + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    with pytest.raises(SimgenError, match="cannot read the image"):
        write_report(real, tmp_path / "r.html")


# --- (6) progress and layout (issue 13) -----------------------------------------------------------

def test_cli_shows_the_progress_of_decoding_in_a_log_unless_quiet(real, tmp_path, capsys,
                                                                   monkeypatch):
    import simgen.progress

    monkeypatch.setattr(simgen.progress, "LINE_EVERY_S", 0.0)   # a line at every image
    assert main(["report", str(real), "-o", str(tmp_path / "a.html"), "--max-images", "3",
                 "--sheet", "1"]) == 0
    lines = capsys.readouterr().err.splitlines()   # captured: not a terminal, so plain lines
    assert lines and all(line.startswith("simgen: report real-annotations: decoding ")
                         for line in lines), lines
    assert lines[-1].startswith("simgen: report real-annotations: decoding 3/3 images (100%)")
    assert main(["report", str(real), "-o", str(tmp_path / "b.html"), "--max-images", "3",
                 "--sheet", "1", "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_every_figure_keeps_its_labels_inside_the_canvas(tmp_path, monkeypatch):
    """Long category and dataset names (data, not simgen's words) in every plot of a report
    against another dataset: each figure's tight bounding box (every label, title, tick and
    legend) lies within its canvas, and constrained layout never gives up."""
    import warnings

    from simgen.trust import report_plots

    figures = []
    real_png = report_plots._png
    monkeypatch.setattr(report_plots, "_png", lambda fig: figures.append(fig) or real_png(fig))
    coco = _coco()
    coco["categories"] = [{"id": 9, "name": "a stainless steel soup spoon with a long handle "
                                            "and a curved bowl, size M"},
                          {"id": 5, "name": "x" * 150}]
    long_name = "dataset_" + "with_a_very_long_folder_name_" * 4
    one = write_real(tmp_path / long_name / "first", coco=coco)
    two = write_real(tmp_path / long_name / "second", coco=coco)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "constrained_layout not applied")
        write_report(one, tmp_path / "page.html", against=two)
    assert len(figures) >= 8
    for fig in figures:
        box = fig.get_tightbbox(fig.canvas.get_renderer())   # inches
        width, height = fig.get_size_inches()
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, \
            (box, (width, height), [ax.get_title() for ax in fig.axes])


def test_short_labels_keep_both_ends():
    from simgen.trust.report_plots import short_label

    assert short_label("mug") == "mug"
    assert short_label("a" * 20 + "b" * 20, 11) == "aaaaa…bbbbb"
    assert len(short_label("x" * 500)) == 32
