"""The warm process (issue 24 §6): a command answered by ``aidflow warm`` is the command run
on its own — same output, same exit status, same record — and the warm process is its user's
alone, keeps nothing of a command, and never runs stale code or a command twice.

Every test runs the real program (``aidflow``, the console script) in a subprocess, as a
clerk's shell would; the warm process of each test has its own socket in the test's folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aidflow.warm import AT_A_TERMINAL_IDLE_S
from aidflow.warm import wire as warm
from tests.e2e.conftest import Cli
from tests.terminal import at_a_terminal

PROGRAM = str(Path(sys.executable).with_name("aidflow"))
BACKSTOP = "0.05"
"""Hours a test's warm process lives idle (3 minutes): a test that fails before stopping
its process leaves none behind for long."""


class Shell:
    """The ``aidflow`` program with one environment, warm or cold."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd

    def __call__(
        self, *args: str, warm_ok: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **extra, warm.SWITCH_ENV: "1" if warm_ok else "0"}
        return subprocess.run(
            [PROGRAM, *args], env=env, cwd=self.cwd, capture_output=True, text=True, timeout=120
        )

    def status(self) -> dict[str, object]:
        answer: dict[str, object] = json.loads(self("warm", "status", "--json").stdout)
        return answer


@pytest.fixture
def shell(cli: Cli, world: dict[str, str], tmp_path: Path) -> Iterator[Shell]:
    """A warm process over the test's store, its socket in a private folder of the test."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "AIDFLOW_DB": cli.url,
        warm.SOCKET_ENV: str(folder / "warm.sock"),
        "AIDFLOW_ACTOR": "clerk",
    }
    here = Shell(env, work)
    started = here("warm", "start", "--json", "--idle", BACKSTOP)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["started"] is True
    yield here
    here("warm", "stop")


def _served(shell: Shell) -> int:
    return int(str(shell.status()["served"]))


SAME_ANSWERS = [
    ("--help",),
    ("--lang", "zh", "case", "--help"),
    ("staff", "list"),
    ("staff", "list", "--json"),
    ("fund", "list", "--json"),
    ("case", "list", "--lang", "zh"),
    ("audit", "check", "--json"),
    ("case", "show", "nosuchcase"),  # a named refusal
    ("case", "approve", "--amount", "1"),  # a usage error, exit 2
    ("fund", "deposit", "x", "--amount", "-1"),  # bad input, exit 2
    ("--json", "nosuchcommand"),
]


@pytest.mark.parametrize("args", SAME_ANSWERS, ids=" ".join)
def test_a_warm_answer_is_the_cold_answer(shell: Shell, args: tuple[str, ...]) -> None:
    before = _served(shell)
    warm_run = shell(*args)
    cold = shell(*args, warm_ok=False)
    assert _served(shell) == before + 1  # it did run warm, once
    assert (warm_run.returncode, warm_run.stdout, warm_run.stderr) == (
        cold.returncode,
        cold.stdout,
        cold.stderr,
    )


def test_a_write_through_the_warm_process_is_recorded_once_by_its_actor(
    shell: Shell, world: dict[str, str]
) -> None:
    done = shell(
        "fund", "deposit", world["gov"], "--amount", "10", "--source", "top-up",
        "--receipt", "W-1", "--json", AIDFLOW_ACTOR="donor-desk",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # 'donor-desk' is nobody: refused, not recorded
    assert json.loads(done.stderr)["error"]["code"] == "unknown_staff"
    done = shell(
        "fund", "deposit", world["gov"], "--amount", "10", "--source", "top-up",
        "--receipt", "W-1", "--json", AIDFLOW_ACTOR="cashier",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = shell("events", "--json", warm_ok=False).stdout.splitlines()
    events = [json.loads(row) for row in listed]
    deposits = [e for e in events if e["name"] == "fund.deposited" and "W-1" in json.dumps(e)]
    assert [e["actor"] for e in deposits] == ["cashier"]


def test_files_land_in_the_callers_folder_with_the_callers_umask(
    shell: Shell, tmp_path: Path
) -> None:
    (shell.cwd / "sub").mkdir()
    inner = Shell(shell.env, shell.cwd / "sub")
    code = "import os,subprocess,sys; os.umask(0o027); sys.exit(subprocess.call(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", code, PROGRAM, "audit", "ledger", "-o", "ledger.csv"],
        env=inner.env, cwd=inner.cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    written = inner.cwd / "ledger.csv"
    assert written.exists() and not (tmp_path / "ledger.csv").exists()
    assert written.stat().st_mode & 0o077 in (0, 0o040)  # the caller's umask (027), not 022


def test_the_warm_process_keeps_no_key_between_commands(
    shell: Shell, world: dict[str, str]
) -> None:
    reveal = ("case", "show", world["case"], "--reveal", "--reason", "check")
    keyed = shell(*reveal, AIDFLOW_ACTOR="visitor")
    assert keyed.returncode == 0 and "Wang Fang" in keyed.stdout, keyed.stderr
    env = {k: v for k, v in shell.env.items() if k not in ("AIDFLOW_KEY", "AIDFLOW_KEY_FILE")}
    keyless = Shell({**env, "AIDFLOW_KEY_FILE": str(shell.cwd / "no.key")}, shell.cwd)
    refused = keyless(*reveal, AIDFLOW_ACTOR="visitor")
    cold = keyless(*reveal, warm_ok=False, AIDFLOW_ACTOR="visitor")
    assert refused.returncode == cold.returncode == 2
    assert refused.stderr == cold.stderr and "Wang Fang" not in refused.stdout + refused.stderr


def test_other_code_is_never_run_the_command_runs_cold_and_the_warm_process_ends(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """A warm process started from other code (here: a copy of the package, as an upgrade
    leaves the old one running) answers ``stale``; the command runs in its own process."""
    copy = tmp_path / "other"
    shutil.copytree(
        Path(warm.__file__).parent.parent,
        copy / "aidflow",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    folder = tmp_path / "run"
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(folder / "warm.sock")}
    old = Shell({**env, "PYTHONPATH": str(copy)}, tmp_path)
    assert old("warm", "start", "--idle", BACKSTOP).returncode == 0
    here = Shell(env, tmp_path)
    assert here.status()["current"] is False
    listed = here("staff", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout), listed.stderr
    assert here.status()["running"] is False  # it ended rather than run other code
    assert old.status()["running"] is False


def test_ctrl_c_reaches_the_command_and_a_killed_command_is_never_run_again(
    shell: Shell, world: dict[str, str]
) -> None:
    answers = []
    for warm_ok in (False, True):
        follow = _following(shell, warm_ok)
        shell("fund", "deposit", world["gov"], "--amount", "1", "--source", "s",
              "--receipt", f"C-{warm_ok}", AIDFLOW_ACTOR="cashier")  # fmt: skip
        assert follow.stdout is not None
        assert "fund.deposited" in follow.stdout.readline()  # it is in its loop, following
        follow.send_signal(signal.SIGINT)
        out, err = follow.communicate(timeout=60)
        answers.append((follow.returncode, out, err))
    assert answers[0] == answers[1]
    assert answers[0][0] == 0  # Ctrl-C is how a follower stops

    follow = _following(shell, True)
    server = int(str(shell.status()["pid"]))
    children = _children(server)
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)
    _out, err = follow.communicate(timeout=60)
    assert follow.returncode == 1
    assert "ended while it ran this command" in err
    assert shell.status()["running"] is True  # the warm process itself goes on


def _following(shell: Shell, warm_ok: bool) -> subprocess.Popen[str]:
    """``events --follow`` from the store's head, started and waiting."""
    head = json.loads(shell("events", "--json", warm_ok=False).stdout.splitlines()[-1])["position"]
    env = {**shell.env, warm.SWITCH_ENV: "1" if warm_ok else "0"}
    follow = subprocess.Popen(
        [PROGRAM, "events", "--follow", "--json", "--after", str(head), "--poll", "0.1"],
        env=env, cwd=shell.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_at_a_terminal,
    )  # fmt: skip
    assert follow.stderr is not None
    follow.stderr.readline()  # "following events …"
    return follow


