"""What used to be an ``internal error:`` one-liner is a named error with what to do
(issue 21 §8): an ``-o`` that cannot be written, a write lock held by another process past
the wait (SQLite's, and PostgreSQL's on the events table). Each leaves the store as it was, and says so in Chinese too."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aidflow import AidFlow, Office
from aidflow.cli import main
from aidflow.config import parse_url
from aidflow.domain.errors import InvalidInput
from aidflow.gate import EVENTS_TABLE
from aidflow.http.app import create_app
from tests.builders import register_staff, verified
from tests.e2e.conftest import Cli, registered_cli


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return registered_cli(f"sqlite:///{tmp_path / 'office.db'}?busy_timeout=1")


@pytest.mark.parametrize(
    ("where", "why", "zh"),
    [
        ("no-such-folder/cases.csv", "the folder does not exist", "文件夹不存在"),
        ("x" * 300 + ".csv", "the name is too long", "文件名过长"),
    ],
)
def test_an_output_that_cannot_be_written_is_named_with_what_to_do(
    sqlite_cli: Cli, tmp_path: Path, where: str, why: str, zh: str
) -> None:
    target = tmp_path / where
    before = sqlite_cli.head()
    refused = sqlite_cli("--json", "audit", "journal", "-o", str(target), code=1)
    error = json.loads(refused.stderr)["error"]
    assert error == {
        "code": "file_problem",
        "message": f"cannot use the file {target}: {why}; nothing in the store changed "
        "(check the path, or give another -o)",
        "ids": {},
    }
    chinese = sqlite_cli("--lang", "zh", "audit", "journal", "-o", str(target), code=1)
    assert f"无法使用文件 {target}：{zh}" in chinese.stderr
    assert sqlite_cli.head() == before and target.name not in {p.name for p in tmp_path.iterdir()}


@pytest.fixture
def busy_cli(store_url: str) -> Cli:
    """The CLI over a fresh store on each backend, waiting 1 s for a held write lock."""
    return registered_cli(f"{store_url}{'&' if '?' in store_url else '?'}busy_timeout=1")


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another process holding the store's write lock (a backup, a stuck writer): SQLite's
    file lock, or PostgreSQL's lock on the events table, which every append takes."""
    store = parse_url(url)
    if store.backend == "sqlite":
        holder = sqlite3.connect(store.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with store.connect() as conn, conn.transaction(force_rollback=True):
        conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
        yield


def test_a_write_lock_held_past_the_wait_is_store_busy_and_the_retry_records(
    busy_cli: Cli,
) -> None:
    """Another process holds the write lock: the command is refused with ``store_busy`` once
    its wait (here ``?busy_timeout=1``) runs out, nothing is written, and the same command
    given again after the lock is gone records. On PostgreSQL this was ten lock waits (the
    event library's retries) and then a raw driver error, an ``internal_error``."""
    opened = ("fund", "open", "--name", "Temporary assistance", "--kind", "government")
    before = busy_cli.head()
    with write_lock_held(busy_cli.url):
        refused = busy_cli("--json", *opened, actor="cashier", code=1)
        assert json.loads(refused.stderr)["error"]["code"] == "store_busy", refused.stderr
        chinese = busy_cli("--lang", "zh", *opened, actor="cashier", code=1)
        assert "数据库正忙" in chinese.stderr
    assert busy_cli.head() == before
    busy_cli(*opened, actor="cashier")
    assert busy_cli.head() > before


@pytest.mark.parametrize("value", ["0", "301", "1.5", "soon", "３"])
@pytest.mark.parametrize("store", ["sqlite:///x.db", "postgresql://127.0.0.1/office"])
def test_the_busy_wait_is_whole_seconds_within_bounds(store: str, value: str) -> None:
    with pytest.raises(InvalidInput, match="busy_timeout must be a whole number of seconds"):
        parse_url(f"{store}?busy_timeout={value}")


def test_over_http_a_held_write_lock_is_503_store_busy(busy_cli: Cli) -> None:
    office = Office.open(busy_cli.url)
    token = office.issue_token("cashier", actor="admin").token
    before = busy_cli.head()
    try:
        with TestClient(create_app(busy_cli.url)) as http, write_lock_held(busy_cli.url):
            r = http.post(
                "/commands/open-fund",
                json={"name": "Temporary assistance", "kind": "government"},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        office.close()
    assert (r.status_code, r.json()["error"]["code"]) == (503, "store_busy")
    assert "SQL" not in r.text and busy_cli.head() == before


@pytest.mark.postgres
def test_a_question_meeting_views_another_session_holds_is_store_busy(reused_database: Any) -> None:
    """A session holds the views' positions (a follower stopped mid-page, a DBA's open
    transaction): a question that has events to catch up waits ``busy_timeout`` and is
    refused ``store_busy`` on every face. It waited for ever, and held the HTTP service's
    one catch-up, so every later question of the service waited behind it."""
    url = reused_database.empty_store() + "?busy_timeout=1"
    flow = AidFlow.open(url)
    register_staff(flow)
    with Office.open(url) as office:  # the views made and caught up
        token = office.issue_token("visitor", actor="admin").token
    busy = Cli(url)
    with TestClient(create_app(url)) as http:  # the service's views caught up at its start
        case = str(verified(flow, 1))  # recorded since: the next question catches up first
        with parse_url(url).connect() as holder:
            holder.execute("SET idle_in_transaction_session_timeout = '20s'")  # fails, never hangs
            holder.execute("BEGIN")
            holder.execute("SELECT * FROM aidflow_tracking FOR UPDATE")
            refused = busy("--json", "case", "list", actor="visitor", code=1)
            asked = http.get(f"/cases/{case}", headers={"Authorization": f"Bearer {token}"})
            holder.execute("ROLLBACK")
    flow.close()
    assert json.loads(refused.stderr)["error"]["code"] == "store_busy", refused.stderr
    assert (asked.status_code, asked.json()["error"]["code"]) == (503, "store_busy"), asked.text
    assert busy.json("case", "show", case, actor="visitor")["status"] == "verified"


@pytest.fixture
def full_disk(tmp_path: Path) -> Callable[[str], Path]:
    """An ``-o`` whose writes fail with "no space left on device": a link to ``/dev/full``
    (a path with the suffix a command asks for)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")

    def link(name: str) -> Path:
        path = tmp_path / name
        path.symlink_to("/dev/full")
        return path

    return link


@pytest.mark.parametrize(
    "command",
    [("audit", "journal"), ("audit", "ledger"), ("audit", "report"), ("case", "list")],
)
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_full_disk_is_named_and_the_device_is_left_alone(
    sqlite_cli: Cli, full_disk: Callable[[str], Path], command: tuple[str, ...], suffix: str
) -> None:
    """Writing to a full disk was ``internal error: OSError: [Errno 28]`` (a write's error
    names no file), and an .xlsx added a zip's traceback from the garbage collector."""
    target = full_disk(f"out{suffix}")
    refused = sqlite_cli(*command, "-o", str(target), code=1)
    assert refused.stderr == (
        f"error: cannot use the file {target}: the disk is full; nothing in the store changed "
        "(check the path, or give another -o)\n"
    )
    assert target.is_symlink() and Path("/dev/full").is_char_device()  # not replaced, not removed


def _under_a_file_size_limit(program: str) -> str:
    """What ``program`` prints when no file it writes may pass 40 bytes (as a full disk
    would stop it: the write fails part way)."""
    limited = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (40, 40))\n"
        "from aidflow.cli.failures import failure\n"
        "try:\n" + "".join(f"    {line}\n" for line in program.strip().splitlines()) + ""
        "except OSError as exc:\n"
        "    print(failure(exc).message)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", limited], capture_output=True, text=True, check=True, timeout=60
    )
    return ran.stdout


