"""The consultation queue (多部门会商): hardship awaiting a consultation, and actions owed.

``queue_hardship`` has one row per hardship report, marked consulted when a
consultation of the case follows it; ``queue_action`` one row per decision a
consultation assigned to a department (with its due date), marked done when reported
carried out; ``queue_money`` one row per approval, payment, return or release, so what
is approved and unpaid, and since when, is a sum (issue 12: deadlines before they pass).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.clock import OFFICE_ZONE, office_day
from aidflow.domain.events import EventClass
from aidflow.domain.masking import ERASED, mask_personal
from aidflow.domain.values import Severity
from aidflow.projections.base import UTCDateTime, bulk, insert_row
from aidflow.projections.catalogue import (
    PAYMENT_BOOK,
    RECORD_KEEPING,
    Enrolment,
    Fund,
    StudentCase,
    Voucher,
)
from aidflow.projections.models import AwaitingConsultation, DueItem, OwedAction, Queue
from aidflow.projections.view import Envelope, SQLView

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
    sa.Column("due", sa.String(10), nullable=True),  # ISO date; none before v0.3
)

queue_money_table = sa.Table(
    "queue_money",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("approved_fen", sa.BigInteger, nullable=False),  # + approval, - release
    sa.Column("paid_fen", sa.BigInteger, nullable=False),  # + payment, - bank return
    sa.Column("at", UTCDateTime, nullable=False),
)


queue_appeal_table = sa.Table(
    "queue_appeal",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("case_id", sa.String(36), nullable=False, index=True),
    sa.Column("lodged_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
)
"""Appeals (复核) with when they were lodged and decided: the open ones are owed a decision."""


_INSERT_CASE = insert_row(queue_case_table)
_INSERT_APPEAL = insert_row(queue_appeal_table)
_DECIDED = (
    sa.update(queue_appeal_table)
    .where(
        queue_appeal_table.c.case_id == sa.bindparam("k_case"),
        queue_appeal_table.c.decided_at.is_(None),
    )
    .values(decided_at=sa.bindparam("at"))
)
_INSERT_HARDSHIP = insert_row(hardship_table)
_INSERT_ACTION = insert_row(queue_action_table)
_INSERT_MONEY = insert_row(queue_money_table)
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


C = StudentCase


class ConsultationQueueView(SQLView):
    name = "queue"
    metadata = metadata
    # 2: versioned with the others; 3: names masked (issue 11); 4: due dates, queue_money;
    # 5: a name masked to its surname and ** (issue 21); 6: appeals owed a decision (issue 23)
    schema_version = 6
    decodes = False  # its rows are stored fields; a name is the one field it opens
    opens: ClassVar[dict[EventClass, tuple[str, ...]]] = {C.Applied: ("name",)}
    personal_columns: ClassVar[dict[str, frozenset[str]]] = {
        "queue_case": frozenset({"name"}),
    }
    handles = frozenset(
        {
            C.Applied,
            C.HardshipReported,
            C.ReviewConvened,
            C.ActionCompleted,
            C.PersonalDataErased,
            C.GrantApproved,
            C.Disbursed,
            C.DisbursementReturned,
            C.Closed,
            C.ApprovalCorrected,
            C.YearClosed,
            C.AppealLodged,
            C.AppealDecided,
        }
    )
    ignores = frozenset(
        {
            C.Verified,
            C.Rejected,
            C.SecondaryAidAllocated,
            C.FollowedUp,
            C.PersonalDataRevealed,
            Fund.Opened,
            Fund.Deposited,
            Fund.Allocated,
            Fund.Released,
            Fund.DepositReversalProposed,
            Fund.DepositReversed,
            Enrolment.Registered,
            Voucher.Issued,
            *RECORD_KEEPING,
            C.AccountSet,
            C.AccountConfirmed,
            C.DisbursementConfirmed,
            C.SecondaryAidProposed,
            C.SecondaryAidApproved,
            C.DisbursementDisputed,
            C.PaymentReissued,
            C.ApprovalCorrectionProposed,
            *PAYMENT_BOOK,
        }
    )

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        rows = _PageRows(conn.dialect)
        for envelope in self.wanted(page):
            _STEPS[envelope.cls](rows, envelope)
        # Rows of earlier pages first, then this page's rows (already marked in memory).
        bulk(conn, "queue.consulted", _CONSULTED, rows.consulted)
        bulk(conn, "queue.done", _DONE, rows.done)
        bulk(conn, "queue.decided", _DECIDED, rows.decided)
        bulk(conn, "queue.insert_case", _INSERT_CASE, rows.cases)
        if rows.erased:
            conn.execute(
                sa.update(queue_case_table)
                .where(queue_case_table.c.case_id.in_(rows.erased))
                .values(name=ERASED)
            )
        bulk(conn, "queue.insert_hardship", _INSERT_HARDSHIP, rows.hardships)
        bulk(conn, "queue.insert_action", _INSERT_ACTION, list(rows.actions.values()))
        bulk(conn, "queue.insert_money", _INSERT_MONEY, rows.money)
        bulk(conn, "queue.insert_appeal", _INSERT_APPEAL, rows.appeals)


@dataclass
class _PageRows:
    """What a page adds to the queue, gathered in memory so it is written in a few statements."""

    dialect: sa.Dialect
    cases: list[dict[str, Any]] = field(default_factory=list)
    hardships: list[dict[str, Any]] = field(default_factory=list)
    consulted: list[dict[str, Any]] = field(default_factory=list)
    """Consultations, to mark the hardship of earlier pages they follow."""
    actions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Actions the page assigns, by (case, action): one done on the same page is marked here."""
    done: list[dict[str, Any]] = field(default_factory=list)
    """Actions of earlier pages the page reports done."""
    erased: list[str] = field(default_factory=list)
    money: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    decided: list[dict[str, Any]] = field(default_factory=list)
    """Decisions, to mark the appeals of earlier pages they answer."""


