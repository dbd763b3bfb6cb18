"""Independent minimal pipelines: a view's tables from a SQLite store, written by hand.

The baseline of a view's rebuild (issue 25 §3). Each pipeline reads ``stored_events``
with ``sqlite3`` in rowid order, parses the stored JSON with ``orjson`` and writes the
view's rows with one ``executemany`` per table and page, its secondary indexes after
the load. It imports nothing of aidflow's read side (``aidflow.projections``) nor of the
domain: the event names, streams, ledger entries, summary templates, masking, hash chain,
Merkle leaves and subtrees and running totals are written out here again, for the events a
benchmark history holds (:func:`scripts.benchlib.history.build_history`; an event this
file does not know stops it). Personal fields are sealed tokens (``enc:v1:<key id>:...``):
the rows hold ``[encrypted]`` for them, a person's pseudonym is the key id in the token,
and only an account is opened (its pseudonym is a keyed hash of the number), through the
store's key layer (``aidflow.privacy.Vault``), which is not a view's code.

``tests/integration/test_minipipe.py`` holds each pipeline's tables identical, row for row,
to aidflow's rebuild of the same view.
"""

from __future__ import annotations

import gc
import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

PAGE = 2000
TOKEN = "enc:v1:"
ENCRYPTED = "[encrypted]"
_META = ("timestamp", "originator_topic")
_MASKED = ("student_id", "account")

Row = tuple[Any, ...]

# -- reading -------------------------------------------------------------------------------


def records(src: sqlite3.Connection, page: int = PAGE) -> Iterator[list[Row]]:
    """The stored records in pages: (position, hex id, version, topic, state bytes)."""
    after = 0
    while True:
        rows = src.execute(
            "SELECT rowid, originator_id, originator_version, topic, state"
            " FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, page),
        ).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]
        if len(rows) < page:
            return


def read_and_parse(store: str) -> int:
    """The bare pass every catch-up starts with: read each record and parse its JSON."""
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    count = 0
    try:
        for page in records(src):
            for _, _, _, _, state in page:
                orjson.loads(state)
            count += len(page)
    finally:
        src.close()
    return count


