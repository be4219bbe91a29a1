"""Hostile COCO input to `simgen mix`, `report`, `verify` and `export yolo` (issue 12).

Every case hands one command a damaged or malicious COCO file, manifest or image file, and
asks the same of it: succeed correctly, or print exactly one line `simgen: error: ...` that
names the bad file, exit 2, and leave nothing behind (no MIXED or YOLO_DIR, no hidden staging
folder, no report page). `verify` may instead exit 1 with the problem in its report: that is
how it reports a bad dataset. No traceback, no hang, nothing read outside the dataset.

Where the input goes, by command:

- COCO cases: `mix --real` and `report` read a foreign COCO folder (tests.conftest.write_real)
  whose annotations.json is edited; `verify` and `export yolo` read a copy of a simgen dataset
  whose instances_train.json is edited and its manifest entry re-hashed (so the hostile
  content itself is reached, not only the sha256 mismatch).
- manifest cases: a simgen dataset's manifest.json, for `verify`, `export yolo`,
  `mix --synthetic` and (a few) `report`.
- image cases: an image file of the real dataset (mix, report) or of the simgen dataset
  (verify, export) replaced by a link out, a link to /dev/zero, a FIFO, a folder, a truncated
  or lying PNG, an empty file.

- verify of a mix: a real image's labels, held only to COCO's rules there, made hostile.

The commands run in this process (simgen.cli.main) with a watchdog alarm, so a read that
blocks (a FIFO) fails the test instead of hanging it.

Before the fixes of issue 12, 124 of these 555 runs failed (tracebacks: RecursionError,
unhashable ids, NUL bytes, NaN in histograms, undecodable masks; hangs on a FIFO or
/dev/zero; a segfault in pycocotools; export yolo not checking the manifest at all; lines
not naming the file). The other runs are guards of behaviour that held already (every
image-file case among them): each keeps a command from regressing on that input.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import REPO, write_real
from tests.test_cli_errors import _one_error_line, _simgen
from tests.trust.conftest import TRAIN, copy_dataset, rehash

# 561 runs, about 30 s: CI runs them; the quick loop (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow

DEPTH = 100_000               # json's recursion limit is ~1000: this is a RecursionError
BIG = "9" * 5000              # Python refuses to parse integers of more than 4300 digits
WATCHDOG_S = 30
REAL_JSON = "annotations.json"


# --- raw JSON text where json.dumps cannot write it ---------------------------------------------

@dataclass(frozen=True)
class Raw:
    """JSON text put into a file verbatim (deep nesting, 5000 digits, 1e400, NaN)."""

    text: str


def deep_list(depth: int = DEPTH) -> Raw:
    return Raw("[" * depth + "]" * depth)


def deep_dict(depth: int = DEPTH) -> Raw:
    return Raw('{"a":' * depth + "1" + "}" * depth)


def to_json(value: Any) -> bytes:
    """json.dumps of `value`, each Raw in it spliced in as written."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"@@RAW{len(raws) - 1}@@"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value))
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@RAW{i}@@"', raw)
    return text.encode()


# --- the cases ---------------------------------------------------------------------------------

ALL = ("mix", "report", "verify", "export")


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[..., Any]          # see the three kinds below
    commands: tuple[str, ...] = ALL
    verify_may_pass: bool = False     # the data is valid COCO for verify's rules too
    passes: tuple[str, ...] = ()      # manifest cases: commands the damage does not concern


def put(*path: Any, value: Any) -> Callable[[dict], Any]:
    """An edit setting data[path...] = value (a callable value is given the COCO dict)."""
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(data) if callable(value) else value
    return edit


def whole(value: Any) -> Callable[[dict], Any]:
    return lambda data: value   # a non-None return replaces the whole file


def drop(*path: Any) -> Callable[[dict], Any]:
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


def size_of_first(data: dict) -> list:
    image = data["images"][0]
    return [image["height"], image["width"]]


def _rle(counts: Any, size: Any = size_of_first) -> Callable[[dict], dict]:
    return lambda data: {"size": size(data) if callable(size) else size, "counts": counts}


def _overlong_counts(data: dict) -> str:
    """A valid RLE string of a mask far larger than the image (runs past its end)."""
    import numpy as np
    from pycocotools import mask as mask_utils

    h, w = size_of_first(data)
    big = mask_utils.encode(np.asfortranarray(np.ones((h * 3, w * 3), np.uint8)))
    return big["counts"].decode()


