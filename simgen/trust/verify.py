"""Verify a dataset folder: everything a COCO client relies on, labels true to their masks,
complete provenance, and every file as the manifest recorded it.

Checks (each failure is a `Problem` naming the file, and the image / annotation id if any):

- manifest: every file listed in manifest.json has its sha256 and size; none is missing; no
  file outside `.simgen/` (run state, never listed) is there unlisted; the resolved scenario
  hashes to the recorded sha256; the counts agree with the COCO files.
- coco: info, licenses, images, annotations, categories present; integer ids; image ids >= 1
  and unique across all splits, annotation ids >= 1 and unique per file; categories 1..N in the
  scenario's order; image_id and category_id refer to an existing image and category;
  `iscrowd` present; RLE segmentation with str counts whose runs cover exactly height x width;
  bbox four integers inside the image with w, h >= 1; file_name under images/<split>/, named by
  its id, decoding (OpenCV) at the declared width and height; depth and instance-id files too.
- geometry: bbox equals the box of the mask (pycocotools toBbox) and area its pixel count.
- provenance: every image has scenario, scenario_sha256, seed, scene_index, view_index,
  split, renderer, scene, physics (and augment when the scenario augments), agreeing with the
  manifest, its split and its id.
- reproduce (optional): K images chosen at random (seeded) are re-made from their provenance
  (`simgen.trust.regen`) and compared byte for byte.

A dataset `simgen mix` made (manifest format simgen-mix/1) is checked by the same checker with
the rules of a mix (`simgen.trust.verify_mix`): COCO rules only for its real images, labels true to
their masks and provenance for its synthetic ones, and `--reproduce` re-makes synthetic images
from the simgen dataset they were mixed from.

Each image file is read once (hashed and decoded in the same pass, in threads: hashing and
decoding release the GIL), and the RLEs of a file are checked in batches, so a dataset of
thousands of images takes seconds.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from simgen.dataset.layout import MANIFEST, MIX_FORMAT_PREFIX
from simgen.dataset.reader import StoredImage, read_manifest
from simgen.dataset.writer import sha256_file
from simgen.errors import SimgenError
from simgen.trust.checks import Checker, Problem, VerifyReport, add_differences, choose_ids



def verify(out: str | Path, reproduce: int = 0, seed: int = 0,
           threads: int | None = None, scenario_dir: str | Path | None = None,
           manifest_sha256: str | None = None, progress: bool = False) -> VerifyReport:
    """Check the dataset in `out` (see the module docstring); with `reproduce` > 0 also re-make
    that many images (of a mix: synthetic ones), chosen at random with `seed`, and compare them
    byte for byte. The manifest's format says which rules apply: a simgen dataset's, or a
    mix's (`simgen.trust.verify_mix`). `manifest_sha256`, the manifest's hash kept somewhere
    the dataset's holder cannot change, anchors every file: a manifest with another hash is a
    problem (see simgen.trust.consistency for what a dataset proves without one).

    SimgenError (a usage error) when `out` is not a finished simgen dataset or mix; every
    failed check is a Problem in the report instead."""
    for name, value in (("reproduce", reproduce), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SimgenError(f"{name} must be an integer >= 0 (got {value!r})")
    if manifest_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", str(manifest_sha256)):
        raise SimgenError(f"manifest sha256 must be 64 lowercase hex digits "
                          f"(got {str(manifest_sha256)[:80]!r})")
    out = Path(out)
    manifest = read_manifest(out)
    have_sha256 = sha256_file(out / MANIFEST)
    checker_class, reproducer = Checker, _reproduce
    if str(manifest.get("format", "")).startswith(MIX_FORMAT_PREFIX):
        from simgen.trust.verify_mix import MixChecker, reproduce_mix

        checker_class, reproducer = MixChecker, reproduce_mix
    checker = checker_class(out, manifest, threads or min(8, os.cpu_count() or 1))
    stored = checker.run()
    if manifest_sha256 is not None and have_sha256 != manifest_sha256:
        checker.problems.insert(0, Problem(
            "manifest", MANIFEST, f"sha256 {have_sha256} is not the expected {manifest_sha256}: "
            "this is not the dataset that hash was taken of"))
    report = VerifyReport(out, checker.problems, checker.checked, [], seed,
                          manifest_sha256=have_sha256)
    if reproduce:
        reproducer(report, manifest, stored, reproduce, seed, scenario_dir, progress)
    return report


def _reproduce(report: VerifyReport, manifest: dict[str, Any],
               stored: dict[int, StoredImage], count: int, seed: int,
               scenario_dir: str | Path | None, progress: bool = False) -> None:
    from simgen.progress import progress as progress_bar
    from simgen.trust.regen import regenerate_many

    ids = sorted(stored)
    if not ids:
        report.problems.append(Problem("reproduce", MANIFEST, "no image to re-make"))
        return
    chosen = choose_ids(ids, count, seed)
    bar = progress_bar(len(chosen), "images", "verify --reproduce", progress)
    try:
        report.reproduced = regenerate_many(report.out, chosen, manifest=manifest, stored=stored,
                                             scenario_dir=scenario_dir, on_scene=bar.update)
    except SimgenError as err:
        report.problems.append(Problem("reproduce", MANIFEST, f"cannot re-make images: {err}"))
        return
    finally:
        bar.close()
    add_differences(report)
