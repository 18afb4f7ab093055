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
    short = {"steps": "default 2000"}
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        text = helps.get(f.name, "") + (f" ({short[f.name]})" if f.name in short else "")
        if f.type in ("bool", "bool | None"):
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{text} (default: {f.default})",
            )
            continue
        kind = {"int": int, "float": float}.get(f.type.split(" ")[0], str)
        parser.add_argument(flag, dest=f.name, type=kind, default=None, help=f"{text} (default: {f.default})")


def _cmd_train(args: argparse.Namespace) -> int:
    from artforge.train import TrainConfig, config_for_resume, train
    from artforge.train.trainer import find_run

    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "source" and getattr(args, f.name, None) is not None
    }
    if args.resume:
        if args.source:
            overrides["source"] = args.source
        run_dir = find_run(args.resume)
        cfg = config_for_resume(run_dir, overrides)
        train(cfg, resume=run_dir)
        return 0
    if not args.source and not (args.domain_a or args.domain_b):
        raise ArtforgeError(
            "say what to train on: artforge train FOLDER (or builtin:shapes), "
            "--model cyclegan --domain-a A/ --domain-b B/, or --resume RUN_DIR"
        )
    train(TrainConfig(**({"source": args.source} if args.source else {}), **overrides))
    return 0


# ----------------------------------------------------------------------------- generate


def _cmd_generate(args: argparse.Namespace) -> int:
    from artforge import generate as gen
    from artforge.train.precision import resolve_device

    model = gen.load_model(args.model, device=resolve_device(args.device))
    _check_generate_flags(args)
    sampler = args.sampler or (SEED_SAMPLER if _plain_seeds(args) and hasattr(model, "configure_sampling") else None)
    if args.sample_steps is not None or sampler is not None:
        gen.configure_sampling(model, args.sample_steps, sampler)
    out = Path(args.out)
    if args.mix:
        keys = args.mix.split(",")
        if len(keys) != 2:
            raise ArtforgeError(f"--mix takes two seeds or latent files, A,B (got {args.mix!r})")
        paths = gen.style_mix(model, keys[0], keys[1], args.mix_layers, out, truncation=args.truncation)
    elif args.interpolate:
        keys = gen.parse_keys(model, args.keys, args.truncation)
        paths = gen.interpolate(
            model,
            out,
            seed=args.seed or 0,
            keys=keys,
            frames_per_key=args.frames,
            fps=args.fps,
            truncation=args.truncation,
        )
    else:
        paths = _generate_pictures(model, args, out)
    for p in paths:
        print(p)
    return 0


# Diffusion pictures drawn from seeds use ancestral sampling (η = 1) at the run's 50 steps: on the 4,000-step
# preset its KID is 1.01x / 1.04x that of 250 ancestral steps (two latent seeds) at a fifth of the time, where
# deterministic DDIM (η = 0) is 1.63x (bench/RESULTS.md, issue 10).  Everything that moves or replays a
# latent — walks, edits, latent files, --prompt's search — keeps the run's DDIM (η = 0), which it needs.
SEED_SAMPLER = "ddpm"


def _plain_seeds(args: argparse.Namespace) -> bool:
    """Pictures from seeds alone: no latent file, edit, walk, mix or prompt."""
    moved = args.latent or args.edit or args.edit_strip is not None or args.prompt or args.taste is not None
    return not (args.mix or args.interpolate or moved)


def _check_generate_flags(args: argparse.Namespace) -> None:
    """Say so when flags that do not go together are given, rather than ignoring some of them."""
    picture_flags = [f for f, v in (("--latent", args.latent), ("--edit", args.edit)) if v]
    picture_flags += ["--edit-strip"] if args.edit_strip is not None else []
    job = "--mix" if args.mix else ("--interpolate" if args.interpolate else None)
    if job and picture_flags:
        raise ArtforgeError(
            f"{picture_flags[0]} does not go with {job}; {job} takes latent files itself "
            "(--mix A,B and --keys a,b,… accept seeds or latent files)"
        )
    if args.edit and args.edit_strip is not None:
        raise ArtforgeError("give --edit or --edit-strip, not both")
    if args.prompt and (args.latent or job):
        raise ArtforgeError("--prompt chooses latents itself; it does not go with --latent, --mix or --interpolate")
    if args.taste is not None and (args.latent or job or args.prompt):
        raise ArtforgeError(
            "--taste chooses latents itself; it does not go with --latent, --mix, --interpolate or --prompt"
        )
    if args.latent and (args.n is not None or args.seed is not None or args.truncation is not None):
        raise ArtforgeError("--latent draws the pictures in its file; -n, --seed and --truncation are for seeds")


def _generate_pictures(model, args: argparse.Namespace, out: Path) -> list[Path]:
    """Seeds or a latent file, optionally moved along GANSpace directions (--edit) or walked along one."""
    from artforge import directions as dirs
    from artforge import generate as gen

    if args.latent:
        latents, stem = gen.key_latent(model, args.latent)
        meta = {"latent_file": args.latent}
    elif args.prompt:
        from artforge.crossmodal.prompt import prompt_latents

        n, seed = 16 if args.n is None else args.n, args.seed or 0
        latents = prompt_latents(model, args.prompt, n, seed, args.truncation, _prompt_search(args))
        stem = f"prompt-seed{seed}"
        meta = {"seed": seed, "truncation": args.truncation, "prompt": args.prompt}
    elif args.taste is not None:
        from artforge.evaluate.curate import critic_dir, load_critic
        from artforge.taste import TasteSearch, taste_latents

        n, seed = 64 if args.n is None else args.n, args.seed or 0
        critic = load_critic(args.taste or None)
        latents, info = taste_latents(model, critic, n, seed, args.truncation, TasteSearch(rounds=args.taste_rounds))
        stem = f"taste-seed{seed}"
        meta = {"seed": seed, "truncation": args.truncation, "taste": str(critic_dir(args.taste or None)), **info}
    else:
        n, seed = 64 if args.n is None else args.n, args.seed or 0
        latents, stem = gen.seed_latents(model, n, seed, args.truncation), f"seed{seed}"
        meta = {"seed": seed, "truncation": args.truncation}
    if args.edit is None and args.edit_strip is None:
        if args.edit_layers:
            raise ArtforgeError("--edit-layers goes with --edit or --edit-strip")
        return gen.write_pictures(model, latents, out, stem, singles=not args.grid_only, **meta)
    found = dirs.load_directions(model)
    layers = None
    if args.edit_layers:
        if not hasattr(model, "num_ws"):
            raise ArtforgeError("--edit-layers needs a model with per-layer styles (--model stylegan)")
        layers = gen.parse_layers(args.edit_layers, model.num_ws, "--edit-layers")
    if args.edit_strip is not None:
        meta.update(edit_layers=args.edit_layers)
        path = out / f"{stem}-direction{args.edit_strip}-strip.png"
        return [dirs.write_edit_strip(model, latents, found, args.edit_strip, path, layers, **meta)]
    edits = dirs.parse_edits(args.edit, len(found))
    latents = dirs.apply_edits(model, latents, found, edits, layers)
    label = "_".join(f"{i}{a:+g}" for i, a in edits)
    meta.update(edit=args.edit, edit_layers=args.edit_layers)
    return gen.write_pictures(model, latents, out, f"{stem}-edit{label}", singles=not args.grid_only, **meta)


