"""One person, one file (一人一档): every case's dossier, kept from its events.

``dossier_case`` holds a case's header and running totals, ``dossier_entry`` one
row per event of the case (the dossier's sections and its timeline), and
``dossier_action`` each consultation decision with its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.values import derive_status, mask_identifier
from aidflow.projections.base import (
    Envelope,
    SQLView,
    UTCDateTime,
    bulk,
    chunks,
    db_time,
    dumps,
    insert_row,
    public_fields,
)

metadata = sa.MetaData()

case_table = sa.Table(
    "dossier_case",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("student_id_masked", sa.String(32), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("university", sa.Text, nullable=False),
    sa.Column("family_category", sa.String(16), nullable=False),
    sa.Column("town", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("account_masked", sa.String(40), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.Column("verified_once", sa.Boolean, nullable=False),
    sa.Column("awaiting_verification", sa.Boolean, nullable=False),
    sa.Column("rejected", sa.Boolean, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("approved_fen", sa.BigInteger, nullable=False),
    sa.Column("disbursed_fen", sa.BigInteger, nullable=False),
    sa.Column("secondary_aid_fen", sa.BigInteger, nullable=False),
    sa.Column("verification", sa.JSON, nullable=True),
    sa.Column("hardships", sa.Integer, nullable=False),
    sa.Column("follow_ups", sa.Integer, nullable=False),
)

entry_table = sa.Table(
    "dossier_entry",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("section", sa.String(24), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

action_table = sa.Table(
    "dossier_action",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("action_id", sa.String(16), primary_key=True),
    sa.Column("department", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=True),
    sa.Column("done_by", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

fund_table = sa.Table(
    "dossier_fund",
    metadata,
    sa.Column("fund_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("donors", sa.JSON, nullable=False),
)

SECTIONS = {
    "StudentCase.Applied": "application",
    "StudentCase.Verified": "verification",
    "StudentCase.Rejected": "rejection",
    "StudentCase.GrantApproved": "approval",
    "StudentCase.Disbursed": "disbursement",
    "StudentCase.DisbursementReturned": "return",
    "StudentCase.SecondaryAidAllocated": "secondary_aid",
    "StudentCase.HardshipReported": "hardship",
    "StudentCase.ReviewConvened": "consultation",
    "StudentCase.ActionCompleted": "action_done",
    "StudentCase.FollowedUp": "follow_up",
    "StudentCase.Closed": "closing",
}

_CASE_COLUMNS = [c.name for c in case_table.columns]


_INSERT_CASE = insert_row(case_table)
_UPDATE_CASE = (
    sa.update(case_table)
    .where(case_table.c.case_id == sa.bindparam("k_case"))
    .values({col: sa.bindparam(col) for col in _CASE_COLUMNS if col != "case_id"})
)
_INSERT_ENTRY = insert_row(entry_table)
_INSERT_ACTION = insert_row(action_table)
_ACTION_DONE = (
    sa.update(action_table)
    .where(
        action_table.c.case_id == sa.bindparam("k_case"),
        action_table.c.action_id == sa.bindparam("k_action"),
    )
    .values(
        done_at=sa.bindparam("done_at"), done_by=sa.bindparam("done_by"), note=sa.bindparam("note")
    )
)
_INSERT_FUND = insert_row(fund_table)


class DossierView(SQLView):
    name = "dossier"
    metadata = metadata

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        d = conn.dialect
        case_events = [e for e in page if e.type in SECTIONS]
        created = {
            str(e.event.originator_id) for e in case_events if e.type == "StudentCase.Applied"
        }
        known = sorted({str(e.event.originator_id) for e in case_events} - created)
        cases: dict[str, dict[str, Any]] = {}
        for ids in chunks(known):
            for found in conn.execute(sa.select(case_table).where(case_table.c.case_id.in_(ids))):
                cases[found.case_id] = dict(found._mapping)
        existing = set(cases)
        entries: list[dict[str, Any]] = []
        new_actions: dict[tuple[str, str], dict[str, Any]] = {}
        done_actions: list[dict[str, Any]] = []
        funds_new: list[dict[str, Any]] = []
        donors: dict[str, list[str]] = {}

        for envelope in page:
            event = envelope.event
            kind = envelope.type
            if kind == "Fund.Opened":
                funds_new.append(
                    {
                        "fund_id": envelope.aggregate_id,
                        "name": event.name,
                        "kind": event.kind,
                        "donors": "[]",
                    }
                )
                continue
            if kind == "Fund.Deposited":
                donors.setdefault(envelope.aggregate_id, []).append(event.source)
                continue
            section = SECTIONS.get(kind)
            if section is None:
                continue
            case_id = envelope.aggregate_id
            at = envelope.recorded_at
            if kind == "StudentCase.Applied":
                cases[case_id] = {
                    "case_id": case_id,
                    "student_id_masked": mask_identifier(event.student_id),
                    "name": event.name,
                    "university": event.university,
                    "family_category": event.family_category,
                    "town": event.town,
                    "year": event.year,
                    "account_masked": mask_identifier(event.account),
                    "source": event.source,
                    "opened_at": at,
                    "verified_once": False,
                    "awaiting_verification": True,
                    "rejected": False,
                    "closed": False,
                    "reason": "",
                    "approved_fen": 0,
                    "disbursed_fen": 0,
                    "secondary_aid_fen": 0,
                    "verification": None,
                    "hardships": 0,
                    "follow_ups": 0,
                }
            case = cases[case_id]
            _apply(case, kind, event, at)
            case["updated_at"] = at
            case["last_position"] = envelope.position
            entries.append(
                {
                    "position": envelope.position,
                    "case_id": case_id,
                    "version": event.originator_version,
                    "section": section,
                    "event_type": kind.split(".", 1)[1],
                    "recorded_at": envelope.at(d),
                    "actor": event.actor,
                    "detail": envelope.detail_json,
                }
            )
            if kind == "StudentCase.ReviewConvened":
                for item in event.actions:
                    new_actions[(case_id, item["action_id"])] = {
                        "case_id": case_id,
                        "action_id": item["action_id"],
                        "department": item["department"],
                        "text": item["text"],
                        "assigned_at": envelope.at(d),
                        "done_at": None,
                        "done_by": None,
                        "note": None,
                    }
            elif kind == "StudentCase.ActionCompleted":
                done = {"done_at": envelope.at(d), "done_by": event.actor, "note": event.note}
                pending = new_actions.get((case_id, event.action_id))
                if pending is not None:
                    pending.update(done)
                else:
                    done_actions.append({"k_case": case_id, "k_action": event.action_id, **done})

        rows: list[dict[str, Any]] = []
        for case in cases.values():
            case["status"] = derive_status(
                rejected=case["rejected"],
                closed=case["closed"],
                verified_once=case["verified_once"],
                awaiting_verification=case["awaiting_verification"],
                approved_fen=case["approved_fen"],
                disbursed_fen=case["disbursed_fen"],
            ).value
            row = dict(case)
            row["opened_at"] = db_time(d, case["opened_at"])
            row["updated_at"] = db_time(d, case["updated_at"])
            row["verification"] = (
                None if case["verification"] is None else dumps(case["verification"])
            )
            rows.append(row)
        bulk(
            conn,
            "dossier.update_case",
            _UPDATE_CASE,
            [{"k_case": r["case_id"], **r} for r in rows if r["case_id"] in existing],
        )
        bulk(
            conn,
            "dossier.insert_case",
            _INSERT_CASE,
            [r for r in rows if r["case_id"] not in existing],
        )
        bulk(conn, "dossier.insert_entry", _INSERT_ENTRY, entries)
        bulk(conn, "dossier.insert_action", _INSERT_ACTION, list(new_actions.values()))
        bulk(conn, "dossier.action_done", _ACTION_DONE, done_actions)
        bulk(conn, "dossier.insert_fund", _INSERT_FUND, funds_new)
        for fund_id, sources in donors.items():
            current = conn.execute(
                sa.select(fund_table.c.donors).where(fund_table.c.fund_id == fund_id)
            ).scalar_one()
            merged = list(dict.fromkeys([*current, *sources]))
            if merged != current:
                conn.execute(
                    sa.update(fund_table)
                    .where(fund_table.c.fund_id == fund_id)
                    .values(donors=merged)
                )


def _apply(case: dict[str, Any], kind: str, event: Any, at: datetime) -> None:
    """Running totals and flags of a dossier; mirrors the aggregate's own bookkeeping."""
    if kind == "StudentCase.Verified":
        case["verified_once"] = True
        case["awaiting_verification"] = False
        case["verification"] = {"by": event.actor, "at": at.isoformat(), **public_fields(event)}
        return
    elif kind == "StudentCase.Rejected":
        case["rejected"] = True
        case["reason"] = event.reason
    elif kind == "StudentCase.GrantApproved":
        case["approved_fen"] += event.amount_fen
    elif kind == "StudentCase.Disbursed":
        case["disbursed_fen"] += event.amount_fen
    elif kind == "StudentCase.DisbursementReturned":
        case["disbursed_fen"] -= event.amount_fen
    elif kind == "StudentCase.SecondaryAidAllocated":
        case["secondary_aid_fen"] += event.amount_fen
    elif kind == "StudentCase.HardshipReported":
        case["hardships"] += 1
        case["awaiting_verification"] = True
        case["rejected"] = False
        case["closed"] = False
    elif kind == "StudentCase.FollowedUp":
        case["follow_ups"] += 1
    elif kind == "StudentCase.Closed":
        case["closed"] = True
        case["reason"] = event.reason
        case["approved_fen"] -= sum(event.releases.values())
