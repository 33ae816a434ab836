"""``simlib engine tp|pp|zero|launch``: model parallelism for real, in one process or several.

``tp``, ``pp`` and ``zero`` train the same MLP with tensor, pipeline or ZeRO parallelism and
print what ``simlib engine dp`` prints plus memory per device, the analytic collectives next to
the compiled ones, and (pp) the bubble. ``launch`` runs any engine command as several processes
joined by ``jax.distributed``::

    simlib engine launch --processes 2 --devices-per-process 4 -- tp --data 2 --model 4 --json

Each launched process runs ``python -m simlib.cli.engine_parallel <engine args>`` (``worker_main``).
"""

from __future__ import annotations

import sys

from simlib.cli.arguments import bounded_int, check_engine_run, port, seed
from simlib.cli.output import add_json_flag, emit, positive_float, positive_int
from simlib.cli.progress import on_terminal
from simlib.errors import ConfigError, SimlibError, check_divisible
from simlib.limits import DEVICES, LAUNCH_PROCESSES
from simlib.yaml_files import quote

__all__ = ["register", "worker_main"]


def _common(p, *, lr: float, optimizer: str) -> None:
    p.add_argument("--devices", type=bounded_int(DEVICES), default=8,
                   help="number of devices (default 8)")  # fmt: skip
    p.add_argument("--steps", type=positive_int, default=20, help="training steps (default 20)")
    p.add_argument("--batch", type=positive_int, default=128, help="global batch (default 128)")
    p.add_argument("--lr", type=positive_float, default=lr, help=f"learning rate (default {lr})")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default=optimizer,
                   help=f"optimizer (default {optimizer})")  # fmt: skip
    p.add_argument("--dataset", choices=("digits", "synthetic"), default="digits",
                   help="digits (8x8, shipped) or synthetic (784 features)")  # fmt: skip
    p.add_argument("--hidden", default="128,128,128",
                   help="hidden layer widths, comma-separated (default 128,128,128)")  # fmt: skip
    p.add_argument("--seed", type=seed, default=0, help="seed for data and weights (default 0)")
    add_json_flag(p)


def register(groups) -> None:
    tp = groups.add_parser("tp", help="tensor parallelism (Megatron MLP) x data parallelism")
    tp.add_argument("--model", type=positive_int, default=4,
                    help="tensor-parallel size (default 4)")  # fmt: skip
    tp.add_argument("--data", type=positive_int, default=None,
                    help="data-parallel size (default devices / model)")  # fmt: skip
    _common(tp, lr=0.1, optimizer="sgd")
    tp.set_defaults(handler=run_tp)
    pp = groups.add_parser("pp", help="pipeline parallelism (GPipe with ppermute) x data")
    pp.add_argument("--stages", type=positive_int, default=4, help="pipeline stages (default 4)")
    pp.add_argument("--data", type=positive_int, default=None,
                    help="data-parallel size (default devices / stages)")  # fmt: skip
    pp.add_argument("--microbatches", type=positive_int, default=4,
                    help="microbatches per data rank's batch (default 4)")  # fmt: skip
    pp.add_argument("--no-bubble-timing", action="store_true",
                    help="skip timing the bubble (saves two compilations)")  # fmt: skip
    _common(pp, lr=0.1, optimizer="sgd")
    pp.set_defaults(handler=run_pp)
    zero = groups.add_parser("zero", help="ZeRO / FSDP: sharded parameters and optimizer state")
    zero.add_argument("--stage", type=int, choices=(0, 1, 2, 3), default=3,
                      help="0 = plain data parallelism, 1-3 = ZeRO stage (default 3)")  # fmt: skip
    zero.add_argument("--style", choices=("jit", "shard_map"), default="jit",
                      help="jit: the compiler inserts the collectives; shard_map: written out "
                      "(reduce-scatter, all-gather) (default jit)")  # fmt: skip
    _common(zero, lr=0.01, optimizer="adam")
    zero.set_defaults(handler=run_zero)
    _register_launch(groups)


