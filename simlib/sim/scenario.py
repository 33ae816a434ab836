"""Scenario files: a cluster, a policy and a run, in YAML; shipped examples usable by name.

A scenario file (``simlib simulate FILE.yaml``, or a shipped name such as ``ssp-stragglers``)::

    description: 16 workers, random stragglers, SSP with staleness 2
    cluster:
      workers: 16
      step_seconds: 0.1            # one value, or a list with one per worker
      stragglers: {distribution: lognormal, sigma: 0.1, probability: 0.05, slowdown: 4}
      servers: 2
      model_bytes: 25.0e+6         # 0 or absent: communication is free
      network: {worker_bandwidth_bytes_per_s: 1.25e+9, latency_s: 50.0e-6}
    policy: {name: ssp, staleness: 2}
    run: {steps: 50, seed: 0}      # or until_s instead of steps

Files are read by :mod:`simlib.yaml_files` (safe loader; size, depth, aliases and duplicate keys
refused) and checked field by field: a wrong field or value is reported as
``FILE: field F: value V: what is allowed`` (a :class:`simlib.errors.ConfigError`), with values
quoted only up to a few dozen characters. Size-like fields have upper bounds
(:mod:`simlib.limits`), checked before anything is allocated.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from simlib.errors import ConfigError
from simlib.limits import check_seed
from simlib.sim.cluster import DISTRIBUTIONS, ClusterSpec, NetworkSpec, StragglerSpec
from simlib.sim.collectives import ALLREDUCE_ALGORITHMS
from simlib.sim.policies import COMMS, POLICIES, PolicySpec
from simlib.yaml_files import parse_yaml, quote, read_yaml, shorten

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "scenario_names"]


def _not_a_boolean(value: Any) -> Any:
    """YAML reads ``true``/``yes``/``on`` as booleans; never let one pass for a number."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "bool_not_number", "a boolean is not a number here; write the number itself"
        )
    return value


