"""The COCO records of one image, as a scene's record holds them and the writer merges them:
the image entry (file names, camera, provenance) and one annotation per labeled instance.
The key order is part of the bytes: keep it."""

from __future__ import annotations

from typing import Any

import numpy as np


def annotation_record(label: Any, image_id: int, facts: Any, index_key: str, index: int,
                      occluded: dict[str, Any], keypoints: np.ndarray,
                      pose_cam: dict[str, list[float]],
                      amodal: dict | None = None) -> dict[str, Any]:
    """One annotation: `label` (simgen.label.InstanceLabel), the body's physics `facts`, which
    object or robot it is (`index_key` 'object_index' or 'robot_index', and `index`), the
    occlusion fields, its 9 x 3 box keypoints and its pose in the camera; `amodal`, the RLE of
    its whole silhouette in the image (labels.amodal_masks), goes beside `segmentation`."""
    flat = []
    for x, y, flag in keypoints:
        flat += [round(float(x), 3), round(float(y), 3), int(flag)] if flag else [0.0, 0.0, 0]
    return {
        "image_id": image_id, "category_id": label.category_id,
        "bbox": list(label.bbox_xywh), "area": label.area,
        "segmentation": label.segmentation,
        **({"segmentation_amodal": amodal} if amodal is not None else {}),
        "iscrowd": 0,
        index_key: index,
        # Its value in the instance map PNG. (Not "instance_id": FiftyOne reserves that name.)
        "instance_index": label.instance_id,
        **occluded,
        "pose_world": {"position_m": [round(v, 9) for v in facts.position_m],
                       "quaternion_xyzw": [round(v, 9) for v in facts.quaternion_xyzw]},
        "pose_cam": pose_cam,
        "box3d": {"center_local_m": list(facts.box_center_local_m),
                  "size_m": list(facts.box_size_m)},
        "keypoints": flat, "num_keypoints": sum(1 for f in flat[2::3] if f > 0),
        "physics": facts.to_json(),
    }


def image_record(image_id: int, file_name: str, width: int, height: int,
                 side_files: dict[str, str], camera: Any, provenance: dict[str, Any],
                 annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """An image's entry and its annotations, as a scene record lists them."""
    return {"image": {
        "id": image_id, "file_name": file_name, "width": width, "height": height,
        **side_files,
        "camera": {"K": [list(r) for r in camera.K],
                   "cam_to_world": [list(r) for r in camera.cam_to_world],
                   "near_m": camera.near_m, "far_m": camera.far_m, **camera.params},
        "provenance": provenance,
    }, "annotations": annotations}