def test_a_write_cut_short_leaves_no_half_file(tmp_path: Path) -> None:
    """A file cut short is removed, and the error names it: a half list must not be taken
    for the whole."""
    target = tmp_path / "cases.csv"
    said = _under_a_file_size_limit(
        "from pathlib import Path\n"
        "from aidflow.sheets import write_table\n"
        f"write_table(Path({str(target)!r}), ['name'], [['x' * 100]] * 1000)"
    )
    assert said == (
        f"cannot use the file {target}: the file would be larger than this system allows; "
        "nothing in the store changed (check the path, or give another -o)\n"
    )
    assert not target.exists()


@pytest.mark.parametrize(
    ("program", "name"),
    [
        ("from aidflow.privacy import write_key_file\nwrite_key_file(FOLDER / 'office.db.key')", "office.db.key"),
        ("from aidflow.proofs.keys import init_signing\ninit_signing(FOLDER)", "signing.key"),
    ],
)  # fmt: skip
def test_a_key_file_cut_short_is_no_key_file(tmp_path: Path, program: str, name: str) -> None:
    """``keys init`` and ``keys init-signing`` on a full disk left an empty key file (and
    said ``internal error``): the next run took it for the key and found it malformed."""
    said = _under_a_file_size_limit(
        f"from pathlib import Path\nFOLDER = Path({str(tmp_path)!r})\n{program}"
    )
    assert said.startswith(f"cannot use the file {tmp_path / name}: the file would be larger")
    assert not (tmp_path / name).exists()