def _register_launch(groups) -> None:
    p = groups.add_parser(
        "launch", help="run an engine command as several processes (jax.distributed)",
        description="Run `simlib engine <command> ...` as several OS processes on this machine "
        "that form one JAX job. Example: simlib engine launch --processes 2 "
        "--devices-per-process 4 -- tp --data 2 --model 4",
    )  # fmt: skip
    p.add_argument("--processes", type=bounded_int(LAUNCH_PROCESSES), default=2,
                   help="processes (default 2)")  # fmt: skip
    p.add_argument("--devices-per-process", type=bounded_int(DEVICES), default=4,
                   help="virtual CPU devices in each process (default 4)")  # fmt: skip
    p.add_argument("--port", type=port, default=0,
                   help="coordinator port on localhost (default: a free one)")  # fmt: skip
    p.add_argument("--timeout", type=positive_float, default=600.0,
                   help="stop every process after this many seconds (default 600)")  # fmt: skip
    p.add_argument("engine_args", nargs="*", metavar="-- COMMAND ARGS",
                   help="the engine command: dp, tp, pp or zero, and its options")  # fmt: skip
    p.add_argument(
        "--json", action="store_true",
        help="print one JSON object: the launch (processes, port, seconds) and process 0's "
        "result (the engine command runs with --json)",
    )  # fmt: skip
    p.set_defaults(handler=run_launch)


