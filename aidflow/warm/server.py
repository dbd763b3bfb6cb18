"""The warm process (常驻进程): the engine imported once, each command run in a fork of it.

For each command it forks: the child takes the caller's terminal, working directory,
environment and umask and runs :func:`aidflow.cli.main` on the caller's arguments — the very
code a cold start runs — then reports the exit status. The parent never opens a store, holds
no connection and keeps nothing of a command (a fork leaves no state behind), so two
commands in a row behave as two processes would. Started by ``aidflow warm start``
(``python -m aidflow.warm.server SOCKET IDLE_SECONDS``), or by the program itself when a
command is typed at a terminal and none answers (:func:`aidflow.warm.wire.start`).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, NoReturn

from aidflow.i18n import messages as M
from aidflow.render import line
from aidflow.warm import wire as warm

PRELOAD = (
    "aidflow.cli",
    "aidflow.office",
    "aidflow.sheets",
    "aidflow.report",
    "aidflow.imports.steps",
    "psycopg",
    "openpyxl",
    "wcwidth",  # a table's widths: imported at its first row, 75 ms of every warm command
    "sqlalchemy.dialects.sqlite.pysqlite",  # a store's dialect: imported by its first engine
    "sqlalchemy.dialects.postgresql.psycopg",
    "eventsourcing.postgres",  # a PostgreSQL store's recorders (and psycopg_pool)
    "aidflow.store",
    "openpyxl.packaging.extended",  # a workbook's properties: imported when one is written
    "difflib",  # click's close matches to an option name, imported when it looks for them
)
"""What the warm process imports before its first command: what a command would import
(and every command of :data:`aidflow.cli.COMMANDS`). What a fork imports is imported again
in every fork: ``tests/e2e/test_warm.py`` runs commands after :func:`preload` and fails on a
module they import."""


@dataclass
class _Server:
    """The warm process's own state: what ``warm status`` reports."""

    path: Path
    idle_s: float
    lock: int
    """The socket's lock (:func:`_alone`): closed in every fork, which would otherwise keep
    it after this process ended (a command following events for hours) and hold every new
    warm process back."""
    code: str = field(default_factory=warm.fingerprint)
    since: float = field(default_factory=time.time)
    served: int = 0
    last: float = field(default_factory=time.monotonic)


def _listen(path: Path) -> socket.socket:
    """Bind the socket in its folder, which :func:`_alone` made private."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a process that is gone (the caller pinged first)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def _alone(path: Path) -> int | None:
    """This socket's lock (beside it), held for the warm process's life; None when another
    warm process answers there first. Two commands at a terminal at once each start one: the
    second bound the socket anew and left the first serving no one until its idle end; now
    it waits for the lock — the first's code may be ending, stale — and steps aside as soon
    as the first answers."""
    import fcntl

    if not warm.make_private_folder(path):
        raise SystemExit(line(M.WARM_NOT_PRIVATE, folder=path.parent))
    held = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + warm.STARTUP_S
    while time.monotonic() < deadline:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return held
        except BlockingIOError:
            if warm.ping(path) is not None:
                break
            time.sleep(0.05)
    os.close(held)
    return None


def serve(path: Path, idle_s: float) -> None:
    """Answer commands on ``path`` until stopped, idle for ``idle_s``, or its code is stale;
    at once when another warm process answers there."""
    held = _alone(path)
    if held is None:
        return
    try:
        _serve(path, idle_s, held)
    finally:
        os.close(held)


def preload() -> None:
    """Import what commands import (:data:`PRELOAD`, and every command's module, which a cold
    run imports on first use): here, once, and never again in a fork."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            import_module(name)
    from aidflow.cli import main

    main.load_all()


def _serve(path: Path, idle_s: float, lock: int) -> None:
    preload()
    server = _Server(path, idle_s, lock)
    listener = _listen(path)
    mine = path.stat().st_ino
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        while (left := server.last + idle_s - time.monotonic()) > 0:
            listener.settimeout(left)  # idle counts from the last command, not from a ping
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            conn.settimeout(10)
            with conn:
                if not _answer(server, listener, conn):
                    return
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_ino == mine:  # not a socket another warm process bound since
                path.unlink()


def _answer(server: _Server, listener: socket.socket, conn: socket.socket) -> bool:
    """Answer one caller; False when the warm process should end."""
    if warm.peer_uid(conn) != os.getuid():
        return True
    try:
        message, fds = warm.receive(conn, fds=3)
    except (OSError, ValueError):
        return True
    try:
        ask = (message or {}).get("ask")
        if ask == "ping":
            warm.send(conn, _status(server))
        elif ask == "stop":
            warm.send(conn, {"answer": "stopping", "pid": os.getpid()})
            return False
        elif ask == "idle":  # `warm start --idle` finding one running: never shortened
            seconds = (message or {}).get("seconds")
            if (
                isinstance(seconds, int | float)
                and not isinstance(seconds, bool)
                and math.isfinite(seconds)
                and seconds > 0
            ):
                server.idle_s = max(server.idle_s, float(seconds))
            warm.send(conn, _status(server))
        elif ask == "run" and message is not None and len(fds) == 3:
            if message.get("fingerprint") != server.code:
                warm.send(conn, {"answer": "stale"})
                return False
            conn.settimeout(None)
            if os.fork() == 0:
                _child(server, listener, conn, message, fds)
            server.served += 1
            server.last = time.monotonic()
    except OSError:
        pass
    finally:
        for fd in fds:
            os.close(fd)
    return True


def _status(server: _Server) -> dict[str, Any]:
    return {
        "answer": "here",
        "pid": os.getpid(),
        "socket": str(server.path),
        "since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(server.since)),
        "served": server.served,
        "fingerprint": server.code,
        "idle_s": server.idle_s,
    }


def _child(
    server: _Server,
    listener: socket.socket,
    conn: socket.socket,
    message: dict[str, Any],
    fds: list[int],
) -> NoReturn:
    """Become the caller's command: its terminal, folder, environment; never returns."""
    status = 1
    try:
        listener.close()
        os.close(server.lock)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for number, fd in enumerate(fds):
            os.dup2(fd, number)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        os.chdir(message["cwd"])
        os.umask(int(message["umask"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in message["env"].items()})
        time.tzset()
        random.seed()  # a fork would repeat the parent's random sequence (retry jitter)
        _standard_streams()
        warm.send(conn, {"answer": "started", "pid": os.getpid()})
    except BaseException:
        os._exit(1)
    try:
        status = _run([str(a) for a in message["args"]])
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(OSError):
            warm.send(conn, {"answer": "exit", "status": status})
        os._exit(status)


def _standard_streams() -> None:
    """Text streams over the caller's descriptors, as a new interpreter would make them."""
    encoding = (os.environ.get("PYTHONIOENCODING") or "").split(":")[0] or sys.stdout.encoding
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding=encoding, line_buffering=os.isatty(1)
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
    )


def _run(args: list[str]) -> int:
    """The command line's own run, its exit status as a process would have it."""
    from aidflow.cli import main

    sys.argv = ["aidflow", *args]
    try:
        main.main(args=args, prog_name="aidflow")
    except SystemExit as ended:
        if ended.code is None or isinstance(ended.code, int):
            return ended.code or 0
        print(ended.code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    serve(Path(sys.argv[1]), float(sys.argv[2]))
