"""One person, one file (一人一档): every case's dossier, kept from its events.

``dossier_case`` holds a case's header and running totals, ``dossier_entry`` one
row per event of the case (the dossier's sections and its timeline), and
``dossier_action`` each consultation decision with its state, ``dossier_fund``
each fund's name and donors. The queries answer the dossier, the case list and
which case an id prefix names.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, ClassVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.errors import CaseNotFound, FundNotFound, InvalidInput, NotFound, said
from aidflow.domain.events import NAMES, EventClass
from aidflow.domain.masking import ERASED, mask_free_texts, mask_name, mask_personal
from aidflow.domain.values import derive_status
from aidflow.i18n import messages as M
from aidflow.projections.base import (
    UTCDateTime,
    bulk,
    chunks,
    db_time,
    insert_row,
    public_fields,
    to_json,
)
from aidflow.projections.catalogue import (
    PAYMENT_BOOK,
    RECORD_KEEPING,
    Enrolment,
    Fund,
    StudentCase,
    Voucher,
)
from aidflow.projections.models import ActionItem, CaseSummary, Dossier, DossierEntry
from aidflow.projections.view import Envelope, SQLView

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

donor_table = sa.Table(
    "dossier_donor",
    metadata,
    sa.Column("fund_id", sa.String(36), primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),  # the deposit that first named it
)
"""Each fund's donors with the position each first gave at: the donors as of a past position."""

C = StudentCase


def _status(case: dict[str, Any]) -> str:
    """A case row's status, by the one definition the aggregate uses too."""
    return derive_status(
        rejected=case["rejected"],
        closed=case["closed"],
        verified_once=case["verified_once"],
        awaiting_verification=case["awaiting_verification"],
        approved_fen=case["approved_fen"],
        disbursed_fen=case["disbursed_fen"],
    ).value


SECTIONS: dict[EventClass, str] = {
    C.Applied: "application",
    C.Verified: "verification",
    C.Rejected: "rejection",
    C.GrantApproved: "approval",
    C.Disbursed: "disbursement",
    C.DisbursementReturned: "return",
    C.SecondaryAidAllocated: "secondary_aid",
    C.HardshipReported: "hardship",
    C.ReviewConvened: "consultation",
    C.ActionCompleted: "action_done",
    C.FollowedUp: "follow_up",
    C.Closed: "closing",
    C.PersonalDataRevealed: "reveal",
    C.PersonalDataErased: "erasure",
    # the money loop (issue 12)
    C.AccountSet: "account",
    C.AccountConfirmed: "account",
    C.DisbursementConfirmed: "confirmation",
    C.SecondaryAidProposed: "secondary_aid_proposed",
    C.SecondaryAidApproved: "secondary_aid",
    # disputed payments held, returned ones issued again (issue 23)
    C.DisbursementDisputed: "dispute",
    C.PaymentReissued: "reissue",
    C.AppealLodged: "appeal",
    C.AppealDecided: "appeal_decision",
    C.ApprovalCorrectionProposed: "correction_proposed",
    C.ApprovalCorrected: "correction",
    C.YearClosed: "year_close",
}
"""Every case event has a dossier section; the dossier is also the case's timeline."""

_CASE_COLUMNS = [c.name for c in case_table.columns]
CLASS_OF: dict[str, EventClass] = {name: cls for cls, name in NAMES.items()}


_INSERT_CASE = insert_row(case_table)
_SELECT_CASES = sa.select(case_table).where(
    case_table.c.case_id.in_(sa.bindparam("ids", expanding=True))
)
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
_INSERT_DONOR = insert_row(donor_table)

CACHED_CASES = 4096
"""Case headers a dossier writer keeps from page to page (see :meth:`DossierView.write`)."""


