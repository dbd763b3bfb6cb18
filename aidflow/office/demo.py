"""The demo: one programme year of the Huichuan district, as the article tells it.

231 screening matches; 25 rejected with reasons; 206 verified, approved and paid
from a 950,000 yuan government fund in tiers of 5,000 / 4,000 / 3,000 / 2,000
yuan (898,000 yuan); 185,600 yuan donated by 7 donors; 28 paid students given
182,000 yuan of secondary aid; a few hardships after enrolment, one leading to
a consultation of civil affairs, education and health. Programme total:
1,080,000 yuan. Deterministic for a given seed; timestamps follow a simulated
July-October calendar of the most recent programme year that has ended.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application import AidFlow
from aidflow.domain.canonical import national_id_check_digit
from aidflow.domain.errors import RuleViolation, said
from aidflow.models import PaymentList
from aidflow.office.screening import screen

TOWNS = [
    "Dalian Road",
    "Gaoping",
    "Tuanze",
    "Banqiao",
    "Sidu",
    "Shawan",
    "Shanpen",
    "Songlin",
    "Maoshi",
    "Donggongsi",
]
TOWN_CODES = {town: f"5203{n:02d}" for n, town in enumerate(TOWNS, start=2)}
UNIVERSITIES = [
    "Guizhou University",
    "Zunyi Medical University",
    "Guizhou Normal University",
    "Zunyi Normal College",
    "Sichuan University",
    "Chongqing University",
    "Guizhou University of Finance and Economics",
]
SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Luo",
    "Tang",
    "Mu",
]
GIVEN = [
    "Fang",
    "Wei",
    "Min",
    "Jing",
    "Lei",
    "Yan",
    "Tao",
    "Hui",
    "Qiang",
    "Xue",
    "Lan",
    "Jun",
    "Ying",
    "Bo",
    "Na",
]
DONORS = [
    ("Huichuan Federation of Industry and Commerce", 5_000_000),
    ("Zunyi Huichuan Construction Group", 4_000_000),
    ("Guizhou Qiancheng Liquor Co.", 3_000_000),
    ("Huichuan Young Entrepreneurs Chamber", 2_500_000),
    ("Gaoping Agricultural Cooperative", 2_000_000),
    ("Dalian Road Merchants Association", 1_260_000),
    ("Zunyi Tea Industry Chamber", 800_000),
]
TIERS = [(500_000, 120), (400_000, 50), (300_000, 26), (200_000, 10)]  # 206 students, 898,000 yuan
SECONDARY = [(700_000, 14), (600_000, 14)]  # 28 students, 182,000 yuan
REJECTIONS = [
    "household income above the assistance line at verification",
    "already fully funded by a national scholarship",
    "family declined assistance",
    "student chose to repeat the exam year",
    "registry status ended before admission",
]
NEEDS = ["tuition", "travel", "living", "supplies"]
MATCHED = 231  # admitted students found on the registry: one case each
REJECTED = 25
GRANTED = sum(count for _, count in TIERS)
assert MATCHED == REJECTED + GRANTED
HELPED_TWICE = sum(count for _, count in SECONDARY)
STEPS = MATCHED + REJECTED + 2 * GRANTED + HELPED_TWICE
"""Progress ticks of :func:`run_demo`: each verification, rejection, approval, payment, secondary aid."""


class SimulatedClock:
    """Advances a few minutes per command through the programme's calendar."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.moment = start
        self.rng = rng

    def __call__(self) -> datetime:
        self.moment += timedelta(minutes=self.rng.randint(1, 9))
        return self.moment

    def jump(self, to: datetime) -> None:
        self.moment = max(self.moment, to)


@dataclass
class DemoResult:
    year: int
    government_fund: UUID
    donation_fund: UUID
    screened: int
    rejected: list[UUID] = field(default_factory=list)
    paid: list[UUID] = field(default_factory=list)
    secondary: list[UUID] = field(default_factory=list)
    consulted: UUID | None = None


