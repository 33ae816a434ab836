"""The one safe writer: what it refuses, what it keeps, and what a kill -9 leaves behind.

Every device-like target is made inside a temporary folder (a FIFO, a folder, a unix socket, a
symlink, a character device made with ``mknod`` when running as root allows it); the real
``/dev`` is never touched. Kills are real: the writer runs in a subprocess that stops at a
chosen ``os.replace`` or ``os.fsync`` call and is sent SIGKILL there.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from simlib.cli import main
from simlib.files import WriteError, recover, write_files, write_text
from simlib.files.writer import JOURNAL_PREFIX, NEWBORN_SUFFIX, TEMP_SUFFIX

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _char_device(path: Path) -> str:
    """A null-like character device at ``path`` if root may make one here, else a FIFO."""
    if os.geteuid() == 0:
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            return "character device"
        except OSError:
            pass
    os.mkfifo(path)
    return "FIFO (named pipe)"


def _make(kind: str, path: Path) -> tuple[str, object]:
    """Create a non-regular thing of ``kind`` at ``path``; return its expected name and a
    handle to keep alive (the socket)."""
    if kind == "fifo":
        os.mkfifo(path)
        return "FIFO (named pipe)", None
    if kind == "directory":
        path.mkdir()
        return "directory", None
    if kind == "socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        return "socket", sock
    if kind == "device":
        return _char_device(path), None
    if kind == "link-to-fifo":
        os.mkfifo(path.with_name("pipe"))
        path.symlink_to("pipe")
        return "FIFO (named pipe)", None
    raise AssertionError(kind)


def _kind_of(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


KINDS = ["fifo", "directory", "socket", "device", "link-to-fifo"]


@pytest.mark.parametrize("kind", KINDS)
def test_non_regular_targets_are_refused_and_left_alone(tmp_path, kind):
    target = tmp_path / "out.json"
    expected, keep = _make(kind, target)
    before = sorted(os.listdir(tmp_path)), _kind_of(target)
    with pytest.raises(WriteError) as err:
        write_text(target, "data")
    message = str(err.value)
    assert "\n" not in message and expected in message and "not a regular file" in message
    assert (sorted(os.listdir(tmp_path)), _kind_of(target)) == before  # no temp, node intact
    del keep


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["quiz", "paper", "zero", "--student", "ada", "--out", "{t}"], "device"),
        (["quiz", "paper", "zero", "--student", "ada", "--out", "{t}"], "link-to-fifo"),
        (["cards", "export", "basics", "--anki", "{t}"], "socket"),
        (["cards", "export", "basics", "--anki", "{t}"], "directory"),
        (["quiz", "grade", "--bank", "zero", "--submissions", "{s}", "--csv", "{t}"], "fifo"),
        (["quiz", "grade", "--bank", "zero", "--submissions", "{s}", "--json-out", "{t}"],
         "device"),
    ],
)  # fmt: skip
def test_cli_refuses_device_like_outputs_in_one_line(tmp_path, capsys, argv, kind):
    target = tmp_path / "target"
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ada.json").write_text('{"student": "ada", "answers": {}}')
    _, keep = _make(kind, target)
    before = _kind_of(target)
    argv = [a.format(t=target, s=subs) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simlib: error: cannot write"), err
    assert _kind_of(target) == before
    del keep


def test_a_bad_second_output_means_neither_is_written(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ada.json").write_text('{"student": "ada", "answers": {}}')
    os.mkfifo(tmp_path / "results.json")
    argv = ["quiz", "grade", "--bank", "zero", "--submissions", str(subs)]
    assert main([*argv, "--csv", str(tmp_path / "g.csv"), "--json-out",
                 str(tmp_path / "results.json")]) == 2  # fmt: skip
    assert not (tmp_path / "g.csv").exists()
    assert "results.json: it is a FIFO" in capsys.readouterr().err


def test_plot_onto_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert (
        main(["simulate", "bsp-straggler", "--steps", "2", "--plot", str(tmp_path / "taken")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "taken: is a regular file, not a folder" in err[0]


def test_symlinks_are_written_through_and_modes_kept(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real.name)
    assert write_text(link, "new") == real
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o640
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to("made-by-the-write.csv")
    write_text(dangling, "through")
    assert dangling.is_symlink() and (tmp_path / "made-by-the-write.csv").read_text() == "through"
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    with pytest.raises(WriteError, match="symlinks loop"):
        write_text(tmp_path / "loop-a", "x")
    with pytest.raises(WriteError, match="same file"):
        write_files({real: b"1", link: b"2"})


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = write_text(tmp_path / "new.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_bad_paths_are_one_line_without_a_traceback(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    long_name = tmp_path / ("n" * 300 + ".json")
    for path, words in [
        (tmp_path / "file" / "inner.json", "a part of the path is a file"),
        (long_name, "too long"),
    ]:
        with pytest.raises(WriteError, match=words) as err:
            write_text(path, "x")
        assert len(str(err.value)) < 250
    assert main(["quiz", "paper", "zero", "--student", "ada", "--out", str(long_name)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too long" in err[0] and len(err[0]) < 250


def test_stale_temps_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    dead = tmp_path / f".grades.csv.0123456789abcdef{TEMP_SUFFIX}"
    dead.write_bytes(b"x" * 1000)
    live = tmp_path / f".other.csv.fedcba9876543210{TEMP_SUFFIX}"
    live.write_bytes(b"y")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a writer still running holds it
    (tmp_path / f"not-hidden{TEMP_SUFFIX}").write_text("not ours")
    (tmp_path / "grades.csv").write_text("old")
    legacy = tmp_path / ".grades.csv.k2j_9xqa.tmp"  # the old writer's, left by a kill
    legacy.write_bytes(b"z" * 1000)
    os.utime(legacy, (1e9, 1e9))
    fresh = tmp_path / f".x.0000000000000001{NEWBORN_SUFFIX}"  # a writer in its first µs
    fresh.write_text("")
    old_born = tmp_path / f".x.0000000000000002{NEWBORN_SUFFIX}"  # killed in its first µs
    old_born.write_text("")
    os.utime(old_born, (1e9, 1e9))
    try:
        write_text(tmp_path / "grades.csv", "new")
        assert not dead.exists() and live.exists()
        assert fresh.exists() and not old_born.exists() and not legacy.exists()
        fresh.unlink()
    finally:
        os.close(fd)
    recover(tmp_path)
    assert not live.exists()
    assert sorted(os.listdir(tmp_path)) == ["grades.csv", f"not-hidden{TEMP_SUFFIX}"]


def test_a_hostile_journal_cannot_rename_other_files(tmp_path):
    (tmp_path / "victim").write_text("keep")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x").write_text("x")
    renames = [[str(tmp_path / "elsewhere" / "x"), str(tmp_path / "victim")],
               [str(tmp_path / "victim"), str(tmp_path / "moved")]]  # fmt: skip
    (tmp_path / f"{JOURNAL_PREFIX}bad.json").write_text(json.dumps({"renames": renames}))
    (tmp_path / f"{JOURNAL_PREFIX}junk.json").write_bytes(b"\x00\xff not json")
    recover(tmp_path)
    assert (tmp_path / "victim").read_text() == "keep" and (tmp_path / "elsewhere" / "x").exists()
    assert sorted(os.listdir(tmp_path)) == ["elsewhere", "victim"]


# Kill -9 at chosen moments. The child writes three files in two folders (so two journals);
# it stops before its N-th os.replace (or os.fsync) call, says so, and is killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from simlib.files import write_files
    call, at = sys.argv[1], int(sys.argv[2])
    folder = Path(sys.argv[3])
    real = getattr(os, call)
    count = [0]
    def paused(*args, **kwargs):
        count[0] += 1
        if count[0] == at:
            print("paused", flush=True)
            time.sleep(120)
        return real(*args, **kwargs)
    setattr(os, call, paused)
    write_files({folder / "a" / "grades.csv": b"new-csv" * 1000,
                 folder / "a" / "results.json": b"new-json" * 1000,
                 folder / "b" / "figure.png": b"new-png" * 1000})
    print("done", flush=True)
    """
)
OUTPUTS = [("a", "grades.csv"), ("a", "results.json"), ("b", "figure.png")]


