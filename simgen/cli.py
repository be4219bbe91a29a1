"""The `simgen` command: parses arguments and calls the API.

User errors (a bad scenario, a missing asset, a non-empty output folder) print one line,
`simgen: error: ...`, and exit with code 2: no traceback, nothing written.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from typing import Sequence

from simgen import __version__
from simgen.errors import SimgenError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _image_ids(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected ID or FIRST..LAST (got {text!r})")
    first = int(match.group(1))
    return first, int(match.group(2) or first)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer (got {text!r})") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {value})")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1 (got 0)")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (got {text!r})") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simgen", description="Synthetic, auto-labeled COCO datasets for robot vision.")
    parser.add_argument("--version", action="version", version=f"simgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scenario_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("scenario", metavar="SCENARIO",
                         help="scenario YAML file, or the name of one shipped with simgen "
                              "(bin_picking, mobile_floor, robot_workcell, shelf_picking, "
                              "tabletop)")
        sub.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY.PATH=VALUE",
                         help="override a scenario value (YAML syntax), e.g. image.width=160; "
                              "repeatable")
        sub.add_argument("--asset-root", dest="asset_roots", action="append", default=[],
                         metavar="DIR", help="also allow assets from DIR; repeatable")

    def run_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--seed", type=_non_negative, default=0,
                         help="random seed (default 0; 0 is a seed like any other)")
        sub.add_argument("--renderer", choices=("auto", "tiny", "egl", "cycles"), default="auto",
                         help="auto: EGL if it starts here, else TinyRenderer (default); "
                              "cycles: Blender's path tracer (`simgen cycles install` first)")

    gen = commands.add_parser("generate", help="generate a COCO dataset from a scenario")
    scenario_args(gen)
    run_args(gen)
    gen.add_argument("-o", "--out", required=True, metavar="OUT", help="output folder")
    gen.add_argument("-n", "--images", type=_positive, default=100, metavar="IMAGES",
                     help="number of images (default 100)")
    gen.add_argument("--format", dest="image_format", choices=("png", "jpg"), default="png",
                     help="image file format (default png)")
    gen.add_argument("--image-ids", type=_image_ids, metavar="FIRST..LAST",
                     help="make only these image ids (1-based, inclusive) of the IMAGES-image "
                          "dataset; their bytes equal those of a full run")
    gen.add_argument("--overwrite", action="store_true",
                     help="replace the simgen dataset already in OUT")
    gen.add_argument("-w", "--workers", type=_positive, default=None,
                     help="worker processes, each with its own PyBullet world and one core "
                          "(default: the cores here; never more than the scenes to make); "
                          "any number gives the same bytes")
    gen.add_argument("--backend", choices=("local", "ray"), default="local",
                     help="local processes (default), or Ray actors, one per CPU of the cluster "
                          "(or --workers of them)")
    gen.add_argument("--address", help="with --backend ray: join this Ray cluster "
                                       "('auto' or host:port) instead of starting a local one")
    gen.add_argument("--resume", action="store_true",
                     help="go on with an interrupted run in OUT (same scenario, seed and -n); "
                          "committed scenes are not rendered again")
    gen.add_argument("--skip-failed", action="store_true",
                     help="record a scene that fails in the manifest and go on (default: stop)")
    gen.add_argument("-q", "--quiet", action="store_true",
                     help="no progress (a bar in a terminal, a line every 10 s in a log)")

    commands.add_parser("info", help="versions, renderers that start here, cores")

    cycles = commands.add_parser(
        "cycles", help="the cycles renderer's Blender: install it, or say where it is")
    cycles_do = cycles.add_subparsers(dest="cycles_command", required=True, metavar="ACTION")
    cycles_do.add_parser("install", help="install Blender (bpy, ~1 GB) with pip into simgen's "
                                         "own folder, outside this environment (bpy needs NumPy "
                                         "< 2); SIMGEN_CYCLES_HOME moves it")
    cycles_do.add_parser("where", help="where the cycles renderer finds Blender")

    check = commands.add_parser("check", help="validate a scenario and summarize it; renders nothing")
    scenario_args(check)

    prev = commands.add_parser(
        "preview", help="render a few small labeled views into one contact-sheet PNG")
    scenario_args(prev)
    run_args(prev)
    prev.add_argument("-o", "--out", required=True, metavar="PNG", help="preview PNG file")
    prev.add_argument("-n", "--images", type=_positive, default=16, metavar="IMAGES",
                      help="number of images (default 16)")
    prev.add_argument("--scale", type=_scale, default=0.5,
                      help="image size factor (default 0.5; at least 64 px per side)")

    export = commands.add_parser("export", help="convert a dataset to another training layout")
    formats = export.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    yolo = formats.add_parser("yolo", help="Ultralytics YOLO: images/, labels/, data.yaml")
    yolo.add_argument("dataset", metavar="OUT", help="simgen dataset folder")
    yolo.add_argument("-o", "--out", required=True, metavar="YOLO_DIR",
                      help="export folder (empty or new)")
    yolo.add_argument("--segments", action="store_true",
                      help="write mask polygons instead of boxes")
    yolo.add_argument("--overwrite", action="store_true",
                      help="replace the simgen YOLO export already in YOLO_DIR (never any "
                           "other folder)")
    how = yolo.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="link", action="store_const", const="copy", default="auto",
                     help="plain copies of the images (default: copy-on-write clones where "
                          "the file system can make them, else copies)")
    how.add_argument("--link", dest="link", action="store_const", const="link",
                     help="hard-link the images (an edit to one then edits the source "
                          "dataset too); an error where the file system cannot")
    bop = formats.add_parser("bop", help="BOP 6D pose format: models/, scene_gt.json, "
                                         "scene_camera.json, rgb/, depth/, mask/, mask_visib/")
    bop.add_argument("dataset", metavar="OUT", help="simgen dataset folder (made with "
                     "outputs.depth and labels.amodal_masks true)")
    bop.add_argument("-o", "--out", required=True, metavar="BOP_DIR",
                     help="export folder (empty or new)")
    bop.add_argument("--overwrite", action="store_true",
                     help="replace the simgen BOP export already in BOP_DIR (never any "
                          "other folder)")
    bop.add_argument("--scenario-dir", metavar="DIR",
                     help="the folder the scenario's relative assets are in, when not where "
                          "the dataset was made")

    ver = commands.add_parser(
        "verify", help="check a dataset: COCO rules, labels against masks, provenance, "
                       "every file against the manifest's sha256")
    ver.add_argument("dataset", metavar="OUT",
                     help="a dataset folder simgen generate or simgen mix wrote")
    ver.add_argument("--reproduce", type=_non_negative, default=0, metavar="K",
                     help="also re-make K images chosen at random and compare their bytes")
    ver.add_argument("--seed", type=_non_negative, default=0,
                     help="seed of the --reproduce choice (default 0)")
    ver.add_argument("--scenario-dir", metavar="DIR",
                     help="with --reproduce: resolve the scenario's relative asset references "
                          "in DIR instead of the folder the manifest recorded")
    ver.add_argument("-q", "--quiet", action="store_true",
                     help="no progress of --reproduce (a bar in a terminal, a line every 10 s "
                          "in a log)")
    ver.add_argument("--manifest-sha256", metavar="HEX",
                     help="the sha256 of manifest.json as verify printed it when the dataset "
                          "was made, kept elsewhere: then every file is checked against what "
                          "the run wrote, not only against a manifest anyone could re-hash")
    ver.add_argument("--json", dest="json_file", metavar="FILE",
                     help="write the full report as JSON to FILE ('-': stdout, the summary "
                          "then goes to stderr)")

    regen = commands.add_parser(
        "regen", help="re-make one image from its provenance and compare it with the stored one")
    regen.add_argument("dataset", metavar="OUT", help="simgen dataset folder")
    regen.add_argument("--image-id", type=_positive, required=True, metavar="N",
                       help="id of the image to re-make")
    regen.add_argument("-o", "--out", metavar="FILE", help="write the re-made image file here")
    regen.add_argument("-q", "--quiet", action="store_true",
                       help="no progress (a bar in a terminal while the scene is re-made)")
    regen.add_argument("--scenario-dir", metavar="DIR",
                       help="resolve the scenario's relative asset references in DIR instead "
                            "of the folder the manifest recorded (a dataset made elsewhere)")

    rep = commands.add_parser(
        "report", help="one self-contained HTML page of a dataset's statistics, to review it "
                       "before training (or to compare it with another dataset)")
    rep.add_argument("dataset", metavar="OUT",
                     help="a simgen dataset folder, any COCO folder, or a COCO JSON file")
    rep.add_argument("-o", "--out", metavar="HTML",
                     help="report file (default ./<dataset name>_report.html; never inside a "
                          "simgen dataset, whose manifest lists every file)")
    rep.add_argument("--against", metavar="OTHER",
                     help="compare with this dataset (any kind OUT may be): overlaid "
                          "histograms and a table of distances")
    rep.add_argument("--images", metavar="DIR", help="OUT's image folder, if not found by itself")
    rep.add_argument("--against-images", metavar="DIR", help="OTHER's image folder, likewise")
    rep.add_argument("--max-images", type=_positive, default=2000, metavar="IMAGES",
                     help="images decoded for pixel statistics and near-duplicates, drawn at "
                          "random with --seed (default 2000); labels always use all")
    rep.add_argument("--sheet", type=_non_negative, default=16, metavar="N",
                     help="images on the contact sheet (default 16)")
    rep.add_argument("--dup-bits", type=_non_negative, default=4, metavar="BITS",
                     help="near-duplicates: hashes at most BITS of 64 apart (default 4)")
    rep.add_argument("--seed", type=_non_negative, default=0,
                     help="seed of the image samples (default 0)")
    rep.add_argument("-q", "--quiet", action="store_true",
                     help="no progress of the image decoding (a bar in a terminal, a line "
                          "every 10 s in a log)")

    mix = commands.add_parser(
        "mix", help="merge a real COCO dataset with a simgen dataset into one COCO dataset, "
                    "at a chosen share of synthetic images")
    mix.add_argument("--real", required=True, metavar="REAL",
                     help="the real dataset: any COCO folder or COCO JSON file; every image "
                          "and annotation is kept unchanged")
    mix.add_argument("--real-images", metavar="DIR",
                     help="REAL's image folder, if not found by itself")
    mix.add_argument("--real-split", default="train", metavar="SPLIT",
                     help="split of a real JSON file not named instances_<split>.json "
                          "(default train)")
    mix.add_argument("--synthetic", required=True, metavar="OUT",
                     help="a dataset folder simgen generate wrote")
    mix.add_argument("--synthetic-fraction", type=float, metavar="F",
                     help="share of synthetic images in the split they go to, 0 <= F < 1: "
                          "all real images and round(F * R / (1 - F)) synthetic ones, R the "
                          "real images of that split (default: every synthetic image)")
    mix.add_argument("--synthetic-split", default="train", metavar="SPLIT",
                     help="split the synthetic images go to (default train)")
    mix.add_argument("-o", "--out", required=True, metavar="MIXED",
                     help="output folder (empty or new)")
    mix.add_argument("--seed", type=_non_negative, default=0,
                     help="seed of the choice of synthetic images (default 0)")
    mix_how = mix.add_mutually_exclusive_group()
    mix_how.add_argument("--copy", dest="link", action="store_const", const="copy",
                         default="auto",
                         help="plain copies of the images (default: copy-on-write clones "
                              "where the file system can make them, else copies)")
    mix_how.add_argument("--link", dest="link", action="store_const", const="link",
                         help="hard-link the images (an edit to one then edits the source "
                              "dataset too); an error where the file system cannot")
    return parser


# An error line echoes what it names (a key, a value, a path); a hostile input can make that
# anything, a million characters say: one line stays readable.
MAX_ERROR_CHARS = 1000


def _capped(message: str) -> str:
    message = " ".join(message.splitlines())
    if len(message) <= MAX_ERROR_CHARS:
        return message
    half = MAX_ERROR_CHARS // 2
    return f"{message[:half]} ... ({len(message) - 2 * half} characters left out) ... {message[-half:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else list(argv)):
        # Bare `simgen`: the commands, not only "the following arguments are required".
        print(parser.format_help(), end="", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "info":
            return _info()
        if args.command == "cycles":
            return _cycles(args)
        if args.command == "preview":
            return _preview(args)
        if args.command == "export":
            return _export(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "regen":
            return _regen(args)
        if args.command == "report":
            return _report(args)
        if args.command == "mix":
            return _mix(args)
        return _generate(args)
    except SimgenError as err:
        print(f"simgen: error: {_capped(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.command == "preview":
            print("simgen: interrupted; no preview written", file=sys.stderr)
        elif args.command == "export":
            print("simgen: interrupted; nothing exported", file=sys.stderr)
        elif args.command == "mix":
            print("simgen: interrupted; nothing written", file=sys.stderr)
        elif args.command == "generate":
            again = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
                             if a != "--resume")
            print("simgen: interrupted; the scenes already finished are kept. To go on:\n"
                  f"  simgen {again} --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`simgen check x | head -1`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as err:
        # Last resort: the commands turn the I/O failures they expect into SimgenErrors with
        # their context; one the file system springs elsewhere still gets one line, not a
        # traceback.
        where = f"{err.filename}: " if err.filename else ""
        print(f"simgen: error: {_capped(where + (err.strerror or str(err)))}", file=sys.stderr)
        return EXIT_USAGE


def _info() -> int:
    from simgen.info import machine_info

    info = machine_info()
    print(f"simgen {info['simgen']}")
    for name, version in info["packages"].items():
        print(f"  {name:24} {version}")
    print(f"  pybullet with numpy      {'yes' if info['pybullet_numpy'] else 'no (slower image copies)'}")
    for name, ok in info["renderers"].items():
        print(f"  renderer {name:15} {'starts' if ok is True else ok}")
    print(f"  --renderer auto picks    {info['auto_renderer']}"
          + (" (tiny for a scenario egl cannot render)" if info['auto_renderer'] == "egl" else ""))
    from simgen.scenario.load import bundled_scenarios

    print(f"  cores                    {info['cores']}")
    print(f"  shipped scenarios        {', '.join(bundled_scenarios())}")
    print(f"  default --workers        {info['default_workers']}")
    return 0


def _cycles(args: argparse.Namespace) -> int:
    import subprocess

    from simgen.render import cycles

    if args.cycles_command == "where":
        try:
            command, env = cycles.blender_command()
        except cycles.CyclesUnavailable as err:
            raise SimgenError(str(err)) from None
        where = env.get("PYTHONPATH")
        print(f"simgen: Blender runs as {command[0]}" + (f" with {where}" if where else ""))
        return 0
    if os.environ.get("SIMGEN_BLENDER_PYTHON"):
        print("simgen: SIMGEN_BLENDER_PYTHON is set: the cycles renderer uses "
              f"{os.environ['SIMGEN_BLENDER_PYTHON']}, not what this installs", file=sys.stderr)
    try:
        home = cycles.install()
    except subprocess.CalledProcessError as err:
        raise SimgenError(f"pip could not install bpy=={cycles.BLENDER_VERSION} (exit "
                          f"{err.returncode}); nothing was installed") from None
    print(f"simgen: Blender {cycles.BLENDER_VERSION} (bpy) is in {home}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from simgen.scenario import load

    scenario = load(args.scenario, args.overrides, args.asset_roots)
    print(f"{scenario.source}: ok")
    for key, text in check_summary(scenario):
        print(f"  {key:11} {text}")
    return 0


def _flow(value: object) -> str:
    """A scenario value as it would be written in YAML flow style: {uniform: [0.8, 1.3]}."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix(
        "\n...").strip()


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def check_summary(scenario: object) -> list[tuple[str, str]]:
    """(label, text) lines of what a scenario holds, as `simgen check` prints them."""
    spec = scenario.spec
    dump = spec.model_dump(mode="json")
    lines = [("scenario", f"{spec.name} (sha256 {scenario.sha256[:12]}), sampling "
                          f"{spec.sampling}"),
             ("image", f"{spec.image.width}x{spec.image.height}, "
                       f"{_plural(spec.views_per_scene, 'view')} per scene"
                       + (f", {spec.augment.augmentations_per_view} augmented per view"
                          if spec.augment else "")),
             ("splits", f"train {spec.splits.train:g}, val {spec.splits.val:g}, "
                        f"test {spec.splits.test:g}" + (
                            f"; held out for val and test: {spec.splits.hold_out.fraction:g} "
                            f"of the {', '.join(spec.splits.hold_out.of)}"
                            if spec.splits.hold_out else "")),
             ("categories", ", ".join(f"{i}:{c}" for i, c in enumerate(spec.categories, 1)))]
    statics = [f"{b.name or b.asset}" + (f" ({b.asset})" if b.name else "")
               for b in spec.static]
    lines.append(("static", _plural(len(spec.static), "body", "bodies")
                  + (": " + ", ".join(statics) if statics else "")))
    for index, robot in enumerate(spec.robots):
        set_joints = ", ".join(f"{k} {_flow(v)}" for k, v in dump["robots"][index]["joints"].items())
        lines.append(("robot", f"{robot.name or robot.asset} ({robot.asset})"
                      + (f", labeled {robot.category}" if robot.category else ", unlabeled")
                      + (f"; joints {set_joints}" if set_joints else "")
                      + f"; other joints {robot.other_joints}"
                      + (f"; gripper {_flow(dump['robots'][index]['gripper'])}"
                         + (f" on {', '.join(robot.gripper_joints)}" if robot.gripper_joints
                            else " on the *finger* joints") if robot.gripper is not None
                         else "")))
    for section, label in (("objects", "objects"), ("distractors", "distractors")):
        for index, group in enumerate(getattr(spec, section)):
            files = len(scenario.asset_choices.get((section, index), ()))
            what = f"{group.category}: " if section == "objects" else ""
            if section == "objects" and group.category == "{file}":
                what = "category by file name" + (" and map" if group.category_map else "") + ": "
            mesh = (f", mesh {_flow(dump[section][index]['mesh'])}"
                    if dump[section][index].get("mesh") else "")
            lines.append((label, f"{what}count {_flow(dump[section][index]['count'])} of "
                                 f"{_flow(dump[section][index]['asset'])}"
                                 + (f" ({files} files)" if files > 1 else "") + mesh))
    camera = dump["camera"]
    intrinsics = (f"fov_deg {_flow(camera['fov_deg'])}" if camera["fov_deg"] is not None
                  else f"fx {_flow(camera['fx'])}, fy {_flow(camera['fy'])}")
    if camera["poses"]:
        placement = f"{_plural(len(camera['poses']), 'fixed pose')}"
    else:
        placement = (f"orbit of look_at {_flow(camera['look_at'])}: distance_m "
                     f"{_flow(camera['distance_m'])}, azimuth_deg {_flow(camera['azimuth_deg'])}, "
                     f"elevation_deg {_flow(camera['elevation_deg'])}")
    lines.append(("camera", f"{intrinsics}; {placement}; near_m {camera['near_m']:g}, "
                            f"far_m {camera['far_m']:g}"))
    light = dump["light"]
    lines.append(("light", ", ".join(f"{k} {_flow(v)}" for k, v in light.items())))
    outputs = ["rgb"] + [name for name in ("depth", "instance_ids")
                         if getattr(spec.outputs, name)]
    lines.append(("outputs", " + ".join(outputs)))
    if spec.augment:
        steps = [t.get("__class_fullname__", "?") for t in
                 spec.augment.pipeline.get("transform", {}).get("transforms", [])]
        lines.append(("augment", f"{_plural(len(steps), 'step')}: {', '.join(steps)}"))
    lines.append(("labels", f"min_pixels {spec.labels.min_pixels}, min_visibility "
                            f"{spec.labels.min_visibility:g}, occlusion {spec.labels.occlusion}"))
    return lines