def _duplicate_category(data: dict) -> None:
    data["categories"].append({**data["categories"][1], "id": data["categories"][0]["id"]})


NUMBER_PLACES = {"width": ("images", 0, "width"), "height": ("images", 0, "height"),
                 "bbox": ("annotations", 0, "bbox", 2), "area": ("annotations", 0, "area"),
                 "image_id": ("images", 0, "id"), "category_id": ("annotations", 0, "category_id"),
                 "ann_image_id": ("annotations", 0, "image_id")}
NUMBERS = {"5000_digits": Raw(BIG), "1e400": Raw("1e400"), "NaN": Raw("NaN"),
           "Infinity": Raw("Infinity"), "-Infinity": Raw("-Infinity")}

COCO_CASES = [
    Case("file_deep_list", whole(deep_list())),
    Case("file_deep_dict", whole(deep_dict())),
    Case("images_deep_list", put("images", value=deep_list())),
    Case("images_deep_dict", put("images", value=deep_dict())),
    Case("segmentation_deep", put("annotations", 0, "segmentation", value=deep_list())),
    # Under json's ~1000 levels, but they count the caller's stack too: a RecursionError at
    # parse in the CLI as well (mix also catches one when writing an entry back).
    Case("extra_field_deep_950", put("annotations", 0, "attributes", value=deep_list(950)),
         verify_may_pass=True),
    Case("file_a_list", whole([])),
    Case("file_a_string", whole("images")),
    *[Case(f"{where}_{what}", put(*path, value=raw)) for where, path in NUMBER_PLACES.items()
      for what, raw in NUMBERS.items()
      if what not in ("Infinity", "-Infinity") or where in ("width", "bbox", "area")],
    Case("images_dict", put("images", value={})),
    Case("images_string", put("images", value="000000001.png")),
    Case("images_null", put("images", value=None)),
    Case("annotations_dict", put("annotations", value={"1": {}})),
    Case("categories_null", put("categories", value=None)),
    Case("image_entry_list", put("images", 0, value=[1, "a.png", 40, 30])),
    Case("image_entry_null", put("images", 0, value=None)),
    Case("annotation_entry_list", put("annotations", 0, value=[1, 2, 3])),
    Case("category_entry_string", put("categories", 0, value="mug")),
    Case("image_id_list", put("images", 0, "id", value=[1])),
    Case("image_id_string", put("images", 0, "id", value="1")),
    Case("image_id_missing", drop("images", 0, "id")),
    Case("width_string", put("images", 0, "width", value="40")),
    Case("width_bool", put("images", 0, "width", value=True)),
    Case("width_zero", put("images", 0, "width", value=0)),
    Case("size_30000_square", lambda d: d["images"][0].update(width=30000, height=30000)),
    Case("file_name_number", put("images", 0, "file_name", value=5)),
    Case("file_name_null", put("images", 0, "file_name", value=None)),
    Case("file_name_list", put("images", 0, "file_name", value=["a.png"])),
    Case("file_name_empty", put("images", 0, "file_name", value="")),
    Case("file_name_nul", put("images", 0, "file_name", value="a\x00.png")),
    Case("file_name_100k", put("images", 0, "file_name", value="a" * 100_000 + ".png")),
    Case("file_name_300_chars", put("images", 0, "file_name", value="a" * 300 + ".png")),
    Case("file_name_absolute", put("images", 0, "file_name", value="/etc/hostname")),
    Case("file_name_dotdot", put("images", 0, "file_name", value="../" * 8 + "etc/hostname")),
    Case("file_name_dotdot_inside", put("images", 0, "file_name",
                                        value=lambda d: "x/../" + d["images"][0]["file_name"])),
    Case("bbox_3_numbers", put("annotations", 0, "bbox", value=[1, 2, 3])),
    Case("bbox_strings", put("annotations", 0, "bbox", value=["1", "2", "3", "4"])),
    Case("bbox_negative", put("annotations", 0, "bbox", value=[-5, -5, -10, -10])),
    Case("bbox_null", put("annotations", 0, "bbox", value=None)),
    Case("bbox_huge", put("annotations", 0, "bbox", value=[0, 0, 1e300, 1e300])),
    Case("area_string", put("annotations", 0, "area", value="big")),
    Case("area_negative", put("annotations", 0, "area", value=-1)),
    Case("polygon_odd", put("annotations", 0, "segmentation", value=[[1, 2, 3, 4, 5, 6, 7]])),
    Case("polygon_empty", put("annotations", 0, "segmentation", value=[])),
    Case("polygon_empty_ring", put("annotations", 0, "segmentation", value=[[]])),
    Case("polygon_nested", put("annotations", 0, "segmentation",
                               value=[[[1, 2], [3, 4], [5, 6]]])),
    Case("polygon_strings", put("annotations", 0, "segmentation",
                                value=[[1, 2, "a", 4, 5, 6]])),
    Case("polygon_huge_coordinates", put("annotations", 0, "segmentation",
                                         value=[[0, 0, 1e300, 0, 1e300, 1e300]])),
    Case("rle_counts_negative_list", put("annotations", 0, "segmentation",
                                         value=_rle([-5, -7, -1]))),
    Case("rle_counts_overlong_list", put("annotations", 0, "segmentation",
                                         value=_rle([0, 10 ** 12]))),
    Case("rle_counts_overlong_string", put("annotations", 0, "segmentation",
                                           value=lambda d: _rle(_overlong_counts(d))(d))),
    Case("rle_counts_garbage", put("annotations", 0, "segmentation", value=_rle("\x7f!!"))),
    Case("rle_counts_null", put("annotations", 0, "segmentation", value=_rle(None))),
    Case("rle_counts_nested", put("annotations", 0, "segmentation", value=_rle([[1, 2]]))),
    Case("rle_size_1e5", put("annotations", 0, "segmentation",
                             value=_rle("0", [100_000, 100_000]))),
    Case("rle_size_strings", put("annotations", 0, "segmentation", value=_rle("0", ["a", "b"]))),
    Case("rle_size_3", put("annotations", 0, "segmentation", value=_rle("0", [1, 2, 3]))),
    Case("segmentation_string", put("annotations", 0, "segmentation", value="abc")),
    Case("category_id_duplicated", _duplicate_category),
    Case("category_id_list", put("categories", 0, "id", value=[5])),
    Case("category_id_missing", drop("categories", 0, "id")),
    Case("category_name_list", put("categories", 0, "name", value=["mug"])),
    Case("category_name_null", put("categories", 0, "name", value=None)),
    Case("annotation_unknown_category", put("annotations", 0, "category_id", value=12345)),
    Case("annotation_category_id_missing", drop("annotations", 0, "category_id")),
    Case("annotation_unknown_image", put("annotations", 0, "image_id", value=12345)),
    Case("annotation_image_id_missing", drop("annotations", 0, "image_id")),
    Case("annotation_image_id_list", put("annotations", 0, "image_id", value=[1])),
    Case("annotation_category_id_dict", put("annotations", 0, "category_id", value={"a": 1})),
    Case("keypoints_wrong_length", put("annotations", 0, "keypoints", value=[1, 2]),
         verify_may_pass=True),
    Case("keypoints_string", put("annotations", 0, "keypoints", value="x"),
         verify_may_pass=True),
    Case("iscrowd_string", put("annotations", 0, "iscrowd", value="yes")),
    Case("licenses_string", put("licenses", value="CC-BY")),
    Case("camera_strings", put("images", 0, "camera", value={"distance_m": "far", "K": "x"})),
]
# Segmentation cases also run `export yolo --segments`, the one reader of masks there.
SEGMENTATION = {c.id for c in COCO_CASES if c.id.startswith(("polygon", "rle", "segmentation"))}


