#!/usr/bin/env python3
"""The domain-gap experiment: does simgen's randomization train a detector that works on images
it was not made from?

No labeled robot photographs can be downloaded here, so the stand-in for "real" is a held-out
domain: images path-traced by Cycles, with textures, object colours, lights and camera ranges the
training sets never use. Every arm trains the same torchvision detector from scratch (no
pretrained weights can be downloaded) with the same image budget and steps, and is evaluated with
pycocotools on that target set and on its own validation split.

Arms (same scenario, seed and image budget; they differ only in what the name says):
  A  no randomization: one floor colour, one table texture, fixed object colours, fixed light
  B  the scenario's full domain randomization
  C  B with `sampling: sobol`
  D  B with its second half of images rendered by Cycles (the same scenes)
  E  B with a share of target-domain images mixed in by `simgen mix` (the workflow of a user
     with a few real images); the mixed-in images come from the target domain, never from the
     target test scenes
  F  (bin_picking) B plus floor and tray textures and random part colours: the shipped
     bin_picking randomizes no appearance, tabletop does

    python3 scripts/experiments/domain_gap.py [--scenario tabletop] [--scenario bin_picking]

Results go to experiments/domain_gap/SCENARIO.{md,json,png}, written after every arm.

Needs torch and torchvision (see the README: the `experiment` recipe) and Blender for Cycles
(`simgen cycles install`; without it the target set falls back to held-out appearance on the
other renderers and arm D is left out, as the results say). Writes datasets and models to
--work (not committed) and the results table (markdown, JSON) and plot to --results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEVICE = "cpu"   # main() takes the GPU where there is one

SIZE = ["image.width=160", "image.height=120", "labels.occlusion=none",
        "splits={train: 0.9, val: 0.1}"]
# Arm A: every appearance and light value fixed (camera, poses and counts still vary).
FIXED = ["static.0.appearance.color_rgba=[0.55, 0.6, 0.55, 1]",
         "static.0.appearance.texture_probability=0",
         "static.1.appearance.textures=[assets:textures/wood.png]",
         "static.1.appearance.texture_probability=1",
         "objects.0.appearance.color_rgba=[0.8, 0.25, 0.2, 1]",
         "distractors.1.appearance.color_rgba=[0.5, 0.5, 0.6, 1]",
         "light.direction=[1, 1, 2]"]
# Cycles' look of the target domain (lights, sky, exposure, materials) on every scenario.
TARGET_CYCLES = [
    "cycles.samples=16",
    "cycles.sky={strength: {uniform: [0.01, 0.03]}, sun_elevation_deg: {uniform: [15, 60]},"
    " sun_rotation_deg: {uniform: [0, 360]}}",
    "cycles.sun={strength: {uniform: [0.5, 2.5]}, angle_deg: {uniform: [1, 8]}}",
    "cycles.exposure={uniform: [-0.5, 0.5]}",
    "cycles.materials=[{section: objects, roughness: {uniform: [0.1, 0.6]}, "
    "specular: {uniform: [0.3, 0.8]}}]"]
# The target domain: textures, colours, lights and camera ranges no training arm draws.
TARGET = ["splits={train: 1.0}",
          "static.0.appearance.textures=[assets:textures/cardboard.png, assets:textures/noise_blue.png,"
          " assets:textures/checker_blue.png]",
          "static.0.appearance.texture_probability=1",
          "static.0.appearance.color_rgba=[1, 1, 1, 1]",
          "static.1.appearance.textures=[assets:textures/metal_brushed.png, "
          "assets:textures/cardboard_white.png, assets:textures/noise_green.png]",
          "static.1.appearance.texture_probability=1",
          "objects.0.appearance.color_rgba=[{uniform: [0.0, 0.1]}, {uniform: [0.0, 0.1]}, "
          "{uniform: [0.0, 0.1]}, 1]",
          "distractors.1.appearance.color_rgba=[{uniform: [0, 0.1]}, {uniform: [0.6, 1]}, "
          "{uniform: [0, 0.1]}, 1]",
          "camera.elevation_deg={uniform: [70, 80]}", "camera.distance_m={uniform: [0.9, 1.2]}",
          *TARGET_CYCLES,
          "cycles.lights=[{type: area, count: {randint: [0, 1]}, position: [{uniform: [-1, 1]}, "
          "{uniform: [-1, 1]}, 1.8], look_at: [0, 0, 0.63], power_w: {uniform: [5, 25]}, "
          "size_m: 0.5}]"]

# bin_picking as shipped randomizes poses, counts, camera and light direction, but no colour or
# texture: its arm A fixes the light, and arm F adds what tabletop's B has (textures for the
# floor and tray, random part colours) to show what appearance randomization adds there.
BIN_FIXED = ["light.direction=[0.2, 0.3, 1]"]
BIN_PARTS = range(7)   # bolt, nut, bracket, gear, elbow, block, flange
BIN_APPEARANCE = [
    "static.0.appearance.color_rgba=[{uniform: [0.3, 1]}, {uniform: [0.3, 1]}, "
    "{uniform: [0.3, 1]}, 1]",
    "static.0.appearance.textures=[assets:textures/noise.png, assets:textures/checker.png, "
    "assets:textures/stripes.png]",
    "static.0.appearance.texture_probability=0.5",
    "static.1.appearance.textures=[assets:textures/wood.png, assets:textures/wood_dark.png, "
    "assets:textures/noise.png, assets:textures/stripes_hazard.png]",
    "static.1.appearance.texture_probability=0.7",
    *[f"objects.{i}.appearance.color_rgba=[{{uniform: [0.1, 1]}}, {{uniform: [0.1, 1]}}, "
      "{uniform: [0.1, 1]}, 1]" for i in BIN_PARTS]]
BIN_TARGET = [
    "splits={train: 1.0}",
    "static.0.appearance.textures=[assets:textures/cardboard.png, assets:textures/noise_blue.png,"
    " assets:textures/checker_blue.png]",
    "static.0.appearance.texture_probability=1",
    "static.1.appearance.textures=[assets:textures/metal_brushed.png, "
    "assets:textures/cardboard_white.png, assets:textures/noise_green.png]",
    "static.1.appearance.texture_probability=1",
    *[f"objects.{i}.appearance.color_rgba=[{{uniform: [0.0, 0.1]}}, {{uniform: [0.0, 0.1]}}, "
      "{uniform: [0.0, 0.1]}, 1]" for i in BIN_PARTS],
    "camera.elevation_deg={uniform: [62, 72]}", "camera.distance_m={uniform: [0.65, 0.75]}",
    *TARGET_CYCLES,
    "cycles.lights=[{type: area, count: {randint: [0, 1]}, position: [{uniform: [-0.5, 0.5]}, "
    "{uniform: [-0.5, 0.5]}, 1.2], look_at: [0, 0, 0.05], power_w: {uniform: [5, 25]}, "
    "size_m: 0.3}]"]

# Per scenario: arm A's overrides, the target domain's, and the extra arms' (name: overrides on
# top of B). The overrides name the scenario's own entries (static.0, objects.0, ...).
SCENARIOS = {
    "tabletop": {"fixed": FIXED, "target": TARGET, "extra": {}},
    "bin_picking": {"fixed": BIN_FIXED, "target": BIN_TARGET, "extra": {"F": BIN_APPEARANCE}},
}
ARMS = {"A": "no randomization", "B": "full randomization", "C": "B + sobol sampling",
        "D": "B, half rendered by Cycles", "E": "B + target-domain share (simgen mix)",
        "F": "B + floor/tray textures and part colours"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate(scenario: str, overrides: list[str], out: Path, images: int, seed: int,
             renderer: str, image_ids=None) -> dict:
    """A simgen dataset in `out` (made once: a finished one is reused); its manifest's sha256.

    Made by `simgen generate` in a process of its own: a process that has rendered with EGL
    (Mesa's threads) and then trains with torch crashed now and then (SIGSEGV)."""
    import subprocess

    if not (out / "manifest.json").is_file():
        command = [sys.executable, "-m", "simgen", "generate", scenario, "-o", str(out), "-n",
                   str(images), "--seed", str(seed), "--renderer", renderer, "--overwrite", "-q"]
        for override in overrides:
            command += ["--set", override]
        if image_ids:
            command += ["--image-ids", f"{image_ids[0]}..{image_ids[1]}"]
        subprocess.run(command, check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    return {"path": str(out), "manifest_sha256": sha256(out / "manifest.json"),
            "renderer": manifest["renderer"], "seed": seed, "images": images,
            "image_ids": image_ids, "overrides": overrides}


def as_foreign_coco(dataset: Path, out: Path) -> Path:
    """The target-domain training images as a user's "real" set would come: a plain COCO folder
    (images and one JSON), not a simgen dataset (which `simgen mix` refuses as real)."""
    import shutil

    if not out.is_dir():
        shutil.copytree(dataset / "images" / "train", out / "images")
        shutil.copy(dataset / "annotations" / "instances_train.json", out / "annotations.json")
    return out / "annotations.json"


def coco_samples(folder: Path, split: str) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """(image file, XYXY boxes, labels) of a COCO split in `folder` (a simgen dataset or a mix)."""
    data = json.loads((folder / "annotations" / f"instances_{split}.json").read_text())
    by_image: dict[int, list] = {im["id"]: [] for im in data["images"]}
    for ann in data["annotations"]:
        by_image[ann["image_id"]].append(ann)
    out = []
    for im in data["images"]:
        anns = by_image[im["id"]]
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                           a["bbox"][1] + a["bbox"][3]] for a in anns], np.float32).reshape(-1, 4)
        labels = np.array([a["category_id"] for a in anns], np.int64)
        out.append((folder / "images" / split / im["file_name"], boxes, labels))
    return out


