"""The grading install: the wheel plus its core requirements alone grades, with no JAX or Jupyter.

A fresh virtual environment (no pip, no site packages) gets the built wheel and exactly the
distributions that the wheel's core ``Requires-Dist`` lines need, closed over their own
requirements as the development environment resolved them. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from test_packaging import ROOT, _build_wheel


def _core_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(name).decode().splitlines()
    reqs = [
        Requirement(x.split(":", 1)[1].strip()) for x in lines if x.startswith("Requires-Dist:")
    ]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def _closure(reqs: list[Requirement]) -> dict[str, metadata.Distribution]:
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


def test_the_wheel_alone_grades_without_the_course_libraries(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    deps = _closure(_core_requirements(wheel))
    assert {"numpy", "pydantic", "pyyaml", "fsrs", "genanki"} <= set(deps)
    assert not {"jax", "simpy", "matplotlib", "jupyterlab"} & set(deps)

    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "env")],
        check=True,
        timeout=120,
    )
    (site,) = (tmp_path / "env").glob("lib/python3*/site-packages")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    size = wheel.stat().st_size
    for dist in deps.values():
        for path in _top_level(dist):
            (site / path.name).symlink_to(path)
            size += (
                sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                if path.is_dir()
                else path.stat().st_size
            )
    print(f"grading install: {len(deps)} distributions, {size / 2**20:.1f} MiB")

    python = tmp_path / "env" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIMLIB_QUIZ_DIR")}

    def simlib(*args):
        return subprocess.run(
            [str(python), "-m", "simlib", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert simlib("--version").stdout.strip() == "simlib 0.1.0"
    listing = json.loads(simlib("quiz", "list", "--json").stdout)
    shipped = sorted(
        p.stem for p in (ROOT / "quizzes").glob("*.yaml") if not p.stem.startswith("cards_")
    )
    assert sorted(b["topic"] for b in listing["banks"]) == shipped
    decks = json.loads(simlib("cards", "list", "--json").stdout)["decks"]
    assert len(decks) == len(list((ROOT / "quizzes").glob("cards_*.yaml")))

    # Grade a class of one from files, as a teacher would.
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ada.json").write_text(json.dumps({"student": "ada", "answers": {}}))
    graded = simlib(
        "quiz",
        "grade",
        "--bank",
        "basics",
        "--submissions",
        str(folder),
        "--csv",
        str(tmp_path / "g.csv"),
    )
    assert graded.returncode == 0, graded.stderr
    assert (tmp_path / "g.csv").read_text().count("\n") >= 2

    probe = subprocess.run([str(python), "-c", "import jax"], env=env, capture_output=True)
    assert probe.returncode != 0
    sim = simlib("simulate", "--workers", "4", "--steps", "2")
    assert sim.returncode == 2 and "pip install 'simlib-course[course]'" in sim.stderr
    assert "Traceback" not in sim.stderr and len(sim.stderr.strip().splitlines()) == 1