def hyphened(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def plain(value: Any) -> Any:
    """The stored JSON's tagged values as text (UUIDs hyphened, dates as stored)."""
    if type(value) is dict:
        kind = value.get("_type_")
        if kind == "uuid_hex":
            return hyphened(value["_data_"])
        if kind is not None:
            return value["_data_"]
        return {k: plain(v) for k, v in value.items()}
    if type(value) is list:
        return [plain(v) for v in value]
    return value


def mask(value: str) -> str:
    """``5203**********1234``: four first and four last characters; short values all stars."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def shown(key: str, value: Any) -> Any:
    """A stored field as the views show it: sealed ones ``[encrypted]``, ID and account masked."""
    if type(value) is str:
        if value.startswith(TOKEN):
            return ENCRYPTED
        return mask(value) if key in _MASKED else value
    return plain(value)


def moments(stamp: str) -> tuple[str, str]:
    """(the column's text ``YYYY-MM-DD HH:MM:SS.ffffff``, the leaf's ISO text in UTC)."""
    if len(stamp) == 32 and stamp.endswith("+00:00"):
        return f"{stamp[:10]} {stamp[11:26]}", stamp
    at = datetime.fromisoformat(stamp).astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(" ", "microseconds"), at.isoformat()


@contextmanager
def output(out: str) -> Iterator[sqlite3.Connection]:
    """A new SQLite file made to be thrown away or copied in: no journal on disk, no fsync."""
    db = sqlite3.connect(out, isolation_level=None)
    db.execute("PRAGMA journal_mode=MEMORY")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-65536")
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield db
    finally:
        if enabled:
            gc.enable()
        db.close()


def run_pages(
    store: str,
    out: str,
    schema: str,
    indexes: str,
    write: Callable[[sqlite3.Connection, list[Row]], None],
    ahead: Callable[[list[Row]], None] | None = None,
) -> int:
    """Create ``schema``, call ``write`` per page of records in a transaction, then ``indexes``.
    ``ahead`` sees each page first (:func:`keys_ahead`)."""
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    read = 0
    try:
        with output(out) as db:
            db.executescript(schema)
            for page in records(src):
                if ahead is not None:
                    ahead(page)
                db.execute("BEGIN")
                write(db, page)
                db.execute("COMMIT")
                read += len(page)
            db.executescript(f"BEGIN; {indexes} COMMIT;")
    finally:
        src.close()
    return read


# -- the audit view --------------------------------------------------------------------------

_TOPICS: dict[str, tuple[str, str, str | None]] = {
    # topic (less "aidflow:") -> (stable name, stream, ledger entry)
    "StudentCase.Applied": ("case.applied", "case", None),
    "StudentCase.Verified": ("case.verified", "case", None),
    "StudentCase.Rejected": ("case.rejected", "case", None),
    "StudentCase.GrantApproved": ("case.grant_approved", "case", "approval"),
    "StudentCase.Disbursed": ("case.disbursed", "case", "disbursement"),
    "StudentCase.SecondaryAidAllocated": ("case.secondary_aid_allocated", "case", "secondary_aid"),
    "StudentCase.HardshipReported": ("case.hardship_reported", "case", None),
    "StudentCase.ReviewConvened": ("case.review_convened", "case", None),
    "StudentCase.ActionCompleted": ("case.action_completed", "case", None),
    "StudentCase.FollowedUp": ("case.followed_up", "case", None),
    "Fund.Opened": ("fund.opened", "fund", None),
    "Fund.Deposited": ("fund.deposited", "fund", "deposit"),
    "Fund.Allocated": ("fund.allocated", "fund", "allocation"),
    "Enrolment.Registered": ("enrolment.registered", "key", None),
    "Voucher.Issued": ("voucher.issued", "key", None),
    "StaffRegistry.Started": ("staff.registry_started", "staff", None),
    "StaffRegistry.MemberAdded": ("staff.member_added", "staff", None),
}
_ON_FUND = frozenset({"Fund.Deposited", "Fund.Allocated"})
_SECONDARY = {"disbursement": "secondary_aid", "return": "secondary_return"}

_SUMMARIES: dict[str, str] = {
    "case.applied": "case opened for {name} ({family_category}, {town}, {year}) by {source}",
    "case.verified": "household verified: gap {gap} yuan, needs {needs}",
    "case.rejected": "rejected: {reason}",
    "case.grant_approved": "grant of {yuan} yuan approved for {need} from fund {fund}",
    "case.disbursed": "paid {yuan} yuan to the student's account, voucher {voucher}",
    "case.secondary_aid_allocated": "secondary aid of {yuan} yuan from fund {fund}",
    "case.hardship_reported": "{severity} hardship reported ({kind}): {detail}",
    "case.review_convened": "consultation of {departments}: {action_count} action(s)",
    "case.action_completed": "{department} completed {action_id}: {note}",
    "case.followed_up": "follow-up: study {study}; living {living}; hardship {hardship_trend}",
    "fund.opened": "{kind} fund {name!r} opened",
    "fund.deposited": "{yuan} yuan received from {source}, receipt {receipt}",
    "fund.allocated": "{yuan} yuan reserved for case {case} ({use})",
    "enrolment.registered": "student-year key registered for case {case}",
    "voucher.issued": "voucher {number} registered for case {case}",
    "staff.registry_started": "staff registry started",
    "staff.member_added": "staff {name} added as {roles}{in_department}",
}
_FREE = frozenset({"reason", "note", "detail", "study", "living", "purpose"})
_DIGITS = re.compile(r"(?<![A-Za-z\d_/.\-])\d(?:[ \-]?\d){10,}(?:[ \-]?[XxＸｘ])?(?![A-Za-z\d])")
_AMOUNTS = {"amount_fen": "yuan", "gap_fen": "gap"}


def yuan(fen: int) -> str:
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}.{cents:02d}"


def summary(name: str, fields: dict[str, Any]) -> str:
    """The journal's English line (values shown in English as they are stored)."""
    values = dict(fields)
    for key in _FREE & fields.keys():
        text = fields[key]
        if type(text) is str and _DIGITS.search(text):
            values[key] = _DIGITS.sub(lambda m: mask(re.sub("[ -]", "", m.group(0))), text)
    for key, label in _AMOUNTS.items():
        if type(fields.get(key)) is int:
            values[label] = yuan(fields[key])
    for key, label in (("fund_id", "fund"), ("case_id", "case")):
        if fields.get(key) is not None:
            values[label] = str(fields[key])[:8]
    for key, items in fields.items():
        if type(items) is list:
            values[key] = ", ".join(str(v) for v in items)
            values[f"{key.removesuffix('s')}_count"] = len(items)
    department = fields.get("department")
    values["in_department"] = f" ({department})" if department else ""
    try:
        return _SUMMARIES[name].format(**values)
    except (KeyError, IndexError, ValueError):
        return name


def _record_head(position: int, aggregate: str, version: int, topic: str) -> bytes:
    return f"{position}\x1f{aggregate}\x1f{version}\x1f{topic}\x1f".encode()


def _leaf(
    position: int,
    aggregate: str,
    version: int,
    head_and_state: bytes,
    name: str,
    actor: str,
    detail: str,
    when: str,
) -> str:
    """The Merkle leaf's canonical JSON text (keys sorted, no spaces)."""
    return (
        f'{{"actor":{orjson.dumps(actor).decode()},"aggregate_id":"{aggregate}","detail":{detail},'
        f'"position":{position},"record":"{hashlib.sha256(head_and_state).hexdigest()}",'
        f'"recorded_at":"{when}","type":"{name}","version":{version}}}'
    )


class Tree:
    """Perfect subtrees of the Merkle tree at levels 4, 8, 12...: (level, index, hash) rows."""

    def __init__(self) -> None:
        self.pending: dict[int, list[bytes]] = {}
        self.count: dict[int, int] = {}

    def add(self, leaf: bytes, rows: list[Row], level: int = 0) -> None:
        if level:
            rows.append((level, self.count.get(level, 0), leaf.hex()))
            self.count[level] = self.count.get(level, 0) + 1
        waiting = self.pending.setdefault(level, [])
        waiting.append(leaf)
        if len(waiting) == 16:
            nodes = waiting
            while len(nodes) > 1:
                nodes = [
                    hashlib.sha256(b"\x01" + nodes[i] + nodes[i + 1]).digest()
                    for i in range(0, len(nodes), 2)
                ]
            waiting.clear()
            self.add(nodes[0], rows, level + 4)


_PAID_SIGN = {"disbursement": 1, "return": -1, "secondary_aid": 1, "secondary_return": -1}


class Totals:
    """The ledger's running totals, folded in memory, taken every ``every`` ledger rows."""

    def __init__(self, every: int) -> None:
        self.every, self.rows = every, 0
        self.parts: dict[str, dict[tuple[Any, ...], int]] = {
            p: {} for p in ("entry", "need", "family", "town")
        }
        self.paid: dict[str, int] = {}
        self.secondary: dict[str, int] = {}
        self.confirmed: set[tuple[Any, Any]] = set()
        self.confirmed_fen = 0
        self.facts: dict[str, tuple[str, str]] = {}

    def _add(self, part: str, key: tuple[Any, ...], fen: int) -> None:
        groups = self.parts[part]
        groups[key] = groups.get(key, 0) + fen

    def add(self, row: Row, out: list[Row]) -> None:
        position, entry, case_id, fund_id, fen, need, voucher = (
            row[0],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
        )
        self._add("entry", (fund_id, entry), fen)
        if entry == "approval":
            self._add("need", (need,), fen)
        sign = _PAID_SIGN.get(entry)
        if sign is not None and case_id is not None:
            self.paid[case_id] = self.paid.get(case_id, 0) + sign * fen
            if entry.startswith("secondary"):
                self.secondary[case_id] = self.secondary.get(case_id, 0) + sign * fen
            if case_id in self.facts:
                family, town = self.facts[case_id]
                self._add("family", (family,), sign * fen)
                self._add("town", (town,), sign * fen)
        if entry == "confirmation":
            self.confirmed.add((case_id, voucher))
            self.confirmed_fen += fen
        elif entry in ("return", "secondary_return") and (case_id, voucher) in self.confirmed:
            self.confirmed.discard((case_id, voucher))
            self.confirmed_fen -= fen
        self.rows += 1
        if self.rows % self.every == 0:
            self._checkpoint(position, out)

    def _checkpoint(self, position: int, out: list[Row]) -> None:
        for part, groups in self.parts.items():
            for key, total in groups.items():
                out.append((position, part, orjson.dumps(list(key)).decode(), total))
        assisted = sum(1 for v in self.paid.values() if v > 0)
        with_secondary = sum(1 for v in self.secondary.values() if v > 0)
        for part, total in (
            ("assisted", assisted),
            ("with_secondary", with_secondary),
            ("confirmed", self.confirmed_fen),
        ):
            out.append((position, part, "[]", total))


AUDIT_SCHEMA = """
CREATE TABLE audit_journal (position INTEGER PRIMARY KEY, recorded_at TEXT, actor TEXT,
  stream TEXT, aggregate_id TEXT, version INTEGER, event_type TEXT, summary TEXT, detail TEXT,
  hash TEXT, leaf_index INTEGER, leaf TEXT);
CREATE TABLE audit_tree (level INTEGER, idx INTEGER, hash TEXT, PRIMARY KEY (level, idx));
CREATE TABLE audit_ledger (position INTEGER PRIMARY KEY, recorded_at TEXT, value_date TEXT,
  entry TEXT, case_id TEXT, fund_id TEXT, amount_fen INTEGER, need TEXT, voucher TEXT,
  receipt TEXT, source TEXT, actor TEXT);
CREATE TABLE audit_case (case_id TEXT PRIMARY KEY, family_category TEXT, town TEXT, year INTEGER);
CREATE TABLE audit_fund (fund_id TEXT PRIMARY KEY, name TEXT, kind TEXT, position INTEGER);
CREATE TABLE audit_ledger_total (position INTEGER, part TEXT, grouping TEXT, total INTEGER,
  PRIMARY KEY (position, part, grouping));
CREATE TABLE audit_account (position INTEGER PRIMARY KEY, case_id TEXT, person TEXT, account TEXT);
CREATE INDEX ix_audit_account_case_id ON audit_account (case_id);
"""
AUDIT_INDEXES = """
CREATE INDEX ix_audit_journal_aggregate_id ON audit_journal (aggregate_id);
CREATE UNIQUE INDEX ix_audit_journal_leaf_index ON audit_journal (leaf_index);
CREATE INDEX ix_audit_ledger_case_id ON audit_ledger (case_id);
"""


def person(value: Any) -> str:
    """A national ID's pseudonym: its data key's id when sealed, a plain hash when in clear."""
    if type(value) is str and value.startswith(TOKEN):
        return value[len(TOKEN) :].split(":", 1)[0][:32]
    return hashlib.sha256(f"aidflow/person/{value}".encode()).hexdigest()[:32]


def audit(
    store: str,
    out: str,
    opener: Callable[[str], str],
    checkpoint_rows: int = 4096,
    ahead: Callable[[list[Row]], None] | None = None,
) -> int:
    """Build the audit view's tables of the SQLite store at ``store`` into a new file ``out``.

    ``opener`` gives an account token's pseudonym (a keyed hash of the number, "" once erased).
    """
    state = _AuditState(opener, checkpoint_rows)
    return run_pages(store, out, AUDIT_SCHEMA, AUDIT_INDEXES, state.write, ahead)


class _AuditState:
    def __init__(self, opener: Callable[[str], str], checkpoint_rows: int) -> None:
        self.previous = bytes(32)
        self.size = 0
        self.tree = Tree()
        self.totals = Totals(checkpoint_rows)
        self.persons: dict[str, str] = {}
        self.opener = opener

    def account(self, value: Any) -> str:
        if not value:
            return ""
        if type(value) is str and value.startswith(TOKEN):
            return self.opener(value)
        return hashlib.sha256(f"aidflow/account/{value}".encode()).hexdigest()[:32]

    def write(self, db: sqlite3.Connection, page: list[Row]) -> None:
        rows: dict[str, list[Row]] = {table: [] for table in _AUDIT_TABLES}
        for record in page:
            self._event(record, rows)
        insert_all(db, rows)

    def _event(self, record: Row, rows: dict[str, list[Row]]) -> None:
        """One event's journal row, Merkle leaf and chain link, then its facts and ledger row."""
        position, hex_id, version, topic, state = record
        kind = topic.removeprefix("aidflow:")
        name, stream, entry = _TOPICS[kind]
        aggregate = hyphened(hex_id)
        stored = orjson.loads(state)
        at, when = moments(stored["timestamp"]["_data_"])
        fields = {k: shown(k, v) for k, v in stored.items() if k not in _META}
        detail = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
        whole = _record_head(position, aggregate, version, topic) + state
        self.previous = hashlib.sha256(self.previous + whole).digest()
        actor = str(fields.get("actor", ""))
        leaf_text = _leaf(position, aggregate, version, whole, name, actor, detail, when)
        leaf = hashlib.sha256(b"\x00" + leaf_text.encode()).digest()
        rows["audit_journal"].append(
            (position, at, actor, stream, aggregate, version, name, summary(name, fields), detail,
             self.previous.hex(), self.size, leaf.hex())
        )  # fmt: skip
        self.tree.add(leaf, rows["audit_tree"])
        self.size += 1
        if kind == "StudentCase.Applied":
            facts = (fields["family_category"], fields["town"])
            rows["audit_case"].append((aggregate, *facts, fields["year"]))
            self.totals.facts[aggregate] = facts
            who = self.persons[aggregate] = person(stored["student_id"])
            rows["audit_account"].append(
                (position, aggregate, who, self.account(stored["account"]))
            )
        elif kind == "Fund.Opened":
            rows["audit_fund"].append((aggregate, fields["name"], fields["kind"], position))
        if entry is None:
            return
        if fields.get("use") == "secondary-aid" and entry in _SECONDARY:
            entry = _SECONDARY[entry]
        on_fund = kind in _ON_FUND
        row = (
            position, at, fields.get("value_date"), entry,
            fields.get("case_id") if on_fund else aggregate,
            aggregate if on_fund else fields.get("fund_id"),
            fields["amount_fen"], fields.get("need"), fields.get("voucher"),
            fields.get("receipt"), fields.get("source"), fields["actor"],
        )  # fmt: skip
        rows["audit_ledger"].append(row)
        self.totals.add(row, rows["audit_ledger_total"])


_AUDIT_TABLES = (
    "audit_journal",
    "audit_ledger",
    "audit_case",
    "audit_fund",
    "audit_account",
    "audit_tree",
    "audit_ledger_total",
)


def insert_all(db: sqlite3.Connection, tables: dict[str, list[Any]]) -> None:
    """Each table's rows, one ``executemany`` per table."""
    for table, rows in tables.items():
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


# -- the consultation queue -----------------------------------------------------------------

ERASED = "[erased]"
_RANK = {"minor": 1, "serious": 2, "critical": 3}
Opener = Callable[[str, str], str]
"""(field, sealed token) -> the text (``[erased]`` once its key is destroyed)."""


def masked_name(value: Any, opener: Opener) -> str:
    """A name as the views show it: its first character and ``**``."""
    text = opener("name", value) if type(value) is str and value.startswith(TOKEN) else value
    if not text or text == ERASED:
        return str(text)
    return str(text)[0] + "**"


def masked_number(field: str, value: Any, opener: Opener) -> str:
    """A national ID or account as the views show it (``5203**********1234``)."""
    text = opener(field, value) if type(value) is str and value.startswith(TOKEN) else value
    if text is None or text == ERASED:
        return text  # type: ignore[no-any-return]
    return mask(str(text))


QUEUE_SCHEMA = """
CREATE TABLE queue_case (case_id TEXT PRIMARY KEY, name TEXT, town TEXT, university TEXT);
CREATE TABLE queue_hardship (position INTEGER PRIMARY KEY, case_id TEXT, kind TEXT,
  severity TEXT, severity_rank INTEGER, detail TEXT, reported_at TEXT, reported_by TEXT,
  consulted_at TEXT);
CREATE TABLE queue_action (case_id TEXT, action_id TEXT, department TEXT, text TEXT,
  assigned_at TEXT, done_at TEXT, due TEXT, PRIMARY KEY (case_id, action_id));
CREATE TABLE queue_money (position INTEGER PRIMARY KEY, case_id TEXT, approved_fen INTEGER,
  paid_fen INTEGER, at TEXT);
CREATE TABLE queue_appeal (position INTEGER PRIMARY KEY, case_id TEXT, lodged_at TEXT,
  decided_at TEXT);
"""
QUEUE_INDEXES = """
CREATE INDEX ix_queue_action_department ON queue_action (department);
CREATE INDEX ix_queue_appeal_case_id ON queue_appeal (case_id);
CREATE INDEX ix_queue_hardship_case_id ON queue_hardship (case_id);
CREATE INDEX ix_queue_money_case_id ON queue_money (case_id);
"""


def queue(
    store: str, out: str, opener: Opener, ahead: Callable[[list[Row]], None] | None = None
) -> int:
    """Build the consultation queue's tables of the SQLite store ``store`` into a new file ``out``.

    Rows that change after they are made (hardship consulted, action done, appeal decided,
    a name erased) are kept in memory and written once at the end; money rows per page.
    """
    state = _QueueState(opener)
    read = run_pages(store, out, QUEUE_SCHEMA, QUEUE_INDEXES, state.write, ahead)
    with output(out) as db:
        db.execute("BEGIN")
        insert_all(
            db,
            {
                "queue_case": list(state.cases.values()),
                "queue_hardship": state.hardships,
                "queue_action": list(state.actions.values()),
                "queue_appeal": state.appeals,
            },
        )
        db.execute("COMMIT")
    return read


_QUEUE_MONEY = frozenset(
    {
        "StudentCase.GrantApproved",
        "StudentCase.Disbursed",
        "StudentCase.DisbursementReturned",
        "StudentCase.Closed",
        "StudentCase.ApprovalCorrected",
        "StudentCase.YearClosed",
    }
)


class _QueueState:
    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.cases: dict[str, list[Any]] = {}
        self.hardships: list[list[Any]] = []
        self.open_hardships: dict[str, list[list[Any]]] = {}
        self.actions: dict[tuple[str, str], list[Any]] = {}
        self.appeals: list[list[Any]] = []
        self.open_appeals: dict[str, list[list[Any]]] = {}

    def write(self, db: sqlite3.Connection, page: list[Row]) -> None:
        money: list[Row] = []
        for position, hex_id, _, topic, state in page:
            kind = topic[8:]  # less "aidflow:"
            if not kind.startswith("StudentCase."):
                continue
            case_id = hyphened(hex_id)
            e = orjson.loads(state)
            at = moments(e["timestamp"]["_data_"])[0]
            if kind == "StudentCase.Applied":
                name = masked_name(e["name"], self.opener)
                self.cases[case_id] = [case_id, name, e["town"], e["university"]]
            elif kind == "StudentCase.HardshipReported":
                row = [position, case_id, e["kind"], e["severity"], _RANK[e["severity"]],
                       e["detail"], at, e["actor"], None]  # fmt: skip
                self.hardships.append(row)
                self.open_hardships.setdefault(case_id, []).append(row)
            elif kind == "StudentCase.ReviewConvened":
                for row in self.open_hardships.pop(case_id, []):
                    row[8] = at
                for item in e["actions"]:
                    self.actions[(case_id, item["action_id"])] = [
                        case_id, item["action_id"], item["department"], item["text"], at, None,
                        item.get("due") or None,
                    ]  # fmt: skip
            elif kind == "StudentCase.ActionCompleted":
                action = self.actions.get((case_id, e["action_id"]))
                if action is not None:
                    action[5] = at
            elif kind == "StudentCase.AppealLodged":
                appeal = [position, case_id, at, None]
                self.appeals.append(appeal)
                self.open_appeals.setdefault(case_id, []).append(appeal)
            elif kind == "StudentCase.AppealDecided":
                for appeal in self.open_appeals.pop(case_id, []):
                    appeal[3] = at
            elif kind == "StudentCase.PersonalDataErased":
                for erased in e["cases"]:
                    if erased in self.cases:
                        self.cases[erased][1] = ERASED
            elif kind in _QUEUE_MONEY:
                approved, paid = _queue_money(kind, e)
                if approved or paid:
                    money.append((position, case_id, approved, paid, at))
        if money:
            db.executemany("INSERT INTO queue_money VALUES (?, ?, ?, ?, ?)", money)


def _queue_money(kind: str, e: dict[str, Any]) -> tuple[int, int]:
    grant = e.get("use", "grant") != "secondary-aid"
    if kind == "StudentCase.GrantApproved":
        return e["amount_fen"], 0
    if kind == "StudentCase.Disbursed":
        return 0, e["amount_fen"] if grant else 0
    if kind == "StudentCase.DisbursementReturned":
        return 0, -e["amount_fen"] if grant else 0
    if kind == "StudentCase.ApprovalCorrected":
        return -e["amount_fen"], 0
    return -sum(e["releases"].values()), 0  # closed, year closed


# -- the dossier ------------------------------------------------------------------------------

_SECTIONS = {
    "Applied": "application",
    "Verified": "verification",
    "Rejected": "rejection",
    "GrantApproved": "approval",
    "Disbursed": "disbursement",
    "SecondaryAidAllocated": "secondary_aid",
    "HardshipReported": "hardship",
    "ReviewConvened": "consultation",
    "ActionCompleted": "action_done",
    "FollowedUp": "follow_up",
}
"""The case events of a benchmark history and their dossier sections."""

DOSSIER_SCHEMA = """
CREATE TABLE dossier_case (case_id TEXT PRIMARY KEY, student_id_masked TEXT, name TEXT,
  university TEXT, family_category TEXT, town TEXT, year INTEGER, account_masked TEXT,
  source TEXT, status TEXT, opened_at TEXT, updated_at TEXT, last_position INTEGER,
  verified_once INTEGER, awaiting_verification INTEGER, rejected INTEGER, closed INTEGER,
  reason TEXT, approved_fen INTEGER, disbursed_fen INTEGER, secondary_aid_fen INTEGER,
  verification TEXT, hardships INTEGER, follow_ups INTEGER);
CREATE TABLE dossier_entry (position INTEGER PRIMARY KEY, case_id TEXT, version INTEGER,
  section TEXT, event_type TEXT, recorded_at TEXT, actor TEXT, detail TEXT);
CREATE TABLE dossier_action (case_id TEXT, action_id TEXT, department TEXT, text TEXT,
  assigned_at TEXT, done_at TEXT, done_by TEXT, note TEXT, PRIMARY KEY (case_id, action_id));
CREATE TABLE dossier_fund (fund_id TEXT PRIMARY KEY, name TEXT, kind TEXT, donors TEXT);
CREATE TABLE dossier_donor (fund_id TEXT, source TEXT, position INTEGER,
  PRIMARY KEY (fund_id, source));
"""
DOSSIER_INDEXES = "CREATE INDEX ix_dossier_entry_case_id ON dossier_entry (case_id);"

# dossier_case columns by number
_AT, _LAST, _VERIFIED, _AWAITING, _REJECTED, _CLOSED = 11, 12, 13, 14, 15, 16
_REASON, _APPROVED, _PAID, _SECONDARY_FEN, _VERIFICATION, _HARDSHIPS, _FOLLOW_UPS = (
    17, 18, 19, 20, 21, 22, 23
)  # fmt: skip


def status(case: list[Any]) -> str:
    """A case's status from its flags and totals."""
    if case[_REJECTED]:
        return "rejected"
    if case[_CLOSED]:
        return "closed"
    if case[_AWAITING]:
        return "reopened" if case[_VERIFIED] else "applied"
    if case[_APPROVED] == 0:
        return "verified"
    return "approved" if case[_PAID] < case[_APPROVED] else "paid"


def dossier(
    store: str, out: str, opener: Opener, ahead: Callable[[list[Row]], None] | None = None
) -> int:
    """Build the dossier's tables of the SQLite store ``store`` into a new file ``out``.

    Entries are written per page; the case headers, actions, funds and donors are folded
    in memory and written once at the end.
    """
    state = _DossierState(opener)
    read = run_pages(store, out, DOSSIER_SCHEMA, DOSSIER_INDEXES, state.write, ahead)
    for case in state.cases.values():
        case[9] = status(case)
        if case[_VERIFICATION] is not None:
            case[_VERIFICATION] = orjson.dumps(
                case[_VERIFICATION], option=orjson.OPT_SORT_KEYS
            ).decode()
    funds = [
        (fund_id, name, kind, orjson.dumps(donors).decode())
        for fund_id, (name, kind, donors) in state.funds.items()
    ]
    with output(out) as db:
        db.execute("BEGIN")
        insert_all(
            db,
            {
                "dossier_case": list(state.cases.values()),
                "dossier_action": list(state.actions.values()),
                "dossier_fund": funds,
                "dossier_donor": state.donors,
            },
        )
        db.execute("COMMIT")
    return read


class _DossierState:
    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.cases: dict[str, list[Any]] = {}
        self.actions: dict[tuple[str, str], list[Any]] = {}
        self.funds: dict[str, tuple[str, str, list[str]]] = {}
        self.donors: list[Row] = []

    def write(self, db: sqlite3.Connection, page: list[Row]) -> None:
        entries: list[Row] = []
        for position, hex_id, version, topic, state in page:
            kind = topic[8:]
            aggregate = hyphened(hex_id)
            if kind == "Fund.Opened":
                e = orjson.loads(state)
                self.funds[aggregate] = (e["name"], e["kind"], [])
            elif kind == "Fund.Deposited":
                donors = self.funds[aggregate][2]
                source = orjson.loads(state)["source"]
                if source not in donors:
                    donors.append(source)
                    self.donors.append((aggregate, source, position))
            elif kind.startswith("StudentCase."):
                entries.append(self._case_event(position, aggregate, version, kind[12:], state))
        if entries:
            db.executemany("INSERT INTO dossier_entry VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entries)

    def _case_event(
        self, position: int, case_id: str, version: int, kind: str, state: bytes
    ) -> Row:
        e = orjson.loads(state)
        stamp = e["timestamp"]["_data_"]
        at, when = moments(stamp)
        fields = {k: shown(k, v) for k, v in e.items() if k not in _META}
        if kind == "Applied":
            account = masked_number("account", e["account"], self.opener)
            self.cases[case_id] = [
                case_id, masked_number("student_id", e["student_id"], self.opener),
                masked_name(e["name"], self.opener), e["university"], e["family_category"],
                e["town"], e["year"], account, e["source"], "", at, at, position,
                0, 1, 0, 0, "", 0, 0, 0, None, 0, 0,
            ]  # fmt: skip
            fields["account_masked"] = account
        case = self.cases[case_id]
        self._change(case, kind, e, fields, (at, when))
        case[_AT], case[_LAST] = at, position
        detail = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
        return (
            position,
            case_id,
            version,
            _SECTIONS[kind],
            _DOSSIER_NAMES[kind],
            at,
            e["actor"],
            detail,
        )

    def _change(
        self,
        case: list[Any],
        kind: str,
        e: dict[str, Any],
        fields: dict[str, Any],
        moment: tuple[str, str],
    ) -> None:
        at, when = moment
        if kind == "Verified":
            case[_VERIFIED], case[_AWAITING] = 1, 0
            case[_VERIFICATION] = {"by": e["actor"], "at": when, **fields}
        elif kind == "Rejected":
            case[_REJECTED], case[_REASON] = 1, e["reason"]
        elif kind == "GrantApproved":
            case[_APPROVED] += e["amount_fen"]
        elif kind == "Disbursed":
            if e.get("use", "grant") != "secondary-aid":
                case[_PAID] += e["amount_fen"]
        elif kind == "SecondaryAidAllocated":
            case[_SECONDARY_FEN] += e["amount_fen"]
        elif kind == "HardshipReported":
            case[_HARDSHIPS] += 1
            case[_AWAITING], case[_REJECTED], case[_CLOSED] = 1, 0, 0
        elif kind == "FollowedUp":
            case[_FOLLOW_UPS] += 1
        elif kind == "ReviewConvened":
            case_id = case[0]
            for item in e["actions"]:
                self.actions[(case_id, item["action_id"])] = [
                    case_id, item["action_id"], item["department"], item["text"],
                    at, None, None, None,
                ]  # fmt: skip
        elif kind == "ActionCompleted":
            action = self.actions.get((case[0], e["action_id"]))
            if action is not None:
                action[5:8] = [at, e["actor"], e["note"]]


_DOSSIER_NAMES = {
    kind: name
    for kind, name in (
        (t[12:], n) for t, (n, _, _) in _TOPICS.items() if t.startswith("StudentCase.")
    )
}


def account_opener(vault: Any) -> Callable[[str], str]:
    """An account token's pseudonym through the store's key layer (``aidflow.privacy.Vault``)."""

    def opened(token: str) -> str:
        return str(vault.open("account", token).lookup[:32])

    return opened


_TOKEN_KEY = re.compile(rb'"' + re.escape(TOKEN.encode()) + rb'([^:"]+):')


def keys_ahead(vault: Any) -> Callable[[list[Row]], None]:
    """Each page's students' data keys read together through the store's key layer before the
    page's fields are opened one by one, as aidflow's rebuild does (``Vault.read_ahead``)."""

    def ahead(page: list[Row]) -> None:
        found = {key for row in page for key in _TOKEN_KEY.findall(row[4])}
        vault.read_ahead(f"{TOKEN}{key.decode()}:" for key in found)

    return ahead


def field_opener(vault: Any) -> Opener:
    """A sealed field's text through the store's key layer (``[erased]`` once its key is gone)."""

    def opened(field: str, token: str) -> str:
        return str(vault.open(field, token))

    return opened
