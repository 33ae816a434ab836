"""``simlib engine ...``: train for real on JAX devices and report what happened."""

from __future__ import annotations

import importlib
import os
import sys

from simlib.cli.arguments import check_engine_run, seed
from simlib.cli.output import add_json_flag, emit, positive_float, positive_int
from simlib.cli.progress import on_terminal
from simlib.yaml_files import quote

# Modules that add more strategies under `simlib engine`; each defines ``register(groups)``.
STRATEGY_MODULES: tuple[str, ...] = ("simlib.cli.engine_parallel",)


def register(sub) -> None:
    engine = sub.add_parser("engine", help="train for real on JAX devices")
    groups = engine.add_subparsers(dest="engine_command", metavar="STRATEGY")
    groups.required = True
    dp = groups.add_parser("dp", help="synchronous data parallelism (pmap, jit or shard_map)")
    dp.add_argument("--devices", type=int, default=8, help="number of devices (default 8)")
    dp.add_argument(
        "--style", choices=("single", "pmap", "jit", "shard_map"), default="jit",
        help="how the parallel step is written (default jit)",
    )  # fmt: skip
    dp.add_argument("--steps", type=positive_int, default=20, help="training steps (default 20)")
    dp.add_argument("--batch", type=int, default=128, help="global batch size (default 128)")
    dp.add_argument("--lr", type=positive_float, default=0.1, help="learning rate (default 0.1)")
    dp.add_argument(
        "--microbatches", type=positive_int, default=1,
        help="gradient accumulation: microbatches per device per step (default 1)",
    )  # fmt: skip
    dp.add_argument(
        "--dataset", choices=("digits", "synthetic"), default="digits",
        help="digits (8x8, shipped) or synthetic (784 features); default digits",
    )  # fmt: skip
    dp.add_argument(
        "--hidden", default="128", help="hidden layer widths, comma-separated (default 128)"
    )
    dp.add_argument("--seed", type=seed, default=0, help="seed for data and weights (default 0)")
    ck = dp.add_argument_group("checkpoints (orbax)")
    ck.add_argument("--checkpoint-dir", help="save checkpoints in this folder")
    ck.add_argument(
        "--checkpoint-every", type=positive_int, default=None, metavar="K",
        help="save after every K-th step (default 5 when --checkpoint-dir is given)",
    )  # fmt: skip
    ck.add_argument(
        "--fail-at-step", type=positive_int, default=None, metavar="F",
        help="stop right after step F as a crash would (exit status 3)",
    )  # fmt: skip
    ck.add_argument(
        "--resume", action="store_true",
        help="continue from the newest finished checkpoint in --checkpoint-dir",
    )  # fmt: skip
    add_json_flag(dp)
    dp.set_defaults(handler=run_dp)
    for name in STRATEGY_MODULES:
        importlib.import_module(name).register(groups)


def _hidden(raw: str) -> tuple[int, ...]:
    from simlib.errors import ConfigError

    try:
        widths = tuple(int(w) for w in raw.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or any(w <= 0 for w in widths):
        raise ConfigError(
            f"--hidden {quote(raw)} must be widths > 0 separated by commas, e.g. 128,64"
        )
    return widths


def _check_devices(devices: int, batch: int) -> None:
    """Reject bad counts before JAX is imported, naming the value and the fix."""
    from simlib.errors import ConfigError, check_divisible

    if devices <= 0:
        raise ConfigError(f"--devices {devices} must be a whole number > 0, e.g. --devices 8")
    if batch <= 0:
        raise ConfigError(f"--batch {batch} must be a whole number > 0, e.g. --batch 128")
    check_divisible("--batch", batch, devices, "--devices")


def _checkpoint(args):
    """The CheckpointConfig the flags ask for, or None; flags that need a folder say so."""
    from simlib.errors import ConfigError

    if not args.checkpoint_dir:
        for flag, value in (("--checkpoint-every", args.checkpoint_every),
                            ("--fail-at-step", args.fail_at_step), ("--resume", args.resume)):
            if value:
                raise ConfigError(f"{flag} needs --checkpoint-dir DIR to say where checkpoints go")
        return None  # fmt: skip
    if args.fail_at_step is not None and args.fail_at_step > args.steps:
        raise ConfigError(
            f"--fail-at-step {args.fail_at_step} is after the last step ({args.steps}); "
            f"use a step from 1 to {args.steps}"
        )
    from simlib.engine.checkpoint import CheckpointConfig, finished_steps

    if args.resume:
        finished_steps(args.checkpoint_dir, resume=True)  # nothing to resume: say so at once
    return CheckpointConfig(args.checkpoint_dir, args.checkpoint_every or 5, resume=args.resume,
                            fail_at_step=args.fail_at_step)  # fmt: skip


def run_dp(args) -> int:
    devices = 1 if args.style == "single" else args.devices
    _check_devices(devices, args.batch)
    hidden = _hidden(args.hidden)
    check_engine_run(devices=devices, steps=args.steps, batch=args.batch, hidden=hidden,
                     dataset=args.dataset)  # fmt: skip
    checkpoint = _checkpoint(args)
    from simlib.engine.devices import request_devices

    request_devices(devices)  # before anything else starts JAX's backend
    from simlib.engine.checkpoint import SimulatedCrash
    from simlib.engine.report import dp_summary, dp_text

    try:
        result = dp_summary(
            style=args.style, devices=devices, steps=args.steps, batch_size=args.batch,
            learning_rate=args.lr, microbatches=args.microbatches, dataset=args.dataset,
            hidden=hidden, seed=args.seed, checkpoint=checkpoint, progress=on_terminal(),
        )  # fmt: skip
    except SimulatedCrash as crash:  # die now, like a crashed machine: no clean-up, no waiting
        print(f"simlib: {crash}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(3)
    emit(result, args.json, dp_text)
    return 0