def programme_year(today: date) -> int:
    """The latest year whose July-October programme has finished."""
    return today.year if today >= date(today.year, 11, 1) else today.year - 1


def _national_id(rng: random.Random, town: str, year: int, used: set[str]) -> str:
    while True:
        birth = date(year - 18, 1, 1) + timedelta(days=rng.randint(0, 364))
        first17 = f"{TOWN_CODES[town]}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
        value = first17 + national_id_check_digit(first17)
        if value not in used:
            used.add(value)
            return value


def _write_lists(folder: Path, rng: random.Random, year: int) -> None:
    """An admission list of 3,231 students and a registry of 2,431 households; 231 in both."""
    used: set[str] = set()
    matched = [(_national_id(rng, t, year, used), t) for t in rng.choices(TOWNS, k=MATCHED)]
    others = [(_national_id(rng, t, year, used), t) for t in rng.choices(TOWNS, k=3000)]
    households = [(_national_id(rng, t, year - 30, used), t) for t in rng.choices(TOWNS, k=2200)]
    admitted = matched + others
    rng.shuffle(admitted)
    with (folder / "admissions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["national_id", "name", "university", "account"])
        for national_id, _ in admitted:
            account = f"6222{rng.randint(10**14, 10**15 - 1)}"
            w.writerow(
                [
                    national_id,
                    f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                    rng.choice(UNIVERSITIES),
                    account,
                ]
            )
    registry = [
        (nid, t, rng.choices(["dibao", "tekun", "expenditure"], weights=[6, 1, 3])[0])
        for nid, t in matched
    ]
    registry += [
        (nid, t, rng.choice(["dibao", "tekun", "expenditure", "other"])) for nid, t in households
    ]
    rng.shuffle(registry)
    with (folder / "registry.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["national_id", "category", "town"])
        w.writerows([nid, category, town] for nid, town, category in registry)


ADMIN = "district-admin"


RETURNED_LINES = (7, 60, 150)
"""Lines of the first payment list the bank returned (closed cards)."""


def _pay_list(flow: AidFlow, fund: UUID, cases: list[UUID], day: date) -> PaymentList:
    return flow.issue_payment_list(
        cmd.IssuePaymentList(fund_id=fund, list_date=day, actor="finance-cashier"), cases
    )


def _statement(
    flow: AidFlow, listed: PaymentList, day: date, name: str, returned: set[str]
) -> None:
    """The bank's statement of a list: every line paid, except the ``returned`` vouchers."""
    flow.reconcile(
        cmd.Reconcile(
            name=name,
            lines=[
                cmd.StatementLine(
                    line=n,
                    value_date=day,
                    account=x.account,
                    amount_fen=x.amount_fen,
                    reference=x.voucher,
                    status="returned" if x.voucher in returned else "paid",
                    note="account closed" if x.voucher in returned else "",
                )
                for n, x in enumerate(listed.lines, start=2)
            ],
            actor="finance-cashier",
        )
    )


def register_office(flow: AidFlow) -> None:
    """The bureau's staff and their posts (人员与岗位), registered before any case is opened."""
    from aidflow.domain.staff import Role

    def add(name: str, *roles: Role, department: str = "") -> None:
        flow.add_staff(
            cmd.AddStaff(name=name, roles=list(roles), department=department, actor=ADMIN)
        )

    add(ADMIN, Role.ADMIN)
    add("screening-office", Role.SCREENING_CLERK)
    for town in TOWNS:
        add(f"{town.lower().replace(' ', '-')}-officer", Role.VERIFIER)
    add("village-officer", Role.VERIFIER)
    add("bureau-approver-1", Role.APPROVER)
    add("bureau-approver-2", Role.APPROVER)
    add("civil-affairs-chair", Role.APPROVER)
    add("finance-office", Role.CASHIER)
    add("finance-cashier", Role.CASHIER)
    add("federation", Role.DONATIONS_OFFICER)
    for department in ("civil-affairs", "education", "health"):
        add(f"{department}-liaison", Role.LIAISON, department=department)
    add("district-auditor", Role.AUDITOR)


def run_demo(
    flow: AidFlow,
    *,
    seed: int = 2026,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Build the programme year into an empty store. ``progress`` gets :data:`STEPS` ticks.

    Refused on a store that already holds events: the demo's figures are the whole record.
    """
    head = flow.recorder.max_notification_id()
    if head:
        raise RuleViolation(
            said(
                "the store already holds {head} events; the demo builds its programme year into a fresh, empty database",
                head=head,
            )
        )
    flow.vault.ensure_master()  # issue 11: a fresh machine gets a key file beside the database
    rng = random.Random(seed)  # noqa: S311 - a seeded, repeatable simulation
    year = programme_year(today or datetime.now(tz=UTC).date())
    clock = SimulatedClock(datetime(year, 7, 1, 1, 0, tzinfo=UTC), rng)
    flow.clock = clock
    register_office(flow)
    demo = _Year(flow, rng, clock, year, progress or (lambda _n: None))
    try:
        demo.funds()
        demo.screening()
        demo.verification()
        demo.decisions()
        demo.through_the_bank()
        demo.secondary_aid()
        demo.follow_ups()
        demo.hardships()
    finally:
        flow.clock = None
    return demo.result


NO_FUND = UUID(int=0)
"""Before the funds are opened."""


@dataclass
class _Year:
    """The programme year as it happens, stage by stage, on the simulated calendar."""

    flow: AidFlow
    rng: random.Random
    clock: SimulatedClock
    year: int
    tick: Callable[[int], None]
    gov: UUID = NO_FUND
    don: UUID = NO_FUND
    cases: list[UUID] = field(default_factory=list)
    gaps: dict[UUID, int] = field(default_factory=dict)
    needs: dict[UUID, list[str]] = field(default_factory=dict)
    result: DemoResult = field(init=False)

    def at(self, month: int, day: int) -> None:
        self.clock.jump(datetime(self.year, month, day, 9, tzinfo=UTC))

    def funds(self) -> None:
        """The government line with its budget, and the donation fund with seven donors'."""
        year, flow = self.year, self.flow
        self.gov = flow.open_fund(
            cmd.OpenFund(
                name=f"Temporary assistance {year}",
                kind="government",
                purpose="临时救助 for new university students",
                actor="finance-office",
            )
        )
        flow.deposit(
            cmd.Deposit(
                fund_id=self.gov,
                amount_fen=95_000_000,
                source="Huichuan district budget",
                receipt=f"CZ-{year}-0701",
                value_date=date(year, 7, 1),
                actor="finance-office",
            )
        )
        self.don = flow.open_fund(
            cmd.OpenFund(
                name=f"Secondary aid {year}",
                kind="donation",
                purpose="二次帮扶 for students with heavy ongoing costs",
                actor="federation",
            )
        )
        for n, (donor, fen) in enumerate(DONORS, start=1):
            self.at(7, 2 + n)
            flow.deposit(
                cmd.Deposit(
                    fund_id=self.don,
                    amount_fen=fen,
                    source=donor,
                    receipt=f"JZ-{year}-{n:03d}",
                    value_date=self.clock.moment.date(),
                    actor="federation",
                )
            )

    def screening(self) -> None:
        """The admission list matched against the assistance registry (信息筛查)."""
        self.at(7, 12)
        with tempfile.TemporaryDirectory() as folder:
            _write_lists(Path(folder), self.rng, self.year)
            report = screen(
                self.flow,
                Path(folder) / "admissions.csv",
                Path(folder) / "registry.csv",
                year=self.year,
                actor="screening-office",
            )
        self.cases = [UUID(row.case_id) for row in report.opened if row.case_id]
        self.result = DemoResult(
            year=self.year,
            government_fund=self.gov,
            donation_fund=self.don,
            screened=len(self.cases),
        )

    def verification(self) -> None:
        """Every household visited (入户核实)."""
        rng = self.rng
        verifiers = [f"{town.lower().replace(' ', '-')}-officer" for town in TOWNS]
        self.at(7, 16)
        for case in self.cases:
            tuition = rng.choice([450_000, 500_000, 550_000, 600_000, 800_000])
            # every gap covers the largest grant tier: a grant never exceeds the verified gap
            self.gaps[case] = rng.randint(500_000, 900_000)
            self.needs[case] = sorted(rng.sample(NEEDS, rng.randint(1, 3)))
            self.flow.verify(
                cmd.Verify(
                    case_id=case,
                    income_fen=rng.randint(600_000, 2_400_000),
                    tuition_fen=tuition,
                    gap_fen=self.gaps[case],
                    needs=self.needs[case],
                    visited_on=self.clock.moment.date(),
                    note="household visit",
                    actor=rng.choice(verifiers),
                )
            )
            self.tick(1)

    def decisions(self) -> None:
        """25 rejected with reasons, the rest granted in tiers (临时救助)."""
        rng, flow, year = self.rng, self.flow, self.year
        order = self.cases[:]
        rng.shuffle(order)
        rejected, granted = order[:REJECTED], order[REJECTED:]
        self.at(8, 1)
        for case in rejected:
            flow.reject(
                cmd.Reject(case_id=case, reason=rng.choice(REJECTIONS), actor="bureau-approver-1")
            )
            self.tick(1)
        amounts = [fen for fen, count in TIERS for _ in range(count)]
        rng.shuffle(amounts)
        for n, (case, fen) in enumerate(zip(granted, amounts, strict=True), start=1):
            flow.approve(
                cmd.Approve(
                    case_id=case,
                    amount_fen=fen,
                    need=rng.choice(self.needs[case]),  # a need the household visit found
                    fund_id=self.gov,
                    ref=f"MZ-{year}-{n:04d}",  # the approval form's number (审批编号)
                    actor=rng.choice(["bureau-approver-1", "bureau-approver-2"]),
                )
            )
            self.tick(1)
        self.result.rejected, self.result.paid = rejected, granted

    def through_the_bank(self) -> None:
        """Paid through the bank (代发): the cashier's payment list, then the bank's statement.

        Three cards came back closed; two people corrected each account, the next list
        re-issued them under new vouchers and the next statement confirmed them.
        """
        flow, year, granted = self.flow, self.year, self.result.paid
        self.at(8, 12)
        listed = _pay_list(flow, self.gov, granted, self.clock.moment.date())
        self.tick(len(listed.lines))
        bounced = {listed.lines[i].voucher for i in RETURNED_LINES}
        self.at(8, 14)
        _statement(flow, listed, self.clock.moment.date(), f"statement-{year}-08-14.csv", bounced)
        self.at(8, 16)
        for n, item in enumerate(x for x in listed.lines if x.voucher in bounced):
            flow.set_account(
                cmd.SetAccount(
                    case_id=item.case_id,
                    account=f"6217{self.rng.randint(10**14, 10**15 - 1)}",
                    bank="China Construction Bank, Zunyi",
                    reason="the bank returned the payment: card closed; new card from the family",
                    actor="village-officer",
                )
            )
            flow.confirm_account(
                cmd.ConfirmAccount(case_id=item.case_id, actor=f"bureau-approver-{n % 2 + 1}")
            )
        self.at(8, 20)
        returned = [x.case_id for x in listed.lines if x.voucher in bounced]
        again = _pay_list(flow, self.gov, returned, self.clock.moment.date())
        self.at(8, 22)
        _statement(flow, again, self.clock.moment.date(), f"statement-{year}-08-22.csv", set())

    def secondary_aid(self) -> None:
        """The heaviest-hit paid students given social-fund money (二次帮扶), by two people."""
        flow, year = self.flow, self.year
        self.at(9, 5)
        heavy = sorted(self.result.paid, key=lambda c: -self.gaps[c])[:HELPED_TWICE]
        secondary = [fen for fen, count in SECONDARY for _ in range(count)]
        for n, (case, fen) in enumerate(zip(heavy, secondary, strict=True), start=1):
            flow.allocate_secondary_aid(
                cmd.AllocateSecondaryAid(
                    case_id=case,
                    fund_id=self.don,
                    amount_fen=fen,
                    ref=f"GSL-{year}-{n:03d}",
                    reason="heavy ongoing living costs",
                    actor="federation",
                )
            )
        self.at(9, 8)
        for n, case in enumerate(heavy, start=1):
            flow.approve_secondary_aid(
                cmd.ApproveSecondaryAid(
                    case_id=case, ref=f"GSL-{year}-{n:03d}", actor="civil-affairs-chair"
                )
            )
            self.tick(1)
        self.at(9, 10)
        aid = _pay_list(flow, self.don, heavy, self.clock.moment.date())
        self.at(9, 12)
        _statement(flow, aid, self.clock.moment.date(), f"statement-{year}-09-12.csv", set())
        self.result.secondary = heavy

    def follow_ups(self) -> None:
        self.at(10, 8)
        for case in self.rng.sample(self.result.paid, 40):
            self.flow.follow_up(
                cmd.FollowUp(
                    case_id=case,
                    study="settled in, attending classes",
                    living="stable",
                    hardship_trend=self.rng.choice(["improved", "unchanged"]),
                    actor="village-officer",
                )
            )

    def hardships(self) -> None:
        """Three new hardships after enrolment, two leading to a consultation (多部门会商)."""
        heavy = self.result.secondary
        ill, changed, minor = self.rng.sample([c for c in self.result.paid if c not in heavy], 3)
        self.at(10, 12)
        for case, kind, severity, detail in (
            (ill, "illness", "critical", "mother diagnosed with uraemia, dialysis needed"),
            (changed, "family-change", "serious", "father injured at work, household income lost"),
            (minor, "other", "minor", "phone and books stolen"),
        ):
            self.flow.report_hardship(
                cmd.ReportHardship(
                    case_id=case,
                    kind=kind,
                    severity=severity,
                    detail=detail,
                    actor="village-officer",
                )
            )
        self.at(10, 15)
        for case in (ill, changed, minor):
            self.flow.verify(
                cmd.Verify(
                    case_id=case,
                    income_fen=300_000,
                    tuition_fen=500_000,
                    gap_fen=700_000,
                    needs=["living"],
                    visited_on=self.clock.moment.date(),
                    note="re-verified after new hardship",
                    actor="sidu-officer",
                )
            )
        self.consultations(ill, changed)
        self.result.consulted = ill

    def consultations(self, ill: UUID, changed: UUID) -> None:
        flow = self.flow
        review = flow.convene_review(
            cmd.ConveneReview(
                case_id=ill,
                departments=["civil-affairs", "education", "health"],
                actions=[
                    cmd.ActionItem(
                        department="health", text="medical assistance for the mother's dialysis"
                    ),
                    cmd.ActionItem(
                        department="education", text="tuition reduction at the university"
                    ),
                    cmd.ActionItem(
                        department="civil-affairs",
                        text="psychological counselling referral for the student",
                    ),
                ],
                note="多部门会商: civil affairs, education, health",
                actor="civil-affairs-chair",
            )
        )
        flow.convene_review(
            cmd.ConveneReview(
                case_id=changed,
                departments=["civil-affairs"],
                actions=[
                    cmd.ActionItem(department="civil-affairs", text="enrol the household in dibao")
                ],
                actor="civil-affairs-chair",
            )
        )
        self.at(10, 28)
        for action_id, department, note in zip(
            review.action_ids,
            ["health", "education", "civil-affairs"],
            [
                "dialysis covered by medical assistance",
                "tuition reduced by 50%",
                "counselling sessions arranged",
            ],
            strict=True,
        ):
            flow.complete_action(
                cmd.CompleteAction(
                    case_id=ill, action_id=action_id, note=note, actor=f"{department}-liaison"
                )
            )
        flow.complete_action(
            cmd.CompleteAction(
                case_id=changed,
                action_id="A1",
                note="household enrolled in dibao",
                actor="civil-affairs-liaison",
            )
        )