MANIFEST_CASES = [
    Case("manifest_deep_list", whole(deep_list())),
    Case("manifest_deep_dict", whole(deep_dict())),
    Case("manifest_files_deep", put("files", value=deep_list()), ("verify", "export", "mix")),
    Case("manifest_5000_digits", put("seed", value=Raw(BIG)), ("verify", "export", "mix")),
    Case("manifest_nan", put("seed", value=Raw("NaN")), ("verify", "export", "mix"),
         passes=("export",)),   # export does not use the seed (mix records it)
    Case("manifest_a_list", whole([1, 2]), ("verify", "export", "mix")),
    Case("manifest_a_string", whole("simgen-dataset/1"), ("verify", "export", "mix")),
    Case("manifest_empty_file", whole(Raw("")), ("verify", "export", "mix")),
    Case("manifest_files_list", put("files", value=[]), ("verify", "export", "mix")),
    Case("manifest_files_null", put("files", value=None), ("verify", "export", "mix")),
    Case("manifest_format_other", put("format", value="coco/1"), ("export", "mix")),
    Case("manifest_format_number", put("format", value=5), ("export", "mix")),
    Case("manifest_format_missing", drop("format"), ("export", "mix")),
    Case("manifest_entry_string", put("files", TRAIN, value="sha256"),
         ("verify", "export", "mix")),
    Case("manifest_entry_wrong_types", put("files", TRAIN, value={"sha256": 5, "bytes": "12"}),
         ("verify", "export", "mix")),
    Case("manifest_entry_infinite_bytes",
         lambda m: m["files"][TRAIN].update(bytes=Raw("1e400")), ("verify", "export", "mix")),
    Case("manifest_image_entry_missing", drop("files", "images/train/000000001.png"),
         ("verify", "export", "mix")),
    Case("manifest_coco_entry_missing", drop("files", TRAIN), ("verify", "export", "mix")),
    # mix and export read only the files they use: an extra entry is not theirs to judge.
    Case("manifest_key_dotdot", put("files", "../../etc/hostname",
                                    value={"sha256": "0" * 64, "bytes": 1}),
         ("verify", "export", "mix"), passes=("mix", "export")),
]