def _kill_at(tmp_path: Path, call: str, at: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, call, str(at), str(tmp_path)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = child.stdout.readline().strip()
        assert line == "paused", line
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def _contents(tmp_path: Path) -> list[str]:
    return [(tmp_path / f / n).read_bytes()[:7].decode().split("-")[0] for f, n in OUTPUTS]


def _litter(tmp_path: Path) -> list[str]:
    return sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob(".*")
        if p.name.endswith(TEMP_SUFFIX) or p.name.startswith(JOURNAL_PREFIX)
    )


# (call, number, what the next run finds): fsync 1 is while the first temp is written;
# replace 1 and 2 publish the two journals (the second is the commit); replace 3-5 are the
# three renames.
KILL_POINTS = [
    ("fsync", 1, "old"),
    ("fsync", 3, "old"),
    ("replace", 1, "old"),
    ("replace", 2, "old"),  # one of two journals published: not yet committed
    ("replace", 3, "new"),
    ("replace", 4, "new"),
    ("replace", 5, "new"),
]


@pytest.mark.parametrize(("call", "at", "after"), KILL_POINTS)
def test_kill_during_a_write_leaves_all_old_or_all_new(tmp_path, call, at, after):
    for folder, name in OUTPUTS:
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_bytes(b"old----")
    _kill_at(tmp_path, call, at)
    assert _litter(tmp_path), "a killed writer leaves its temporary files behind"
    # The next write into either folder finishes a committed write in both; temporary files
    # of an uncommitted one go with the next write into their own folder.
    write_text(tmp_path / "b" / "unrelated.txt", "next run")
    assert _contents(tmp_path) == [after] * 3
    write_text(tmp_path / "a" / "unrelated.txt", "next run")
    assert _contents(tmp_path) == [after] * 3
    assert _litter(tmp_path) == []