Step = Callable[[_PageRows, Envelope], None]
"""What one event adds to a page's rows."""


def _applied(rows: _PageRows, envelope: Envelope) -> None:
    fields = envelope.detail
    rows.cases.append(
        {
            "case_id": envelope.aggregate_id,
            "name": mask_personal("name", envelope.personal("name")),
            "town": fields["town"],
            "university": fields["university"],
        }
    )


def _hardship(rows: _PageRows, envelope: Envelope) -> None:
    fields = envelope.detail
    rows.hardships.append(
        {
            "position": envelope.position,
            "case_id": envelope.aggregate_id,
            "kind": fields["kind"],
            "severity": fields["severity"],
            "severity_rank": Severity(fields["severity"]).rank,
            "detail": fields["detail"],
            "reported_at": envelope.at(rows.dialect),
            "reported_by": fields["actor"],
            "consulted_at": None,
        }
    )


def _convened(rows: _PageRows, envelope: Envelope) -> None:
    """A consultation: the case's hardship so far is consulted, and its decisions are owed."""
    case_id, at = envelope.aggregate_id, envelope.at(rows.dialect)
    for row in rows.hardships:
        if row["case_id"] == case_id and row["consulted_at"] is None:
            row["consulted_at"] = at
    rows.consulted.append({"k_case": case_id, "at": at})
    for item in envelope.detail["actions"]:
        rows.actions[(case_id, item["action_id"])] = {
            "case_id": case_id,
            "action_id": item["action_id"],
            "department": item["department"],
            "text": item["text"],
            "assigned_at": at,
            "done_at": None,
            "due": item.get("due") or None,
        }


def _action_done(rows: _PageRows, envelope: Envelope) -> None:
    """An action reported done: marked in memory if assigned on this page, else by a statement."""
    case_id, action_id = envelope.aggregate_id, envelope.detail["action_id"]
    at = envelope.at(rows.dialect)
    pending = rows.actions.get((case_id, action_id))
    if pending is not None:
        pending["done_at"] = at
    else:
        rows.done.append({"k_case": case_id, "k_action": action_id, "at": at})


def _appeal_lodged(rows: _PageRows, envelope: Envelope) -> None:
    rows.appeals.append(
        {
            "position": envelope.position,
            "case_id": envelope.aggregate_id,
            "lodged_at": envelope.at(rows.dialect),
            "decided_at": None,
        }
    )


