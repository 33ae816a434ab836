"""The grading install: the wheel plus its core requirements alone grades, with no JAX or Jupyter.

A fresh virtual environment gets the built wheel and exactly the distributions its core
``Requires-Dist`` lines need (see ``install_helpers.offline_env``). Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess

from install_helpers import offline_env
from test_packaging import ROOT, _build_wheel


def test_the_wheel_alone_grades_without_the_course_libraries(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    python, deps, size = offline_env(wheel, tmp_path / "env")
    assert {"numpy", "pydantic", "pyyaml", "fsrs", "genanki"} <= set(deps)
    assert not {"jax", "simpy", "matplotlib", "jupyterlab"} & set(deps)
    print(f"grading install: {len(deps)} distributions, {size / 2**20:.1f} MiB")
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
