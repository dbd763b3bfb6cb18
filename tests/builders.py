"""Small builders so that tests read like the bureau's story."""

from __future__ import annotations

from itertools import count
from typing import Any
from uuid import UUID, uuid4

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.canonical import national_id_check_digit
from aidflow.domain.case import StudentCase
from aidflow.domain.clock import using_clock
from aidflow.domain.staff import Role, StaffRegistry

OFFICERS = (
    "a",
    "alice",
    "approver",
    "bank",
    "bob",
    "boss",
    "c",
    "carol",
    "cashier",
    "chair",
    "civil-affairs-chair",
    "clerk",
    "committee",
    "f",
    "fed",
    "federation",
    "finance",
    "finance-cashier",
    "finance-office",
    "late-approver",
    "other-approver",
    "screening",
    "screening-office",
    "sidu-officer",
    "v",
    "verifier",
    "village",
    "village-officer",
    "visitor",
    "visitor2",
    "x",
    "y",
)
"""Test officers: each may do every step of the lifecycle, so the rule under test is the
only thing a test is about (authorisation has tests of its own)."""
LIAISONS = {
    "health": "health",
    "education": "education",
    "civil-affairs-liaison": "civil-affairs",
    "counselling": "counselling",
}
OPERATIONS = (
    Role.SCREENING_CLERK,
    Role.VERIFIER,
    Role.APPROVER,
    Role.CASHIER,
    Role.DONATIONS_OFFICER,
)


OFFICE_EVENTS = 2 + len(OFFICERS) + len(LIAISONS)
"""Events :func:`register_staff` writes on a fresh store (the registry, then each member):
the position of a test's own first event is ``OFFICE_EVENTS + 1``."""


def register_staff(flow: AidFlow) -> None:
    """Register the test office (an admin, the officers, the liaisons); a no-op when the
    store already has them, so reopening a store may call it again.

    The registry's own methods decide every member (the same events as ``staff add``, one
    by one), and the office is saved once: 38 commands' worth of events in one transaction.
    """
    registry = flow.staff_registry()
    if registry is not None and registry.member("admin") is not None:
        return
    before = flow.recorder.max_notification_id() or 0
    with using_clock(flow.clock):
        registry = registry or StaffRegistry()  # created under the store's clock too
        registry.add_member(name="admin", roles=[Role.ADMIN], department="", town="", actor="admin")
        for name in OFFICERS:
            registry.add_member(
                name=name, roles=list(OPERATIONS), department="", town="", actor="admin"
            )
        for name, department in LIAISONS.items():
            registry.add_member(
                name=name,
                roles=[Role.LIAISON, *OPERATIONS],
                department=flow.policy_department(department),
                town="",
                actor="admin",
            )
        flow.save(registry)
    assert (flow.recorder.max_notification_id() or 0) - before == OFFICE_EVENTS


def register_officers(flow: AidFlow, names: list[str]) -> None:
    """Register more officers with every operational role (the test office must exist)."""
    for name in names:
        flow.add_staff(cmd.AddStaff(name=name, roles=list(OPERATIONS), actor="admin"))


_REFS = count(1)
_RUN = uuid4().hex[:6].upper()


def new_ref(prefix: str = "SP") -> str:
    """A decision reference (审批编号) no other decision in any test store has used."""
    return f"{prefix}-{_RUN}-{next(_REFS):05d}"


def national_id(n: int, birth: str = "20070315") -> str:
    """A valid 18-character ID from Huichuan (520302) for student number ``n``."""
    first17 = f"520302{birth}{n % 1000:03d}"
    return first17 + national_id_check_digit(first17)


def government_fund(flow: AidFlow, yuan: int = 100_000) -> UUID:
    fund = flow.open_fund(
        cmd.OpenFund(name="Temporary assistance 2026", kind="government", actor="finance")
    )
    flow.deposit(
        cmd.Deposit(
            fund_id=fund,
            amount_fen=yuan * 100,
            source="district budget",
            receipt=f"B-{fund.hex[:6]}",
            actor="finance",
        )
    )
    return fund


def donation_fund(flow: AidFlow, yuan: int = 50_000) -> UUID:
    fund = flow.open_fund(
        cmd.OpenFund(
            name="Chamber of commerce", kind="donation", purpose="secondary aid", actor="finance"
        )
    )
    flow.deposit(
        cmd.Deposit(
            fund_id=fund,
            amount_fen=yuan * 100,
            source="Huichuan chamber",
            receipt=f"D-{fund.hex[:6]}",
            actor="finance",
        )
    )
    return fund


def account_of(n: int) -> str:
    """Student ``n``'s own bank account (each student has their own; all end in 3445)."""
    return f"62220202{112_233_445 + (n - 1) * 10_000:011d}"