def _generate(args: argparse.Namespace) -> int:
    from simgen.run.generate import generate
    from simgen.scenario import load
    from simgen.run.job import default_workers

    scenario = load(args.scenario, args.overrides, args.asset_roots)
    workers = args.workers
    if workers is None:
        # Ray's default is one actor per CPU of the cluster, not of this machine.
        workers = 1 if args.backend == "ray" else default_workers()
    result = generate(
        scenario, args.out, images=args.images, seed=args.seed, renderer=args.renderer,
        image_format=args.image_format, image_ids=args.image_ids, overwrite=args.overwrite,
        workers=workers, resume=args.resume, skip_failed=args.skip_failed,
        backend=args.backend, address=args.address,
        on_renderer=lambda name: print(f"simgen: renderer {name}", file=sys.stderr),
        progress=not args.quiet)
    from simgen.dataset.layout import MANIFEST
    from simgen.dataset.writer import sha256_file

    per_split = ", ".join(f"{split} {n}" for split, n in result.counts["images"].items())
    print(f"simgen: wrote {result.images} images ({per_split}) and {result.annotations} "
          f"annotations to {os.fspath(result.out)}")
    # Kept elsewhere, this hash lets `simgen verify --manifest-sha256` prove a copy unchanged.
    print(f"simgen: {MANIFEST} sha256 {sha256_file(result.out / MANIFEST)}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from simgen.viz.preview import load_scaled, preview

    scenario = load_scaled(args.scenario, args.overrides, args.asset_roots, args.scale)
    path = preview(scenario, args.out, images=args.images, seed=args.seed,
                   renderer=args.renderer,
                   on_renderer=lambda name: print(f"simgen: renderer {name}", file=sys.stderr))
    print(f"simgen: wrote preview of {args.images} images to {os.fspath(path)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.export_format == "bop":
        from simgen.export.bop import export_bop

        result = export_bop(args.dataset, args.out, overwrite=args.overwrite,
                            scenario_dir=args.scenario_dir)
        left = (f"; {result.robots_left_out} labeled robot instances left out (not rigid)"
                if result.robots_left_out else "")
        print(f"simgen: exported {result.images} images in {result.scenes} scenes, "
              f"{result.objects} object poses and {result.models} models to "
              f"{os.fspath(result.out)}{left}")
        return 0
    from simgen.export.yolo import export_yolo

    result = export_yolo(args.dataset, args.out, segments=args.segments, link=args.link,
                         overwrite=args.overwrite)
    for warning in result.warnings:
        print(f"simgen: warning: {warning}", file=sys.stderr)
    print(f"simgen: exported {result.images} images ({result.labels} labels) to "
          f"{os.fspath(result.out)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from simgen.dataset.writer import write_atomic
    from simgen.trust.verify import verify

    report = verify(args.dataset, reproduce=args.reproduce, seed=args.seed,
                    scenario_dir=args.scenario_dir, manifest_sha256=args.manifest_sha256,
                    progress=not args.quiet)
    summary = report.summary()
    if args.json_file == "-":
        print(json.dumps(report.to_json(), indent=1))
        print(summary, file=sys.stderr)
    else:
        if args.json_file:
            try:
                write_atomic(Path(args.json_file),
                             json.dumps(report.to_json(), indent=1).encode() + b"\n")
            except OSError as err:
                raise SimgenError(f"{args.json_file}: cannot write the report "
                                  f"({err.strerror or err})") from None
        print(summary)
    return 0 if report.ok else 1


def _regen(args: argparse.Namespace) -> int:
    from pathlib import Path

    from simgen.dataset.writer import write_atomic
    from simgen.progress import progress
    from simgen.trust.regen import regenerate_many

    # One scene to settle and render: a bar in a terminal while it runs (a log gets a line
    # only when it takes longer than the progress period).
    bar = progress(1, "scenes", f"regen image {args.image_id}", not args.quiet)
    try:
        (result,) = regenerate_many(args.dataset, [args.image_id],
                                    scenario_dir=args.scenario_dir, on_scene=bar.update)
    finally:
        bar.close()
    if args.out and result.image_bytes is not None:
        try:
            write_atomic(Path(args.out), result.image_bytes)
        except OSError as err:
            raise SimgenError(f"{args.out}: cannot write the image "
                              f"({err.strerror or err})") from None
    verdict = "identical" if result.identical else "DIFFERENT"
    print(f"simgen: image {result.image_id} ({result.file}) re-made: {verdict} "
          f"(image bytes, COCO entry, {result.annotations} annotations compared)")
    for line in result.differences:
        print(f"  {line}")
    if not result.identical:
        for note in result.notes:
            print(f"  note: {note}")
    if args.out and result.image_bytes is not None:
        print(f"simgen: wrote the re-made image to {args.out}")
    return 0 if result.identical else 1


def _needs(module: str, extra: str, what: str) -> None:
    """One line naming the extra to install, instead of an ImportError traceback."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SimgenError(f"{what} needs {module}, which is not installed: "
                          f"pip install 'simgen[{extra}]'")


def _report(args: argparse.Namespace) -> int:
    _needs("matplotlib", "viz", "simgen report")
    from simgen.trust.report import default_report_path, write_report

    out = args.out if args.out is not None else default_report_path(args.dataset)
    result = write_report(args.dataset, out, against=args.against, images_dir=args.images,
                          against_images_dir=args.against_images, max_images=args.max_images,
                          sheet_images=args.sheet, max_hash_distance=args.dup_bits,
                          seed=args.seed, progress=not args.quiet)
    what = f"{result.stats.labels.n_images} images"
    if result.against is not None:
        what += f" against {result.against.labels.n_images} of {result.against.name}"
    print(f"simgen: wrote the report of {result.stats.name} ({what}) to "
          f"{os.fspath(result.out)}")
    return 0


def _mix(args: argparse.Namespace) -> int:
    from simgen.export.mix import mix_datasets

    result = mix_datasets(args.real, args.synthetic, args.out,
                          synthetic_fraction=args.synthetic_fraction, seed=args.seed,
                          link=args.link, real_images=args.real_images,
                          synthetic_split=args.synthetic_split, real_split=args.real_split)
    per_split = ", ".join(f"{split} {n}" for split, n in result.splits.items())
    print(f"simgen: mixed {result.real_images} real and {result.synthetic_images} of "
          f"{result.synthetic_available} synthetic images (synthetic fraction "
          f"{result.synthetic_fraction:.4g} in {result.synthetic_split}; {per_split}) with "
          f"{result.annotations} annotations into {os.fspath(result.out)}")
    if result.real_only:
        print(f"simgen: categories only in the real data: {', '.join(result.real_only)}")
    if result.synthetic_only:
        print(f"simgen: categories only in the synthetic data: "
              f"{', '.join(result.synthetic_only)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