def _appeal_decided(rows: _PageRows, envelope: Envelope) -> None:
    """A decision: marked in memory if the appeal is on this page, else by a statement."""
    case_id, at = envelope.aggregate_id, envelope.at(rows.dialect)
    for row in rows.appeals:
        if row["case_id"] == case_id and row["decided_at"] is None:
            row["decided_at"] = at
    rows.decided.append({"k_case": case_id, "at": at})


def _erasure(rows: _PageRows, envelope: Envelope) -> None:
    rows.erased.extend(envelope.detail["cases"])


def _money(rows: _PageRows, envelope: Envelope) -> None:
    """A movement of a grant's money (see :data:`_MONEY`); one that moves nothing adds no row."""
    approved, paid = _MONEY[envelope.cls](envelope.detail)
    if approved or paid:
        rows.money.append(
            {
                "position": envelope.position,
                "case_id": envelope.aggregate_id,
                "approved_fen": approved,
                "paid_fen": paid,
                "at": envelope.at(rows.dialect),
            }
        )


def _grant(fields: dict[str, Any]) -> bool:
    return bool(fields.get("use", "grant") != "secondary-aid")  # the default: a grant


_MONEY: dict[EventClass, Callable[[dict[str, Any]], tuple[int, int]]] = {
    C.GrantApproved: lambda e: (e["amount_fen"], 0),
    C.Disbursed: lambda e: (0, e["amount_fen"] if _grant(e) else 0),
    C.DisbursementReturned: lambda e: (0, -e["amount_fen"] if _grant(e) else 0),
    C.Closed: lambda e: (-sum(e["releases"].values()), 0),
    C.ApprovalCorrected: lambda e: (-e["amount_fen"], 0),
    C.YearClosed: lambda e: (-sum(e["releases"].values()), 0),
}
"""How each money event moves a case's approved and paid totals (grants only: secondary
aid paid through the payment list, ``use="secondary-aid"``, is not a grant's payment), from the
event's stored fields (:attr:`Envelope.detail`)."""

_STEPS: dict[EventClass, Step] = {
    C.Applied: _applied,
    C.HardshipReported: _hardship,
    C.ReviewConvened: _convened,
    C.ActionCompleted: _action_done,
    C.PersonalDataErased: _erasure,
    C.AppealLodged: _appeal_lodged,
    C.AppealDecided: _appeal_decided,
    **dict.fromkeys(_MONEY, _money),
}
"""What each event the view handles adds to a page's rows."""


def _days(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds() / 86400, 1)


def _owed(department: str | None) -> sa.Select[Any]:
    """Actions not yet done, each with its case's name (only ``department``'s if given)."""
    qa, qc = queue_action_table, queue_case_table
    query = (
        sa.select(qa, qc.c.name)
        .join(qc, qc.c.case_id == qa.c.case_id)
        .where(qa.c.done_at.is_(None))
    )
    if department is not None:
        query = query.where(qa.c.department == department)
    return query


def queue(conn: Connection, now: datetime, department: str | None = None) -> Queue:
    """Hardship awaiting consultation (most serious, then oldest, first) and actions owed."""
    h, qa, qc = hardship_table, queue_action_table, queue_case_table
    awaiting_q = (
        sa.select(h, qc.c.name, qc.c.town)
        .join(qc, qc.c.case_id == h.c.case_id)
        .where(h.c.consulted_at.is_(None), h.c.severity_rank >= 2)
        .order_by(h.c.severity_rank.desc(), h.c.reported_at, h.c.position)
    )
    actions_q = _owed(department).order_by(qa.c.assigned_at, qa.c.case_id, qa.c.action_id)
    awaiting = [
        AwaitingConsultation(
            **{k: r[k] for k in AwaitingConsultation.model_fields if k != "waiting_days"},
            waiting_days=_days(r["reported_at"], now),
        )
        for r in conn.execute(awaiting_q).mappings()
    ]
    owed = [
        OwedAction(
            **{k: r[k] for k in OwedAction.model_fields if k != "waiting_days"},
            waiting_days=_days(r["assigned_at"], now),
        )
        for r in conn.execute(actions_q).mappings()
    ]
    return Queue(as_of=now, awaiting_consultation=awaiting, open_actions=owed)


