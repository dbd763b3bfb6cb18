"""The minimal raw pipeline: the audit view's tables from a SQLite store, with nothing in between.

The rebuild's baseline (issue 10): raw ``sqlite3`` reads of ``stored_events`` in
rowid order, ``orjson`` decoding of the stored JSON, the same rows as the audit
view writes (journal with the hash chain and the masked JSON of the fields,
Merkle leaves and subtrees, ledger, grouping facts, running totals), one
``executemany`` per table and one commit per page, secondary indexes after the
load. It builds no domain-event objects, no envelopes and no SQLAlchemy
statements per page; the chain, leaf, summary and tree functions are aidflow's
own (they define the rows), called on plain values. ``tests/integration/test_rawpipe.py``
holds its tables identical to aidflow's rebuild of the audit view.

Only the audit view: the dossier and queue views fold rows that change in place
and are not reproduced here, so the ratio is measured against aidflow rebuilding
the audit view alone.
"""

from __future__ import annotations

import gc
import sqlite3
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa
from eventsourcing.utils import resolve_topic

from aidflow.config import parse_url
from aidflow.domain.events import event_name
from aidflow.domain.keys import pseudonym
from aidflow.domain.ledger import LEDGER_ENTRIES
from aidflow.domain.ledger import SECONDARY_ENTRY as _SECONDARY_ENTRY
from aidflow.domain.masking import ENCRYPTED, mask_identifier
from aidflow.privacy import TOKEN, Vault
from aidflow.projections.audit import tree
from aidflow.projections.audit.chain import GENESIS, chain_step
from aidflow.projections.audit.ledger import take_checkpoints
from aidflow.projections.audit.summaries import english_summary
from aidflow.projections.audit.tables import metadata
from aidflow.projections.audit.view import _ON_FUND, JOURNAL, C, Fund
from aidflow.projections.base import KEEP_DURING_REBUILD
from aidflow.proofs.leaves import leaf_text
from aidflow.proofs.merkle import leaf_hash

PAGE = 2000
_META = ("timestamp", "originator_topic")
_PERSONAL = ("student_id", "account")


class _Record:
    """What the chain and the leaf read of a stored record."""

    __slots__ = ("id", "originator_id", "originator_version", "state", "topic")

    def __init__(self, position: int, aggregate: str, version: int, topic: str, state: bytes):
        self.id, self.originator_id, self.originator_version = position, aggregate, version
        self.topic, self.state = topic, state