_Int = Annotated[int, Field(strict=True)]  # strict: no booleans, no 2.0, no "2"
_Float = Annotated[float, BeforeValidator(_not_a_boolean)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Stragglers(_Model):
    distribution: Literal[DISTRIBUTIONS] = "fixed"  # type: ignore[valid-type]
    sigma: _Float = Field(0.0, ge=0)
    probability: _Float = Field(0.0, ge=0, le=1)
    slowdown: _Float = Field(1.0, ge=1)


class _Network(_Model):
    worker_bandwidth_bytes_per_s: _Float = Field(math.inf, gt=0)
    server_bandwidth_bytes_per_s: _Float | None = Field(None, gt=0)
    latency_s: _Float = Field(0.0, ge=0)


class _Cluster(_Model):
    workers: _Int = Field(ge=1)
    step_seconds: _Float | list[_Float] = 1.0
    stragglers: _Stragglers = _Stragglers()
    servers: _Int = Field(1, ge=1)
    model_bytes: _Float = Field(0.0, ge=0)
    network: _Network = _Network()


class _Policy(_Model):
    name: Literal[POLICIES] = "bsp"  # type: ignore[valid-type]
    staleness: _Int = Field(0, ge=0)
    local_steps: _Int = Field(1, ge=1)
    backup_workers: _Int = Field(0, ge=0)
    comm: Literal[COMMS] | None = None  # type: ignore[valid-type]
    algorithm: Literal[ALLREDUCE_ALGORITHMS] = "ring"  # type: ignore[valid-type]


class _Run(_Model):
    steps: _Int | None = Field(None, ge=1)
    until_s: _Float | None = Field(None, gt=0)
    seed: _Int = Field(0, ge=0)


class _Scenario(_Model):
    name: str | None = None
    description: str = ""
    cluster: _Cluster
    policy: _Policy = _Policy()
    run: _Run = _Run()


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: what to simulate and how long."""

    name: str
    description: str
    cluster: ClusterSpec
    policy: PolicySpec
    steps: int | None
    until_s: float | None
    seed: int

    def run_arguments(self) -> dict[str, Any]:
        """Keyword arguments for :func:`simlib.sim.simulate` (after cluster and policy)."""
        return {"steps": self.steps, "until_s": self.until_s, "seed": self.seed}


def _field_path(loc: tuple) -> str:
    """``cluster.step_seconds[1]`` from pydantic's location (leaving out its union-member tags)."""
    path, model = "", _Scenario
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None:
            continue  # not a section: the tag of the union member tried, e.g. 'list[...]'
        path += f".{part}" if path else part
        model = fields[part].annotation if part in fields else None
    return path


def _wrong_member(error: dict) -> bool:
    """An error of the union member that does not fit the input (a list for a number)."""
    if error["type"] == "list_type":
        return True
    return error["type"] == "float_type" and isinstance(error.get("input"), list)


def _describe(error: dict) -> str:
    field = shorten(_field_path(error["loc"]), 60)
    if error["type"] == "extra_forbidden":
        return f"field {field}: unknown field; remove it or check its spelling"
    if error["type"] == "missing":
        return f"field {field}: missing; it is required"
    return f"field {field}: value {quote(error.get('input'))}: {shorten(error['msg'].lower(), 120)}"


def _known_fields(error: dict) -> str:
    """The fields allowed where an unknown one was found (and the closest, if one is close)."""
    model: Any = _Scenario
    for part in error["loc"][:-1]:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(str(error["loc"][-1]), list(model.model_fields), n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{guess}; allowed fields: " + ", ".join(model.model_fields)


def scenario_from_dict(data: Any, source: str = "scenario") -> Scenario:
    """Check a scenario given as plain data (what the YAML holds) and build its specs.

    Raises:
        ConfigError: naming ``source``, the field, the value and what is allowed.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'cluster' field, got {quote(data)}")
    try:
        parsed = _Scenario.model_validate(data)
    except ValidationError as exc:
        errors = sorted(
            exc.errors(), key=lambda e: (e["type"] != "extra_forbidden", _wrong_member(e))
        )
        first = errors[0]  # a misspelt field explains a missing one, so it comes first
        hint = _known_fields(first) if first["type"] == "extra_forbidden" else ""
        raise ConfigError(f"{source}: {_describe(first)}{hint}") from None
    if parsed.run.steps is not None and parsed.run.until_s is not None:
        raise ConfigError(f"{source}: field run: give steps or until_s, not both")
    try:
        check_seed(parsed.run.seed, "seed")
    except ConfigError as exc:
        raise ConfigError(f"{source}: field run.{exc}") from None
    # The specs check the rest; their messages start with the field's name within its part.
    try:
        cluster = ClusterSpec(
            **{f: getattr(parsed.cluster, f) for f in ("workers", "servers", "model_bytes")},
            step_seconds=parsed.cluster.step_seconds,
            stragglers=StragglerSpec(**parsed.cluster.stragglers.model_dump()),
            network=NetworkSpec(**parsed.cluster.network.model_dump()),
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: field cluster.{exc}") from None
    try:
        policy = PolicySpec(**parsed.policy.model_dump())
    except ConfigError as exc:
        raise ConfigError(f"{source}: field policy.{exc}") from None
    if policy.name == "backup" and policy.backup_workers >= cluster.workers:
        raise ConfigError(
            f"{source}: field policy.backup_workers: value {policy.backup_workers}: must be less "
            f"than cluster.workers ({cluster.workers}), since each round needs at least one "
            f"gradient; use at most {cluster.workers - 1}"
        )
    steps = parsed.run.steps
    if steps is None and parsed.run.until_s is None:
        steps = 100
    return Scenario(
        name=parsed.name or Path(source).stem,
        description=parsed.description,
        cluster=cluster,
        policy=policy,
        steps=steps,
        until_s=parsed.run.until_s,
        seed=parsed.run.seed,
    )


def scenario_names() -> list[str]:
    """Names of the scenarios shipped with simlib (``simlib/sim/scenarios/*.yaml``)."""
    folder = resources.files("simlib.sim") / "scenarios"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _is_file_name(name: str) -> bool:
    """Whether ``name`` is meant as a path (a YAML suffix, or something that exists there)."""
    if name.endswith((".yaml", ".yml")):
        return True
    try:
        return os.path.lexists(name)
    except (OSError, ValueError):  # a name the system refuses (too long, a NUL byte)
        return True


def _read(name_or_path: str | Path) -> tuple[Any, str]:
    """The data of a scenario file or shipped scenario, read by :mod:`simlib.yaml_files`."""
    name = os.fspath(name_or_path)
    if _is_file_name(name):
        return read_yaml(name, what="scenario"), shorten(name)
    if name in scenario_names():
        resource = resources.files("simlib.sim") / "scenarios" / f"{name}.yaml"
        source = f"{name}.yaml"
        return parse_yaml(resource.read_text(encoding="utf-8"), source), source
    raise ConfigError(
        f"{quote(name)} is neither a .yaml file nor a shipped scenario; "
        f"shipped: {', '.join(scenario_names())}"
    )


def load_scenario(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file, or a shipped scenario by name, with optional overrides.

    Args:
        name_or_path: a path to a ``.yaml`` file, or a name from :func:`scenario_names`.
        overrides: dotted field paths to replace before checking, e.g.
            ``{"cluster.workers": 8, "policy.name": "asp", "run.steps": 20}``.

    Returns:
        Scenario.

    Example:
        >>> load_scenario("ssp-stragglers", {"run.steps": 5}).steps
        5
    """
    data, source = _read(name_or_path)
    return scenario_from_dict(with_overrides(data, overrides or {}), source)


def with_overrides(data: Any, overrides: dict[str, Any]) -> Any:
    """A copy of scenario data with dotted fields replaced (``run.steps`` drops ``until_s``)."""
    if not isinstance(data, dict):
        return data
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = value
            if dotted in ("run.steps", "run.until_s"):
                node.pop("until_s" if leaf == "steps" else "steps", None)
    return out


def as_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data (what a YAML file would hold)."""
    return {
        "name": scenario.name,
        "description": scenario.description,
        "cluster": dataclasses.asdict(scenario.cluster),
        "policy": dataclasses.asdict(scenario.policy),
        "run": scenario.run_arguments(),
    }
