"""The built wheel is a working course: it carries its banks and decks, under its own name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("simlib_course-*.whl")
    return wheel


def test_installed_wheel_carries_every_bank_and_deck(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        assert "Name: simlib-course\n" in zf.read(metadata).decode()
        zf.extractall(tmp_path / "site")
    shipped = sorted(p.name for p in (ROOT / "quizzes").glob("*.yaml"))
    assert sorted(Path(n).name for n in names if n.startswith("simlib/banks/")) == shipped
    # ... and the scenarios and the data set, which live inside the package.
    for folder in ("simlib/sim/scenarios", "simlib/engine/datasets"):
        files = sorted(
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / folder).iterdir()
            if p.is_file() and p.suffix != ".pyc"
        )
        assert files and set(files) <= set(names), (folder, files)

    env = {k: v for k, v in os.environ.items() if k not in ("SIMLIB_QUIZ_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    run = subprocess.run(
        [sys.executable, "-m", "simlib", "quiz", "check", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr  # 1 = a bank fails a check; it still ran
    report = json.loads(run.stdout)
    banks = sorted(b["bank"] for b in report["banks"])
    assert banks == sorted(
        p.stem for p in (ROOT / "quizzes").glob("*.yaml") if not p.stem.startswith("cards_")
    )
    where = subprocess.run(
        [sys.executable, "-c", "from simlib.quiz.bank import quiz_dir; print(quiz_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(where.stdout.strip()) == tmp_path / "site" / "simlib" / "banks"


def test_no_banks_is_an_error_not_an_empty_list(tmp_path):
    env = {**os.environ, "SIMLIB_QUIZ_DIR": str(tmp_path)}
    for args in (["quiz", "list"], ["quiz", "check", "--json"], ["cards", "list"]):
        run = subprocess.run(
            [sys.executable, "-m", "simlib", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stdout == ""
        assert f"found in {tmp_path}" in run.stderr and "Traceback" not in run.stderr