def _hyphened(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _plain(value: Any) -> Any:
    """The transcoder's tagged values as the views store them (UUIDs and dates as text)."""
    if type(value) is dict:
        kind = value.get("_type_")
        if kind == "uuid_hex":
            return _hyphened(value["_data_"])
        if kind is not None:  # date_iso, datetime_iso: text as it is
            return value["_data_"]
        return {k: _plain(v) for k, v in value.items()}
    if type(value) is list:
        return [_plain(v) for v in value]
    return value


def _kinds(topic: str) -> tuple[Any, str, str, Any, str | None]:
    cls = resolve_topic(topic)
    name = event_name(cls)
    return cls, name, JOURNAL[cls], partial(english_summary, name), LEDGER_ENTRIES.get(cls)


def _stored(key: str, value: Any) -> Any:
    """A field as the views keep it (aidflow's ``stored_form`` over the stored text)."""
    if type(value) is str and value.startswith(TOKEN):
        return ENCRYPTED  # a sealed personal field, with or without its key
    return mask_identifier(value) if key in _PERSONAL else _plain(value)


def run(store: str, out: str) -> int:
    """Build the audit tables of the store at path ``store`` into a new database at ``out``."""
    engine = sa.create_engine(f"sqlite+pysqlite:///{out}", poolclass=sa.pool.StaticPool)
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    kinds: dict[str, tuple[Any, str, str, Any, str | None]] = {}
    vault = Vault(parse_url(f"sqlite:///{store}"))
    persons: dict[str, str] = {}

    def opened(field: str, value: Any) -> Any:
        """A sealed personal value decrypted (its keyed hashes are the audit's pseudonyms)."""
        return vault.open(field, value) if type(value) is str and value.startswith(TOKEN) else value

    insert: dict[str, str] = {
        t.name: f"INSERT INTO {t.name} VALUES ({', '.join('?' * len(t.columns))})"
        for t in metadata.sorted_tables
    }
    read = 0
    enabled = gc.isenabled()
    gc.disable()
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.isolation_level = None  # this pipeline begins and commits itself
            # A file made to be thrown away or copied in, as aidflow's scratch database: no
            # WAL, no fsync (with WAL and fsync at checkpoints, it paid I/O aidflow's build does not)
            raw.execute("PRAGMA journal_mode=MEMORY")
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA cache_size=-65536")
            for table in metadata.sorted_tables:
                conn.execute(sa.schema.CreateTable(table))
                for index in table.indexes:  # those the running totals read through
                    if index.info.get(KEEP_DURING_REBUILD):
                        conn.execute(sa.schema.CreateIndex(index))
            conn.commit()
            previous, size, after, totals = GENESIS, 0, 0, (0, 0)
            while True:
                records = src.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state"
                    " FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (after, PAGE),
                ).fetchall()
                if not records:
                    break
                start = size
                journal, ledger, cases, funds = [], [], [], []
                accounts: list[tuple[Any, ...]] = []
                erased: list[str] = []
                for position, hex_id, version, topic, state in records:
                    kind = kinds.get(topic)
                    if kind is None:
                        kind = kinds[topic] = _kinds(topic)
                    cls, name, stream, summary, entry = kind
                    aggregate = _hyphened(hex_id)
                    stored = orjson.loads(state)
                    moment = datetime.fromisoformat(stored["timestamp"]["_data_"]).astimezone(UTC)
                    fields = {k: _stored(k, v) for k, v in stored.items() if k not in _META}
                    detail = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
                    record = _Record(position, aggregate, version, topic, state)
                    previous = chain_step(previous, record)  # type: ignore[arg-type]
                    at = moment.replace(tzinfo=None).isoformat(" ", "microseconds")
                    actor = str(fields.get("actor", ""))
                    leaf = leaf_text(record, name, actor, detail, moment)  # type: ignore[arg-type]
                    journal.append(
                        (
                            position,
                            at,
                            actor,
                            stream,
                            aggregate,
                            version,
                            name,
                            summary(fields),
                            detail,
                            previous,
                            size,
                            leaf_hash(leaf.encode("utf-8")).hex(),
                        )
                    )
                    size += 1
                    if cls is C.Applied:
                        cases.append(
                            (aggregate, fields["family_category"], fields["town"], fields["year"])
                        )
                        account = stored["account"]
                        persons[aggregate] = pseudonym(
                            "person", opened("student_id", stored["student_id"])
                        )
                        accounts.append(
                            (
                                position,
                                aggregate,
                                persons[aggregate],
                                pseudonym("account", opened("account", account)) if account else "",
                            )
                        )
                    elif cls in (C.AccountSet, C.AccountConfirmed) and not stored.get("pending"):
                        accounts.append(
                            (
                                position,
                                aggregate,
                                persons.get(aggregate, ""),
                                pseudonym("account", opened("account", stored["account"])),
                            )
                        )
                    elif cls is C.PersonalDataErased:
                        erased.extend(fields["cases"])
                    elif cls is Fund.Opened:
                        funds.append((aggregate, fields["name"], fields["kind"], position))
                    if entry is None:
                        continue
                    if fields.get("use") == "secondary-aid" and entry in _SECONDARY_ENTRY:
                        entry = _SECONDARY_ENTRY[entry]
                    on_fund = cls in _ON_FUND
                    value_date = fields.get("value_date")
                    ledger.append(
                        (
                            position,
                            at,
                            value_date,
                            entry,
                            fields.get("case_id") if on_fund else aggregate,
                            aggregate if on_fund else fields.get("fund_id"),
                            fields["amount_fen"],
                            fields.get("need"),
                            fields.get("voucher"),
                            fields.get("receipt"),
                            fields.get("source"),
                            fields["actor"],
                        )
                    )
                raw.execute("BEGIN")
                raw.executemany(insert["audit_journal"], journal)
                raw.executemany(insert["audit_ledger"], ledger)
                raw.executemany(insert["audit_case"], cases)
                raw.executemany(insert["audit_fund"], funds)
                raw.executemany(insert["audit_account"], accounts)
                if erased:
                    marks = ", ".join("?" * len(erased))
                    raw.execute(
                        f"UPDATE audit_account SET account = '' WHERE case_id IN ({marks})", erased
                    )
                tree.extend(conn, start, size)
                totals = take_checkpoints(conn, totals, len(ledger))
                raw.execute("COMMIT")
                read += len(records)
                after = records[-1][0]
                if len(records) < PAGE:
                    break
            raw.execute("BEGIN")
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    if not index.info.get(KEEP_DURING_REBUILD):
                        conn.execute(sa.schema.CreateIndex(index))
            raw.execute("COMMIT")
    finally:
        if enabled:
            gc.enable()
        src.close()
        engine.dispose()
    return read