def detector(num_classes: int, width: int, height: int):
    """torchvision's Faster R-CNN on a MobileNetV3-Small FPN backbone, from scratch, with
    anchors for objects of 8 to 64 px (the objects of a 160x120 image)."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import mobilenet_backbone
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

    # Feature maps at strides 4, 8 and 16 (and 32): torchvision's default, the last two stages,
    # gives MobileNetV3-Small's stride 32 twice (a 5 x 4 map of a 160x120 image), and the
    # detector then learned nothing of objects 10 to 30 px across (AP 0 on its own data).
    backbone = mobilenet_backbone(backbone_name="mobilenet_v3_small", weights=None, fpn=True,
                                  trainable_layers=6, returned_layers=[1, 2, 3])
    anchors = AnchorGenerator(sizes=((8,), (16,), (32,), (64,)),
                              aspect_ratios=((0.5, 1.0, 2.0),) * 4)
    # Sized for a CPU and a handful of objects an image: fewer proposals and sampled boxes, and
    # a 256-wide box head (the default's 1024-wide head on 512 boxes an image took 4 s a step).
    return FasterRCNN(backbone, rpn_anchor_generator=anchors, min_size=height, max_size=width,
                      box_detections_per_img=50, rpn_pre_nms_top_n_train=600,
                      rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
                      rpn_post_nms_top_n_test=150, rpn_batch_size_per_image=128,
                      box_batch_size_per_image=64,
                      box_head=TwoMLPHead(backbone.out_channels * 7 * 7, 256),
                      box_predictor=FastRCNNPredictor(256, num_classes + 1))


def load_image(path: Path):
    import cv2
    import torch

    cv2.setNumThreads(0)   # torch's threads do the work; two thread pools crashed once (SIGSEGV)
    rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0


def train(samples: list, num_classes: int, steps: int, batch: int, seed: int, width: int,
          height: int) -> tuple[object, float]:
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = detector(num_classes, width, height).to(DEVICE)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
    warmup = max(1, min(100, steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup)
                                                 * 0.5 * (1 + math.cos(math.pi * s / steps)))
    images = [load_image(path) for path, _, _ in samples]   # small: 160x120 x a few hundred
    start = time.perf_counter()
    for step in range(steps):
        pick = rng.choice(len(samples), size=batch, replace=False)
        batch_images, targets = [], []
        for i in pick:
            image, boxes, labels = images[i], samples[i][1], samples[i][2]
            if rng.random() < 0.5:   # the one augmentation, the same for every arm
                image = image.flip(-1)
                boxes = boxes.copy()
                boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
            batch_images.append(image.to(DEVICE))
            targets.append({"boxes": torch.from_numpy(boxes).to(DEVICE),
                            "labels": torch.from_numpy(labels).to(DEVICE)})
        losses = model(batch_images, targets)
        loss = sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"    step {step + 1}/{steps} loss {loss.item():.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return model, time.perf_counter() - start


def evaluate(model, folder: Path, split: str, categories: list[str]) -> dict:
    """COCO bbox AP, AP50 and AP per category of `model` on a split, by pycocotools."""
    import contextlib
    import io

    import torch
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ann_file = folder / "annotations" / f"instances_{split}.json"
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(ann_file))
    model.eval()
    detections = []
    with torch.no_grad():
        for image_id in sorted(truth.imgs):
            entry = truth.imgs[image_id]
            image = load_image(folder / "images" / split / entry["file_name"]).to(DEVICE)
            output = {k: v.cpu() for k, v in model([image])[0].items()}
            for box, score, label in zip(output["boxes"].tolist(), output["scores"].tolist(),
                                         output["labels"].tolist()):
                detections.append({"image_id": image_id, "category_id": int(label),
                                   "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                                   "score": float(score)})
    if not detections:
        return {"AP": 0.0, "AP50": 0.0, "per_category_AP": {c: 0.0 for c in categories},
                "images": len(truth.imgs)}
    with contextlib.redirect_stdout(io.StringIO()):
        found = truth.loadRes(detections)
        evaluator = COCOeval(truth, found, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"]   # T x R x K x A x M
    per_category = {}
    for k, cat_id in enumerate(evaluator.params.catIds):
        p = precision[:, :, k, 0, -1]
        per_category[truth.cats[cat_id]["name"]] = float(p[p > -1].mean()) if (p > -1).any() else None
    return {"AP": float(evaluator.stats[0]), "AP50": float(evaluator.stats[1]),
            "per_category_AP": per_category, "images": len(truth.imgs)}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(f"{r['scenario']} {r['arm']}", r["target"]["AP50"], r["own_val"]["AP50"])
            for r in results["arms"]]
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 3.2))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r[1] for r in rows], 0.4, label="target (held-out, Cycles)")
    ax.bar(x + 0.2, [r[2] for r in rows], 0.4, label="own validation split")
    ax.set_xticks(x, [r[0] for r in rows], rotation=20)
    ax.set_ylabel("COCO AP50")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(results: dict) -> str:
    lines = [f"Budget: {results['budget']['images']} training images per arm, "
             f"{results['budget']['steps']} steps of {results['budget']['batch']} images, "
             f"from scratch; target: {results['target_note']}; machine: {results['machine']}.",
             "", "| scenario | arm | what differs | target AP | target AP50 | own val AP | "
             "own val AP50 | train s |", "|---|---|---|---|---|---|---|---|"]
    for r in results["arms"]:
        lines.append(f"| {r['scenario']} | {r['arm']} | {ARMS[r['arm']]} | {r['target']['AP']:.3f} | "
                     f"{r['target']['AP50']:.3f} | {r['own_val']['AP']:.3f} | "
                     f"{r['own_val']['AP50']:.3f} | {r['train_s']:.0f} |")
    lines += ["", "Target AP per category:", "",
              "| scenario | arm | " + " | ".join(results["categories"]) + " |",
              "|---|---|" + "---|" * len(results["categories"])]
    for r in results["arms"]:
        cells = [f"{v:.3f}" if v is not None else "-" for v in r["target"]["per_category_AP"].values()]
        lines.append(f"| {r['scenario']} | {r['arm']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="repeatable; tabletop by default (about an hour on 2 CPU cores)")
    parser.add_argument("--arms", default="ABCDEF",
                        help="arms to run (F exists for bin_picking only)")
    parser.add_argument("--images", type=int, default=480, help="training images per arm")
    parser.add_argument("--target-images", type=int, default=160)
    parser.add_argument("--target-share", type=float, default=0.1,
                        help="arm E: share of the budget from the target domain")
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=str(REPO / "out" / "domain_gap"))
    parser.add_argument("--results", default=str(REPO / "experiments" / "domain_gap"))
    args = parser.parse_args()

    import subprocess

    import torch

    import simgen
    from simgen.export.mix import mix_datasets

    global DEVICE
    DEVICE = "cuda" if torch.cuda.is_available() else "cpu"   # a GPU where torch sees one
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    work, results_dir = Path(args.work), Path(args.results)
    work.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run([sys.executable, "-m", "simgen", "cycles", "where"],
                           capture_output=True, text=True)
    cycles = probe.returncode == 0
    if not cycles:
        err = probe.stderr.strip()
        print(f"no Cycles here ({err}): the target set is held-out appearance on the other "
              "renderers, and arm D is left out", file=sys.stderr)
    machine = (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, torch "
               f"{torch.__version__}, "
               + (torch.cuda.get_device_name(0) if DEVICE == "cuda" else "CPU"))
    tables = []
    for scenario in args.scenario or ["tabletop"]:
        config = SCENARIOS[scenario]
        arms = [a for a in args.arms if (a in "ABCDE" or a in config["extra"])
                and (cycles or a != "D")]
        categories = simgen.load_scenario(scenario).spec.categories
        results = {"scenario": scenario, "categories": categories,
                   "budget": {"images": args.images, "steps": args.steps, "batch": args.batch,
                              "seed": args.seed, "size": "160x120", "pretrained": False},
                   "target_note": ("Cycles, held-out textures, colours, lights and cameras"
                                   if cycles else "held-out textures, colours and cameras, "
                                   "tiny/EGL (no Cycles here)"),
                   "machine": machine, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                   "arms": []}
        target_over = SIZE + [o for o in config["target"] if cycles or not o.startswith("cycles.")]
        renderer = "cycles" if cycles else "auto"
        print(f"{scenario}: target sets", flush=True)
        target = generate(scenario, target_over, work / scenario / "target_test",
                          args.target_images, args.seed + 1000, renderer)
        share = max(1, round(args.target_share * args.images))
        target_train = generate(scenario, target_over, work / scenario / "target_train", share,
                                args.seed + 2000, renderer)
        results["target"] = target
        for arm in arms:
            print(f"{scenario}: arm {arm} ({ARMS[arm]})", flush=True)
            folder = work / scenario / arm
            sources = []
            if arm == "A":
                sources.append(generate(scenario, SIZE + config["fixed"], folder, args.images,
                                        args.seed, "auto"))
            elif arm in ("B", "E"):
                sources.append(generate(scenario, SIZE, work / scenario / "B", args.images,
                                        args.seed, "auto"))
            elif arm == "C":
                sources.append(generate(scenario, SIZE + ["sampling=sobol"], folder, args.images,
                                        args.seed, "auto"))
            elif arm == "D":   # the same scenes as B: its first half as B made it, the rest by Cycles
                half = args.images // 2
                sources.append(generate(scenario, SIZE, work / scenario / "B", args.images,
                                        args.seed, "auto"))
                sources.append(generate(scenario, SIZE + ["cycles.samples=16"], folder,
                                        args.images, args.seed, "cycles", (half + 1, args.images)))
            else:              # an extra arm: B plus its overrides
                sources.append(generate(scenario, SIZE + config["extra"][arm], folder,
                                        args.images, args.seed, "auto"))
            own = Path(sources[0]["path"])
            if arm == "E":
                mixed = work / scenario / "E_mixed"
                if not (mixed / "annotations").is_dir():
                    fraction = (args.images - share) / args.images
                    real = as_foreign_coco(Path(target_train["path"]),
                                           work / scenario / "target_real")
                    mix_datasets(real, own, mixed, synthetic_fraction=fraction, seed=args.seed,
                                 real_images=real.parent / "images")
                samples = coco_samples(mixed, "train")
            elif arm == "D":
                half = args.images // 2
                first = [s for s in coco_samples(own, "train") if int(s[0].stem) <= half]
                samples = first + coco_samples(Path(sources[1]["path"]), "train")
            else:
                samples = coco_samples(own, "train")
            print(f"  {len(samples)} training images; training", flush=True)
            model, seconds = train(samples, len(categories), args.steps, args.batch, args.seed,
                                   160, 120)
            row = {"scenario": scenario, "arm": arm, "train_images": len(samples),
                   "sources": sources, "train_s": seconds,
                   "target": evaluate(model, Path(target["path"]), "train", categories),
                   "own_val": evaluate(model, own, "val", categories)}
            if arm == "E":
                row["mixed_in_target_images"] = share
                row["target_train"] = target_train
            print(f"  target AP50 {row['target']['AP50']:.3f}, own val AP50 "
                  f"{row['own_val']['AP50']:.3f}", flush=True)
            results["arms"].append(row)
            # Written after every arm: a long run that stops keeps what it measured.
            (results_dir / f"{scenario}.json").write_text(json.dumps(results, indent=1))
            (results_dir / f"{scenario}.md").write_text(markdown(results))
            plot(results, results_dir / f"{scenario}.png")
        tables.append(markdown(results))
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
