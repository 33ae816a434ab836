"""``simlib devices``: what JAX sees on this machine."""

from __future__ import annotations

from simlib.cli.arguments import bounded_int
from simlib.cli.output import add_json_flag, emit
from simlib.limits import DEVICES


def register(sub) -> None:
    p = sub.add_parser(
        "devices", help="show the devices JAX sees (virtual CPU devices if no accelerator)"
    )
    p.add_argument(
        "--count", type=bounded_int(DEVICES), default=None,
        help="virtual CPU devices to create when there is no accelerator (default 8)",
    )  # fmt: skip
    add_json_flag(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from simlib.engine.devices import describe_devices, request_devices

    if args.count:
        request_devices(args.count)
    import jax

    infos = describe_devices()
    result = {
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "process_count": jax.process_count(),
        "device_count": len(infos),
        "devices": [vars(d) for d in infos],
    }

    def text(r):
        lines = [f"JAX {r['jax_version']}, backend {r['backend']}: {r['device_count']} device(s)"]
        lines += [f"  {d['id']:>3}  {d['platform']:<5} {d['kind']}" for d in r["devices"]]
        return "\n".join(lines)

    emit(result, args.json, text)
    return 0