def _as_at_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background (``pytest &`` from
    a script) ignores SIGINT, and its children inherit that, so they never saw the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_socket_in_a_folder_others_may_enter_is_never_used(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """Another user's socket would receive our terminal and our environment (the key):
    a folder not ours alone is refused by both sides."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "warm.sock"
    trap = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    trap.bind(str(path))
    trap.listen(1)
    trap.settimeout(0.5)
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(path)}
    here = Shell(env, tmp_path)
    listed = here("staff", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)  # answered cold
    typed = at_a_terminal([PROGRAM, "staff", "list"], {**env, warm.SWITCH_ENV: "1"}, tmp_path)
    assert typed[0] == 0  # answered cold, and started nothing in that folder
    assert sorted(p.name for p in folder.iterdir()) == ["warm.sock"]
    with pytest.raises(TimeoutError):
        trap.accept()  # nobody knocked
    trap.close()
    path.unlink()
    started = here("warm", "start")
    assert started.returncode == 1 and "0700" in started.stderr
    assert not path.exists()


def test_start_status_stop_and_idle_end(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(folder / "warm.sock")}
    here = Shell(env, tmp_path)
    assert here.status()["running"] is False
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0
    assert folder.stat().st_mode & 0o777 == 0o700  # made private
    again = json.loads(here("warm", "start", "--json").stdout)
    assert again["started"] is False  # one per user: the running one is kept
    assert here.status()["running"] is True
    stopped = here("warm", "stop", "--json")
    assert json.loads(stopped.stdout)["stopped"] is True
    assert here.status()["running"] is False

    assert here("warm", "start", "--idle", "0.001").returncode == 0  # 3.6 s
    deadline = time.monotonic() + 60
    while here.status()["running"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert here.status()["running"] is False
    assert not (folder / "warm.sock").exists()


def test_with_the_switch_off_start_is_refused_and_status_and_stop_still_reach_it(
    cli: Cli, tmp_path: Path
) -> None:
    """``AIDFLOW_WARM=0`` keeps commands from the warm process. ``warm start`` under it
    waited its whole minute for an answer it could never take, then said the process did
    not start (and killed the one it had started); ``status`` said none ran while one did,
    and ``stop`` could not end it."""
    folder = tmp_path / "run"
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(folder / "warm.sock")}
    here = Shell(env, tmp_path)
    refused = here("warm", "start", "--idle", BACKSTOP, warm_ok=False)
    assert refused.returncode == 1 and "AIDFLOW_WARM=0" in refused.stderr, refused.stderr
    told = here("--json", "warm", "start", "--idle", BACKSTOP, warm_ok=False)
    assert json.loads(told.stderr)["error"]["code"] == "warm_unavailable", told.stderr
    # in Chinese it was told as a wrong command line ("命令行有误"), which it is not
    zh = here("--lang", "zh", "warm", "start", "--idle", BACKSTOP, warm_ok=False)
    assert zh.returncode == 1 and "常驻进程不可用" in zh.stderr, zh.stderr
    assert "命令行有误" not in zh.stderr, zh.stderr
    assert not folder.exists()  # refused before anything was made or started
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0
    status = json.loads(here("warm", "status", "--json", warm_ok=False).stdout)
    assert status["running"] is True
    stopped = here("warm", "stop", "--json", warm_ok=False)
    assert json.loads(stopped.stdout)["stopped"] is True
    assert here.status()["running"] is False


@pytest.mark.parametrize(
    ("value", "off"),
    [
        ("0", True),
        ("０", True),
        ("0\u200b", True),
        (" off ", True),
        ("False", True),
        ("NO", True),
        ("1", False),
        ("", False),
        ("on", False),
        ("00", False),
    ],
)
def test_the_switch_reads_as_a_person_would_type_it(
    monkeypatch: pytest.MonkeyPatch, value: str, off: bool
) -> None:
    """A full-width ０ (typed with a Chinese input method), a zero-width space or ``off``
    switched nothing off."""
    monkeypatch.setenv(warm.SWITCH_ENV, value)
    assert warm.switched_off() is off


def test_two_messages_that_arrive_in_one_read_are_two_messages() -> None:
    """A quick command's "started" and "exit" can reach the program in one read (it failed
    once in CI: `aidflow --help` through the warm process exited 1)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b'{"answer": "started", "pid": 7}\n{"answer": "exit", "status": 0}\n')
        theirs.shutdown(socket.SHUT_WR)
        read = warm.Reader(ours)
        assert [read(), read(), read()] == [
            {"answer": "started", "pid": 7},
            {"answer": "exit", "status": 0},
            None,
        ]