def due(
    conn: Connection,
    now: datetime,
    *,
    payment_days: int,
    action_days: int,
    appeal_days: int = 30,
    zone: str = OFFICE_ZONE,
    within: int | None = None,
    department: str | None = None,
) -> list[DueItem]:
    """Grants approved and unpaid, and actions owed, with their due dates, soonest first.

    A payment is due ``payment_days`` after its case's last approval; an action on its
    own due date, else ``action_days`` after it was assigned (actions before v0.3).
    ``within``: only what is due by then (overdue included); ``department``: only
    that department's actions (payments are finance's, so none). Days are the office's
    (``zone``): an approval at 07:30 in Guizhou counts from that day.
    """
    today = office_day(now, zone)
    items = [] if department is not None else _payments_due(conn, today, payment_days, zone)
    if department is None:  # an appeal is the approvers' to decide, no department's
        items += _appeals_due(conn, today, appeal_days, zone)
    items += _actions_due(conn, today, action_days, department, zone)
    if within is not None:
        items = [i for i in items if i.due <= today + timedelta(days=within)]
    return sorted(items, key=lambda i: (i.due, i.kind, i.case_id, i.action_id))


def _due_item(
    kind: str, r: Any, when: date, today: date, *, amount_fen: int = 0, **action: str
) -> DueItem:
    """One line of ``aidflow due``: a case's row, what is owed and by when."""
    return DueItem(
        kind=kind,
        case_id=r["case_id"],
        name=r["name"],
        amount_fen=amount_fen,
        action_id=action.get("action_id", ""),
        text=action.get("text", ""),
        department=action.get("department", ""),
        due=when,
        days_left=(when - today).days,
    )


def _payments_due(conn: Connection, today: date, payment_days: int, zone: str) -> list[DueItem]:
    """Cases with approved money unpaid, each due ``payment_days`` after its last approval."""
    qc, qm = queue_case_table, queue_money_table
    approved = sa.func.sum(qm.c.approved_fen)
    paid = sa.func.sum(qm.c.paid_fen)
    last = sa.func.max(sa.case((qm.c.approved_fen > 0, qm.c.at), else_=None))
    rows = conn.execute(
        sa.select(qm.c.case_id, qc.c.name, (approved - paid).label("unpaid"), last.label("at"))
        .join(qc, qc.c.case_id == qm.c.case_id)
        .group_by(qm.c.case_id, qc.c.name)
        .having(approved - paid > 0)
    ).mappings()
    items = []
    for r in rows:
        at = _moment(r["at"])
        when = office_day(at, zone) + timedelta(days=payment_days)
        items.append(_due_item("payment", r, when, today, amount_fen=int(r["unpaid"])))
    return items


def _appeals_due(conn: Connection, today: date, appeal_days: int, zone: str) -> list[DueItem]:
    """Appeals awaiting a decision, each due ``appeal_days`` after it was lodged."""
    qa, qc = queue_appeal_table, queue_case_table
    rows = conn.execute(
        sa.select(qa.c.case_id, qc.c.name, qa.c.lodged_at)
        .join(qc, qc.c.case_id == qa.c.case_id)
        .where(qa.c.decided_at.is_(None))
    ).mappings()
    items = []
    for r in rows:
        at = _moment(r["lodged_at"])
        when = office_day(at, zone) + timedelta(days=appeal_days)
        items.append(_due_item("appeal", r, when, today))
    return items


def _actions_due(
    conn: Connection, today: date, action_days: int, department: str | None, zone: str
) -> list[DueItem]:
    """Actions owed, each due on its own date, else ``action_days`` after it was assigned."""
    items = []
    for r in conn.execute(_owed(department)).mappings():
        when = (
            date.fromisoformat(r["due"])
            if r["due"]
            else office_day(_moment(r["assigned_at"]), zone) + timedelta(days=action_days)
        )
        items.append(
            _due_item(
                "action",
                r,
                when,
                today,
                action_id=r["action_id"],
                text=r["text"],
                department=r["department"],
            )
        )
    return items


def _moment(value: Any) -> datetime:
    """A UTC column's value, aware (a max() over one comes back as naive text on SQLite)."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