class DossierView(SQLView):
    name = "dossier"
    metadata = metadata
    # 2: stable event names (case.applied); 3: dossier_donor; 4: names masked;
    # 5: a name masked to its surname and ** (its length no longer shown; issue 21)
    schema_version = 5
    rebuild_weight = 2
    decodes = False  # rows from the stored fields; the personal fields it shows masked, opened
    opens: ClassVar[dict[EventClass, tuple[str, ...]]] = {
        C.Applied: ("student_id", "name", "account"),
        C.AccountSet: ("account",),
        C.AccountConfirmed: ("account",),
    }
    personal_columns: ClassVar[dict[str, frozenset[str]]] = {
        "dossier_case": frozenset({"student_id_masked", "name", "account_masked"}),
        "dossier_entry": frozenset({"detail.account_masked"}),
    }
    handles = frozenset({*SECTIONS, Fund.Opened, Fund.Deposited})
    ignores = frozenset(
        {
            Fund.Allocated,
            Fund.Released,
            Fund.DepositReversalProposed,
            Fund.DepositReversed,  # a reversed donor still gave once; the ledger nets it
            Enrolment.Registered,
            Voucher.Issued,
            *RECORD_KEEPING,
            *PAYMENT_BOOK,
        }
    )

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.cached_cases = CACHED_CASES
        """How many case headers to keep between pages (0: read every one back)."""
        self._cases: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._donors: dict[str, list[str]] = {}
        """Each fund's donors as this process last wrote them (kept as the headers are)."""
        self._cached_at: int | None = None
        """The position at which this process last wrote the cached headers and donors."""

    def forget(self) -> None:
        self._cases.clear()
        self._donors.clear()
        self._cached_at = None

    def write(self, conn: Connection, page: Sequence[Envelope], *, after: int | None) -> None:
        """The page's rows. A case's header is read back before its events change it, except
        where this process wrote it at the position the view stands at (its row is then the
        cached one: an inline catch-up after a command reads nothing back)."""
        wanted = self.wanted(page)
        if after is None or after != self._cached_at:
            self._cases.clear()  # another process wrote the view since, or a page failed
            self._donors.clear()
        self._cached_at = None  # until this page is written, nothing cached is sure
        cases = _headers(conn, wanted, self._cases)
        rows = _PageRows(conn.dialect, cases, existing=set(cases))
        for envelope in wanted:
            _STEPS[envelope.cls](rows, envelope)
        _store(conn, rows, self._donors)
        self._keep(cases, rows.erased, page[-1].position if page else after)

    def _keep(self, cases: dict[str, dict[str, Any]], erased: list[str], at: int | None) -> None:
        """Cache the headers just written, most recent last, as of position ``at``."""
        cached = self._cases
        for erased_id in erased:  # headers of other years were changed by a statement
            cached.pop(erased_id, None)
        if self.cached_cases <= 0:
            return
        for case_id, case in cases.items():
            cached[case_id] = case
            cached.move_to_end(case_id)
        while len(cached) > self.cached_cases:
            cached.popitem(last=False)
        self._cached_at = at


def _erase_entries(conn: Connection, erased: Sequence[str]) -> None:
    """The masked accounts kept in an erased student's entries read ``[erased]`` too, as a
    rebuild after the erasure writes them (the key that showed them is gone)."""
    e = entry_table
    for position, detail in conn.execute(
        sa.select(e.c.position, e.c.detail).where(e.c.case_id.in_(list(erased)))
    ):
        if detail.get("account_masked") not in (None, ERASED):
            conn.execute(
                sa.update(e)
                .where(e.c.position == position)
                .values(detail={**detail, "account_masked": ERASED})
            )


_ERASED_HEADER = {"name": ERASED, "student_id_masked": ERASED, "account_masked": ERASED}
"""A dossier header's personal fields once the student's key is destroyed (issue 11)."""