# Special files: (what replaces the file, commands). Built by `make_special`.
SPECIAL = ("link_out", "link_dev_zero", "fifo", "folder", "link_loop")
IMAGE_CASES = [*SPECIAL, "truncated_png", "png_header_30000", "empty_file", "not_an_image"]
MANIFEST_SPECIAL = [*SPECIAL, "missing"]
COCO_SPECIAL = list(SPECIAL)


# --- the datasets --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(make_dataset) -> Path:
    return make_dataset(REPO / "scenes/tabletop.yaml", images=4)


@dataclass
class Env:
    """One test's folders: the real and simgen datasets, and where output would go."""

    tmp: Path
    synthetic_source: Path
    real: Path = field(init=False)
    syn: Path | None = None

    def __post_init__(self) -> None:
        self.real = write_real(self.tmp / "real")

    @property
    def out(self) -> Path:
        return self.tmp / "OUT"

    @property
    def html(self) -> Path:
        return self.tmp / "report.html"

    def simgen_copy(self) -> Path:
        if self.syn is None:
            self.syn = copy_dataset(self.synthetic_source, self.tmp / "syn")
        return self.syn


@pytest.fixture
def env(tmp_path, synthetic) -> Env:
    return Env(tmp_path, synthetic)


def edit_json(path: Path, edit: Callable[..., Any]) -> None:
    data = json.loads(path.read_bytes())
    replaced = edit(data)
    path.write_bytes(to_json(data if replaced is None else replaced))


def make_special(path: Path, kind: str, outside: Path) -> None:
    """Replace `path` by a special file of `kind` (see SPECIAL), or remove it ("missing")."""
    original = path.read_bytes() if path.is_file() else b"{}"
    path.unlink()
    if kind == "link_out":       # a real file, outside every dataset
        outside.write_bytes(original)
        path.symlink_to(outside)
    elif kind == "link_dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / "inner.png").write_bytes(original)
    elif kind == "link_loop":
        path.symlink_to(path.name)
    elif kind != "missing":
        raise AssertionError(kind)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def damage_image(path: Path, kind: str, outside: Path) -> None:
    if kind in SPECIAL:
        make_special(path, kind, outside)
        return
    data = path.read_bytes()
    if kind == "truncated_png":
        path.write_bytes(data[:len(data) // 2])
    elif kind == "png_header_30000":   # a valid header (CRC included) claiming 30000 x 30000
        ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
        path.write_bytes(data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:])
    elif kind == "empty_file":
        path.write_bytes(b"")
    elif kind == "not_an_image":
        path.write_bytes(b"GIF89a" + os.urandom(64))
    else:
        raise AssertionError(kind)


# --- running a command and judging the outcome ----------------------------------------------------

class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"the command ran longer than {WATCHDOG_S} s (a blocking read?)")


