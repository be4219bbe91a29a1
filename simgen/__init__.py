"""simgen: synthetic, auto-labeled COCO datasets for robot vision, made with PyBullet.

The public API, one function a job (each lives in its own package; these wrappers only load it
when called, so importing simgen is light: PyBullet, OpenCV and pycocotools load only when a
run needs them):

    scenario = simgen.load_scenario("scenes/tabletop.yaml", ["image.width=320"])
    result = simgen.generate(scenario, "out/tabletop", images=200, seed=0)
    report = simgen.verify("out/tabletop", reproduce=5)
    again = simgen.regenerate("out/tabletop", image_id=7)
    simgen.write_report("out/tabletop", "out/tabletop.html")
    simgen.export_yolo("out/tabletop", "out/tabletop_yolo")
    simgen.mix("real_coco/", "out/tabletop", "out/mixed", synthetic_fraction=0.5)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

__version__ = "0.1.0"
__all__ = ["__version__", "load_scenario", "generate", "verify", "regenerate", "write_report",
           "export_yolo", "mix", "preview", "SimgenError", "ScenarioError"]

from simgen.errors import ScenarioError, SimgenError

if TYPE_CHECKING:
    from simgen.export.mix import MixResult
    from simgen.export.yolo import ExportResult
    from simgen.run.generate import GenerateResult
    from simgen.scenario import Scenario
    from simgen.trust.regen import RegenResult
    from simgen.trust.report import ReportResult
    from simgen.trust.verify import VerifyReport


def load_scenario(path: str | Path, overrides: Sequence[str] = (),
                  asset_roots: Sequence[str | Path] = ()) -> "Scenario":
    """Read, override (`--set`-style "key=value" strings), validate and resolve a scenario
    file. ScenarioError names the file, line and key of the first problem."""
    from simgen.scenario import load

    return load(path, overrides, asset_roots)


def generate(scenario: "Scenario | str | Path", out: str | Path, images: int, seed: int = 0,
             renderer: str = "auto", image_format: str = "png",
             image_ids: tuple[int, int] | None = None, overwrite: bool = False,
             on_renderer: Callable[[str], None] | None = None, progress: bool = False,
             workers: int = 1, resume: bool = False, skip_failed: bool = False,
             backend: str = "local", address: str | None = None,
             on_scene: Callable[[int, int], None] | None = None) -> "GenerateResult":
    """Generate a COCO dataset of `images` images into `out`; the same scenario and seed give
    the same bytes for any `workers`, backend ('local' or 'ray'), `image_ids` subset (first,
    last) and after `resume`. `renderer` is 'auto', 'tiny' or 'egl'. See
    simgen.run.generate.generate."""
    from simgen.run.generate import generate as run

    return run(scenario, out, images, seed=seed, renderer=renderer, image_format=image_format,
               image_ids=image_ids, overwrite=overwrite, on_renderer=on_renderer,
               progress=progress, workers=workers, resume=resume, skip_failed=skip_failed,
               backend=backend, address=address, on_scene=on_scene)


def verify(out: str | Path, reproduce: int = 0, seed: int = 0, threads: int | None = None,
           scenario_dir: str | Path | None = None,
           manifest_sha256: str | None = None, progress: bool = False) -> "VerifyReport":
    """Check a simgen dataset (or mix) folder: COCO rules, labels true to their masks,
    provenance, every file as the manifest recorded it, what the dataset states twice; with
    `reproduce` > 0, re-make that many images (chosen with `seed`) and compare bytes; with
    `manifest_sha256` (kept from when it was made), the manifest must be that one; `progress`
    shows the re-making on stderr. `report.ok` says whether it passed."""
    from simgen.trust.verify import verify as check

    return check(out, reproduce=reproduce, seed=seed, threads=threads,
                 scenario_dir=scenario_dir, manifest_sha256=manifest_sha256, progress=progress)


def regenerate(out: str | Path, image_id: int,
               scenario_dir: str | Path | None = None) -> "RegenResult":
    """Re-make image `image_id` of the dataset in `out` from its manifest and provenance alone,
    and compare it (bytes, COCO entry, annotations) with the stored one."""
    from simgen.trust.regen import regenerate as remake

    return remake(out, image_id, scenario_dir=scenario_dir)


def write_report(dataset: str | Path, out_html: str | Path, against: str | Path | None = None,
                 *, images_dir: str | Path | None = None,
                 against_images_dir: str | Path | None = None, max_images: int = 2000,
                 sheet_images: int = 16, max_hash_distance: int = 4,
                 seed: int = 0, progress: bool = False) -> "ReportResult":
    """Write one self-contained HTML page of a COCO dataset's statistics (and, with `against`,
    a comparison with a second one); `progress` shows the image decoding on stderr. Needs the
    `viz` extra (matplotlib)."""
    from simgen.trust.report import write_report as write

    return write(dataset, out_html, against, images_dir=images_dir,
                 against_images_dir=against_images_dir, max_images=max_images,
                 sheet_images=sheet_images, max_hash_distance=max_hash_distance, seed=seed,
                 progress=progress)


def export_yolo(dataset: str | Path, out: str | Path, segments: bool = False,
                link: str = "auto", overwrite: bool = False) -> "ExportResult":
    """Export a simgen dataset to the YOLO (Ultralytics) layout in `out` (empty or new; with
    `overwrite`, a previous simgen YOLO export): boxes, or polygons with `segments`; images
    as copy-on-write clones where the file system can, else copies ('auto'), always copies
    ('copy'), or hard links ('link': an edit then edits the source dataset too)."""
    from simgen.export.yolo import export_yolo as export

    return export(dataset, out, segments=segments, link=link, overwrite=overwrite)


def mix(real: str | Path, synthetic: str | Path, out: str | Path,
        synthetic_fraction: float | None = None, seed: int = 0, link: str = "auto",
        real_images: str | Path | None = None, synthetic_split: str = "train",
        real_split: str = "train") -> "MixResult":
    """Mix a real COCO dataset (`real`: a folder or annotation file) with a simgen dataset into
    one COCO dataset `out`, every image's origin recorded; `synthetic_fraction` is the share of
    synthetic images in `synthetic_split`, the split they join (None: all of them); images are
    placed as `export_yolo` places them."""
    from simgen.export.mix import mix_datasets

    return mix_datasets(real, synthetic, out, synthetic_fraction=synthetic_fraction, seed=seed,
                        link=link, real_images=real_images, synthetic_split=synthetic_split,
                        real_split=real_split)


def preview(scenario: "Scenario | str | Path", out_png: str | Path, images: int = 16,
            seed: int = 0, renderer: str = "auto") -> Path:
    """Render a few images of a scenario with their labels drawn, as one contact-sheet PNG."""
    from simgen.viz.preview import preview as draw

    return draw(scenario, out_png, images=images, seed=seed, renderer=renderer)
