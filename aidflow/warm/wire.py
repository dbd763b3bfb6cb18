"""The warm process's wire: where its socket is, who may use it, and one message each way.

Shared by the program (:mod:`aidflow.warm`) and the warm process (:mod:`aidflow.cli.warm`);
standard library only, so that the program starts in a few milliseconds: ``socket`` and
``json`` are imported when there is a warm process to talk to (``AIDFLOW_WARM=0``, or no
socket folder, imports neither).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

SOCKET_ENV = "AIDFLOW_WARM_SOCKET"
SWITCH_ENV = "AIDFLOW_WARM"
_CRED = "3i"
"""``SO_PEERCRED``'s answer: pid, uid, gid."""


def socket_path() -> Path:
    """``AIDFLOW_WARM_SOCKET``, else ``$XDG_RUNTIME_DIR/aidflow/warm.sock``, else
    ``/tmp/aidflow-<uid>/warm.sock``."""
    given = os.environ.get(SOCKET_ENV)
    if given:
        return Path(given)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    # /tmp is shared: the folder is used only when it is this user's alone (private_folder)
    folder = Path(runtime) / "aidflow" if runtime else Path(f"/tmp/aidflow-{os.getuid()}")  # noqa: S108
    return folder / "warm.sock"


def make_private_folder(path: Path) -> bool:
    """Make the socket's folder, this user's alone, if it is missing; whether it is so."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return private_folder(path)


def private_folder(path: Path) -> bool:
    """Whether the socket's folder is this user's alone: another user could otherwise put a
    socket there and receive our terminal and our environment (the master key with it)."""
    try:
        info = path.parent.lstat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and (info.st_mode & 0o777) == 0o700 and path.parent.is_dir()


def fingerprint() -> str:
    """The code a warm process runs: the interpreter, and every file of the package with its
    size and time. A warm process answers only a caller whose fingerprint is its own."""
    package = Path(__file__).parent.parent
    seen: list[str] = [sys.executable, str(package)]
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".mo")):
                info = os.stat(os.path.join(folder, name))
                seen.append(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}")
    text = "\n".join(seen).encode()
    import zlib  # here: a program that finds no warm process has no use for it

    return f"{zlib.crc32(text):08x}{len(text):x}"


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket."""
    import socket
    import struct

    uid: int
    _pid, uid, _gid = struct.unpack(
        _CRED, conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(_CRED))
    )
    return uid


def send(conn: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One message: a JSON line, with file descriptors beside its first byte."""
    import json
    import socket

    data = json.dumps(message).encode() + b"\n"
    if fds:
        sent = socket.send_fds(conn, [data], fds)
        data = data[sent:]
    if data:  # sent whole: nothing more, not even zero bytes (EPIPE once the command ended)
        conn.sendall(data)


class Reader:
    """The messages of one connection, one at a time: two sent close together (a quick
    command's "started" and "exit") may arrive in one read, and each is still one message."""

    def __init__(self, conn: socket.socket) -> None:
        self._stream = conn.makefile("rb")

    def __call__(self) -> dict[str, Any] | None:
        """The next message; None when the other end closed first or sent no message."""
        import json

        try:
            line = self._stream.readline()
            found: dict[str, Any] | None = json.loads(line) if line.endswith(b"\n") else None
        except (OSError, ValueError):
            return None
        return found


def receive(conn: socket.socket, *, fds: int) -> tuple[dict[str, Any] | None, list[int]]:
    """A caller's one message and the descriptors sent with it (None: it closed first); the
    answers coming back are read by :class:`Reader`."""
    import json
    import socket

    data, got, _flags, _addr = socket.recv_fds(conn, 1 << 16, fds)
    if not data:
        return None, got
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk:
            return None, got
        data += chunk
    return json.loads(data), got


STARTUP_S = 60.0
"""How long ``warm start`` waits for a new warm process to answer, and a new one for another
holding the socket's lock to answer or end."""

SERVER_ENVIRONMENT = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"}
)
"""What of the starting shell's environment a warm process keeps (besides ``LC_*`` and
``PYTHON*``): what finding Python and the package needs. Never the master key, the store's
address or a password: each command brings its own environment, and a process left running
for hours should not hold one in ``/proc/PID/environ``."""


def server_environment() -> dict[str, str]:
    """The starting shell's environment, cut to :data:`SERVER_ENVIRONMENT`."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in SERVER_ENVIRONMENT or name.startswith(("LC_", "PYTHON"))
    }


def start(path: Path, idle_s: float) -> int:
    """Start a warm process answering on ``path`` (its folder private: the caller made it
    so), in a session of its own, its output in the log beside the socket; its pid.

    Shared by ``aidflow warm start`` and the program's own start at a terminal. Spawned
    (``posix_spawn``), not forked: this program imports nothing it would need for that."""
    log = str(path.with_suffix(".log"))
    return os.posix_spawn(
        sys.executable,
        # -P: the folder the command was typed in is not on the path; a folder holding an
        # `aidflow` (a source checkout, or one planted in a shared folder) was run instead
        [sys.executable, "-P", "-m", "aidflow.warm.server", str(path), repr(float(idle_s))],
        server_environment(),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


_OFF = frozenset({"0", "off", "false", "no"})


def switched_off() -> bool:
    """``AIDFLOW_WARM=0`` (or ``off``, ``false``, ``no``; a full-width ``０`` typed with a
    Chinese input method, or one with a zero-width space, too): commands here run without a
    warm process."""
    value = os.environ.get(SWITCH_ENV, "")
    if value.isascii():
        return value.strip().lower() in _OFF
    # compared as names are (only for such a value: this client imports little)
    from aidflow.domain.canonical import same_person, visible

    return same_person(visible(value)) in _OFF


def connect(path: Path, timeout: float = 2.0, *, for_commands: bool = True) -> socket.socket | None:
    """A connection to this user's warm process, or None (none answers, or not ours).

    ``for_commands``: to hand it a command, which ``AIDFLOW_WARM=0`` forbids; ``aidflow
    warm status`` and ``stop`` reach the process whatever the switch says (with it off they
    said none ran, and could not stop one)."""
    if (for_commands and switched_off()) or not private_folder(path):
        return None
    import socket

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(str(path))
        if peer_uid(conn) == os.getuid():
            conn.settimeout(None)
            return conn
    except OSError:
        pass
    conn.close()
    return None


def ping(path: Path) -> dict[str, Any] | None:
    """What this user's warm process says of itself, or None when none answers."""
    return ask(path, {"ask": "ping"})


def ask(path: Path, message: dict[str, Any]) -> dict[str, Any] | None:
    """This user's warm process's answer to ``message``, or None when none answers."""
    conn = connect(path, for_commands=False)
    if conn is None:
        return None
    with conn:
        try:
            send(conn, message)
        except OSError:
            return None
        return Reader(conn)()
