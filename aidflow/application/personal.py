"""Personal data: a recorded reveal, a recorded search, and erasure by destroying the
student's data key."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import Context
from aidflow.application.pipeline import Decision
from aidflow.domain import canonical
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import ErasureRefused, InvalidInput, NotAwaitingVisit, said
from aidflow.domain.masking import Sealed
from aidflow.domain.searches import Search
from aidflow.domain.values import CaseStatus
from aidflow.i18n import messages as M
from aidflow.models import PersonalData, VisitList, VisitRow

REVEALED = ("student_id", "name", "account")


def reveal(ctx: Context, c: cmd.Reveal) -> Decision[PersonalData]:
    """The student's national ID, name and account in full, for a role that needs them
    (verifier, cashier); the reveal is recorded on the case (who, what, why) first."""
    case = ctx.case(c.case_id)
    case.reveal(fields=list(REVEALED), reason=c.reason, actor=c.actor)
    result = PersonalData(
        case_id=case.id,
        student_id=str(case.student_id),
        name=str(case.name),
        account=str(case.account),
    )
    return result, [case]


VISIT_REASON = M.VISITS_REASON
"""The reason recorded on each case of a visit list drawn without one (the catalogue's
English; the command line gives it in the clerk's language)."""
AWAITING_VISIT = frozenset({CaseStatus.APPLIED, CaseStatus.REOPENED})
VISIT_FIELDS = ("student_id", "name")
"""What a visit list shows in full (not the account), so what its reveals record."""


def visit_list(ctx: Context, c: cmd.RevealVisitList) -> Decision[VisitList]:
    """The cases awaiting a household visit in the verifier's towns, in full, each reveal
    recorded on its case in one save: a case in another town, or not awaiting a visit,
    refuses the whole list (nothing is recorded)."""
    reason = c.reason or VISIT_REASON
    cases: list[StudentCase] = []
    rows: list[VisitRow] = []
    for case_id in dict.fromkeys(c.case_ids):
        case = ctx.case(case_id)
        ctx.check_town(case)
        if case.status not in AWAITING_VISIT:
            raise NotAwaitingVisit(
                said(
                    "case {id} is {status}, not awaiting a household visit",
                    id=case.id,
                    status=case.status.value,
                ),
                ids={"case_id": str(case.id)},
            )
        case.reveal(fields=list(VISIT_FIELDS), reason=reason, actor=c.actor)
        cases.append(case)
        rows.append(
            VisitRow(
                case_id=case.id,
                name=str(case.name),
                student_id=str(case.student_id),
                university=str(case.university),
                town=str(case.town),
                family_category=str(case.family_category),
                status=case.status.value,
            )
        )
    return VisitList(reason=reason, rows=rows), cases


def record_search(ctx: Context, c: cmd.RecordSearch) -> Decision[None]:
    """A search recorded (who, by what, a keyed hash of what was asked, what it found):
    by national ID when the text is one, else by name in the form names are compared in."""
    try:
        by, wanted = "student_id", canonical.national_id(c.text)
    except InvalidInput:
        by, wanted = "name", " ".join(c.text.split()).casefold()
    query = ctx.keyed(f"search/{by}", wanted)
    return None, [Search.record(by=by, query=query, hits=[str(h) for h in c.hits], actor=c.actor)]


def ended_at(ctx: Context, case_id: UUID) -> datetime | None:
    """When the case last ended (closed or rejected), unless a hardship reopened it since."""
    ended = None
    for domain_event in ctx.events(case_id):
        if isinstance(domain_event, StudentCase.Closed | StudentCase.Rejected):
            ended = domain_event.timestamp
        elif isinstance(domain_event, StudentCase.HardshipReported):
            ended = None  # a reported hardship reopens the case
    return ended


def sealed_key(case: StudentCase) -> str:
    """The student's data key id; refused for a case written before data was sealed."""
    if not isinstance(case.student_id, Sealed):
        raise ErasureRefused(
            said(
                "case {id} was recorded before personal data was encrypted (v0.1.0): its name and ID are in clear in the append-only record, and destroying a key cannot remove them; see docs/security.md, 'Migrating a v0.1.0 store'",
                id=case.id,
            ),
            ids={"case_id": str(case.id)},
        )
    return case.student_id.key_id


def erase(ctx: Context, c: cmd.EraseCase) -> Decision[list[UUID]]:
    """Record the erasure of the student's personal data, across every year's case.

    Refused while any of their cases is open, owes money, or is within the retention
    period (``Policy.retention_years`` after it was closed or rejected). The key itself
    is destroyed once the record is committed (and again by a retry, should the process
    have died in between).
    """
    case = ctx.case(c.case_id)
    key_id = sealed_key(case)
    if case.personal_data_erased:
        if not ctx.key_erased(key_id) or not _came_back(ctx, case, key_id):
            ctx.destroy_key(key_id)  # finish an erasure interrupted after its record
        raise ErasureRefused(
            said("the personal data of case {id} is erased already", id=case.id),
            ids={"case_id": str(case.id)},
        )
    cases: list[StudentCase] = []
    for owner in dict.fromkeys([str(case.id), *ctx.key_owners(key_id)]):
        found = case if owner == str(case.id) else ctx.get(UUID(owner))
        # a case erased before the student came back (a new key) has nothing left to erase
        if isinstance(found, StudentCase) and (found is case or not found.personal_data_erased):
            found.check_erasable(
                ended_at=ended_at(ctx, found.id),
                now=ctx.moment,
                retention_years=ctx.policy.retention_years,
            )
            cases.append(found)
    case.erase_personal_data(reason=c.reason, cases=[str(x.id) for x in cases], actor=c.actor)
    ctx.after_commit.append(lambda: ctx.destroy_key(key_id))
    return [x.id for x in cases], [case]


def _came_back(ctx: Context, case: StudentCase, key_id: str) -> list[UUID]:
    """The student's cases opened after ``case``'s erasure and not erased: a student who came
    back, under a new key that repeating the old erasure must leave alone."""
    erased_with = {
        x
        for event in ctx.events(case.id)
        if isinstance(event, StudentCase.PersonalDataErased)
        for x in event.cases
    }
    later = [UUID(o) for o in ctx.key_owners(key_id) if o not in erased_with]
    return [
        x.id
        for x in map(ctx.get, later)
        if isinstance(x, StudentCase) and not x.personal_data_erased
    ]


def is_named(case: StudentCase, name: str) -> bool:
    """Whether the case's student has this name (canonical, case-insensitive); for
    finding a case by name, which the views keep only masked. Reveals nothing else."""
    if getattr(case.name, "erased", False):
        return False
    try:
        wanted = canonical.text(name, "name", max_length=canonical.MAX_NAME)
    except Exception:
        return False
    return " ".join(wanted.split()).casefold() == " ".join(str(case.name).split()).casefold()