def run(command: str, env: Env, source: Path, segments: bool = False, real: Path | None = None):
    """Run `command` on `source` (the dataset it reads), in this process, under a watchdog."""
    if command == "mix":
        args = ["mix", "--real", str(real or env.real), "--synthetic", str(source),
                "-o", str(env.out)]
    elif command == "report":
        args = ["report", str(source), "-o", str(env.html), "--max-images", "4", "--sheet", "2"]
    elif command == "verify":
        args = ["verify", str(source)]
    else:
        args = ["export", "yolo", str(source), "-o", str(env.out)] + (["--segments"] if segments
                                                                       else [])
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(WATCHDOG_S)
    try:
        return _simgen(args, env.tmp)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def judge(command: str, result, env: Env, names: tuple[str, ...], before: set[str],
          may_pass: bool = True) -> str:
    """Assert the rule of the module docstring; the error line or verify's report."""
    assert "Traceback" not in result.stderr + result.stdout
    if command == "verify" and result.returncode == 1:
        assert result.stderr == ""
        problems = result.stdout.splitlines()[1:]
        assert any(any(name in line for name in names) for line in problems), result.stdout
        return result.stdout
    if result.returncode == 0 and may_pass:
        # export yolo of a dataset without val images says so in one warning line.
        expected = [line for line in result.stderr.splitlines()
                    if command == "export" and line.startswith("simgen: warning: ")
                    and "has no val images" in line]
        assert result.stderr.splitlines() == expected[:1], result.stderr
        return result.stdout
    line = _one_error_line(result)
    assert any(name in line for name in names), line
    assert not env.out.exists() and not env.html.exists()
    assert {p.name for p in env.tmp.iterdir()} == before   # no hidden staging folder either
    return line


def listing(env: Env) -> set[str]:
    return {p.name for p in env.tmp.iterdir()}


# --- COCO files -----------------------------------------------------------------------------------

def _coco_runs() -> list:
    runs = []
    for case in COCO_CASES:
        for command in case.commands:
            runs.append(pytest.param(case, command, False, id=f"{case.id}-{command}"))
        if case.id in SEGMENTATION:
            runs.append(pytest.param(case, "export", True, id=f"{case.id}-export_segments"))
    return runs


@pytest.mark.parametrize("case, command, segments", _coco_runs())
def test_hostile_coco_file(case: Case, command: str, segments: bool, env: Env) -> None:
    if command in ("mix", "report"):
        target, source = env.real / REAL_JSON, env.real
        edit_json(target, case.edit)
        if command == "mix":
            source = env.synthetic_source
    else:
        source = env.simgen_copy()
        target = source / TRAIN
        edit_json(target, case.edit)
        rehash(source, TRAIN)
    before = listing(env)
    result = run(command, env, source, segments)
    judge(command, result, env, (target.name,), before,
          may_pass=command != "verify" or case.verify_may_pass)


@pytest.mark.parametrize("kind", COCO_SPECIAL)
@pytest.mark.parametrize("command", ["mix", "report", "export", "verify"])
def test_coco_file_that_is_no_regular_file(kind: str, command: str, env: Env) -> None:
    # (verify read each COCO file with Path.read_bytes before any check: a FIFO blocked it, a
    # link to /dev/zero never ended.)
    if command in ("export", "verify"):
        source = env.simgen_copy()
        target = source / TRAIN
    else:
        source, target = env.real, env.real / REAL_JSON
    make_special(target, kind, env.tmp / "outside.json")
    before = listing(env)
    result = run(command, env, env.synthetic_source if command == "mix" else source,
                 real=source if command == "mix" else None)
    # A folder whose only COCO file is gone is "not a COCO dataset": it names the folder.
    judge(command, result, env, (target.name, source.name), before, may_pass=False)


# --- manifests ------------------------------------------------------------------------------------

def _manifest_runs() -> list:
    runs = []
    for case in MANIFEST_CASES:
        commands = case.commands if case.commands != ALL else ALL
        runs += [pytest.param(case, command, id=f"{case.id}-{command}") for command in commands]
    return runs


@pytest.mark.parametrize("case, command", _manifest_runs())
def test_hostile_manifest(case: Case, command: str, env: Env) -> None:
    source = env.simgen_copy()
    edit_json(source / "manifest.json", case.edit)
    before = listing(env)
    result = run(command, env, source)
    # report takes a folder with a bad manifest for a plain COCO folder: it may succeed.
    judge(command, result, env, ("manifest.json",), before,
          may_pass=command == "report" or command in case.passes)


def _manifest_special_runs() -> list:
    # report takes such a folder for a plain COCO one (and takes a second to render it): only
    # the kinds that could hang its look at the manifest are run there.
    return [pytest.param(command, kind, id=f"{command}-{kind}") for command in ALL
            for kind in MANIFEST_SPECIAL
            if command != "report" or kind in ("fifo", "link_dev_zero")]