def test_a_notice_that_cannot_be_written_is_not_recorded(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """Drawing a notice is recorded; the file was tried only after, so a long name recorded
    a notice nobody got, under "nothing in the store changed". Now the file is asked for first."""
    too_long = tmp_path / ("n" * 300 + ".csv")
    refused = cli.refused(
        "--json", "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(too_long),
        says="file_problem", actor="approver",
    )  # fmt: skip
    assert "the name is too long" in json.loads(refused.stderr)["error"]["message"]


def test_a_sample_refused_leaves_no_folder(cli: Cli, world: dict[str, str], tmp_path: Path) -> None:
    """``audit sample -o DIR`` made the folder, then failed for want of a signing key."""
    digest = cli.json("audit", "digest")["digest"]
    folder = tmp_path / "drawn" / "sample"
    refused = cli(
        "audit", "sample", "--digest", digest, "--size", "1", "--keys", str(tmp_path / "none"),
        "-o", str(folder), code=1,
    )  # fmt: skip
    assert "no signing key" in refused.stderr
    assert not (tmp_path / "drawn").exists()


def test_a_file_that_fails_after_its_command_was_recorded_says_so(
    cli: Cli, world: dict[str, str], full_disk: Callable[[str], Path]
) -> None:
    """The notice is recorded before its file is written (its folder and name are asked for
    first); a disk that fills up between the two said "nothing in the store changed"."""
    target = full_disk("notice.csv")
    before = cli.head()
    refused = cli(
        "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(target),
        actor="approver", code=1,
    )  # fmt: skip
    assert refused.stderr == (
        f"error: cannot write the file {target}: the disk is full; the command was recorded "
        "all the same: give it again with another -o\n"
    )
    journal = cli.json("audit", "journal", "--limit", "100")
    recorded = [e["event_type"] for e in journal if e["position"] > before]
    assert recorded == ["payments.book_started", "payments.notice_posted"]


def _disk_full_error() -> sqlite3.OperationalError:
    """SQLite's own "database or disk is full", from a database allowed two pages."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA max_page_count = 2")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("SQLite took 100 kB into two pages")


def test_a_full_disk_under_the_store_is_store_full_on_every_face() -> None:
    """It was ``internal error: OperationalError: (sqlite3.OperationalError) database or
    disk is full`` with SQLAlchemy's link, exit 1, and a 500 over HTTP."""
    from aidflow.cli.failures import failure
    from aidflow.domain.errors import store_failure
    from aidflow.http.app import status_of

    exc = _disk_full_error()
    found = failure(exc)
    assert (found.status, found.code, found.message) == (
        1,
        "store_full",
        "the disk that holds the store is full: nothing was written; make room on it (or "
        "move the store) and give the command again",
    )
    assert status_of(store_failure(exc)) == 503  # type: ignore[arg-type]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 kB file system of its own (root, and a kernel that lets us mount tmpfs)."""
    where = tmp_path / "tiny"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)  # a pool may hold it


def test_a_store_on_a_disk_that_fills_up_refuses_with_store_full(tiny_disk: Path) -> None:
    """A store on a disk with 64 kB left: commands record until it is full, then each is
    refused with ``store_full`` (exit 1), none with an internal error."""
    url = f"sqlite:///{tiny_disk / 'office.db'}"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    free = os.statvfs(tiny_disk)
    (tiny_disk / "filler").write_bytes(bytes(free.f_bavail * free.f_frsize - 64 * 1024))
    env = {"AIDFLOW_DB": url, "AIDFLOW_ACTOR": "cashier"}
    refused = []
    for n in range(40):
        args = ["--json", "fund", "open", "--name", f"F{n}", "--kind", "government"]
        ran = CliRunner().invoke(main, [*args, "--purpose", "p" * 1900], env=env)
        if ran.exit_code:
            refused.append((ran.exit_code, json.loads(ran.stderr)["error"]["code"]))
    assert refused and set(refused) == {(1, "store_full")}