def _cmd_directions(args: argparse.Namespace) -> int:
    from artforge import directions as dirs
    from artforge.generate import load_model
    from artforge.train.precision import resolve_device

    model = load_model(args.model, device=resolve_device(args.device))
    found = dirs.compute_directions(model, k=args.n, samples=args.samples, seed=args.seed, method=args.method)
    path = dirs.save_directions(model, found)
    strips = dirs.write_strips(model, found)
    print(f"{len(found)} directions in {found.space} from {found.samples} samples: {path}")
    for i, (share, strip) in enumerate(zip(found.explained, strips)):
        print(f"  {i:2d}  explains {100 * float(share):5.1f} %  {strip}")
    print(f"edit: artforge generate {args.model} --edit 0:+2 -n 8   (or --edit-strip 0)")
    return 0


def _cmd_project(args: argparse.Namespace) -> int:
    from artforge.generate import load_model
    from artforge.project import project_pictures
    from artforge.train.precision import resolve_device

    model = load_model(args.model, device=resolve_device(args.device))
    results = project_pictures(
        model,
        args.images,
        args.out,
        steps=args.steps,
        space=args.space,
        pixel_weight=args.pixel_weight,
        seed=args.seed,
        fit=args.fit,
        background=args.background,
    )
    for r in results:
        print(
            f"{r.source}: {r.latent_path} ({r.space}; perceptual distance {r.perceptual:.4f}, "
            f"pixel MSE {r.pixel_mse:.4f})"
        )
    print(f"use a latent like a seed: artforge generate {args.model} --latent {results[0].latent_path}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    from artforge.train.precision import resolve_device
    from artforge.translate import load_translator, translate

    model = load_translator(args.model, device=resolve_device(args.device))
    paths = translate(
        model,
        args.images,
        direction=args.direction,
        out=Path(args.out),
        size=args.size,
        fit=args.fit,
        background=args.background,
    )
    print(f"translated {len(paths)} picture{'s' * (len(paths) != 1)} ({args.direction}) into {args.out}")
    return 0


# ----------------------------------------------------------------------------- data


def _cmd_data_info(args: argparse.Namespace) -> int:
    from artforge.data import format_info, inspect_folder, open_source

    if args.source.startswith("builtin:"):
        data = open_source(args.source, args.size, progress=False)
        print(f"{args.source}: {len(data.images)} generated pictures at {args.size}px; e.g. {data.captions[0]!r}")
        return 0
    print(format_info(inspect_folder(Path(args.source), size=args.size, fit=args.fit)))
    return 0


def _cmd_data_prepare(args: argparse.Namespace) -> int:
    from artforge.data import parse_color, prepare

    data = prepare(
        args.source,
        Path(args.out),
        args.size,
        fit=args.fit,
        background=parse_color(args.background),
        overwrite=args.overwrite,
    )
    print(f"{data.summary()}; wrote {len(data.images)} PNGs to {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    import torch

    from artforge.data import open_source
    from artforge.evaluate.compare import format_result, measure_against_real
    from artforge.fileio import atomic_write_bytes
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
    result = measure_against_real(generated, real, metrics, backbone=args.backbone, out_dir=Path(args.out))
    print("\n".join(format_result(result)))
    for warning in result["warnings"]:
        print(f"artforge: warning: {warning}", file=sys.stderr)
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(result, indent=1).encode())
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from artforge.evaluate.report import write_report

    page = write_report(
        args.run, samples=args.samples, critic=not args.no_critic, memorization=not args.no_memorization
    )
    print(f"open {page}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from artforge.models import get_family, list_models

    for name in list_models():
        family = get_family(name)
        print(f"{name:12s} {family.method:8s} {family.description}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from artforge.demo import run_demo

    page = run_demo(Path(args.out))
    print(f"open {page}")
    return 0


def _cmd_music_video(args: argparse.Namespace) -> int:
    from artforge import generate as gen
    from artforge.crossmodal.music_video import MusicVideoSettings, render_music_video
    from artforge.train.precision import resolve_device

    settings = MusicVideoSettings(
        fps=args.fps, start=args.start, duration=args.duration, size=args.size, pulse=args.pulse,
        motion=args.motion, speed=args.speed, smooth=args.smooth, keys=args.keys, seed=args.seed,
        beat_jump=args.beat_jump, truncation=args.truncation, batch=args.batch,
        prompt=args.prompt, prompt_search=_prompt_search(args),
    )  # fmt: skip
    model = gen.load_model(args.model, device=resolve_device(args.device))
    if args.sample_steps is not None:
        gen.configure_sampling(model, args.sample_steps)
    made = render_music_video(model, args.audio, args.out, settings, progress=not args.no_progress)
    print(
        f"{made['path']}: {made['frames']} frames, {made['seconds']:.2f} s with sound; "
        f"analysis {made['analysis_s']:.1f} s, {made['frames_per_s']:.1f} frames/s"
    )
    return 0


def _add_prompt_flags(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--prompt",
        help=f"text saying what {what} should show: the condition of a --text-cond model; other models keep "
        "their best-matching samples (image-text matcher) and pull them toward the text",
    )
    p.add_argument("--prompt-candidates", type=int, default=16, help="with --prompt: samples drawn per picture kept")
    p.add_argument("--prompt-steps", type=int, default=20, help="with --prompt: optimisation steps toward the text")
    p.add_argument("--matcher", help="with --prompt: an image-text matcher folder (default: the shipped one)")


def _prompt_search(args: argparse.Namespace):
    from artforge.crossmodal.prompt import PromptSearch

    return PromptSearch(candidates=args.prompt_candidates, steps=args.prompt_steps, matcher=args.matcher)


def _cmd_search(args: argparse.Namespace) -> int:
    from artforge.crossmodal.search import search_folder

    for score, path in search_folder(args.folder, args.text, args.n, args.matcher):
        print(f"{score:.3f}  {path}")
    return 0


def _cmd_matcher_train(args: argparse.Namespace) -> int:
    import json

    from artforge.crossmodal.matcher import MatcherConfig, train_matcher
    from artforge.data.sources import open_source

    data = open_source(args.source, args.size, fit="pad", n_builtin=args.n_builtin, progress=not args.no_progress)
    cfg = MatcherConfig(steps=args.steps, trained_on=[args.source])
    matcher = train_matcher(data.images, data.captions, cfg)
    matcher.save(args.out)
    print(f"{args.out}: {json.dumps(matcher.cfg.report)}")
    return 0


def _cmd_sonify(args: argparse.Namespace) -> int:
    from artforge.crossmodal import sonify as son

    if args.walk:
        from artforge import generate as gen

        model = gen.load_model(args.source)
        out = args.out or "out/sonified-walk.mp4"
        made = son.sonify_walk(
            model, out, args.midi, args.scale, args.tempo, args.keys, args.frames, args.fps, args.size, args.seed
        )
        print(f"{made['video']}: {made['frames']} frames, {made['notes']} notes over {made['seconds']:.1f} s")
        return 0
    made = son.sonify(args.source, args.out or "out/sonified.wav", args.midi, args.scale, args.tempo, args.seconds)
    also = f" and {made['midi']}" if made["midi"] else ""
    print(f"{made['wav']}{also}: {made['notes']} notes over {made['seconds']:.1f} s")
    return 0


def _cmd_studio(args: argparse.Namespace) -> int:
    from artforge.studio.app import check_host, launch, parse_auth
    from artforge.studio.store import DEFAULT_HOME

    check_host(args.host, parse_auth(args.auth))  # before anything is printed or loaded
    home = Path(args.home or DEFAULT_HOME)
    print(f"artforge studio: home {home}; models from {args.runs}/ and the shipped default")
    launch(home, args.model, args.host, args.port, args.auth, args.runs)
    return 0


# ----------------------------------------------------------------------------- critic


def _cmd_critic_train(args: argparse.Namespace) -> int:
    from artforge.evaluate.critic import CriticConfig, train_critic
    from artforge.evaluate.critic_data import load_rated

    images, scores, paths, groups = load_rated(args.source)
    print(f"{len(paths)} rated pictures from {args.source}")
    cfg = CriticConfig(backbone=args.backbone, trained_on=str(args.source))
    critic = train_critic(images, scores, cfg, folds=args.folds, groups=groups)
    cv = critic.cfg.cv
    print(
        f"{cv['folds']}-fold cross-validated: Spearman {cv['spearman']:.3f}, tier accuracy "
        f"{cv['tier_accuracy']:.3f} (ridge λ={cv['ridge']:g})"
    )
    print(f"saved {critic.save(args.out)}; score with: artforge critic score FOLDER --critic {args.out}")
    return 0


def _cmd_critic_score(args: argparse.Namespace) -> int:
    from artforge.evaluate.curate import critic_dir, load_critic, score_folder, write_csv, write_page

    critic = load_critic(args.critic)
    rows = score_folder(args.folder, critic)
    out = Path(args.out or Path("out") / f"critic-{Path(args.folder).resolve().name}")
    csv_path = write_csv(rows, args.csv or out / "scores.csv")
    page = write_page(rows, out, f"{args.folder}: {len(rows)} pictures by critic score", critic)
    for rank, row in enumerate(rows[: args.show], start=1):
        print(f"{rank:4d}  {row['score']:5.2f}  {row['tier']:4s}  {row['path']}")
    if len(rows) > args.show:
        print(f"  … {len(rows) - args.show} more")
    print(f"critic: {critic_dir(args.critic)}\ncsv: {csv_path}\nopen {page}")
    return 0


def stars_to_score(stars: float) -> float:
    """1–5 stars onto the critic's 0–10 (1 star = 0, 3 = 5, 5 = 10)."""
    return (float(stars) - 1) * 2.5


def _cmd_critic_card(args: argparse.Namespace) -> int:
    from artforge.evaluate.card import card_pictures, critic_card, format_card, write_card
    from artforge.evaluate.critic import LOAD_SIZE
    from artforge.evaluate.curate import critic_dir, load_critic

    critic = load_critic(args.critic)
    if args.pictures:
        from artforge.data.images import load_folder

        found = load_folder(args.pictures, LOAD_SIZE, progress=False)
        images, what = found.images, f"the pictures in {args.pictures}"
    else:
        if args.n < 8:
            raise ArtforgeError("-n must be at least 8 for a card")
        images, what = card_pictures(args.n)
    card = critic_card(critic, images, what)
    card["critic"] = str(critic_dir(args.critic))
    json_path, md_path = write_card(card, Path(args.out))
    print(format_card(card))
    print(f"written: {md_path}, {json_path}")
    return 0


def _cmd_critic_rate(args: argparse.Namespace) -> int:
    from artforge.evaluate.curate import rate

    pairs = args.ratings
    if len(pairs) % 2:
        raise ArtforgeError("give pairs: artforge critic rate PICTURE SCORE [PICTURE SCORE ...]")
    scale = "1 to 5 (--stars)" if args.stars else "0 to 10"
    try:
        scores = [float(s) for s in pairs[1::2]]
    except ValueError:
        raise ArtforgeError(f"scores are numbers from {scale}: artforge critic rate PICTURE SCORE ...") from None
    if args.stars:
        if not all(1 <= s <= 5 for s in scores):
            raise ArtforgeError(f"--stars: scores are 1 to 5 stars, got {pairs[1::2]}")
        scores = [stars_to_score(s) for s in scores]
    critic, where = rate(pairs[0::2], scores, args.critic)
    print(f"learned {len(scores)} rating(s); this critic has learned {critic.cfg.n_ratings} in all; saved in {where}")
    return 0


def _cmd_curate(args: argparse.Namespace) -> int:
    from artforge.evaluate.curate import curate, load_critic

    rows = curate(args.folder, args.top, args.out, load_critic(args.critic))
    print(
        f"copied the best {len(rows)} to {args.out} (scores {rows[0]['score']:.2f} … {rows[-1]['score']:.2f}; "
        f"list in {Path(args.out) / 'scores.csv'})"
    )
    return 0


# ----------------------------------------------------------------------------- style


def _csv(kind=str):
    """argparse type for comma-separated lists: "relu1_1,relu2_1" -> ("relu1_1", "relu2_1")."""

    def parse(text: str):
        try:
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}")

    return parse


_STYLE_OUT_DEFAULT = "out/style.png"
# Flags of `artforge style` that map one-to-one onto GatysConfig fields (None = the config's default).
_STYLE_FIELDS = (
    "content_weight",
    "style_weight",
    "tv_weight",
    "content_layers",
    "style_layers",
    "style_blend_weights",
    "init",
    "optimizer",
    "learning_rate",
    "iterations",
    "image_size",
    "style_scale",
    "original_colors",
    "alpha",
    "alpha_mode",
    "seed",
    "save_every",
    "backbone",
    "tile",
    "tile_size",
    "coarse_size",
    "fast_scale",
    "fast_passes",
    "fast_colour",
    "fast_clean",
)


def _cmd_style(args: argparse.Namespace) -> int:
    from artforge.style.gatys import GatysConfig
    from artforge.style.run import run_style
    from artforge.style.video import is_video
    from artforge.train.precision import resolve_device

    if is_video(args.content):
        return _style_video(args, str(resolve_device(args.device)))
    overrides = {k: getattr(args, k) for k in _STYLE_FIELDS if getattr(args, k) is not None}
    config = GatysConfig(**overrides, device=str(resolve_device(args.device)), progress=not args.no_progress)
    summary = run_style(
        args.content,
        args.styles,
        args.out,
        config,
        mask_path=args.mask,
        fast=args.fast,
        adain_path=args.adain,
        report=args.report,
    )
    if summary["stopped_early"]:
        print(f"artforge: warning: {summary['stopped_early']}", file=sys.stderr)
    print(f"{summary['out']} ({summary['size'][1]}x{summary['size'][0]}, {summary['seconds']:.1f} s)")
    if "scores" in summary:
        from artforge.style.quality import format_scores

        print(format_scores(summary["scores"]))
    return 0


def _fast_rendering(args: argparse.Namespace):
    """The --fast-* flags given, over GatysConfig's defaults, as an adain.Rendering."""
    from artforge.style.gatys import GatysConfig

    names = ("fast_scale", "fast_passes", "fast_colour", "fast_clean")
    return GatysConfig(**{k: getattr(args, k) for k in names if getattr(args, k) is not None}).rendering()


def _style_video(args: argparse.Namespace, device: str) -> int:
    from artforge.style.video import VideoSettings, stylize_video

    if not args.fast:
        raise ArtforgeError("a video is stylised with the fast path only: add --fast")
    if args.mask:
        raise ArtforgeError("--mask is for pictures; a video is stylised whole")
    out = args.out if args.out != _STYLE_OUT_DEFAULT else "out/style.mp4"
    settings = VideoSettings(
        size=args.image_size or VideoSettings.size,
        smooth=VideoSettings.smooth if args.smooth is None else args.smooth,
        alpha=1.0 if args.alpha is None else args.alpha,
        weights=args.style_blend_weights,
        preserve_color=args.original_colors is not None,
        max_frames=args.max_frames,
        device=device,
        rendering=_fast_rendering(args),
    )
    summary = stylize_video(args.content, args.styles, out, settings, args.adain, progress=not args.no_progress)
    sound = "with its sound" if summary["sound"] else "no sound in the source"
    print(
        f"{summary['out']} ({summary['frames']} frames, {summary['size'][1]}x{summary['size'][0]}, {sound}, "
        f"{summary['frames_per_s']:.1f} frames/s; flicker {summary['flicker']:.2f} of the source's frame changes)"
    )
    return 0


# `artforge style ACTION ...` for actions other than stylising a picture (e.g. train-adain): each
# action is its own hidden command "style-ACTION" (add it with _add_style_action); main() rewrites
# ["style", ACTION, ...] to ["style-ACTION", ...], so `style CONTENT STYLE...` keeps its positionals.
STYLE_ACTIONS: set[str] = set()


def _add_style_action(sub, action: str, **kwargs) -> argparse.ArgumentParser:
    STYLE_ACTIONS.add(action)
    return sub.add_parser(f"style-{action}", prog=f"artforge style {action}", **kwargs)


def route_style_action(argv: list[str]) -> list[str]:
    """``["style", ACTION, ...]`` -> ``["style-ACTION", ...]`` for a registered action; other argv unchanged."""
    if len(argv) >= 2 and argv[0] == "style" and argv[1] in STYLE_ACTIONS:
        return [f"style-{argv[1]}", *argv[2:]]
    return argv


def _cmd_style_train_adain(args: argparse.Namespace) -> int:
    from artforge.style.adain import train_adain

    out = train_adain(
        args.content,
        args.style,
        args.out,
        steps=args.steps,
        batch=args.batch,
        size=args.size,
        crop=args.crop,
        lr=args.lr,
        style_weight=args.style_weight,
        identity_weight=args.identity_weight,
        encoder=args.encoder,
        width=args.width,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        save_every=args.save_every,
        init_weights=args.init_weights,
        skips=args.skips,
    )
    print(f"decoder in {out}; use it with: artforge style PHOTO STYLE --fast --adain {out} -o out.png")
    return 0


def _cmd_style_sheet(args: argparse.Namespace) -> int:
    from artforge.style.sheet import style_sheet
    from artforge.train.precision import resolve_device

    summary = style_sheet(
        args.photo,
        args.styles,
        args.out,
        size=args.size,
        columns=args.columns,
        alpha=args.alpha,
        preserve_color=args.original_colors,
        adain_path=args.adain,
        device=str(resolve_device(args.device)),
    )
    for skipped in summary["skipped"]:
        print(f"artforge: skipped {skipped}", file=sys.stderr)
    print(f"{summary['out']} ({len(summary['styles'])} styles, {summary['seconds']:.1f} s)")
    for i, name in enumerate(summary["styles"], 1):
        print(f"  {i}. {name}")
    return 0


def _add_style_sheet_parser(sub) -> None:
    q = _add_style_action(
        sub,
        "sheet",
        description="One photo in many styles (the fast path), to pick a style by looking. Examples:\n"
        "  artforge style sheet photo.jpg -o sheet.png                (artforge's own paintings)\n"
        "  artforge style sheet photo.jpg styles/*.jpg builtin -o sheet.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("photo", help="the picture to repaint")
    q.add_argument("styles", nargs="*", metavar="style", help="style pictures, and/or 'builtin' (default: builtin)")
    q.add_argument("-o", "--out", default="out/style-sheet.png", help="the sheet PNG (default out/style-sheet.png)")
    q.add_argument("--size", type=int, default=320, help="long side of each cell in pixels (default 320)")
    q.add_argument("--columns", type=int, help="cells per row (default: as square as possible)")
    q.add_argument("--alpha", type=float, default=1.0, help="0 = content … 1 = full style (default 1)")
    q.add_argument("--original-colors", action="store_true", help="keep the photo's colours")
    q.add_argument("--adain", help="an AdaIN model folder (default: the shipped decoder)")
    q.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    q.set_defaults(func=_cmd_style_sheet)


def _add_train_adain_parser(sub) -> None:
    from artforge.models.adain import DEFAULT_ENCODER, ENCODERS

    q = _add_style_action(
        sub,
        "train-adain",
        description="Train a fast-style (AdaIN) decoder. Example:\n"
        "  artforge style train-adain --content my_photos/ --style my_paintings/ --out my-adain\n"
        "Run the same command again to continue an interrupted run (or train further with a "
        "larger --steps).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("--content", required=True, help="a folder (or builtin:NAME) of content pictures")
    q.add_argument("--style", required=True, help="a folder (or builtin:paintings) of style pictures")
    q.add_argument("--out", required=True, help="the run folder (an existing one is continued)")
    q.add_argument("--steps", type=int, default=5000, help="training steps (default 5000)")
    q.add_argument("--batch", type=int, default=8, help="content/style pairs per step (default 8, the paper's)")
    q.add_argument("--size", type=int, default=256, help="pictures are loaded at this size (default 256)")
    q.add_argument("--crop", type=int, default=None, help="random crop size (default size/2)")
    q.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    q.add_argument("--style-weight", type=float, default=10.0, help="λ of the style loss (default 10)")
    q.add_argument(
        "--identity-weight",
        type=float,
        default=5.0,
        help="pixel identity loss (Park & Lee 2019), 0 = the paper's objective (default 5)",
    )
    q.add_argument("--encoder", default=DEFAULT_ENCODER, choices=sorted(ENCODERS))
    q.add_argument("--width", type=float, default=0.5, help="decoder width; 1 = the paper's (default 0.5)")
    q.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, mps")
    q.add_argument("--precision", default="auto", help="auto (bf16 where the hardware has it), fp32, bf16, fp16")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--save-every", type=int, default=200, help="save the resumable state every N steps")
    q.add_argument(
        "--skips", action="store_true", help="feed the encoder's stride-4/2 stages to the decoder too (AdaIN'd)"
    )
    q.add_argument("--init-weights", help="start from this AdaIN decoder (a run or model folder): fine-tuning")
    q.set_defaults(func=_cmd_style_train_adain)


def _add_style_parser(sub) -> None:
    from artforge.style.gatys import STYLE_BACKBONES, GatysConfig

    d = GatysConfig()
    p = sub.add_parser(
        "style",
        help="neural style transfer: a photo painted in the style of one or more pictures",
        description="Gatys et al. style transfer (neural-style's controls), or --fast AdaIN. Examples:\n"
        "  artforge style photo.jpg starry.jpg -o out.png --image-size 384\n"
        "  artforge style photo.jpg a.jpg b.jpg --style-blend-weights 3,1 --original-colors -o out.png\n"
        "  artforge style photo.jpg a.jpg b.jpg --mask sky.png -o out.png   (white = a, rest = b)\n"
        "  artforge style big.jpg starry.jpg --image-size 2048 --tile-size 512 -o big.png\n"
        "  artforge style clip.mp4 starry.jpg --fast -o clip-styled.mp4   (a video: sound kept)\n"
        "  artforge style sheet photo.jpg -o sheet.png   (the photo in many styles, to pick one)\n"
        "Large pictures are done coarse-to-fine, in overlapping tiles above --tile-size.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("content", help="the picture (or, with --fast, the video) to repaint")
    p.add_argument("styles", nargs="+", metavar="style", help="one or more style pictures")
    p.add_argument("-o", "--out", default=_STYLE_OUT_DEFAULT, help="output PNG (default out/style.png; a video: .mp4)")
    g = p.add_argument_group("loss")
    g.add_argument("--content-weight", type=float, help="content loss weight (default: the backbone's)")
    g.add_argument("--style-weight", type=float, help="style loss weight (default: the backbone's)")
    g.add_argument("--tv-weight", type=float, help="total-variation weight (default: the backbone's)")
    g.add_argument("--content-layers", type=_csv(), help="comma-separated tap names (default: the backbone's)")
    g.add_argument("--style-layers", type=_csv(), help="comma-separated tap names (default: the backbone's)")
    g.add_argument("--style-blend-weights", type=_csv(float), help="one weight per style picture, e.g. 3,1")
    g.add_argument("--backbone", help=f"feature network: {', '.join(sorted(STYLE_BACKBONES))} (default {d.backbone})")
    g = p.add_argument_group("optimisation")
    g.add_argument("--init", help="fast (default: the --fast result), content, random, or a picture file to start from")
    g.add_argument("--optimizer", choices=["lbfgs", "adam"], help="default lbfgs")
    g.add_argument("--learning-rate", type=float, help="adam step size (default 0.02); lbfgs: 1")
    g.add_argument("--iterations", type=int, help=f"default {d.iterations}")
    g.add_argument("--image-size", type=int, help=f"long side of the output in pixels (default {d.image_size})")
    g.add_argument("--style-scale", type=float, help="style picture size relative to the output (default 1)")
    g.add_argument("--seed", type=int, help="for --init random (default 0)")
    g.add_argument("--save-every", type=int, help="write OUT-NNNNN.png every N iterations (default: never)")
    g.add_argument(
        "--tile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="tiles for large pictures (default: above --tile-size); --no-tile optimises in one piece",
    )
    g.add_argument("--tile-size", type=int, help=f"tile side in pixels (default {d.tile_size})")
    g.add_argument(
        "--coarse-size",
        type=int,
        help="start coarse-to-fine at this long side, at any size; 0 = only above --tile-size "
        f"(default {d.coarse_size})",
    )
    g.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("look")
    g.add_argument(
        "--original-colors",
        nargs="?",
        const="luminance",
        choices=["luminance", "histogram"],
        help="keep the content's colours: luminance (style only the luminance; the default when "
        "given alone) or histogram (recolour the style pictures first)",
    )
    g.add_argument("--alpha", type=float, help="0 = content … 1 = full style (default 1)")
    g.add_argument(
        "--alpha-mode",
        choices=["feature", "pixel"],
        help="feature: interpolate the style targets (default); pixel: blend the pictures, "
        "x = (1-alpha)·content + alpha·stylised (the seed article's formula)",
    )
    g.add_argument("--mask", help="PNG: white gets style 1, the rest style 2 (or stays content with one style)")
    g = p.add_argument_group("fast and report")
    g.add_argument("--fast", action="store_true", help="AdaIN: one forward pass instead of an optimisation")
    g.add_argument("--adain", help="with --fast: an AdaIN model folder (default: the shipped decoder)")
    g.add_argument(
        "--fast-scale", type=float, help="the decoder paints at this fraction of the size, 0.25..1 (default 0.75)"
    )
    g.add_argument("--fast-passes", type=int, help="AdaIN passes, 1..4 (default 2: more of the style's texture)")
    g.add_argument(
        "--fast-clean", type=float, help="edge-preserving clean-up of the decoder's mesh, 0 (off)..1 (default 0.015)"
    )
    g.add_argument(
        "--no-fast-colour",
        dest="fast_colour",
        action="store_const",
        const=False,
        help="keep the decoder's colours instead of giving the result the style's colour mean and covariance",
    )
    g.add_argument(
        "--smooth",
        type=float,
        help="a video: temporal smoothing against flicker, 0 (off) .. 0.95 (default 0.6)",
    )
    g.add_argument("--max-frames", type=int, help="a video: stop after this many frames (a preview)")
    g.add_argument(
        "--report",
        action="store_true",
        help="print content and style distances (on another network) next to the trivial outputs",
    )
    p.set_defaults(func=_cmd_style)


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artforge",
        description="A local studio for AI art: train generative models on your pictures, sample, interpolate.",
    )
    parser.add_argument("--version", action="version", version=f"artforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="train a model on a folder of pictures or a built-in set",
        description="Train a generative model. Examples:\n"
        "  artforge train my_pictures/ --model dcgan --size 64 --steps 5000\n"
        "  artforge train builtin:shapes --model vae --size 32\n"
        "  artforge train --model cyclegan --domain-a horses/ --domain-b zebras/ --size 128\n"
        "  artforge train --resume latest\n"
        "  torchrun --nproc-per-node 4 -m artforge train my_pictures/ --batch 256",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", nargs="?", help="a folder of pictures, or builtin:shapes / builtin:glyphs")
    p.add_argument("--resume", metavar="RUN_DIR|latest", help="continue a run from its newest training state")
    _add_train_flags(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "generate",
        help="sample pictures or a latent walk from a trained model",
        description="Examples:\n  artforge generate runs/my-run -n 64 --seed 0 -o out/\n"
        "  artforge generate default --interpolate -o out/walk",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a run folder, its model/ export, or 'default' (the shipped model)")
    p.add_argument("-n", type=int, help="how many pictures (default 64)")
    p.add_argument("--seed", type=int, help="the same seed gives the same pictures (default 0)")
    p.add_argument(
        "--truncation",
        type=float,
        default=None,
        help="GANs: resample latent entries above this magnitude (BigGAN trick, e.g. 0.7); stylegan: ψ, pull w "
        "towards the mean w (1 = off); VAE: prior temperature",
    )
    p.add_argument("--latent", metavar="FILE", help="draw from a latent file (artforge project) instead of seeds")
    p.add_argument(
        "--edit",
        metavar="K:AMOUNT,…",
        help="move along directions (artforge directions first), e.g. 0:+3,2:-1.5 (standard deviations)",
    )
    p.add_argument("--edit-layers", metavar="LAYERS", help="stylegan: apply --edit / --edit-strip only to these layers")
    p.add_argument("--edit-strip", type=int, metavar="K", help="each picture moved along direction K, −3σ … +3σ")
    p.add_argument("--mix", metavar="A,B", help="stylegan: style mixing of two seeds or latent files")
    p.add_argument(
        "--mix-layers",
        default="0-3",
        help="with --mix: the layers taken from A, coarsest first (default 0-3: pose and layout); the rest from B",
    )
    _add_prompt_flags(p, "the pictures")
    p.add_argument(
        "--taste",
        nargs="?",
        const="",
        metavar="CRITIC_DIR",
        help="pictures your critic ranks high (default: your critic, from your ratings): many drawn, the best kept "
        "apart from each other, then refined",
    )
    p.add_argument("--taste-rounds", type=int, default=3, help="with --taste: refinement rounds (0: choose only)")
    p.add_argument("--sample-steps", type=int, help="ddpm: denoising steps per picture (default: the run's, 50)")
    p.add_argument(
        "--sampler",
        help="ddpm: ddim (deterministic), ddpm (ancestral, fresh noise at every step) or eta=X, 0 < X < 1, in "
        "between; default: ddpm for pictures from seeds (at 50 steps as good as 250, measured), ddim for "
        "walks, edits, latent files and --prompt (they need it)",
    )
    p.add_argument("-o", "--out", default="out/generated", help="output folder (default out/generated)")
    p.add_argument("--grid-only", action="store_true", help="write only the grid, not each picture")
    p.add_argument("--interpolate", action="store_true", help="write a looping latent walk (GIF, and MP4)")
    p.add_argument(
        "--keys", default="4", help="key latents in the walk: a number (default 4), or latent files / seeds a,b,…"
    )
    p.add_argument("--frames", type=int, default=24, help="frames between two keys (default 24)")
    p.add_argument("--fps", type=int, default=24, help="frames per second (default 24)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser(
        "translate",
        help="translate pictures between the two domains of a trained cyclegan",
        description="Examples:\n"
        "  artforge translate runs/cyclegan-X --direction a2b photos/ -o out/paintings\n"
        "  artforge translate runs/cyclegan-X --direction b2a a.png b.jpg -o out/ --size 512",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a cyclegan run folder or its model/ export")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="picture files and/or folders (read recursively)")
    p.add_argument(
        "--direction",
        default="a2b",
        choices=["a2b", "b2a"],
        help="a2b: domain A pictures in B's style; b2a: the reverse (default a2b)",
    )
    p.add_argument("-o", "--out", default="out/translated", help="output folder (default out/translated)")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="square size to translate at, rounded to a multiple of 4 (default: the training size)",
    )
    p.add_argument("--fit", default="crop", choices=["crop", "pad", "stretch"], help="non-square pictures")
    p.add_argument("--background", default="white", help="colour under transparency and padding")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.set_defaults(func=_cmd_translate)

    p = sub.add_parser(
        "project",
        help="find the latent of real pictures (then edit, mix or walk from them like seeds)",
        description="Examples:\n  artforge project runs/my-run photo.jpg -o out/projected\n"
        "  artforge generate runs/my-run --latent out/projected/photo-latent.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a run folder, its model/ export, or 'default'")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="picture files and/or folders (read recursively)")
    p.add_argument("-o", "--out", default="out/projected", help="output folder (default out/projected)")
    p.add_argument("--steps", type=int, default=300, help="optimisation steps per picture (default 300)")
    p.add_argument(
        "--space",
        default="auto",
        choices=["auto", "z", "w", "w+", "noise"],
        help="auto: w+ for stylegan (w: one style, easier to edit), DDIM noise for ddpm, else z",
    )
    p.add_argument("--pixel-weight", type=float, default=1.0, help="weight of the pixel term (default 1)")
    p.add_argument("--seed", type=int, default=0, help="for the starting candidates and exploration noise")
    p.add_argument("--fit", default="crop", choices=["crop", "pad", "stretch"], help="non-square pictures")
    p.add_argument("--background", default="white", help="colour under transparency and padding")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.set_defaults(func=_cmd_project)

    p = sub.add_parser(
        "directions",
        help="find a model's main latent directions (GANSpace) and draw a strip for each",
        description="Example:\n  artforge directions runs/my-run -n 10\n  artforge generate runs/my-run --edit-strip 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a run folder or its model/ export")
    p.add_argument("-n", type=int, default=20, help="how many directions (default 20)")
    p.add_argument(
        "--method",
        default="auto",
        choices=["auto", "regression", "pca"],
        help="regression (auto): PCA of the pictures carried into the latent; pca: PCA of StyleGAN's w",
    )
    p.add_argument("--samples", type=int, help="latents analysed (default 2,000; 10,000 w for --method pca)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.set_defaults(func=_cmd_directions)

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

    p = sub.add_parser(
        "evaluate",
        help="FID, KID, precision/recall and a memorisation check against real pictures",
        description="Examples:\n  artforge evaluate runs/my-run --real my_pictures/ --json out/eval.json\n"
        "  artforge evaluate generated_folder/ --real my_pictures/ --metrics fid,kid",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    p.add_argument(
        "--samples",
        type=int,
        default=64,
        help="pictures drawn from the model for the memorisation check and critic scores (default 64)",
    )
    p.add_argument("--no-critic", action="store_true", help="skip the critic's score distribution")
    p.add_argument("--no-memorization", action="store_true", help="skip the memorisation check")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("critic", help="score pictures 0–10 (high / mid / low), train a critic, teach it ratings")
    critic_sub = p.add_subparsers(dest="critic_command", required=True, metavar="ACTION")
    q = critic_sub.add_parser(
        "train",
        help="train a critic from high/ mid/ low/ subfolders or a CSV of image,score",
        description="Example: artforge critic train my_ratings/ --out my-critic",
    )
    q.add_argument("source", help="a folder with high/ mid/ low/ subfolders, or a CSV with columns image,score[,group]")
    q.add_argument("--out", required=True, help="folder for the trained critic")
    q.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    q.add_argument("--backbone", default="effnet-lite0", help="feature network (default effnet-lite0)")
    q.set_defaults(func=_cmd_critic_train)
    q = critic_sub.add_parser("score", help="score every picture in a folder: CSV + HTML page sorted by score")
    q.add_argument("folder")
    q.add_argument("--critic", help="a critic folder (default: yours if you have rated pictures, else the shipped one)")
    q.add_argument("--csv", help="where to write the CSV (default OUT/scores.csv)")
    q.add_argument("-o", "--out", help="folder for the HTML page and thumbnails (default out/critic-FOLDERNAME)")
    q.add_argument("--show", type=int, default=10, help="how many of the best to print (default 10)")
    q.set_defaults(func=_cmd_critic_score)
    q = critic_sub.add_parser(
        "rate",
        help="teach the critic your ratings (0–10); it learns at once, no retraining",
        description="Example: artforge critic rate a.png 9 b.png 2",
    )
    q.add_argument("ratings", nargs="+", metavar="PICTURE SCORE")
    q.add_argument("--critic", help="the critic folder to update (default: your own critic)")
    q.add_argument("--stars", action="store_true", help="the scores are 1–5 stars (mapped onto 0–10)")
    q.set_defaults(func=_cmd_critic_rate)
    q = critic_sub.add_parser(
        "card",
        help="what a critic favours: its score's correlation with colourfulness, contrast, sharpness, symmetry, hue…",
        description="Example: artforge critic card   (your critic, on samples of the shipped model and built-in "
        "paintings and shapes)",
    )
    q.add_argument("--critic", help="a critic folder (default: yours if you have rated pictures, else the shipped one)")
    q.add_argument("--pictures", help="measure on this folder's pictures instead of the built-in set")
    q.add_argument("-n", type=int, default=192, help="pictures in the built-in set (default 192)")
    q.add_argument("-o", "--out", default="out/critic-card", help="folder for card.json and card.md")
    q.set_defaults(func=_cmd_critic_card)

    p = sub.add_parser(
        "curate",
        help="copy the critic's best pictures of a folder",
        description="Example: artforge curate generated/ --top 20 -o picks/",
    )
    p.add_argument("folder")
    p.add_argument("--top", type=int, default=20, help="how many to copy (default 20)")
    p.add_argument("-o", "--out", required=True, help="folder to copy them into (as RANK-NAME)")
    p.add_argument("--critic", help="a critic folder (default: yours if you have rated pictures, else the shipped one)")
    p.set_defaults(func=_cmd_curate)

    _add_style_parser(sub)
    _add_train_adain_parser(sub)
    _add_style_sheet_parser(sub)

    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("music-video", help="music drives MODEL's pictures: an MP4 that moves with AUDIO, sound in")
    p.add_argument("model", help="a run folder or export (every generator family; default: the shipped model)")
    p.add_argument("audio", help="WAV, FLAC, OGG or MP3")
    p.add_argument("-o", "--out", default="out/music-video.mp4", help="the MP4 to write (default out/music-video.mp4)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    p.add_argument("--start", type=float, default=0.0, help="seconds into the audio to start (default 0)")
    p.add_argument("--duration", type=float, help="seconds of audio to use (default: to the end)")
    p.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    p.add_argument("--pulse", type=float, default=0.5, help="0-1: how far drum hits and onsets jolt the picture")
    p.add_argument("--motion", type=float, default=0.3, help="0-1: how far harmonic loudness moves the picture")
    p.add_argument("--speed", type=float, default=0.25, help="orbit stops per second at full loudness (0.25)")
    p.add_argument("--smooth", type=float, default=0.5, help="seconds over which harmony and loudness are smoothed")
    p.add_argument("--keys", default="12", help="key pictures for the 12 pitch classes: a number, or seeds/files a,b,…")
    p.add_argument("--beat-jump", action="store_true", help="each beat hands the pitch classes to the next key")
    _add_prompt_flags(p, "the key pictures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--truncation", type=float, help="truncation psi for the key pictures (GANs)")
    p.add_argument("--sample-steps", type=int, help="ddpm: denoising steps per frame (fewer is faster)")
    p.add_argument("--batch", type=int, default=16, help="frames decoded at once (memory is about this many)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_music_video)

    p = sub.add_parser("sonify", help="a picture becomes music, read left to right as a score (WAV, and MIDI)")
    p.add_argument("source", help="the picture (any format artforge reads); with --walk, a model")
    p.add_argument("-o", "--out", help="WAV to write (default out/sonified.wav; with --walk an MP4)")
    p.add_argument("--midi", help="also write the same notes as a MIDI file here")
    p.add_argument("--scale", default="minor-pentatonic", help="major, minor, major-pentatonic, minor-pentatonic "
                   "(default), blues, dorian or chromatic")  # fmt: skip
    p.add_argument("--tempo", type=float, default=96.0, help="beats per minute (default 96); a column is a 16th note")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the piece (default 20)")
    p.add_argument("--walk", action="store_true", help="SOURCE is a model: a latent-walk video with its own music")
    p.add_argument("--keys", type=int, default=4, help="with --walk: key pictures in the loop (default 4)")
    p.add_argument("--frames", type=int, default=48, help="with --walk: frames from one key to the next (48)")
    p.add_argument("--fps", type=float, default=24.0, help="with --walk: frames per second (default 24)")
    p.add_argument("--size", type=int, default=256, help="with --walk: frame side in pixels (default 256)")
    p.add_argument("--seed", type=int, default=0, help="with --walk: which key pictures")
    p.set_defaults(func=_cmd_sonify)

    p = sub.add_parser(
        "search",
        help="find the pictures of a folder that fit a text (image-text matcher)",
        description='Example:\n  artforge search my_pictures/ "a red sun over hills" -n 8',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", help="a folder of pictures (searched recursively)")
    p.add_argument("text", help="what to look for")
    p.add_argument("-n", type=int, default=10, help="how many to list, best first (default 10)")
    p.add_argument("--matcher", help="an image-text matcher folder (default: the shipped one)")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("matcher", help="train an image-text matcher on captioned pictures (NAME.txt beside NAME.png)")
    matcher_sub = p.add_subparsers(dest="matcher_command", required=True, metavar="{train}")
    q = matcher_sub.add_parser("train", help="learn to match pictures and captions (frozen encoders, 2 projections)")
    q.add_argument("source", help="a captioned folder (NAME.txt beside NAME.png) or builtin:shapes/paintings/glyphs")
    q.add_argument("--out", required=True, help="the matcher folder to write")
    q.add_argument("--size", type=int, default=64, help="pictures are read at this size (default 64)")
    q.add_argument("--steps", type=int, default=1500, help="training steps (default 1500; seconds after features)")
    q.add_argument("--n-builtin", type=int, default=2000, help="pictures drawn for a builtin: source")
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=_cmd_matcher_train)

    p = sub.add_parser("studio", help="the browser studio: create, breed, restyle, rate; a gallery that keeps all")
    p.add_argument("model", nargs="?", default="default", help="model to open on (a run folder; default: shipped)")
    p.add_argument("--home", help="the studio's folder: gallery, ratings, exports (~/.local/share/artforge/studio)")
    p.add_argument("--runs", default="runs", help="where to look for trained models (default runs/)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on; another than this machine needs --auth")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="USER:PASS asked by the page (required with a --host other than 127.0.0.1)")
    p.set_defaults(func=_cmd_studio)

    p = sub.add_parser("demo", help="sample the shipped model and write an HTML page (what make demo runs)")
    p.add_argument("-o", "--out", default="out/demo")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(route_style_action(sys.argv[1:] if argv is None else list(argv)))
    try:
        return args.func(args)
    except ArtforgeError as exc:
        # One write, newline included: under torchrun every rank reports, and print()'s two writes
        # to the unbuffered stderr would interleave the ranks' lines.
        sys.stderr.write(f"artforge: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        print("artforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