def test_a_request_sent_whole_is_not_taken_back_when_the_command_already_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a loaded machine the warm process can read a request, run a quick command and end
    it before the program's send returns; the send then wrote zero bytes more into a closed
    socket (EPIPE), the program took the command for not started, and ran it again here
    (a usage error printed twice, seen in CI; a write would have been recorded twice)."""
    ours, theirs = socket.socketpair()
    real = socket.send_fds

    def sent_then_answered_and_closed(sock: socket.socket, *args: Any) -> int:
        sent = real(sock, *args)
        assert theirs.recv(1 << 16).endswith(b"\n")  # the whole request
        theirs.sendall(b'{"answer": "started", "pid": 7}\n{"answer": "exit", "status": 2}\n')
        theirs.close()  # the command ended, its process with it
        return sent

    monkeypatch.setattr(socket, "send_fds", sent_then_answered_and_closed)
    with ours:
        warm.send(ours, {"ask": "run", "args": ["case", "approve"]}, [0, 1, 2])
        read = warm.Reader(ours)
        assert [read(), read()] == [
            {"answer": "started", "pid": 7},
            {"answer": "exit", "status": 2},
        ]


def test_another_user_cannot_reach_the_warm_process(cli: Cli, tmp_path: Path) -> None:
    """Another OS user (here: nobody) cannot even connect: the socket's folder, made by
    ``warm start`` in the shared /tmp, is the user's alone."""
    python = Path("/usr/bin/python3")  # one that nobody may run (the venv's lies under /work)
    if os.geteuid() != 0 or not python.exists():
        pytest.skip("changing to another user needs root and a system Python (CI has both)")
    folder = Path(f"/tmp/aidflow-test-{uuid.uuid4().hex[:12]}")
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(folder / "warm.sock")}
    here = Shell(env, tmp_path)
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0
    try:
        probe = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "try:\n"
            "    s.connect(sys.argv[1])\n"
            "    print('connected')\n"
            "except PermissionError:\n"
            "    print('refused')\n"
        )
        nobody = subprocess.run(
            [str(python), "-c", probe, str(folder / "warm.sock")],
            env={"PATH": "/usr/bin:/bin"}, cwd="/", capture_output=True, text=True, timeout=60,
            preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)),
        )  # fmt: skip
        assert nobody.stdout.split() == ["refused"], nobody.stderr
        assert here.status()["served"] == 0
    finally:
        here("warm", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("idle", ["nan", "inf", "-1", "1e999", "1\x07"])
def test_an_idle_time_that_is_no_number_of_hours_is_one_usage_line(
    cli: Cli, tmp_path: Path, idle: str
) -> None:
    env = {**os.environ, "AIDFLOW_DB": cli.url, warm.SOCKET_ENV: str(tmp_path / "r" / "w.sock")}
    started = Shell(env, tmp_path)("warm", "start", "--idle", idle)
    assert started.returncode == 2 and started.stderr.count("\n") == 1, started.stderr
    assert not (tmp_path / "r").exists()  # nothing started, nothing made


_AFTER_PRELOAD = """
import contextlib, io, json, sys
from aidflow.warm.server import preload
preload()
from aidflow.cli import main
before, said = set(sys.modules), []
for args in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as e:
        try:
            main.main(args=args, prog_name="aidflow")
        except SystemExit as ended:
            said.append([ended.code or 0, e.getvalue()])
new = sorted(m for m in set(sys.modules) - before if not m.startswith("encodings."))
print(json.dumps({"imported": new, "said": said}))
"""


def test_a_command_in_a_fork_imports_nothing_the_warm_process_had_not(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """What a fork imports it imports at every command (75 ms for ``wcwidth``, the widths of
    a table, before it was preloaded; 20 ms for the store's SQLAlchemy dialect)."""
    commands = [
        ["case", "show", world["case"]],
        ["--lang", "zh", "case", "list"],
        ["fund", "list"],
        ["queue"],
        ["audit", "check"],
        ["audit", "ledger", "-o", str(tmp_path / "ledger.xlsx")],
        ["--actor", "cashier", "fund", "deposit", world["gov"], "--amount", "1",
         "--source", "s", "--receipt", "PRELOAD-1"],
    ]  # fmt: skip
    env = {**os.environ, "AIDFLOW_DB": cli.url, "AIDFLOW_ACTOR": "clerk", warm.SWITCH_ENV: "0"}
    run = subprocess.run(
        [sys.executable, "-c", _AFTER_PRELOAD, json.dumps(commands)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert [status for status, _ in answer["said"]] == [0] * len(commands), answer["said"]
    assert (tmp_path / "ledger.xlsx").exists()
    assert answer["imported"] == []


# -- started by the program itself, at a terminal ------------------------------------------------


def _servers(path: Path) -> list[int]:
    """Warm processes answering (or about to answer) on ``path``: their pids."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"aidflow.warm.server" in argv and str(path).encode() in argv:
                found.append(int(entry.name))
    return found


@pytest.fixture
def typist(cli: Cli, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A person's environment, the switch unset as on a new machine; every warm process
    started on its socket is ended with the test (one started by itself idles for an hour)."""
    env = {
        **{k: v for k, v in os.environ.items() if k != warm.SWITCH_ENV},
        "AIDFLOW_DB": cli.url,
        warm.SOCKET_ENV: str(tmp_path / "run" / "warm.sock"),
        "AIDFLOW_ACTOR": "clerk",
    }
    yield env
    for pid in _servers(tmp_path / "run" / "warm.sock"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _answering(here: Shell, seconds: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while not (status := here.status())["running"] and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


def test_a_command_typed_at_a_terminal_starts_the_warm_process_for_the_next(
    typist: dict[str, str], world: dict[str, str], tmp_path: Path
) -> None:
    """The clerk never types ``warm start``: the first command at a terminal runs cold and
    leaves a warm process behind; the next runs in it, with the same answer."""
    here = Shell(typist, tmp_path)
    assert here.status()["running"] is False
    show = [PROGRAM, "case", "show", world["case"]]
    cold = at_a_terminal(show, {**typist, warm.SWITCH_ENV: "0"}, tmp_path)
    assert here.status()["running"] is False  # switched off: none started
    first = at_a_terminal(show, typist, tmp_path)
    status = _answering(here)
    assert status["running"] is True and status["served"] == 0  # the first ran cold
    assert status["idle_s"] == AT_A_TERMINAL_IDLE_S
    second = at_a_terminal(show, typist, tmp_path)
    assert _served(here) == 1
    assert cold == first == second
    assert cold[0] == 0 and world["case"][:8] in cold[1]


def test_no_terminal_no_warm_process(typist: dict[str, str], tmp_path: Path) -> None:
    """A script, a pipe or a scheduled job starts none: its output goes to a pipe, or it
    reads no terminal. (One started is spawned before the command runs: it would be here.)"""
    here = Shell(typist, tmp_path)
    piped = subprocess.run(
        [PROGRAM, "staff", "list"], env=typist, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert piped.returncode == 0
    no_keyboard = at_a_terminal([PROGRAM, "staff", "list"], typist, tmp_path, keyboard=False)
    assert no_keyboard[0] == 0
    assert _servers(tmp_path / "run" / "warm.sock") == []
    assert here.status()["running"] is False


def test_commands_typed_at_once_leave_one_warm_process(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """Each of three commands typed at once starts one; one stays. Before the socket's lock,
    each bound the socket anew and left the others serving no one for an hour."""
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: at_a_terminal([PROGRAM, "staff", "list"], typist, tmp_path), range(3)
            )
        )
    assert [status for status, _ in answers] == [0, 0, 0]
    status = _answering(Shell(typist, tmp_path))
    deadline = time.monotonic() + 60
    while len(_servers(tmp_path / "run" / "warm.sock")) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _servers(tmp_path / "run" / "warm.sock") == [status["pid"]]


def test_a_warm_process_holds_neither_key_nor_address_in_its_environment(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """It runs for hours; the key, the store's address (a password with it) and whatever else
    the starting shell held stay out of ``/proc/PID/environ``: each command brings its own."""
    secrets = {"AIDFLOW_KEY", "AIDFLOW_DB", "PGPASSWORD", "AIDFLOW_ACTOR"}
    env = {**typist, "PGPASSWORD": "hunter2", "AIDFLOW_KEY": typist.get("AIDFLOW_KEY", "k")}
    here = Shell(env, tmp_path)
    at_a_terminal([PROGRAM, "--help"], env, tmp_path)  # started by itself
    by_itself = _environment(int(str(_answering(here)["pid"])))
    assert here("warm", "stop").returncode == 0
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0
    try:
        by_hand = _environment(int(str(here.status()["pid"])))
        assert here("case", "list").returncode == 0  # each command still brings its own
    finally:
        here("warm", "stop")
    for names in (by_itself, by_hand):
        assert not names & secrets, names
        assert "PATH" in names


def _environment(pid: int) -> set[str]:
    """The names in a process's environment as it started."""
    held = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return {entry.split(b"=", 1)[0].decode() for entry in held if entry}


def test_at_a_terminal_a_warm_process_of_other_code_gives_way_to_the_current_one(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """After an upgrade: the old warm process answers ``stale`` and ends, the command runs
    cold, and a warm process of the installed code takes its place."""
    copy = tmp_path / "other"
    shutil.copytree(
        Path(warm.__file__).parent.parent,
        copy / "aidflow",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    old = Shell({**typist, "PYTHONPATH": str(copy)}, tmp_path)
    assert old("warm", "start", "--idle", BACKSTOP).returncode == 0
    before = int(str(old.status()["pid"]))
    status, _ = at_a_terminal([PROGRAM, "staff", "list"], typist, tmp_path)
    assert status == 0
    here = Shell(typist, tmp_path)
    now = _answering(here)
    assert now["running"] is True and now["current"] is True and now["pid"] != before


def test_a_warm_process_killed_is_replaced_by_the_next_command_at_a_terminal(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """kill -9 leaves its socket behind and takes its lock with it: the next command runs
    cold (nobody answers the socket) and a new warm process binds it."""
    here = Shell(typist, tmp_path)
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0
    killed = int(str(here.status()["pid"]))
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while killed in _servers(tmp_path / "run" / "warm.sock") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "run" / "warm.sock").exists()
    status, said = at_a_terminal([PROGRAM, "staff", "list"], typist, tmp_path)
    assert status == 0, said
    now = _answering(here)
    assert now["running"] is True and now["pid"] != killed
    assert _served(here) == 0  # the command ran cold


def test_a_command_still_running_does_not_hold_back_the_next_warm_process(
    shell: Shell,
) -> None:
    """A fork inherits the socket's lock with every other descriptor; a command that follows
    events for hours kept it after its warm process was stopped, and no new one could start
    (each waited its minute for an answer). Every fork closes it first."""
    follow = _following(shell, True)  # served by the warm process, still running
    try:
        assert shell("warm", "stop").returncode == 0
        started = shell("warm", "start", "--json", "--idle", BACKSTOP)
        assert started.returncode == 0, started.stderr
        assert json.loads(started.stdout)["started"] is True
        assert follow.poll() is None  # the command went on meanwhile
    finally:
        follow.send_signal(signal.SIGINT)
        follow.communicate(timeout=60)


def test_warm_start_lengthens_the_idle_hour_of_one_started_at_a_terminal(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """The clerk who asks for a warm process by hand (8 hours) after a command at a terminal
    started one (an hour) gets the longer time, never a shorter one; nor does a number that
    is none reach it."""
    at_a_terminal([PROGRAM, "staff", "list"], typist, tmp_path)
    here = Shell(typist, tmp_path)
    first = _answering(here)
    assert first["idle_s"] == AT_A_TERMINAL_IDLE_S
    asked = here("warm", "start", "--json", "--idle", "2")
    answer = json.loads(asked.stdout)
    assert asked.returncode == 0 and answer["started"] is False and answer["pid"] == first["pid"]
    assert answer["idle_s"] == here.status()["idle_s"] == 7200
    assert "7200" not in here("warm", "start", "--idle", "2").stdout  # said in hours: "2 h"
    assert here("warm", "start", "--idle", "0.5").returncode == 0
    for seconds in (-1, 0, "9999999", True, None, 1e400):
        conn = warm.connect(tmp_path / "run" / "warm.sock", for_commands=False)
        assert conn is not None
        with conn:
            warm.send(conn, {"ask": "idle", "seconds": seconds})
            assert warm.Reader(conn)() is not None
    assert here.status()["idle_s"] == 7200


def test_a_package_in_the_folder_a_command_is_typed_in_is_never_run(
    typist: dict[str, str], tmp_path: Path
) -> None:
    """``python -m`` puts the working folder first on the path: a warm process started in a
    folder holding an ``aidflow`` package (a source checkout; one planted in a shared folder of
    spreadsheets) ran that package, as the clerk. It ran other code than the installed one, so
    it also answered ``stale`` to every command and was started again at each."""
    shared = tmp_path / "shared"
    planted = shared / "aidflow" / "warm"
    planted.mkdir(parents=True)
    marker = tmp_path / "ran"
    (shared / "aidflow" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (planted / "__init__.py").write_text("")
    (planted / "server.py").write_text("")
    status, said = at_a_terminal([PROGRAM, "staff", "list"], typist, shared)
    assert status == 0, said
    here = Shell(typist, shared)
    now = _answering(here)
    assert now["running"] is True and now["current"] is True
    assert here("warm", "stop").returncode == 0
    assert here("warm", "start", "--idle", BACKSTOP).returncode == 0  # by hand, same folder
    assert here.status()["current"] is True
    assert not marker.exists()