def _hidden(raw: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in raw.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or any(w <= 0 for w in widths):
        raise ConfigError(
            f"--hidden {quote(raw)} must be widths > 0 separated by commas, e.g. 128,128,128"
        )
    return widths


def _mesh(devices: int, inner: int, inner_flag: str, data: int | None) -> int:
    """The data size of a ``data x inner`` mesh over ``devices``, checked before JAX starts."""
    if data is None:
        check_divisible("--devices", devices, inner, inner_flag)
        return devices // inner
    if data * inner != devices:
        raise ConfigError(
            f"--data {data} x {inner_flag} {inner} = {data * inner} devices but --devices is "
            f"{devices}; make the product {devices}, e.g. --data {max(devices // inner, 1)} "
            f"{inner_flag} {inner}" if devices % inner == 0 else
            f"--data {data} x {inner_flag} {inner} = {data * inner} devices but --devices is "
            f"{devices}; choose {inner_flag} that divides {devices}"
        )  # fmt: skip
    return data


def _settings(args) -> dict:
    check_engine_run(devices=args.devices, steps=args.steps, batch=args.batch,
                     hidden=_hidden(args.hidden), dataset=args.dataset)  # fmt: skip
    return {"steps": args.steps, "batch_size": args.batch, "learning_rate": args.lr,
            "optimizer": args.optimizer, "dataset": args.dataset,
            "hidden": _hidden(args.hidden), "seed": args.seed}  # fmt: skip


def tp_config(args):
    from simlib.engine.tensor_parallel import TPConfig

    data = _mesh(args.devices, args.model, "--model", args.data)
    return TPConfig(data=data, model=args.model, **_settings(args))


def pp_config(args):
    from simlib.engine.pipeline import PPConfig

    data = _mesh(args.devices, args.stages, "--stages", args.data)
    micro = args.microbatches
    return PPConfig(stages=args.stages, data=data, microbatches=micro, **_settings(args))


def zero_config(args):
    from simlib.engine.zero import ZeROConfig

    return ZeROConfig(stage=args.stage, devices=args.devices, step_style=args.style,
                      **_settings(args))  # fmt: skip


def _run(args, config, summary, **extra) -> int:
    import dataclasses

    from simlib.engine.devices import request_devices

    request_devices(config.devices)  # before anything else starts JAX's backend
    from simlib.engine.parallel_report import strategy_text

    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    emit(summary(**fields, **extra, progress=on_terminal()), args.json, strategy_text)
    return 0


def run_tp(args) -> int:
    config = tp_config(args)
    from simlib.engine.parallel_report import tp_summary

    return _run(args, config, tp_summary)


def run_pp(args) -> int:
    config = pp_config(args)
    from simlib.engine.parallel_report import pp_summary

    return _run(args, config, pp_summary, measure=not args.no_bubble_timing)


def run_zero(args) -> int:
    config = zero_config(args)
    from simlib.engine.parallel_report import zero_summary

    return _run(args, config, zero_summary)


LAUNCHABLE = ("dp", "tp", "pp", "zero")


def _engine_args(args) -> list[str]:
    """The engine command after ``--``, checked (parsed, and its devices counted) before launch."""
    engine_args = list(args.engine_args)
    if engine_args and engine_args[0] == "--":
        engine_args = engine_args[1:]
    if not engine_args or engine_args[0] not in LAUNCHABLE:
        got = quote(engine_args[0]) if engine_args else "nothing"
        raise ConfigError(
            f"launch needs an engine command after --, one of {', '.join(LAUNCHABLE)}; got "
            f"{got}; e.g. simlib engine launch --processes 2 -- tp --data 2 --model 4"
        )
    from simlib.cli import build_parser

    inner = build_parser().parse_args(["engine", *engine_args])  # exits 2 on a bad option
    total = args.processes * args.devices_per_process
    DEVICES.check(total, f"--processes {args.processes} x --devices-per-process "
                  f"{args.devices_per_process} =")  # fmt: skip
    if inner.devices != total:
        raise ConfigError(
            f"the {engine_args[0]} run uses --devices {inner.devices} but --processes "
            f"{args.processes} x --devices-per-process {args.devices_per_process} = {total}; "
            f"pass --devices {total} after {engine_args[0]}, or change the process counts"
        )
    if engine_args[0] == "dp":
        _check_dp(inner)
    else:
        {"tp": tp_config, "pp": pp_config, "zero": zero_config}[engine_args[0]](inner)
    return engine_args


def run_launch(args) -> int:
    from simlib.engine.launch import LaunchConfig, LaunchError, launch

    config = LaunchConfig(
        processes=args.processes, devices_per_process=args.devices_per_process,
        port=args.port, timeout_s=args.timeout,
    )  # fmt: skip
    engine_args = _engine_args(args)
    if args.json and "--json" not in engine_args:
        engine_args.append("--json")
    command = [sys.executable, "-m", "simlib.cli.engine_parallel", *engine_args]

    def started(rank: int, pid: int) -> None:
        print(f"simlib: launch: process {rank} started (pid {pid})", file=sys.stderr, flush=True)

    try:
        result = launch(config, command, on_start=started)
    except LaunchError as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not args.json:
        sys.stdout.write(result.stdout)
        return 0
    import json

    lines = result.stdout.strip().splitlines()
    try:
        inner = json.loads(lines[-1]) if lines else None
    except ValueError:
        inner = None
    if not isinstance(inner, dict):
        raise ConfigError(
            f"launch --json: process 0 printed no JSON object ({len(lines)} line(s) of output); "
            "run without --json to see it"
        )
    launched = {
        "processes": config.processes,
        "devices_per_process": config.devices_per_process,
        "port": result.port,
        "seconds": round(result.seconds, 3),
        "returncodes": list(result.returncodes),
    }
    emit({"launch": launched, "result": inner}, True, lambda r: "")
    return 0


def _check_dp(args) -> None:
    if args.style not in ("jit", "shard_map"):
        raise ConfigError(
            f"launch runs dp with --style jit or shard_map (the styles written for a global "
            f"mesh), got --style {args.style}; pass --style jit"
        )
    check_divisible("--batch", args.batch, args.devices, "--devices")
    check_engine_run(devices=args.devices, steps=args.steps, batch=args.batch,
                     hidden=_hidden(args.hidden), dataset=args.dataset)  # fmt: skip


def _run_dp_distributed(args) -> int:
    """``simlib engine dp`` in a launched process: the reference runs on a local device."""
    import dataclasses

    _check_dp(args)
    from simlib.engine.devices import request_devices

    devices = request_devices(args.devices)
    import jax

    from simlib.engine.data_parallel import DPConfig, train_data_parallel
    from simlib.engine.model import tree_max_abs_diff
    from simlib.engine.report import dp_text, report_fields

    cfg = DPConfig(
        style=args.style, devices=args.devices, steps=args.steps, batch_size=args.batch,
        learning_rate=args.lr, microbatches=args.microbatches, dataset=args.dataset,
        hidden=_hidden(args.hidden), seed=args.seed,
    )  # fmt: skip
    report = train_data_parallel(cfg, devices=devices)
    single = dataclasses.replace(cfg, style="single", devices=1)
    reference = train_data_parallel(single, devices=jax.local_devices()[:1])
    out = report_fields(report)
    out["max_abs_param_diff_vs_single"] = tree_max_abs_diff(report.params, reference.params)
    out["platform"] = devices[0].platform
    out["processes"] = jax.process_count()
    emit(out, args.json, dp_text)
    return 0


def _keep_stdout_for_results() -> None:
    """Send what C++ libraries print (gloo's "[Gloo] Rank 0 is connected...") to stderr, so that
    stdout carries only the result (one JSON object with --json)."""
    import os

    sys.stdout.flush()
    results = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(results, "w", buffering=1)


def worker_main(argv=None) -> int:
    """Entry point of one launched process: join the job, then run the engine command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _keep_stdout_for_results()
    try:
        from simlib.engine.launch import initialize_from_env

        initialize_from_env()
        from simlib.cli import build_parser

        args = build_parser().parse_args(["engine", *argv])
        if args.engine_command == "dp":
            args.handler = _run_dp_distributed
        return int(args.handler(args) or 0)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    except SimlibError as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(worker_main())
