"""The streaming merge writes exactly what one json dump of the whole COCO dict would."""

import json

from simgen.dataset import writer as ds


def test_streamed_coco_file_equals_a_whole_dump(tmp_path):
    out = tmp_path
    records = []
    for scene in range(3):
        items = []
        for view in (1, 0):  # out of order inside a record: finalize sorts by id
            image_id = scene * 2 + view + 1
            split = "train" if scene != 1 else "val"
            anns = [{"image_id": image_id, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                     "segmentation": {"size": [2, 2], "counts": "0"}, "iscrowd": 0, "n": k}
                    for k in range(view + 1)]
            items.append({"image": {"id": image_id, "file_name": f"{image_id:09d}.png",
                                    "width": 2, "height": 2, "provenance": {"split": split}},
                          "annotations": anns})
        records.append({"scene_index": scene, "images": items})
        ds.commit_scene(out, scene, [], records[-1])
    counts = ds.finalize(out, ["thing"], ["train", "val", "test"], info={"v": 1}, manifest={})
    assert counts == {"images": {"train": 4, "val": 2, "test": 0},
                      "annotations": {"train": 6, "val": 3, "test": 0}}
    for split in ("train", "val", "test"):
        raw = (out / f"annotations/instances_{split}.json").read_bytes()
        coco = json.loads(raw)
        assert raw == ds.dumps(coco)                      # same bytes as one compact dump
        assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))
        assert [im["id"] for im in coco["images"]] == sorted(im["id"] for im in coco["images"])
        ids = [a["image_id"] for a in coco["annotations"]]
        assert ids == sorted(ids)
    assert not list((out / ".simgen").glob(".*tmp-*"))