def test_kill_between_the_csv_and_the_json_of_quiz_grade(tmp_path):
    """The real command, killed after the CSV's rename and before the JSON's: the journal
    makes the next run finish the pair (it is the same pair a clean run writes)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ada.json").write_text('{"student": "ada", "answers": {"zero-stages": "B"}}')
    out = tmp_path / "out"
    out.mkdir()
    (out / "g.csv").write_text("old")
    (out / "r.json").write_text("old")
    argv = ["quiz", "grade", "--bank", "zero", "--submissions", str(subs),
            "--csv", str(out / "g.csv"), "--json-out", str(out / "r.json")]  # fmt: skip
    script = CHILD.split("write_files(")[0].replace("folder = Path(sys.argv[3])", "")
    script += "from simlib.cli import main\nmain(sys.argv[3:])\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIMLIB_STATE_DIR": str(tmp_path / "st")}
    child = subprocess.Popen(
        [sys.executable, "-c", script, "replace", "3", *argv], stdout=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    assert child.stdout.readline().strip() == "paused"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert (out / "r.json").read_text() == "old" and (out / "g.csv").read_text() != "old"
    recover(out)
    clean = tmp_path / "clean"
    assert main([*argv[:-4], "--csv", str(clean / "g.csv"), "--json-out",
                 str(clean / "r.json")]) == 0  # fmt: skip
    assert (out / "g.csv").read_bytes() == (clean / "g.csv").read_bytes()
    assert (out / "r.json").read_bytes() == (clean / "r.json").read_bytes()
    assert _litter(tmp_path) == []


def test_plot_figures_are_written_together_or_not_at_all(tmp_path, capsys):
    figures = tmp_path / "figs"
    figures.mkdir()
    os.mkfifo(figures / "timeline.png")
    argv = ["simulate", "bsp-straggler", "--steps", "2", "--plot", str(figures)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "timeline.png: it is a FIFO" in err[0]
    assert os.listdir(figures) == ["timeline.png"]  # no other figure, no temporary file
    os.unlink(figures / "timeline.png")
    assert main([*argv, "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["figures"]
    assert sorted(os.listdir(figures)) == sorted(Path(p).name for p in written)
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_review_state_that_is_not_a_file_is_one_line_and_left_alone(state_dir, capsys):
    state_dir.mkdir()
    os.mkfifo(state_dir / "pipe")
    (state_dir / "cards_basics.json").symlink_to("pipe")  # reading it would block forever
    assert main(["cards", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cards_basics.json is not a regular file" in err[0]
    assert stat.S_ISFIFO(os.stat(state_dir / "pipe").st_mode)
    (state_dir / "cards_basics.json").unlink()
    (state_dir / "cards_basics.json.lock").mkdir()  # the deck's lock file, in the way
    from simlib.quiz import ReviewState, load_deck

    state = ReviewState(load_deck("basics"))
    with pytest.raises(WriteError, match="cards_basics.json.lock: it is a directory"):
        state.review(state.deck.cards[0].id, "good")
    assert not (state_dir / "cards_basics.json").exists()


WRITER_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from simlib.files import write_files
    folder, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        write_files({folder / f"{tag}.csv": b"%d" % i, folder / f"{tag}.json": b"%d" % i})
    print("ok")
    """
)


def test_writers_sharing_a_folder_never_clean_up_each_others_files(tmp_path):
    """Each write first cleans the folder; a live writer's temporary files are never taken for
    a dead one's (they are locked from the moment they have their name)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER_LOOP, str(tmp_path), tag, "150"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for tag in ("a", "b", "c")
    ]  # fmt: skip
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "ok", err[-500:]
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "a.json", "b.csv", "b.json", "c.csv", "c.json"]
    assert {(tmp_path / n).read_text() for n in os.listdir(tmp_path)} == {"149"}
