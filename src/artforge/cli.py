"""The ``artforge`` command: parse flags, build a config, call the library once.

No logic lives only here; every command is a thin wrapper over a library call.
User mistakes (:class:`ArtforgeError`) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

from artforge import __version__
from artforge.errors import ArtforgeError

# ----------------------------------------------------------------------------- train flags


def _field_help() -> dict[str, str]:
    """The comment beside each TrainConfig field is its --help text (one place for the docs)."""
    from artforge.train.config import TrainConfig

    helps = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        m = re.match(r"\s+(\w+):.*?=.*?#\s*(.*)$", line)
        if m:
            helps[m.group(1)] = m.group(2).replace("%", "%%")
    return helps


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    from artforge.train.config import TrainConfig

    helps = _field_help()
    skip = {"source"}
    short = {"steps": "default 2000", "batch": "default 64"}
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        text = helps.get(f.name, "") + (f" ({short[f.name]})" if f.name in short else "")
        if f.type in ("bool", "bool | None"):
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=f"{text} (default: {f.default})")
            continue
        kind = {"int": int, "float": float}.get(f.type.split(" ")[0], str)
        parser.add_argument(flag, dest=f.name, type=kind, default=None, help=f"{text} (default: {f.default})")


def _cmd_train(args: argparse.Namespace) -> int:
    from artforge.train import TrainConfig, config_for_resume, train
    from artforge.train.trainer import find_run

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if f.name != "source" and getattr(args, f.name, None) is not None}
    if args.resume:
        if args.source:
            overrides["source"] = args.source
        run_dir = find_run(args.resume)
        cfg = config_for_resume(run_dir, overrides)
        train(cfg, resume=run_dir)
        return 0
    if not args.source:
        raise ArtforgeError("say what to train on: artforge train FOLDER (or builtin:shapes), or --resume RUN_DIR")
    train(TrainConfig(source=args.source, **overrides))
    return 0


# ----------------------------------------------------------------------------- generate


def _cmd_generate(args: argparse.Namespace) -> int:
    from artforge.generate import generate, interpolate, load_model
    from artforge.train.precision import resolve_device

    model = load_model(args.model, device=resolve_device(args.device))
    out = Path(args.out)
    if args.interpolate:
        paths = interpolate(model, out, seed=args.seed, keys=args.keys, frames_per_key=args.frames,
                            fps=args.fps, truncation=args.truncation)
    else:
        paths = generate(model, args.n, args.seed, out, truncation=args.truncation, singles=not args.grid_only)
    for p in paths:
        print(p)
    return 0


# ----------------------------------------------------------------------------- data


def _cmd_data_info(args: argparse.Namespace) -> int:
    from artforge.data import format_info, inspect_folder, open_source

    if args.source.startswith("builtin:"):
        data = open_source(args.source, args.size, progress=False)
        print(f"{args.source}: {len(data.images)} generated pictures at {args.size}px; "
              f"e.g. {data.captions[0]!r}")
        return 0
    print(format_info(inspect_folder(Path(args.source), size=args.size, fit=args.fit)))
    return 0


def _cmd_data_prepare(args: argparse.Namespace) -> int:
    from artforge.data import parse_color, prepare

    data = prepare(args.source, Path(args.out), args.size, fit=args.fit, background=parse_color(args.background),
                   overwrite=args.overwrite)
    print(f"{data.summary()}; wrote {len(data.images)} PNGs to {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    import torch

    from artforge.data import open_source
    from artforge.evaluate.evaluate import evaluate
    from artforge.generate import find_export, load_model

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    source = Path(args.source)
    is_model = str(args.source) == "default" or (source / "config.json").is_file() or (source / "model").is_dir()
    if is_model:
        model = load_model(find_export(args.source))
        size = model.config["image_size"]
        generated = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed))
    else:
        size = args.size
        generated = open_source(args.source, size, progress=False).images
    real = open_source(args.real, size, n_builtin=args.n, seed=args.seed + 1, progress=False).images
    result = evaluate(generated, real, metrics, backbone=args.backbone, out_dir=Path(args.out))
    rows = [(k, result[k]) for k in ("fid", "kid", "kid_std", "precision", "recall") if k in result]
    if "memorization" in result:
        rows.append(("memorization (flagged)", result["memorization"]["fraction_flagged"]))
    print(f"{len(generated)} generated vs {len(real)} real, features: {args.backbone}")
    for name, value in rows:
        print(f"  {name:24s} {value:.6g}")
    if "memorization" in result and result["memorization"].get("pairs_png"):
        print(f"  closest pairs: {result['memorization']['pairs_png']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from artforge.evaluate.report import write_report

    print(f"open {write_report(args.run)}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from artforge.models import get_family, list_models

    for name in list_models():
        family = get_family(name)
        print(f"{name:12s} {family.method:5s} {family.description}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from artforge.demo import run_demo

    page = run_demo(Path(args.out))
    print(f"open {page}")
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artforge", description="A local studio for AI art: train generative "
                                     "models on your pictures, sample, interpolate.")
    parser.add_argument("--version", action="version", version=f"artforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model on a folder of pictures or a built-in set",
                       description="Train a generative model. Examples:\n"
                       "  artforge train my_pictures/ --model dcgan --size 64 --steps 5000\n"
                       "  artforge train builtin:shapes --model vae --size 32\n"
                       "  artforge train --resume latest\n"
                       "  torchrun --nproc-per-node 4 -m artforge train my_pictures/ --batch 256",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", help="a folder of pictures, or builtin:shapes / builtin:glyphs")
    p.add_argument("--resume", metavar="RUN_DIR|latest", help="continue a run from its newest training state")
    _add_train_flags(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("generate", help="sample pictures or a latent walk from a trained model",
                       description="Examples:\n  artforge generate runs/my-run -n 64 --seed 0 -o out/\n"
                       "  artforge generate default --interpolate -o out/walk",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a run folder, its model/ export, or 'default' (the shipped model)")
    p.add_argument("-n", type=int, default=64, help="how many pictures (default 64)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same pictures (default 0)")
    p.add_argument("--truncation", type=float, default=None,
                   help="GANs: resample latent entries above this magnitude (BigGAN trick, e.g. 0.7); "
                   "VAE: prior temperature")
    p.add_argument("-o", "--out", default="out/generated", help="output folder (default out/generated)")
    p.add_argument("--grid-only", action="store_true", help="write only the grid, not each picture")
    p.add_argument("--interpolate", action="store_true", help="write a looping latent walk (GIF, and MP4)")
    p.add_argument("--keys", type=int, default=4, help="key latents in the walk (default 4)")
    p.add_argument("--frames", type=int, default=24, help="frames between two keys (default 24)")
    p.add_argument("--fps", type=int, default=24, help="frames per second (default 24)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("data", help="inspect or prepare a folder of pictures")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = data_sub.add_parser("info", help="counts, formats, sizes, and what would be skipped and why")
    q.add_argument("source")
    q.add_argument("--size", type=int, default=64)
    q.add_argument("--fit", default="crop", choices=["crop", "pad", "stretch"])
    q.set_defaults(func=_cmd_data_info)
    q = data_sub.add_parser("prepare", help="decode, fit and resize every usable picture to PNGs in OUT")
    q.add_argument("source")
    q.add_argument("out")
    q.add_argument("--size", type=int, default=64)
    q.add_argument("--fit", default="crop", choices=["crop", "pad", "stretch"])
    q.add_argument("--background", default="white", help="colour under transparency and padding")
    q.add_argument("--overwrite", action="store_true", help="replace artforge's PNGs in a non-empty OUT")
    q.set_defaults(func=_cmd_data_prepare)

    p = sub.add_parser("evaluate", help="FID, KID, precision/recall and a memorisation check against real pictures",
                       description="Examples:\n  artforge evaluate runs/my-run --real my_pictures/ --json out/eval.json\n"
                       "  artforge evaluate generated_folder/ --real my_pictures/ --metrics fid,kid",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a trained model (run folder, model/ export, 'default') or a folder of pictures")
    p.add_argument("--real", required=True, help="the real pictures: a folder or builtin:NAME")
    p.add_argument("--metrics", default="fid,kid,pr,memorization", help="comma-separated (default: all)")
    p.add_argument("-n", type=int, default=500, help="pictures to sample from a model / generate for builtin:")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=64, help="resolution when SOURCE is a folder (default 64)")
    p.add_argument("--backbone", default="effnet-lite0", help="feature network (default effnet-lite0)")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.add_argument("-o", "--out", default="out/evaluate", help="folder for the memorisation pairs PNG")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("report", help="an HTML page about a run: loss/metric curves, sample grids, config")
    p.add_argument("run", help="a run folder made by artforge train")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("demo", help="sample the shipped model and write an HTML page (what make demo runs)")
    p.add_argument("-o", "--out", default="out/demo")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ArtforgeError as exc:
        print(f"artforge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("artforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