@pytest.mark.parametrize("command, kind", _manifest_special_runs())
def test_manifest_that_is_no_regular_file(kind: str, command: str, env: Env) -> None:
    source = env.simgen_copy()
    make_special(source / "manifest.json", kind, env.tmp / "outside.json")
    before = listing(env)
    result = run(command, env, source)
    judge(command, result, env, ("manifest.json", source.name), before,
          may_pass=command == "report")


# --- image files ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", IMAGE_CASES)
@pytest.mark.parametrize("command", ALL)
def test_hostile_image_file(kind: str, command: str, env: Env) -> None:
    if command in ("mix", "report"):
        source, image = env.real, env.real / "imgs/b.png"
    else:
        source = env.simgen_copy()
        image = source / "images/train/000000001.png"
    damage_image(image, kind, env.tmp / "outside.png")
    if command in ("verify", "export") and image.is_file() and not image.is_symlink():
        rehash(source, "images/train/000000001.png")   # the manifest agrees with the damage
    before = listing(env)
    result = run(command, env, env.synthetic_source if command == "mix" else source,
                 real=source if command == "mix" else None)
    # mix and export pass image bytes through untouched (never decoded): a regular file of
    # any content is theirs to copy; report decodes (it must refuse), verify reports.
    judge(command, result, env, (image.name,), before,
          may_pass=command in ("mix", "export") and kind not in SPECIAL)


def test_case_ids_are_distinct() -> None:
    # A guard of the set itself: pytest would silently suffix a duplicated id.
    ids = [c.id for c in COCO_CASES + MANIFEST_CASES]
    assert len(ids) == len(set(ids))


# --- verify of a mix: hostile real labels -----------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(synthetic, tmp_path_factory) -> Path:
    from simgen.export.mix import mix_datasets

    root = tmp_path_factory.mktemp("mix")
    out = root / "mixed"
    mix_datasets(write_real(root / "real"), synthetic, out, synthetic_fraction=0.5, link="copy")
    return out


def _real_annotation(data: dict) -> dict:
    real = {im["id"] for im in data["images"] if im.get("synthetic") is False}
    return next(a for a in data["annotations"] if a["image_id"] in real)


def _real_image(data: dict) -> dict:
    return next(im for im in data["images"] if im.get("synthetic") is False)


MIX_CASES = {
    "bbox_NaN": lambda d: _real_annotation(d)["bbox"].__setitem__(2, Raw("NaN")),
    "bbox_strings": lambda d: _real_annotation(d).update(bbox=["1", "2", "3", "4"]),
    "area_1e400": lambda d: _real_annotation(d).update(area=Raw("1e400")),
    "polygon_strings": lambda d: _real_annotation(d).update(segmentation=[[1, "a", 3, 4, 5, 6]]),
    "polygon_nested": lambda d: _real_annotation(d).update(segmentation=[[[1, 2], [3, 4]]]),
    "polygon_huge": lambda d: _real_annotation(d).update(
        segmentation=[[0, 0, 1e300, 0, 1e300, 1e300]]),
    "rle_counts_negative": lambda d: _real_annotation(d).update(
        segmentation={"size": [_real_image(d)["height"], _real_image(d)["width"]],
                      "counts": [-5, -7]}),
    "rle_size_strings": lambda d: _real_annotation(d).update(
        segmentation={"size": ["a", "b"], "counts": [1]}),
    "segmentation_deep": lambda d: _real_annotation(d).update(segmentation=deep_list()),
    "image_width_Infinity": lambda d: _real_image(d).update(width=Raw("Infinity")),
    "origin_deep": lambda d: _real_image(d).update(origin=deep_dict()),
}


@pytest.mark.parametrize("case", list(MIX_CASES))
def test_verify_of_a_mix_with_hostile_real_labels(case: str, mixed: Path, env: Env) -> None:
    # Guards but for polygon_huge: verify_mix held to the others already; they keep the
    # real-label rules, the loosest about types, from regressing. A polygon far outside its
    # image passed verify before (and crashed report).
    out = copy_dataset(mixed, env.tmp / "mx")
    edit_json(out / TRAIN, MIX_CASES[case])
    rehash(out, TRAIN)
    before = listing(env)
    judge("verify", run("verify", env, out), env, ("instances_train.json",), before,
          may_pass=False)
