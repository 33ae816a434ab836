"""`simlib cost` and `simlib simulate`: the JSON contract, scenarios, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simlib.cli import main
from simlib.sim import allreduce_cost, pipeline_cost, ps_cost, zero_memory


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cost_allreduce_json(capsys):
    out = run_json(
        capsys,
        "cost",
        "allreduce",
        "--algorithm",
        "tree",
        "--ranks",
        "8",
        "--bytes",
        "1e8",
        "--bandwidth",
        "1e10",
        "--latency",
        "1e-5",
    )
    # tree: 2 log2(8) (alpha + n / B) = 6 (1e-5 + 0.01)
    assert out["seconds"] == pytest.approx(6 * (1e-5 + 0.01))
    assert out["latency_seconds"] == pytest.approx(6e-5)
    assert out["bandwidth_seconds"] == pytest.approx(0.06)
    assert out["bytes_sent_per_rank"] == pytest.approx(2 * 7 / 8 * 1e8)
    assert out["algbw"] == pytest.approx(1e8 / out["seconds"])
    assert out["busbw"] == pytest.approx(out["algbw"] * 2 * 7 / 8)


def test_cost_ps_pipeline_memory_json(capsys):
    ps = run_json(
        capsys,
        "cost",
        "ps",
        "--workers",
        "8",
        "--servers",
        "2",
        "--bytes",
        "1e9",
        "--bandwidth",
        "1e10",
        "--pull",
    )
    assert (ps["seconds"], ps["bytes_per_server"], ps["bytes_total"]) == (0.8, 8e9, 16e9)
    pipe = run_json(
        capsys, "cost", "pipeline", "--stages", "4", "--microbatches", "8", "--interleave", "2"
    )
    assert pipe["schedule"] == "interleaved-1f1b"
    assert pipe["bubble_over_ideal"] == pytest.approx(3 / 16)
    assert pipe["makespan_seconds"] == pytest.approx(8 * 3 + 3 * 3 / 2)
    mem = run_json(capsys, "cost", "memory", "--params", "7.5e9", "--ranks", "64", "--zero", "2")
    assert mem["bytes_per_device"] == pytest.approx(2 * 7.5e9 + 14 * 7.5e9 / 64)


def test_cost_text_output(capsys):
    assert main(["cost", "allreduce", "--ranks", "4", "--bytes", "4e6", "--bandwidth", "1e9"]) == 0
    out = capsys.readouterr().out
    assert "ring all-reduce of 4,000,000 bytes over 4 ranks: 0.006 s" in out


def test_cost_matches_the_python_api(capsys):
    out = run_json(
        capsys,
        "cost",
        "ps",
        "--workers",
        "5",
        "--servers",
        "3",
        "--bytes",
        "7e7",
        "--bandwidth",
        "3e9",
        "--server-bandwidth",
        "1e9",
        "--latency",
        "2e-4",
    )
    assert out == json.loads(json.dumps(ps_cost(5, 3, 7e7, 3e9, 1e9, 2e-4).as_dict()))
    assert allreduce_cost("ring", 2, 1, 1).seconds == 1.0
    assert (
        pipeline_cost(2, 2).makespan_seconds == 9.0 and zero_memory(1, 1, 0).bytes_per_device == 16
    )


def test_simulate_flags_json(capsys):
    out = run_json(
        capsys,
        "simulate",
        "--policy",
        "ssp",
        "--staleness",
        "1",
        "--workers",
        "2",
        "--step-seconds",
        "1,3",
        "--steps",
        "3",
    )
    assert out["makespan_seconds"] == 9.0  # the exact trace of test_sim_policies
    assert out["iterations_per_worker"] == [3, 3]
    assert out["blocked_seconds_per_worker"] == [1.0, 0.0]
    assert out["staleness_histogram"] == {"0": 4, "1": 1, "2": 1}
    assert out["bytes_per_link"] == {} and out["bytes_per_server"] == {"server0": 0.0}


def test_simulate_scenario_with_overrides_and_plots(capsys, tmp_path):
    out = run_json(capsys, "simulate", "bsp-straggler", "--steps", "4", "--plot", str(tmp_path))
    # 8 workers push 10 MB each, 4 steps: the one server receives and sends 8 x 4 x 10 MB.
    assert out["bytes_per_server"] == {"server0": pytest.approx(2 * 8 * 4 * 10e6)}
    assert out["bytes_per_link"]["worker7.out"] == pytest.approx(4 * 10e6)
    assert out["iterations_per_worker"] == [4] * 8
    assert set(out["staleness_histogram"]) == {"0"}
    names = sorted(Path(p).name for p in out["figures"])
    assert names == ["server_traffic.png", "staleness.png", "time_per_worker.png", "timeline.png"]
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)
    policy = run_json(capsys, "simulate", "bsp-straggler", "--policy", "asp", "--steps", "3")
    assert policy["policy"] == "ASP" and sum(policy["blocked_seconds_per_worker"]) == 0


def test_simulate_until_and_list(capsys):
    out = run_json(capsys, "simulate", "heterogeneous", "--until", "1.0")
    assert out["iterations_per_worker"] == [2, 2, 2, 2]  # BSP at the 0.4 s worker's pace
    out = run_json(capsys, "simulate", "heterogeneous", "--until", "1.0", "--policy", "asp")
    assert out["iterations_per_worker"][2:] == [3, 2]  # 0.25 s and 0.4 s steps, each its own
    assert main(["simulate", "--list"]) == 0
    assert "ring-allreduce-1024:" in capsys.readouterr().out


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return str(path)


GOOD = "cluster:\n  workers: 2\n  step_seconds: 0.5\npolicy:\n  name: asp\nrun:\n  steps: 2\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            GOOD.replace("workers: 2", "wrkers: 2"),
            ["cluster.wrkers", "unknown field", "allowed fields: workers"],
        ),
        (
            GOOD.replace("workers: 2", "workers: 0"),
            ["cluster.workers", "value 0", "greater than or equal to 1"],
        ),
        (GOOD.replace("name: asp", "name: bps"), ["policy.name", "'bps'", "'bsp'", "'asp'"]),
        (
            GOOD.replace("step_seconds: 0.5", "step_seconds: [1, 2, 3]"),
            ["field cluster.step_seconds has 3 values for 2 workers", "exactly 2"],
        ),
        # YAML booleans are not numbers: `workers: true` must not run 1 worker, nor
        # `staleness: yes` SSP(s=1), nor `[true, 1]` steps of 1 s
        (GOOD.replace("workers: 2", "workers: true"), ["cluster.workers", "True", "integer"]),
        (
            GOOD.replace("name: asp", "name: ssp\n  staleness: yes"),
            ["field policy.staleness", "value True", "integer"],
        ),
        (
            GOOD.replace("step_seconds: 0.5", "step_seconds: [true, 1]"),
            ["field cluster.step_seconds[0]: value True", "boolean is not a number"],
        ),
        (GOOD.replace("workers: 2", "workers: 2.5"), ["cluster.workers", "2.5", "integer"]),
        (GOOD + "  seed: on\n", ["field run.seed", "True"]),
        (
            GOOD.replace("step_seconds: 0.5", "model_bytes: true"),
            ["field cluster.model_bytes: value True", "boolean"],
        ),
        (
            GOOD.replace("step_seconds: 0.5", "step_seconds: [1, -1]"),
            ["field cluster.step_seconds[1]", "> 0", "-1"],
        ),
        (
            GOOD.replace("name: asp", "name: backup\n  backup_workers: 2"),
            ["field policy.backup_workers: value 2", "cluster.workers (2)", "at most 1"],
        ),
        (
            GOOD.replace("step_seconds: 0.5", "step_seconds: fast"),
            ["cluster.step_seconds", "'fast'"],
        ),
        (GOOD + "  until_s: 3\n", ["run", "steps or until_s"]),
        ("cluster: [1, 2\n", ["not valid YAML", "line"]),
        ("policy:\n  name: asp\n", ["field cluster", "missing"]),
        (
            GOOD.replace("name: asp", "name: asp\n  comm: allreduce"),
            ["field policy.comm 'allreduce'", "ps"],
        ),
    ],
)
def test_bad_scenario_names_file_field_value_and_allowed(tmp_path, capsys, text, words):
    path = _write(tmp_path, text)
    assert main(["simulate", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"simlib: error: {path}: ") and err.count("\n") == 1
    for word in words:
        assert word in err


def test_numbers_yaml_reads_as_strings_still_work(tmp_path, capsys):
    # PyYAML reads 1e9 (no dot) as a string; it is still a number of bytes
    path = _write(
        tmp_path, GOOD.replace("step_seconds: 0.5", "step_seconds: 0.5\n  model_bytes: 1e6")
    )
    out = run_json(capsys, "simulate", path, "--bandwidth", "1e6")
    assert out["bytes_per_server"] == {"server0": pytest.approx(2 * 2 * 2 * 1e6)}


def test_scenario_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "utf16.yaml"
    path.write_bytes(GOOD.encode("utf-16"))  # starts with the byte-order mark \xff\xfe
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"simlib: error: {path}: not UTF-8 text (byte 0: b'\\xff'); "
        "save the scenario as a UTF-8 YAML file\n"
    )
    assert main(["simulate", str(tmp_path)]) == 2  # a folder is no scenario file either
    assert "no such scenario file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--staleness", "2"], ["--staleness applies to --policy ssp only", "'bsp'"]),
        (
            ["ssp-stragglers", "--policy", "asp", "--staleness", "3"],
            ["--staleness", "policy is 'asp'", "add --policy ssp or drop --staleness"],
        ),
        (["--local-steps", "4"], ["--local-steps applies to --policy local-sgd only"]),
        (
            ["--policy", "ssp", "--backup-workers", "1"],
            ["--backup-workers applies to --policy backup only", "'ssp'"],
        ),
        (
            ["ssp-stragglers", "--algorithm", "tree"],
            ["--algorithm applies to all-reduce only", "SSP(s=2)", "parameter servers"],
        ),
        (
            ["ring-allreduce-1024", "--servers", "4"],
            ["--servers applies to parameter servers only", "BSP all-reduce"],
        ),
        (
            ["--straggler-probability", "0.1"],
            ["--straggler-probability 0.1 changes nothing", "slowdown is 1", "--slowdown"],
        ),
        (["--slowdown", "4"], ["--slowdown 4 changes nothing", "--straggler-probability"]),
        (
            ["--until", "1e300"],  # 4 workers at 1 s: 4e300 worker-steps, never done
            ["--until 1e+300", "4e+300 worker-steps", "use at most 2.5e+05 s"],
        ),
        (
            ["--policy", "backup", "--backup-workers", "4"],
            ["command line: field policy.backup_workers: value 4", "cluster.workers (4)"],
        ),
    ],
)
def test_flags_that_would_change_nothing_are_refused(capsys, args, words):
    assert main(["simulate", *args, "--steps" if "--until" not in args else "--seed", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simlib: error: ") and err.count("\n") == 1
    for word in words:
        assert word in err


def test_flags_that_apply_are_taken(capsys):
    ssp = run_json(capsys, "simulate", "ssp-stragglers", "--staleness", "0", "--steps", "2")
    assert ssp["policy"] == "SSP(s=0)"
    local = run_json(capsys, "simulate", "--policy", "local-sgd", "--local-steps", "2",
                     "--algorithm", "tree", "--steps", "4")  # fmt: skip
    assert local["policy"] == "local SGD (H=2)" and local["iterations_per_worker"] == [4] * 4
    # 4 workers at 1 s, every step straggles 3x: BSP takes 3 s a step
    slow = run_json(capsys, "simulate", "--straggler-probability", "1", "--slowdown", "3",
                    "--steps", "2")  # fmt: skip
    assert slow["makespan_seconds"] == 6.0
    # turning stragglers off in a scenario that has them is a change, so it is allowed
    calm = run_json(capsys, "simulate", "ssp-stragglers", "--slowdown", "1", "--steps", "2")
    assert calm["iterations_per_worker"] == [2] * 16


def test_bad_input_never_shows_a_traceback(tmp_path):
    path = _write(tmp_path, GOOD.replace("workers: 2", "workers: -3"))
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(b"\xff\xfe" + GOOD.encode())
    for args in (
        ["simulate", path],
        ["simulate", str(not_utf8)],
        ["simulate", "--staleness", "2"],
        ["simulate", "no-such-scenario"],
        ["simulate", "--steps", "0"],
        [
            "cost",
            "allreduce",
            "--algorithm",
            "recursive-doubling",
            "--ranks",
            "6",
            "--bytes",
            "1",
            "--bandwidth",
            "1",
        ],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "simlib", *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "ranks=6 is not a power of two" in proc.stderr
