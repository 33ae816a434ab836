"""Offline installs for tests: a fresh environment with a wheel and exactly its core needs.

The environment has no pip and no site packages. The wheel is installed by the development
environment's pip (``--no-index --no-deps --target``: a real installer, nothing downloaded), and
each distribution the wheel's core ``Requires-Dist`` needs, closed over its own requirements as
the development environment resolved them, is linked in.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def core_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(name).decode().splitlines()
    reqs = [
        Requirement(x.split(":", 1)[1].strip()) for x in lines if x.startswith("Requires-Dist:")
    ]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def closure(reqs: list[Requirement]) -> dict[str, metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = list(reqs)
    while todo:
        req = todo.pop()
        key = req.name.lower().replace("_", "-")
        if key in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        dist = metadata.distribution(req.name)
        seen[key] = dist
        todo += [Requirement(r) for r in dist.requires or []]
    return seen


def _top_level(dist: metadata.Distribution) -> set[Path]:
    base = Path(dist.locate_file(""))
    out = set()
    for f in dist.files or []:
        first = Path(f).parts[0]
        if first in ("..", "__pycache__") or first.endswith(".pth"):
            continue
        out.add(base / first)
    return out


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def offline_env(wheel: Path, where: Path) -> tuple[Path, dict[str, metadata.Distribution], int]:
    """A fresh environment at ``where`` with ``wheel`` and its core requirements.

    Returns its python, the linked distributions and the bytes installed.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=120)  # fmt: skip
    (site,) = where.glob("lib/python3*/site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    deps = closure(core_requirements(wheel))
    size = _size(site)
    for dist in deps.values():
        for path in _top_level(dist):
            if not (site / path.name).exists():
                (site / path.name).symlink_to(path)
                size += _size(path)
    return where / "bin" / "python", deps, size