def application(
    n: int = 1, year: int = 2026, *, actor: str = "screening", name: str | None = None
) -> cmd.Apply:
    """Student ``n``'s application for ``year``, with their own account."""
    return cmd.Apply(
        student_id=national_id(n),
        name=name or f"Student {n}",
        university="Guizhou University",
        family_category="dibao",
        town="Dalian",
        year=year,
        account=account_of(n),
        actor=actor,
    )


def applied(flow: AidFlow, n: int = 1, year: int = 2026) -> UUID:
    return flow.apply(application(n, year))


def verification(case: UUID, verifier: str = "visitor") -> cmd.Verify:
    """The household visit's finding for ``case``: a gap of 5,000 yuan, for tuition."""
    return cmd.Verify(
        case_id=case,
        income_fen=1_200_000,
        tuition_fen=600_000,
        gap_fen=500_000,
        needs=["tuition"],
        actor=verifier,
    )


def approval(case: UUID, fund: UUID, yuan: int = 5000) -> cmd.Approve:
    """A grant of ``yuan`` for tuition from ``fund``, under a reference of its own."""
    return cmd.Approve(
        ref=new_ref(), case_id=case, amount_fen=yuan * 100, need="tuition", fund_id=fund,
        actor="approver",
    )  # fmt: skip


def verified(flow: AidFlow, n: int = 1, verifier: str = "visitor") -> UUID:
    case = applied(flow, n)
    flow.verify(verification(case, verifier))
    return case


def approved(flow: AidFlow, fund: UUID, n: int = 1, yuan: int = 5000) -> UUID:
    case = verified(flow, n)
    flow.approve(approval(case, fund, yuan))
    return case


def paid(flow: AidFlow, fund: UUID, n: int = 1, yuan: int = 5000) -> UUID:
    case = approved(flow, fund, n, yuan)
    flow.disburse(
        cmd.Disburse(case_id=case, amount_fen=yuan * 100, voucher=f"V-{n}", actor="cashier")
    )
    return case


def secondary_aid(
    flow: AidFlow,
    case: UUID,
    fund: UUID,
    fen: int,
    *,
    ref: str | None = None,
    proposer: str = "federation",
    approver: str = "approver",
) -> str:
    """Secondary aid proposed by one person and approved by another (reserved in the fund);
    it is paid like a grant, through the payment list or ``disburse``. Returns its reference."""
    ref = ref or new_ref("GSL")
    flow.allocate_secondary_aid(
        cmd.AllocateSecondaryAid(
            ref=ref, case_id=case, fund_id=fund, amount_fen=fen, actor=proposer
        )
    )
    flow.approve_secondary_aid(cmd.ApproveSecondaryAid(case_id=case, ref=ref, actor=approver))
    return ref


def followed_up(
    flow: AidFlow, case: UUID, actor: str = "village", received: str | None = None
) -> None:
    """A follow-up visit: a paid case is followed up before it closes (issue 12); with
    ``received``, the student's word on the money (issue 23)."""
    flow.follow_up(
        cmd.FollowUp(
            case_id=case,
            study="attending classes",
            living="stable",
            hardship_trend="unchanged",
            received=received,
            actor=actor,
        )
    )


CASE_FIELDS: dict[str, Any] = {
    "student_id": national_id(7),
    "name": "Wang",
    "university": "GZU",
    "family_category": "dibao",
    "town": "Dalian",
    "year": 2026,
    "account": "6222020200112233445",
    "source": "screening",
    "actor": "screening",
}
"""A screened case's application, for aggregate tests (any field may be given instead)."""


def opened_case(**values: Any) -> StudentCase:
    """A case aggregate opened from :data:`CASE_FIELDS`, with ``values`` instead."""
    return StudentCase.open(**{**CASE_FIELDS, **values})


def verified_case(
    *,
    gap_fen: int = 600_000,
    needs: tuple[str, ...] = ("tuition",),
    verifier: str = "visitor",
    note: str = "",
    **values: Any,
) -> StudentCase:
    """:func:`opened_case`, then a household visit that found ``needs`` and ``gap_fen``."""
    case = opened_case(**values)
    case.verify(
        income_fen=0,
        tuition_fen=0,
        gap_fen=gap_fen,
        needs=list(needs),
        visited_on=None,
        note=note,
        actor=verifier,
    )
    return case


def corrupt_record(store_url: str, position: int, state: bytes = b"{not json") -> None:
    """Overwrite the stored bytes of the record at ``position``, as a damaged disk or a hand
    on the database would (the library's events table on either backend)."""
    import sqlalchemy as sa

    from aidflow.projections.base import create_view_engine

    table, key = (
        ("stored_events", "rowid")
        if store_url.startswith("sqlite")
        else ("aidflow_events", "notification_id")
    )
    raw = create_view_engine(store_url)
    try:
        with raw.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE {table} SET state = :s WHERE {key} = :p"),
                {"s": state, "p": position},
            )
    finally:
        raw.dispose()