def _opened(case_id: str, event: Any, at: datetime) -> dict[str, Any]:
    """A new dossier's header, from the application."""
    return {
        "case_id": case_id,
        "student_id_masked": mask_personal("student_id", event.student_id),
        "name": mask_personal("name", event.name),
        "university": event.university,
        "family_category": event.family_category,
        "town": event.town,
        "year": event.year,
        "account_masked": mask_personal("account", event.account),
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


# Running totals and flags of a dossier; they mirror the aggregate's own bookkeeping.
Change = Callable[[dict[str, Any], Any, datetime], None]


def _verified(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["verified_once"] = True
    case["awaiting_verification"] = False
    case["verification"] = {"by": event.actor, "at": at.isoformat(), **public_fields(event)}


def _rejected(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["rejected"] = True
    case["reason"] = event.reason


def _appeal_decided(case: dict[str, Any], event: Any, at: datetime) -> None:
    if event.outcome == "overturned":  # back to household verification
        case["rejected"] = False
        case["awaiting_verification"] = True


def _hardship(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["hardships"] += 1
    case["awaiting_verification"] = True
    case["rejected"] = False
    case["closed"] = False


def _closed(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["closed"] = True
    case["reason"] = event.reason
    case["approved_fen"] -= sum(event.releases.values())


def _year_closed(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["approved_fen"] -= sum(event.releases.values())
    case["secondary_aid_fen"] -= sum(event.secondary_releases.values())


def _add(column: str, sign: int = 1) -> Change:
    def change(case: dict[str, Any], event: Any, at: datetime) -> None:
        case[column] += sign * event.amount_fen

    return change


def _paid(sign: int) -> Change:
    """A payment or a return of a grant. Secondary aid paid through the list (0.3) counts in
    the header when approved, as the case itself counts it; the ledger counts it when paid."""

    def change(case: dict[str, Any], event: Any, at: datetime) -> None:
        if getattr(event, "use", "grant") != "secondary-aid":
            case["disbursed_fen"] += sign * event.amount_fen

    return change


def _account(case: dict[str, Any], event: Any, at: datetime) -> None:
    if not getattr(event, "pending", False):
        masked = getattr(event, "account_masked", None)  # an entry's detail (see _entry_detail)
        case["account_masked"] = masked or mask_personal("account", event.account)


_ACCOUNT_EVENTS = frozenset({C.Applied, C.AccountSet, C.AccountConfirmed})


def _entry_detail(envelope: Any) -> str:
    """An entry's detail: the event's stored form, and for an application or an account change
    its masked account (the sealed field reads ``[encrypted]``), so a past header folds to it."""
    if envelope.cls not in _ACCOUNT_EVENTS:
        return str(envelope.detail_json)
    masked = mask_personal("account", envelope.personal("account"))
    return to_json({**envelope.detail, "account_masked": masked})


def _count(case: dict[str, Any], event: Any, at: datetime) -> None:
    case["follow_ups"] += 1


_CHANGES: dict[EventClass, Change] = {
    C.Verified: _verified,
    C.Rejected: _rejected,
    C.GrantApproved: _add("approved_fen"),
    C.ApprovalCorrected: _add("approved_fen", -1),
    C.AppealDecided: _appeal_decided,
    C.Disbursed: _paid(1),
    C.DisbursementReturned: _paid(-1),
    C.AccountSet: _account,
    C.AccountConfirmed: _account,
    C.SecondaryAidApproved: _add("secondary_aid_fen"),
    C.SecondaryAidAllocated: _add("secondary_aid_fen"),
    C.HardshipReported: _hardship,
    C.FollowedUp: _count,
    C.Closed: _closed,
    C.YearClosed: _year_closed,
}
"""Case events that change the header; the others only add to the timeline."""


def _headers(
    conn: Connection, wanted: Sequence[Envelope], cached: OrderedDict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The headers of the cases the page changes but does not open, as they stand before it:
    the cached ones, the others read back (a page's events fold into them in order)."""
    case_events = [e for e in wanted if e.cls in SECTIONS]
    created = {e.aggregate_id for e in case_events if e.cls is C.Applied}
    cases: dict[str, dict[str, Any]] = {}
    unread = []
    for case_id in sorted({e.aggregate_id for e in case_events} - created):
        found = cached.get(case_id)
        if found is None:
            unread.append(case_id)
        else:
            cases[case_id] = found
    for ids in chunks(unread):
        for stored in conn.execute(_SELECT_CASES, {"ids": list(ids)}):
            cases[stored.case_id] = dict(stored._mapping)
    return cases


@dataclass
class _PageRows:
    """What a page adds to the dossier, gathered in memory so it is written in a few statements."""

    dialect: sa.Dialect
    cases: dict[str, dict[str, Any]]
    """The headers the page changes, by case id (those read back, then those it opens)."""
    existing: set[str]
    """The cases whose header rows are already stored (updated, not inserted)."""
    entries: list[dict[str, Any]] = field(default_factory=list)
    new_actions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Actions the page assigns, by (case, action): one done on the same page is marked here."""
    done_actions: list[dict[str, Any]] = field(default_factory=list)
    """Actions of earlier pages the page reports done."""
    funds_new: list[dict[str, Any]] = field(default_factory=list)
    donors: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Each fund's deposits on the page: (source, position), in order."""
    erased: list[str] = field(default_factory=list)
    """Cases whose student's key was destroyed (other years' cases included)."""


Step = Callable[[_PageRows, Envelope], None]
"""What one event adds to a page's rows."""


def _stored(envelope: Envelope) -> SimpleNamespace:
    """The event as the header's changes read it: its stored fields (:attr:`Envelope.detail`),
    the personal fields the view opens decrypted; a field the record predates is missing, as
    in a past header folded from its entries (the changes give such fields their default)."""
    fields = SimpleNamespace(**envelope.detail)
    for name in DossierView.opens.get(envelope.cls, ()):
        setattr(fields, name, envelope.personal(name))
    return fields


def _applied(rows: _PageRows, envelope: Envelope) -> None:
    """An application opens the case's header (its entry follows, as for every case event)."""
    case_id = envelope.aggregate_id
    rows.cases[case_id] = _opened(case_id, _stored(envelope), envelope.recorded_at)


def _case_event(rows: _PageRows, envelope: Envelope) -> None:
    """Every case event: its change to the header, and its entry in the dossier's timeline."""
    cls, at = envelope.cls, envelope.recorded_at
    case = rows.cases[envelope.aggregate_id]
    change = _CHANGES.get(cls)
    if change is not None:
        change(case, _stored(envelope), at)
    case["updated_at"] = at
    case["last_position"] = envelope.position
    rows.entries.append(
        {
            "position": envelope.position,
            "case_id": envelope.aggregate_id,
            "version": envelope.notification.originator_version,
            "section": SECTIONS[cls],
            "event_type": envelope.name,
            "recorded_at": envelope.at(rows.dialect),
            "actor": envelope.detail["actor"],
            "detail": _entry_detail(envelope),
        }
    )


def _erasure(rows: _PageRows, envelope: Envelope) -> None:
    rows.erased.extend(envelope.detail["cases"])


def _convened(rows: _PageRows, envelope: Envelope) -> None:
    """A consultation assigns its decisions, each open until reported done."""
    case_id = envelope.aggregate_id
    for item in envelope.detail["actions"]:
        rows.new_actions[(case_id, item["action_id"])] = {
            "case_id": case_id,
            "action_id": item["action_id"],
            "department": item["department"],
            "text": item["text"],
            "assigned_at": envelope.at(rows.dialect),
            "done_at": None,
            "done_by": None,
            "note": None,
        }


def _action_done(rows: _PageRows, envelope: Envelope) -> None:
    """An action reported done: marked in memory if assigned on this page, else by a statement."""
    fields, case_id = envelope.detail, envelope.aggregate_id
    done = {
        "done_at": envelope.at(rows.dialect),
        "done_by": fields["actor"],
        "note": fields["note"],
    }
    pending = rows.new_actions.get((case_id, fields["action_id"]))
    if pending is not None:
        pending.update(done)
    else:
        rows.done_actions.append({"k_case": case_id, "k_action": fields["action_id"], **done})


def _fund_opened(rows: _PageRows, envelope: Envelope) -> None:
    fields = envelope.detail
    rows.funds_new.append(
        {
            "fund_id": envelope.aggregate_id,
            "name": fields["name"],
            "kind": fields["kind"],
            "donors": "[]",
        }
    )


def _deposited(rows: _PageRows, envelope: Envelope) -> None:
    given = rows.donors.setdefault(envelope.aggregate_id, [])
    given.append((envelope.detail["source"], envelope.position))


def _steps(*steps: Step) -> Step:
    """One event's steps, taken in order."""

    def step(rows: _PageRows, envelope: Envelope) -> None:
        for one in steps:
            one(rows, envelope)

    return step


_STEPS: dict[EventClass, Step] = {
    **dict.fromkeys(SECTIONS, _case_event),
    C.Applied: _steps(_applied, _case_event),
    C.PersonalDataErased: _steps(_case_event, _erasure),
    C.ReviewConvened: _steps(_case_event, _convened),
    C.ActionCompleted: _steps(_case_event, _action_done),
    Fund.Opened: _fund_opened,
    Fund.Deposited: _deposited,
}
"""What each event the view handles adds to a page's rows."""


def _store(conn: Connection, rows: _PageRows, donors: dict[str, list[str]]) -> None:
    """Write a page's rows: rows of earlier pages are changed by statements after it."""
    _store_headers(conn, rows)
    bulk(conn, "dossier.insert_entry", _INSERT_ENTRY, rows.entries)
    if rows.erased:
        _erase_entries(conn, rows.erased)
    bulk(conn, "dossier.insert_action", _INSERT_ACTION, list(rows.new_actions.values()))
    bulk(conn, "dossier.action_done", _ACTION_DONE, rows.done_actions)
    bulk(conn, "dossier.insert_fund", _INSERT_FUND, rows.funds_new)
    _store_donors(conn, rows.donors, donors)


def _store_headers(conn: Connection, rows: _PageRows) -> None:
    """The page's case headers (their status derived last), and erased students' other cases."""
    d, erased = rows.dialect, rows.erased
    for erased_id in erased:
        if erased_id in rows.cases:
            rows.cases[erased_id].update(_ERASED_HEADER)
    stored: list[dict[str, Any]] = []
    for case in rows.cases.values():
        case["status"] = _status(case)
        row = dict(case)
        row["opened_at"] = db_time(d, case["opened_at"])
        row["updated_at"] = db_time(d, case["updated_at"])
        row["verification"] = (
            None if case["verification"] is None else to_json(case["verification"])
        )
        stored.append(row)
    bulk(
        conn,
        "dossier.update_case",
        _UPDATE_CASE,
        [{"k_case": r["case_id"], **r} for r in stored if r["case_id"] in rows.existing],
    )
    bulk(
        conn,
        "dossier.insert_case",
        _INSERT_CASE,
        [r for r in stored if r["case_id"] not in rows.existing],
    )
    if erased:  # the student's cases of other years, not among this page's rows
        conn.execute(
            sa.update(case_table).where(case_table.c.case_id.in_(erased)).values(**_ERASED_HEADER)
        )


def _store_donors(
    conn: Connection, donors: dict[str, list[tuple[str, int]]], known: dict[str, list[str]]
) -> None:
    """Each fund's new donors, in the order they first gave, with the position they first gave at.

    ``known``: funds' donor lists as this process wrote them, valid while the view stands
    where it wrote them (:meth:`DossierView.write` empties it otherwise); a fund not in it is
    read back. Every deposit read its fund's row back: a statement and a round trip each.
    """
    new_donors: list[dict[str, Any]] = []
    if len(known) > CACHED_CASES:
        known.clear()
    for fund_id, given in donors.items():
        current = known.get(fund_id)
        if current is None:
            current = conn.execute(
                sa.select(fund_table.c.donors).where(fund_table.c.fund_id == fund_id)
            ).scalar_one()
        first: dict[str, int] = {}
        for source, position in given:
            if source not in current:
                first.setdefault(source, position)
        new_donors += [{"fund_id": fund_id, "source": s, "position": p} for s, p in first.items()]
        merged = [*current, *first]
        if merged != current:
            conn.execute(
                sa.update(fund_table).where(fund_table.c.fund_id == fund_id).values(donors=merged)
            )
        known[fund_id] = merged
    bulk(conn, "dossier.insert_donor", _INSERT_DONOR, new_donors)


# -- queries ---------------------------------------------------------------------------------


def dossier(conn: Connection, case_id: str, *, upto: int | None = None) -> Dossier:
    """A case's dossier now, or as it stood at position ``upto``.

    The header is the only row that changes in place; a past header is folded
    from the case's entries up to the position (each carries its event's masked
    fields) by the same changes the writer applies. Entries, actions (from the
    consultation entries) and donors (``dossier_donor``) carry their positions.
    """
    key = str(case_id)
    row = conn.execute(sa.select(case_table).where(case_table.c.case_id == key)).mappings().first()
    if row is None:
        raise CaseNotFound(
            said("no dossier for case {case_id}", case_id=case_id), ids={"case_id": key}
        )
    past = upto is not None and int(row["last_position"]) > upto
    entries = _entries(conn, key, upto if past else None)
    if upto is not None and past:
        if not entries:
            raise CaseNotFound(
                said("case {case_id} did not exist at position {upto}", case_id=case_id, upto=upto),
                ids={"case_id": key},
            )
        header = _past_header(row, key, entries)
        actions = _actions_from(key, entries)
    else:
        header = {k: v for k, v in row.items() if k not in ("hardships", "follow_ups")}
        actions = _actions(conn, key)

    def by(section: str) -> list[DossierEntry]:
        return [x for x in entries if x.section == section]

    return Dossier(
        **header,
        approvals=by("approval"),
        disbursements=by("disbursement"),
        returns=by("return"),
        secondary_aid=_secondary_aid(by("secondary_aid"), _funds(conn, upto)),
        hardships=by("hardship"),
        consultations=by("consultation"),
        actions=actions,
        follow_ups=by("follow_up"),
        timeline=entries,
    )


def _entries(conn: Connection, case_id: str, upto: int | None) -> list[DossierEntry]:
    """A case's entries in position order (up to ``upto`` if given): its timeline."""
    e = entry_table
    query = sa.select(e).where(e.c.case_id == case_id).order_by(e.c.position)
    if upto is not None:
        query = query.where(e.c.position <= upto)
    return [
        DossierEntry.model_validate({**r, "detail": mask_free_texts(r["detail"])})
        for r in conn.execute(query).mappings()
    ]


def _past_header(
    row: sa.RowMapping, case_id: str, entries: Sequence[DossierEntry]
) -> dict[str, Any]:
    """A header as of the last of ``entries``: folded, but for what the stored header keeps.

    Name and ID never change and are kept masked in the header only (``[erased]`` once the
    student's key is destroyed); the account as of the position comes from the fold (account
    changes carry it masked).
    """
    folded = _folded(case_id, entries)
    kept = _ERASED_HEADER if row["name"] == ERASED else ("name", "student_id_masked")
    return {**folded, **{k: row[k] for k in kept}}


def _actions(conn: Connection, case_id: str) -> list[ActionItem]:
    """A case's consultation decisions and their state now (``dossier_action``)."""
    a = action_table
    query = sa.select(a).where(a.c.case_id == case_id).order_by(a.c.assigned_at, a.c.action_id)
    return [ActionItem.model_validate(dict(r)) for r in conn.execute(query).mappings()]


def _funds(conn: Connection, upto: int | None) -> dict[str, tuple[str, list[str]]]:
    """Each fund's name and donors, as they stood at ``upto`` if given: those who had given
    by then, in the order they first gave."""
    funds = {r.fund_id: (r.name, list(r.donors)) for r in conn.execute(sa.select(fund_table))}
    if upto is None:
        return funds
    given: dict[str, list[str]] = {}
    for fund_id, source in conn.execute(
        sa.select(donor_table.c.fund_id, donor_table.c.source)
        .where(donor_table.c.position <= upto)
        .order_by(donor_table.c.position)
    ):
        given.setdefault(fund_id, []).append(source)
    return {k: (name, given.get(k, [])) for k, (name, _) in funds.items()}


def _secondary_aid(
    entries: Sequence[DossierEntry], funds: dict[str, tuple[str, list[str]]]
) -> list[dict[str, Any]]:
    """The secondary-aid entries, each with its fund's name and donors."""
    secondary = []
    for entry in entries:
        fund = funds.get(entry.detail["fund_id"])
        secondary.append(
            {
                **entry.detail,
                "position": entry.position,
                "recorded_at": entry.recorded_at.isoformat(),
                "fund_name": fund[0] if fund else None,
                "donors": fund[1] if fund else [],
            }
        )
    return secondary


def _folded(case_id: str, entries: Sequence[DossierEntry]) -> dict[str, Any]:
    """A dossier's header as of its last entry, folded from its entries by the writer's changes."""
    opening = entries[0].detail  # the application: its personal fields are stored masked
    case = {
        **_opened(case_id, SimpleNamespace(**opening), entries[0].recorded_at),
        "student_id_masked": opening["student_id"],
        "account_masked": opening.get("account_masked", opening["account"]),
    }
    for entry in entries:
        change = _CHANGES.get(CLASS_OF[entry.event_type])
        if change is not None:
            change(case, SimpleNamespace(**entry.detail), entry.recorded_at)
        case["updated_at"] = entry.recorded_at
        case["last_position"] = entry.position
    case["status"] = _status(case)
    return {k: v for k, v in case.items() if k not in ("hardships", "follow_ups")}


def _actions_from(case_id: str, entries: Sequence[DossierEntry]) -> list[ActionItem]:
    """The consultation decisions and their state, from the case's entries."""
    actions: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.section == "consultation":
            for item in entry.detail["actions"]:
                actions[item["action_id"]] = {
                    "case_id": case_id,
                    "action_id": item["action_id"],
                    "department": item["department"],
                    "text": item["text"],
                    "assigned_at": entry.recorded_at,
                    "done_at": None,
                }
        elif entry.section == "action_done":
            done = actions.get(entry.detail["action_id"])
            if done is not None:
                done.update(
                    done_at=entry.recorded_at, done_by=entry.actor, note=entry.detail["note"]
                )
    return sorted(
        (ActionItem.model_validate(a) for a in actions.values()),
        key=lambda x: (x.assigned_at, x.action_id),
    )


def cases(
    conn: Connection,
    *,
    status: str | None = None,
    town: str | None = None,
    family_category: str | None = None,
    year: int | None = None,
    limit: int | None = None,
) -> list[CaseSummary]:
    c = case_table
    query = sa.select(*[c.c[f] for f in CaseSummary.model_fields]).order_by(
        c.c.opened_at, c.c.case_id
    )
    for column, value in (
        ("status", status),
        ("town", town),
        ("family_category", family_category),
        ("year", year),
    ):
        if value is not None:
            query = query.where(c.c[column] == value)
    if limit is not None:
        query = query.limit(limit)
    return [CaseSummary.model_validate(dict(r)) for r in conn.execute(query).mappings()]


# -- issue 13: find a case by name or national ID (office13; a query only, no schema change) --


def find(
    conn: Connection, *, name: str | None = None, masked_id: str | None = None, limit: int = 50
) -> list[CaseSummary]:
    """Candidate cases for a whole name, or for a masked national ID.

    The view keeps masked names and IDs only (issue 11), so a match is a candidate:
    the caller confirms it against the store (:meth:`ReadModels.find_cases`).
    """
    c = case_table
    query = sa.select(*[c.c[f] for f in CaseSummary.model_fields]).order_by(
        c.c.opened_at, c.c.case_id
    )
    if masked_id is not None:
        query = query.where(c.c.student_id_masked == masked_id)
    elif name:  # every case of the surname: the mask keeps nothing more
        query = query.where(sa.func.lower(c.c.name) == mask_name(name).lower())
        limit = max(limit, NAME_CANDIDATES)
    else:
        return []
    return [
        CaseSummary.model_validate(dict(r)) for r in conn.execute(query.limit(limit)).mappings()
    ]


NAME_CANDIDATES = 20_000
"""Cases of one surname looked at for a name (each confirmed against its sealed name)."""

MIN_PREFIX = 6
"""The shortest id prefix accepted, as the list commands print ids."""


def whole_id(ref: str) -> UUID | None:
    """``ref`` as a whole id, else None (a prefix, or not an id). A whole id is taken as it
    is, without a query: the question asked with it says whether it names a case or fund."""
    try:
        return UUID(ref.strip().lower())
    except ValueError:
        return None


def resolve_case(conn: Connection, prefix: str) -> UUID:
    """The case whose id is ``prefix`` or starts with it (at least 6 characters)."""
    return _resolve(conn, case_table.c.case_id, prefix, "case", CaseNotFound)


def resolve_fund(conn: Connection, prefix: str) -> UUID:
    """The fund whose id is ``prefix`` or starts with it (at least 6 characters)."""
    return _resolve(conn, fund_table.c.fund_id, prefix, "fund", FundNotFound)


_KINDS = {"case": said("case"), "fund": said("fund")}
"""What an id names, a word of the catalogue (案件, 资金 in Chinese)."""


def _resolve(
    conn: Connection, column: sa.Column[str], prefix: str, kind: str, missing: type[NotFound]
) -> UUID:
    whole = whole_id(prefix)
    if whole is not None:
        return whole
    text = prefix.strip().lower()
    if len(text) < MIN_PREFIX or not all(ch in "0123456789abcdef-" for ch in text):
        raise missing(said(M.NOT_AN_ID, text=prefix, kind=_KINDS[kind]))
    found = list(conn.execute(sa.select(column).where(column.like(text + "%")).limit(6)).scalars())
    if not found:
        raise missing(said(M.NO_ID_STARTS, kind=_KINDS[kind], text=prefix))
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise InvalidInput(
            said(
                "more than one {kind} id starts with {prefix} ({shown}); give more characters",
                kind=_KINDS[kind],
                prefix=prefix,
                shown=shown,
            ),
            ids={f"{kind}_ids": " ".join(found[:5])},
        )
    return UUID(found[0])
