"""``simlib cost ...`` (closed forms) and ``simlib simulate ...`` (the cluster simulator).

All quantities in SI units: bytes, seconds, bytes per second. Handlers import ``simlib.sim``
only when they run, so ``simlib --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simlib.cli.arguments import bounded_int, seed
from simlib.cli.output import add_json_flag, emit, non_negative_float, positive_float, positive_int
from simlib.cli.progress import phases
from simlib.limits import PIPELINE_COUNT, RANKS, SERVERS, WORKERS

__all__ = ["register"]

_ALGORITHMS = ("ring", "tree", "recursive-doubling", "halving-doubling")
_POLICIES = ("bsp", "asp", "ssp", "local-sgd", "backup")


def register(sub) -> None:
    cost = sub.add_parser("cost", help="closed-form costs: collectives, parameter servers, ...")
    groups = cost.add_subparsers(dest="cost_command", metavar="WHAT")
    groups.required = True
    _register_allreduce(groups)
    _register_ps(groups)
    _register_pipeline(groups)
    _register_memory(groups)
    _register_simulate(sub)


def _register_allreduce(groups) -> None:
    p = groups.add_parser("allreduce", help="time of an all-reduce (alpha-beta model)")
    p.add_argument("--algorithm", choices=_ALGORITHMS, default="ring", help="default ring")
    p.add_argument("--ranks", type=bounded_int(RANKS), required=True, help="number of ranks p")
    p.add_argument("--bytes", type=non_negative_float, required=True, help="bytes per rank n")
    p.add_argument("--bandwidth", type=positive_float, required=True, help="NIC bytes/s B")
    p.add_argument("--latency", type=non_negative_float, default=0.0, help="seconds per message")
    p.add_argument("--gamma", type=non_negative_float, default=0.0, help="seconds per byte reduced")
    add_json_flag(p)
    p.set_defaults(handler=run_cost_allreduce)


def _register_ps(groups) -> None:
    p = groups.add_parser("ps", help="time of a parameter-server round (push, or push+pull)")
    p.add_argument("--workers", type=bounded_int(WORKERS), required=True, help="workers N")
    p.add_argument(
        "--servers", type=bounded_int(SERVERS), default=1, help="server shards k (default 1)"
    )
    p.add_argument("--bytes", type=non_negative_float, required=True, help="model bytes M")
    p.add_argument("--bandwidth", type=positive_float, required=True, help="worker NIC bytes/s")
    p.add_argument(
        "--server-bandwidth",
        type=positive_float,
        default=None,
        help="server NIC bytes/s (default: --bandwidth)",
    )
    p.add_argument("--latency", type=non_negative_float, default=0.0, help="seconds per message")
    p.add_argument("--pull", action="store_true", help="push then pull (default push only)")
    add_json_flag(p)
    p.set_defaults(handler=run_cost_ps)


def _register_pipeline(groups) -> None:
    p = groups.add_parser("pipeline", help="makespan and bubble of a pipeline schedule")
    count = bounded_int(PIPELINE_COUNT)
    p.add_argument("--stages", type=count, required=True, help="pipeline stages p")
    p.add_argument("--microbatches", type=count, required=True, help="microbatches m")
    p.add_argument("--interleave", type=count, default=1, help="chunks per device v")
    p.add_argument("--forward", type=positive_float, default=1.0, help="forward s per stage")
    p.add_argument("--backward", type=positive_float, default=2.0, help="backward s per stage")
    p.add_argument(
        "--schedule",
        choices=("gpipe", "1f1b", "interleaved-1f1b"),
        default=None,
        help="default 1f1b, or interleaved-1f1b when --interleave > 1",
    )
    add_json_flag(p)
    p.set_defaults(handler=run_cost_pipeline)


def _register_memory(groups) -> None:
    p = groups.add_parser("memory", help="model-state bytes per device with ZeRO 0-3")
    p.add_argument("--params", type=positive_float, required=True, help="parameters Psi")
    p.add_argument(
        "--ranks", type=bounded_int(RANKS), required=True, help="data-parallel ranks N_d"
    )
    p.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=0, help="ZeRO stage")
    p.add_argument(
        "--optimizer-bytes",
        type=non_negative_float,
        default=12.0,
        help="optimizer bytes per parameter K (default 12, mixed-precision Adam)",
    )
    add_json_flag(p)
    p.set_defaults(handler=run_cost_memory)


def _register_simulate(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate training on a cluster (SimPy)",
        description="Simulate a cluster. Flags override the scenario file.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help="a scenario .yaml file or a shipped name (see --list)",
    )
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.add_argument("--policy", choices=_POLICIES, help="synchronisation policy")
    p.add_argument("--staleness", type=int, help="SSP staleness bound s (>= 0)")
    p.add_argument("--local-steps", type=positive_int, help="local SGD: steps between averages")
    p.add_argument("--backup-workers", type=int, help="backup: gradients dropped per round")
    p.add_argument("--comm", choices=("ps", "allreduce"), help="parameter servers or all-reduce")
    p.add_argument("--algorithm", choices=_ALGORITHMS, help="all-reduce algorithm")
    p.add_argument("--workers", type=bounded_int(WORKERS), help="number of workers")
    p.add_argument("--step-seconds", help="compute seconds per step: T or T1,T2,... per worker")
    p.add_argument("--servers", type=bounded_int(SERVERS), help="parameter-server shards")
    p.add_argument("--model-bytes", type=non_negative_float, help="model bytes (0: free comm)")
    p.add_argument("--bandwidth", type=positive_float, help="worker NIC bytes/s")
    p.add_argument("--server-bandwidth", type=positive_float, help="server NIC bytes/s")
    p.add_argument("--latency", type=non_negative_float, help="seconds per message")
    p.add_argument(
        "--straggler-probability", type=non_negative_float, help="chance a step straggles"
    )
    p.add_argument(
        "--slowdown", type=positive_float, help="how much longer a straggling step takes"
    )
    run = p.add_mutually_exclusive_group()
    run.add_argument("--steps", type=positive_int, help="iterations per worker")
    run.add_argument("--until", type=positive_float, help="simulated seconds to run")
    p.add_argument("--seed", type=seed, help="seed of every random draw (0 to 2^32 - 1)")
    p.add_argument("--plot", metavar="DIR", help="write the figures as PNG files into DIR")
    train = p.add_argument_group("real training with the simulated schedule (JAX)")
    train.add_argument(
        "--train", action="store_true",
        help="replay the schedule as real training: every gradient read at its stale version",
    )  # fmt: skip
    train.add_argument("--dataset", choices=("digits", "synthetic"),
                       help="data set to train on (default digits)")  # fmt: skip
    train.add_argument("--target-loss", type=positive_float,
                       help="report the simulated seconds until the loss reaches this")  # fmt: skip
    train.add_argument("--lr", type=positive_float,
                       help="learning rate per gradient (default 0.1, linear scaling)")  # fmt: skip
    train.add_argument("--batch-per-worker", type=positive_int,
                       help="examples per gradient (default 16)")  # fmt: skip
    add_json_flag(p)
    p.set_defaults(handler=run_simulate)


# -- cost handlers ----------------------------------------------------------------------------


def _check_finite(result: Mapping[str, Any], keys: tuple[str, ...], inputs: str) -> None:
    """Refuse a result that overflowed to infinity (or nan): it would print as null, silently."""
    import math

    from simlib.errors import ConfigError

    for key in keys:
        value = result[key]
        if not math.isfinite(value):
            raise ConfigError(
                f"the result's {key} is {value} (a float overflowed): the values given for "
                f"{inputs} are too extreme to compute with; use values nearer to real hardware"
            )


def run_cost_allreduce(args) -> int:
    from simlib.sim import allreduce_cost

    cost = allreduce_cost(
        args.algorithm, args.ranks, args.bytes, args.bandwidth, args.latency, args.gamma
    )
    result = cost.as_dict() | {"algbw": cost.algbw_bytes_per_s, "busbw": cost.busbw_bytes_per_s}
    _check_finite(result, ("seconds", "bytes_sent_per_rank"), "--bytes, --bandwidth, --latency")
    emit(result, args.json, _allreduce_text)
    return 0


def _allreduce_text(r: Mapping[str, Any]) -> str:
    return (
        f"{r['algorithm']} all-reduce of {r['nbytes']:,.0f} bytes over {r['ranks']} ranks: "
        f"{r['seconds']:.6g} s (latency {r['latency_seconds']:.3g} s, bandwidth "
        f"{r['bandwidth_seconds']:.3g} s, reduction {r['compute_seconds']:.3g} s)\n"
        f"  each rank sends {r['bytes_sent_per_rank']:,.0f} bytes; algbw {_rate(r['algbw'])}, "
        f"busbw {_rate(r['busbw'])}"
    )


def _rate(bytes_per_s: float) -> str:
    return "inf" if bytes_per_s == float("inf") else f"{bytes_per_s / 1e9:.3f} GB/s"


def run_cost_ps(args) -> int:
    from simlib.sim import ps_cost

    cost = ps_cost(
        args.workers,
        args.servers,
        args.bytes,
        args.bandwidth,
        args.server_bandwidth,
        args.latency,
        args.pull,
    )
    _check_finite(cost.as_dict(), ("seconds", "bytes_total"), "--bytes, --bandwidth, --latency")
    emit(
        cost.as_dict(),
        args.json,
        lambda r: (
            f"{'push+pull' if r['pull'] else 'push'} of {r['model_bytes']:,.0f} bytes by "
            f"{r['workers']} workers to {r['servers']} server(s): {r['seconds']:.6g} s "
            f"({r['bottleneck']} NICs are the bottleneck)\n"
            f"  each server moves {r['bytes_per_server']:,.0f} bytes; all {r['bytes_total']:,.0f}"
        ),
    )
    return 0


def run_cost_pipeline(args) -> int:
    from simlib.sim import pipeline_cost

    schedule = args.schedule or ("interleaved-1f1b" if args.interleave > 1 else "1f1b")
    cost = pipeline_cost(
        args.stages, args.microbatches, args.forward, args.backward, args.interleave, schedule
    )
    _check_finite(cost.as_dict(), ("makespan_seconds",), "--stages, --microbatches, --forward, "
                  "--backward")  # fmt: skip
    emit(
        cost.as_dict(),
        args.json,
        lambda r: (
            f"{r['schedule']}, {r['stages']} stages x {r['microbatches']} microbatches: makespan "
            f"{r['makespan_seconds']:.6g} s, bubble {100 * r['bubble_fraction']:.1f}% of it "
            f"({r['bubble_over_ideal']:.4g} of the ideal time); "
            f"{r['activations_in_flight']:g} microbatches of activations in flight"
        ),
    )
    return 0


def run_cost_memory(args) -> int:
    from simlib.errors import ConfigError
    from simlib.sim import zero_memory

    if args.params != int(args.params):
        raise ConfigError(f"--params {args.params:g} must be a whole number of parameters")
    cost = zero_memory(int(args.params), args.ranks, args.zero, args.optimizer_bytes)
    _check_finite(cost.as_dict(), ("bytes_per_device",), "--params, --optimizer-bytes")
    emit(
        cost.as_dict(),
        args.json,
        lambda r: (
            f"ZeRO stage {r['stage']}, {r['params']:,} parameters on {r['ranks']} ranks: "
            f"{r['bytes_per_device'] / 1e9:.4g} GB per device (parameters "
            f"{r['parameter_bytes'] / 1e9:.4g}, gradients {r['gradient_bytes'] / 1e9:.4g}, "
            f"optimizer {r['optimizer_bytes'] / 1e9:.4g} GB)"
        ),
    )
    return 0


# -- simulate ---------------------------------------------------------------------------------


def _step_seconds(raw: str) -> float | list[float]:
    from simlib.errors import ConfigError
    from simlib.yaml_files import quote

    try:
        values = [float(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not v > 0 for v in values):
        raise ConfigError(
            f"--step-seconds {quote(raw)} must be seconds > 0 separated by commas, "
            "e.g. 0.1 or 0.1,0.1,0.3"
        )
    return values[0] if len(values) == 1 else values


_FLAG_FIELDS = {
    "policy": "policy.name",
    "staleness": "policy.staleness",
    "local_steps": "policy.local_steps",
    "backup_workers": "policy.backup_workers",
    "comm": "policy.comm",
    "algorithm": "policy.algorithm",
    "workers": "cluster.workers",
    "servers": "cluster.servers",
    "model_bytes": "cluster.model_bytes",
    "bandwidth": "cluster.network.worker_bandwidth_bytes_per_s",
    "server_bandwidth": "cluster.network.server_bandwidth_bytes_per_s",
    "latency": "cluster.network.latency_s",
    "straggler_probability": "cluster.stragglers.probability",
    "slowdown": "cluster.stragglers.slowdown",
    "steps": "run.steps",
    "until": "run.until_s",
    "seed": "run.seed",
}


def _overrides(args) -> dict[str, Any]:
    out = {
        field: getattr(args, flag)
        for flag, field in _FLAG_FIELDS.items()
        if getattr(args, flag) is not None
    }
    if args.step_seconds is not None:
        out["cluster.step_seconds"] = _step_seconds(args.step_seconds)
    if args.policy and args.policy != "bsp" and args.comm is None:
        out["policy.comm"] = None  # let the policy pick its own way to communicate
    return out


# A flag that sets a parameter of one policy (or way to communicate): (flag, attribute, the
# policies or comm it needs, what to add). Checked against the policy the run really uses,
# after the scenario file and every flag.
_POLICY_FLAGS = (
    ("--staleness", "staleness", {"ssp"}, "--policy ssp"),
    ("--local-steps", "local_steps", {"local-sgd"}, "--policy local-sgd"),
    ("--backup-workers", "backup_workers", {"backup"}, "--policy backup"),
)
_COMM_FLAGS = (
    ("--algorithm", "algorithm", "allreduce", "--policy bsp --comm allreduce, or local-sgd"),
    ("--servers", "servers", "ps", "a parameter-server policy (--comm ps)"),
    ("--server-bandwidth", "server_bandwidth", "ps", "a parameter-server policy (--comm ps)"),
)


def _check_policy_flags(args, scenario) -> None:
    """Flags that cannot change this run are refused, not silently ignored."""
    from simlib.errors import ConfigError
    from simlib.sim.runner import check_until

    policy, cluster = scenario.policy, scenario.cluster
    for flag, name, needs, fix in _POLICY_FLAGS:
        if getattr(args, name) is not None and policy.name not in needs:
            raise ConfigError(
                f"{flag} applies to {fix} only, and this run's policy is {policy.name!r}; "
                f"add {fix} or drop {flag}"
            )
    for flag, name, comm, fix in _COMM_FLAGS:
        if getattr(args, name) is not None and policy.comm != comm:
            way = "an all-reduce" if policy.comm == "allreduce" else "parameter servers"
            raise ConfigError(
                f"{flag} applies to {'all-reduce' if comm == 'allreduce' else 'parameter servers'}"
                f" only, and policy {policy.label()!r} communicates through {way}; "
                f"use {fix}, or drop {flag}"
            )
    stragglers = cluster.stragglers
    if args.straggler_probability and stragglers.slowdown == 1:
        raise ConfigError(
            f"--straggler-probability {args.straggler_probability:g} changes nothing while the "
            "slowdown is 1 (a straggling step would take as long as any other); "
            "add --slowdown > 1, e.g. --slowdown 4"
        )
    if args.slowdown is not None and args.slowdown != 1 and stragglers.probability == 0:
        raise ConfigError(
            f"--slowdown {args.slowdown:g} changes nothing while the straggler probability is 0 "
            "(no step straggles); add --straggler-probability, e.g. --straggler-probability 0.05"
        )
    if args.until is not None:
        check_until(cluster, args.until, "--until", policy)


def _load(args):
    from simlib.sim.scenario import load_scenario, scenario_from_dict, with_overrides

    overrides = _overrides(args)
    if args.scenario is not None:
        return load_scenario(args.scenario, overrides)
    base = {"cluster": {"workers": 4}, "run": {"steps": 20}}
    return scenario_from_dict(with_overrides(base, overrides), "command line")


def run_simulate(args) -> int:
    if args.list:
        from simlib.sim.scenario import load_scenario, scenario_names

        shipped = [
            {"name": name, "description": load_scenario(name).description}
            for name in scenario_names()
        ]
        emit(
            {"scenarios": shipped},
            args.json,
            lambda r: "\n".join(f"{s['name']}: {s['description']}" for s in r["scenarios"]),
        )
        return 0
    _check_training_flags(args)
    scenario = _load(args)
    _check_policy_flags(args, scenario)
    import numpy as np

    from simlib.sim import simulate, summarize

    names = ["simulating", "replaying as training" if args.train else "", "drawing figures"]
    with phases([n for n in names if n and (n != "drawing figures" or args.plot)]) as advance:
        advance("simulating")
        with np.errstate(all="ignore"):  # overflow is caught below, as one line, not a warning
            trace = simulate(scenario.cluster, scenario.policy, **scenario.run_arguments())
            result = summarize(trace) | {"scenario": scenario.name}
        _check_finite(
            result, ("makespan_seconds",), "step seconds, latency, model bytes / bandwidth"
        )
        run = None
        if args.train:
            advance("replaying as training")
            run = _train(args, scenario, trace)
            result |= _training_fields(run, args.target_loss)
        if args.plot:
            advance("drawing figures")
            result["figures"] = _plot(trace, args.plot, run, args.target_loss)
    emit(result, args.json, _simulate_text)
    return 0


_TRAINING_FLAGS = (("--dataset", "dataset"), ("--target-loss", "target_loss"), ("--lr", "lr"),
                   ("--batch-per-worker", "batch_per_worker"))  # fmt: skip


def _check_training_flags(args) -> None:
    """Training flags mean nothing without --train: say so rather than ignore them."""
    from simlib.errors import ConfigError

    given = [flag for flag, name in _TRAINING_FLAGS if getattr(args, name) is not None]
    if given and not args.train:
        flags = ", ".join(given)
        raise ConfigError(f"{flags}: only with --train (they set up the training); add --train")


def _train(args, scenario, trace):
    """Replay the trace as real training (imports JAX): a PolicyRun."""
    from simlib.engine.data import load_dataset
    from simlib.engine.stale import ReplayConfig, replay
    from simlib.engine.tradeoff import PolicyRun
    from simlib.errors import ConfigError

    config = ReplayConfig(dataset=args.dataset or "digits", learning_rate=args.lr or 0.1,
                          batch_per_worker=args.batch_per_worker or 16)  # fmt: skip
    rows = trace.workers * config.batch_per_worker
    examples = load_dataset(config.dataset).num_examples
    if rows > examples:
        raise ConfigError(
            f"--train: {trace.workers} workers x --batch-per-worker {config.batch_per_worker} = "
            f"{rows} examples per step, more than the {config.dataset} data set's {examples}; "
            "use fewer workers, a smaller --batch-per-worker, or --dataset synthetic"
        )
    report = replay(trace, config)
    _check_replay_finite(report, config.learning_rate)
    return PolicyRun(scenario.policy.label(), scenario.policy, trace, report)


def _check_replay_finite(report, learning_rate: float) -> None:
    """A replay whose evaluation loss became inf or nan stops (exit 1), naming when and the lr."""
    import numpy as np

    from simlib.engine.divergence import NonFiniteLoss

    bad = np.flatnonzero(~np.isfinite(report.losses))
    if bad.size:
        i = int(bad[0])
        where = (f"simulated second {report.times_s[i]:.4g} (after {int(report.updates[i])} "
                 "updates)")  # fmt: skip
        raise NonFiniteLoss(where, float(report.losses[i]), learning_rate)


def _training_fields(run, target_loss: float | None) -> dict[str, Any]:
    report = run.report
    return {
        "loss_curve": report.loss_curve(),
        "final_loss": report.final_loss,
        "gradients_trained": report.gradients,
        "target_loss": target_loss,
        "time_to_target_seconds": None if target_loss is None else run.time_to_target(target_loss),
        "gradients_to_target": None if target_loss is None else run.updates_to_target(target_loss),
    }


def _plot(trace, folder: str, run=None, target_loss: float | None = None) -> list[str]:
    """Render the figures to PNG and write them into ``folder`` together (all old or all new)."""
    import io
    import os
    from pathlib import Path

    from simlib.errors import ConfigError
    from simlib.files import write_files
    from simlib.files.targets import file_kind
    from simlib.viz import simulation_figures
    from simlib.yaml_files import shorten

    out, shown = Path(folder), shorten(folder)
    if os.path.lexists(out) and not out.is_dir():
        raise ConfigError(
            f"--plot {shown}: is a {file_kind(os.lstat(out).st_mode)}, not a folder; "
            "give a folder for the figures (it is created if missing)"
        )
    figures = dict(simulation_figures(trace))
    if run is not None:
        from simlib.viz import plot_loss_vs_time

        figures["loss"] = plot_loss_vs_time([run], target_loss=target_loss)
    outputs = {}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        outputs[out / f"{name}.png"] = buffer.getvalue()
    write_files(outputs)
    return [str(p) for p in outputs]


def _simulate_text(r: Mapping[str, Any]) -> str:
    iters, blocked = r["iterations_per_worker"], r["blocked_seconds_per_worker"]
    hist = r["staleness_histogram"]
    lines = [
        f"{r['scenario']}: {r['policy']}, {r['workers']} workers"
        + (f", {r['servers']} server(s)" if r["servers"] else ""),
        f"  makespan {r['makespan_seconds']:.6g} s; {r['applied_updates']} updates applied"
        + (f", {r['dropped_updates']} dropped" if r["dropped_updates"] else "")
        + f" ({r['throughput_updates_per_s']:.4g} per s)",
        f"  iterations per worker: min {min(iters)}, max {max(iters)}",
        f"  blocked seconds per worker: mean {sum(blocked) / len(blocked):.4g}, "
        f"max {max(blocked):.4g}",
        "  staleness: "
        + (
            ", ".join(f"{k}: {v}" for k, v in list(hist.items())[:12])
            + (" ..." if len(hist) > 12 else "")
            if hist
            else "none applied"
        ),
    ]
    if r["bytes_per_server"]:
        lines.append(
            "  bytes per server: "
            + ", ".join(f"{name} {b:,.0f}" for name, b in r["bytes_per_server"].items())
        )
    if "final_loss" in r:
        curve = r["loss_curve"]
        lines.append(f"  trained for real: loss {curve[0][1]:.4f} -> {r['final_loss']:.4f} "
                     f"over {r['gradients_trained']} gradients")  # fmt: skip
        if r["target_loss"] is not None:
            when = r["time_to_target_seconds"]
            reached = f"{when:.6g} simulated s" if when is not None else "never (not in this run)"
            lines.append(f"  loss {r['target_loss']:g} reached after {reached}")
    lines += [f"  figure: {p}" for p in r.get("figures", [])]
    return "\n".join(lines)
