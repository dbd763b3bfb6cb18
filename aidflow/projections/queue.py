"""The consultation queue (多部门会商): hardship awaiting a consultation, and actions owed.

``queue_hardship`` has one row per hardship report, marked consulted when a
consultation of the case follows it; ``queue_action`` one row per decision a
consultation assigned to a department, marked done when reported carried out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.values import Severity
from aidflow.projections.base import Envelope, SQLView, UTCDateTime, bulk, insert_row

metadata = sa.MetaData()

queue_case_table = sa.Table(
    "queue_case",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("town", sa.Text, nullable=False),
    sa.Column("university", sa.Text, nullable=False),
)

hardship_table = sa.Table(
    "queue_hardship",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("severity_rank", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("reported_at", UTCDateTime, nullable=False),
    sa.Column("reported_by", sa.Text, nullable=False),
    sa.Column("consulted_at", UTCDateTime, nullable=True),
)

queue_action_table = sa.Table(
    "queue_action",
    metadata,
    sa.Column("case_id", sa.String(36), primary_key=True),
    sa.Column("action_id", sa.String(16), primary_key=True),
    sa.Column("department", sa.String(32), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=True),
)


_INSERT_CASE = insert_row(queue_case_table)
_INSERT_HARDSHIP = insert_row(hardship_table)
_INSERT_ACTION = insert_row(queue_action_table)
_CONSULTED = (
    sa.update(hardship_table)
    .where(
        hardship_table.c.case_id == sa.bindparam("k_case"), hardship_table.c.consulted_at.is_(None)
    )
    .values(consulted_at=sa.bindparam("at"))
)
_DONE = (
    sa.update(queue_action_table)
    .where(
        queue_action_table.c.case_id == sa.bindparam("k_case"),
        queue_action_table.c.action_id == sa.bindparam("k_action"),
    )
    .values(done_at=sa.bindparam("at"))
)


class ConsultationQueueView(SQLView):
    name = "queue"
    metadata = metadata

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        cases: list[dict[str, Any]] = []
        hardships: list[dict[str, Any]] = []
        consulted: list[dict[str, Any]] = []
        actions: dict[tuple[str, str], dict[str, Any]] = {}
        done: list[dict[str, Any]] = []
        d = conn.dialect
        for envelope in page:
            event, kind = envelope.event, envelope.type
            if not kind.startswith("StudentCase."):
                continue
            case_id = envelope.aggregate_id
            at = envelope.at(d)
            if kind == "StudentCase.Applied":
                cases.append(
                    {
                        "case_id": case_id,
                        "name": event.name,
                        "town": event.town,
                        "university": event.university,
                    }
                )
            elif kind == "StudentCase.HardshipReported":
                hardships.append(
                    {
                        "position": envelope.position,
                        "case_id": case_id,
                        "kind": event.kind,
                        "severity": event.severity,
                        "severity_rank": Severity(event.severity).rank,
                        "detail": event.detail,
                        "reported_at": at,
                        "reported_by": event.actor,
                        "consulted_at": None,
                    }
                )
            elif kind == "StudentCase.ReviewConvened":
                for row in hardships:
                    if row["case_id"] == case_id and row["consulted_at"] is None:
                        row["consulted_at"] = at
                consulted.append({"k_case": case_id, "at": at})
                for item in event.actions:
                    actions[(case_id, item["action_id"])] = {
                        "case_id": case_id,
                        "action_id": item["action_id"],
                        "department": item["department"],
                        "text": item["text"],
                        "assigned_at": at,
                        "done_at": None,
                    }
            elif kind == "StudentCase.ActionCompleted":
                pending = actions.get((case_id, event.action_id))
                if pending is not None:
                    pending["done_at"] = at
                else:
                    done.append({"k_case": case_id, "k_action": event.action_id, "at": at})
        # Rows of earlier pages first, then this page's rows (already marked in memory).
        bulk(conn, "queue.consulted", _CONSULTED, consulted)
        bulk(conn, "queue.done", _DONE, done)
        bulk(conn, "queue.insert_case", _INSERT_CASE, cases)
        bulk(conn, "queue.insert_hardship", _INSERT_HARDSHIP, hardships)
        bulk(conn, "queue.insert_action", _INSERT_ACTION, list(actions.values()))
