"""The read side on a real store: the library's tracking-recorder suite, rebuild == incremental,
idempotency, each read model's content, rule checks, and time travel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.tests.persistence import TrackingRecorderTestCase
from hypothesis import event, given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain import Policy, StudentCase, canonical
from aidflow.domain.errors import AidflowError
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine
from aidflow.projections.dossier import DossierView
from tests.builders import (
    approved,
    donation_fund,
    followed_up,
    government_fund,
    national_id,
    new_ref,
    paid,
    register_staff,
    secondary_aid,
    verified,
)
from tests.pg import fresh_database
from tests.properties import examples

# -- the library's own suite is the judge of our tracking recorder ----------------------


class TestTrackingRecorderOnSQLite(TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        models = ReadModels(create_view_engine("sqlite:///:memory:"), ["dossier"])
        return models.views["dossier"]


@pytest.mark.postgres
class TestTrackingRecorderOnPostgres(TrackingRecorderTestCase):
    def setUp(self) -> None:
        self._db = fresh_database()
        self.url = self._db.__enter__()

    def tearDown(self) -> None:
        self._db.__exit__(None, None, None)

    def create_recorder(self) -> TrackingRecorder:
        return ReadModels(create_view_engine(self.url), ["dossier"]).views["dossier"]


# -- helpers --------------------------------------------------------------------------------


def dump(models: ReadModels) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with models.engine.connect() as conn:
        for view in models.views.values():
            for table in view.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                tables[table.name] = [
                    tuple(r) for r in conn.execute(sa.select(table).order_by(*order))
                ]
    return tables


@pytest.fixture
def flow_and_views(store_url: str) -> Iterator[tuple[AidFlow, ReadModels]]:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    try:
        yield flow, views
    finally:
        views.close()
        flow.close()


def _accepted(canonical_form: Any, *args: str) -> Any:
    """A filter: the values the canonical rules accept (the rest are refused at the edge)."""

    def accepted(value: str) -> bool:
        try:
            canonical_form(value, *args)
        except AidflowError:
            return False
        return True

    return accepted


HOSTILE = [
    "'; DROP TABLE stored_events; --",
    "<script>alert(1)</script>",
    "王小明",
    "Ｆｕｌｌ　ｗｉｄｔｈ",
    "🎓 emoji",
    "%s %(x)s {0}",
    'back\\slash "quoted"',
    "  padded  ",
    "NULL",
    "e\u0301 combining",
    "ß",
]
PRINTABLE = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"), include_characters=" "
)
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(PRINTABLE, min_size=1, max_size=12)).filter(
    _accepted(canonical.text, "text")
)
"""Names, notes and reasons: hostile, but within what ``canonical.text`` accepts."""
DOCUMENT = st.one_of(
    st.sampled_from(["V1", "v1", "Ｖ１", "HC-2026-0001", "ß", "SS", "凭证一", "'--"]),
    st.text(PRINTABLE, min_size=1, max_size=8),
).filter(_accepted(canonical.document, "voucher"))
"""Voucher and receipt numbers: collisions in canonical form (``V1``/``Ｖ１``, ``ß``/``SS``)."""
FEN_AMOUNT = st.one_of(
    st.integers(1, 600_000),
    st.sampled_from([1, 99, 100_000, 499_999, 500_000, 500_001]),
)
"""Amounts in fen, not whole thousands of yuan; the cap's edges included."""
ACTOR_NAME = st.sampled_from(["alice", "bob", "Alice", "Ａｌｉｃｅ", "王"])

STEP = st.tuples(
    st.sampled_from(
        [
            "pay",  # first: hypothesis favours the first of a sampled list
            "pay",
            "approve",
            "return",
            "secondary",
            "close",
            "apply",
            "verify",
            "disburse",
            "return",
            "hardship",
            "review",
            "complete",
            "follow",
            "reject",
            "deposit",
            "wait",
        ]
    ),
    st.integers(0, 3),  # student: few, so that commands meet on the same case
    FEN_AMOUNT,
    ACTOR_NAME,
    TEXT,
    DOCUMENT,
    st.integers(0, 3),  # which fund (two government, two donation)
)
COMMANDS = st.lists(STEP, min_size=8, max_size=40)
Step = tuple[str, int, int, str, str, str, int]


def drive(flow: AidFlow, program: list[Step], clock: list[datetime] | None = None) -> None:
    """Run a random programme of commands; refusals are part of history too (they write nothing).

    ``pay`` is a whole money step (verify if needed, approve by someone else, pay in full), so
    payments, returns, secondary aid and releases are reached; ``wait`` moves the test's clock.
    """
    gov = [government_fund(flow, yuan=12_000), government_fund(flow, yuan=3_000)]
    don = [donation_fund(flow, yuan=4_000), donation_fund(flow, yuan=500)]
    funds = [*gov, *don]
    cases: dict[int, UUID] = {}
    for n in range(2):  # two students start verified: money is one step away
        cases[n] = verified(flow, n, verifier="visitor")
    payments: dict[int, list[str]] = {}
    reached: set[str] = set()
    for name, n, fen, actor, text, doc, which in program:
        case = cases.get(n)
        try:
            if name == "apply" or case is None:
                cases[n] = flow.apply(
                    cmd.Apply(
                        student_id=national_id(n),
                        name=text,
                        university="GZU",
                        family_category=["dibao", "tekun", "expenditure", "other"][n],
                        town=[text, "Gaoping", "Tuanze", "Dalian"][n],
                        year=2026,
                        account="6222020200112233445",
                        actor="screening",
                    )
                )
            elif name == "verify":
                flow.verify(
                    cmd.Verify(
                        case_id=case,
                        income_fen=0,
                        tuition_fen=fen,
                        gap_fen=fen,
                        needs=["tuition", "travel"],
                        note=text,
                        actor=actor,
                    )
                )
            elif name == "approve":
                flow.approve(
                    cmd.Approve(
                        ref=new_ref(),
                        case_id=case,
                        amount_fen=fen,
                        need="tuition",
                        fund_id=funds[which],
                        actor=actor,
                    )
                )
            elif name == "pay":
                held = flow.load_case(case)
                if held.awaiting_verification:
                    flow.verify(
                        cmd.Verify(
                            case_id=case,
                            income_fen=0,
                            tuition_fen=0,
                            gap_fen=500_000,
                            needs=["living"],
                            actor="visitor",
                        )
                    )
                flow.approve(
                    cmd.Approve(
                        ref=new_ref(),
                        case_id=case,
                        amount_fen=min(fen, 200_000),
                        need="living",
                        fund_id=gov[which % 2],
                        actor="approver",
                    )
                )
                reached.add("approval")
                voucher = f"{doc}-{len(payments.setdefault(n, []))}"[:64]
                part = min(fen, 200_000) // (1 + fen % 2)  # odd: half, so a close releases
                flow.disburse(
                    cmd.Disburse(
                        case_id=case, amount_fen=max(part, 1), voucher=voucher, actor="cashier"
                    )
                )
                payments[n].append(voucher)
                reached.add("payment")
            elif name == "disburse":
                flow.disburse(cmd.Disburse(case_id=case, amount_fen=fen, voucher=doc, actor="c"))
                payments.setdefault(n, []).append(doc)
                reached.add("payment")
            elif name == "return":
                voucher = (payments.get(n) or [doc])[fen % max(1, len(payments.get(n, [])))]
                flow.return_disbursement(
                    cmd.ReturnDisbursement(case_id=case, voucher=voucher, reason=text, actor="bank")
                )
                reached.add("return")
            elif name == "secondary":
                ref = new_ref()
                flow.allocate_secondary_aid(
                    cmd.AllocateSecondaryAid(
                        ref=ref,
                        case_id=case,
                        fund_id=don[which % 2] if which < 3 else gov[0],
                        amount_fen=min(fen, 50_000),
                        reason=text,
                        actor="federation",
                    )
                )
                flow.approve_secondary_aid(
                    cmd.ApproveSecondaryAid(case_id=case, ref=ref, actor="approver")
                )
                reached.add("secondary aid")
            elif name == "hardship":
                flow.report_hardship(
                    cmd.ReportHardship(
                        case_id=case,
                        kind="illness",
                        severity=["minor", "serious", "critical"][fen % 3],
                        detail=text,
                        actor="village",
                    )
                )
            elif name == "review":
                flow.convene_review(
                    cmd.ConveneReview(
                        case_id=case,
                        departments=["health", "education"],
                        actions=[
                            {"department": "health", "text": text},
                            {"department": "education", "text": "fee waiver"},
                        ],
                        note=text,
                        actor="chair",
                    )
                )
                reached.add("review")
            elif name == "complete":
                flow.complete_action(
                    cmd.CompleteAction(
                        case_id=case, action_id=f"A{fen % 4 + 1}", note=text, actor="health"
                    )
                )
            elif name == "follow":
                flow.follow_up(
                    cmd.FollowUp(
                        case_id=case,
                        study=text,
                        living="ok",
                        hardship_trend="unchanged",
                        actor="village",
                    )
                )
            elif name == "reject":
                flow.reject(cmd.Reject(case_id=case, reason=text, actor="clerk"))
            elif name == "close":
                releases = flow.load_case(case).unpaid_by_fund
                flow.close_case(cmd.CloseCase(case_id=case, reason=text, actor="clerk"))
                if releases:
                    reached.add("release")
            elif name == "deposit":
                flow.deposit(
                    cmd.Deposit(
                        fund_id=funds[which],
                        amount_fen=fen,
                        source=text,
                        receipt=doc,
                        actor="finance",
                    )
                )
            elif name == "wait" and clock is not None:
                clock[0] += timedelta(days=fen % 90)
        except AidflowError:
            pass
    event(f"programme: {len(program) // 10 * 10}+ commands")
    for what in sorted(reached):
        event(f"reached: {what}")


def assert_rebuild_equals_incremental(flow: AidFlow, views: ReadModels, page_size: int) -> None:
    incremental = dump(views)
    scratch = ReadModels(create_view_engine("sqlite:///:memory:"), page_size=page_size)
    dossier = scratch.runner.views["dossier"]
    assert isinstance(dossier, DossierView)
    dossier.cached_cases = 0  # every header read back: the cache must change no row
    scratch.catch_up(flow)
    assert dump(scratch) == incremental
    views.rebuild(flow)
    assert dump(views) == incremental
    # The dossier agrees with the aggregate on status and money, case by case.
    for summary in views.cases():
        case = flow.repository.get(UUID(summary.case_id))
        assert isinstance(case, StudentCase)
        assert (
            summary.status,
            summary.approved_fen,
            summary.disbursed_fen,
            summary.secondary_aid_fen,
        ) == (case.status.value, case.approved_fen, case.disbursed_fen, case.secondary_aid_fen)


@settings(max_examples=examples(60))
@given(program=COMMANDS, page_size=st.integers(1, 30))
def test_rebuild_equals_incremental_sqlite(
    tmp_path_factory: pytest.TempPathFactory,
    program: list[Step],
    page_size: int,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('rebuild')}/aidflow.db"
    clock = [datetime(2026, 8, 1, tzinfo=UTC)]
    flow = AidFlow.open(url, clock=lambda: clock[0])
    register_staff(flow)
    views = ReadModels.attach(flow, url)
    try:
        drive(flow, program, clock)
        assert_rebuild_equals_incremental(flow, views, page_size)
    finally:
        views.close()
        flow.close()


@pytest.mark.postgres
@settings(max_examples=examples(10))
@given(program=COMMANDS, page_size=st.integers(1, 30))
def test_rebuild_equals_incremental_postgres(program: list[Step], page_size: int) -> None:
    with fresh_database() as url:
        clock = [datetime(2026, 8, 1, tzinfo=UTC)]
        flow = AidFlow.open(url, clock=lambda: clock[0])
        register_staff(flow)
        views = ReadModels.attach(flow, url)
        try:
            drive(flow, program, clock)
            assert_rebuild_equals_incremental(flow, views, page_size)
        finally:
            views.close()
            flow.close()


def test_replaying_a_tracked_page_changes_nothing(
    flow_and_views: tuple[AidFlow, ReadModels],
) -> None:
    flow, views = flow_and_views
    paid(flow, government_fund(flow))
    before = dump(views)
    records = flow.recorder.select_notifications(start=1, limit=100)
    assert views.runner.apply(flow, records) == 0
    assert dump(views) == before
    assert all(s.position == flow.recorder.max_notification_id() for s in views.status(flow))


# -- what each read model says ---------------------------------------------------------


def test_dossier_masks_personal_data_and_keeps_every_section(
    flow_and_views: tuple[AidFlow, ReadModels],
) -> None:
    flow, views = flow_and_views
    gov, don = government_fund(flow), donation_fund(flow)
    case = paid(flow, gov, yuan=4000)
    secondary_aid(flow, case, don, 500_000)
    flow.follow_up(
        cmd.FollowUp(
            case_id=case,
            study="passed first term",
            living="stable",
            hardship_trend="improved",
            actor="village",
        )
    )
    d = views.dossier(str(case))
    assert d.student_id_masked == "5203**********" + national_id(1)[-4:]
    assert d.account_masked.startswith("6222") and "*" in d.account_masked
    assert national_id(1) not in d.model_dump_json()
    assert "6222020200112233445" not in d.model_dump_json()
    assert d.verification is not None and d.verification["by"] == "visitor"
    assert [a.detail["amount_fen"] for a in d.approvals] == [400_000]
    assert [x.detail["voucher"] for x in d.disbursements] == ["V-1"]
    assert d.secondary_aid[0]["fund_name"] == "Chamber of commerce" and d.secondary_aid[0][
        "donors"
    ] == ["Huichuan chamber"]
    assert [e.section for e in d.timeline] == [
        "application",
        "verification",
        "approval",
        "disbursement",
        "secondary_aid_proposed",
        "secondary_aid",
        "follow_up",
    ]
    assert d.status == "paid"
    assert [
        c.case_id
        for c in views.cases(status="paid", town="Dalian", family_category="dibao", year=2026)
    ] == [str(case)]
    assert views.cases(status="rejected") == []


def test_queue_orders_most_serious_then_oldest_and_filters_by_department(store_url: str) -> None:
    moments = iter(datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(1000))
    flow = AidFlow.open(store_url, clock=lambda: next(moments))
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    try:
        a, b, c = (verified(flow, n) for n in (1, 2, 3))
        flow.report_hardship(
            cmd.ReportHardship(
                case_id=a, kind="family-change", severity="serious", detail="father left", actor="v"
            )
        )
        flow.report_hardship(
            cmd.ReportHardship(
                case_id=b, kind="illness", severity="critical", detail="leukaemia", actor="v"
            )
        )
        flow.report_hardship(
            cmd.ReportHardship(
                case_id=c, kind="other", severity="minor", detail="lost phone", actor="v"
            )
        )
        q = views.queue()
        assert [x.case_id for x in q.awaiting_consultation] == [
            str(b),
            str(a),
        ]  # minor ones need no consultation
        flow.convene_review(
            cmd.ConveneReview(
                case_id=b,
                departments=["civil-affairs", "education", "health"],
                actions=[
                    {"department": "health", "text": "medical assistance"},
                    {"department": "education", "text": "tuition reduction"},
                ],
                actor="chair",
            )
        )
        q = views.queue()
        assert [x.case_id for x in q.awaiting_consultation] == [str(a)]
        assert [(x.department, x.action_id) for x in q.open_actions] == [
            ("health", "A1"),
            ("education", "A2"),
        ]
        assert [x.action_id for x in views.queue("education").open_actions] == ["A2"]
        flow.complete_action(
            cmd.CompleteAction(
                case_id=b, action_id="A1", note="hospital bill covered", actor="health"
            )
        )
        assert [x.action_id for x in views.queue().open_actions] == ["A2"]
        # Waiting time is measured from the test's clock, never the wall clock.
        convened = next(e.timestamp for e in flow.history(b) if e.type == "case.review_convened")
        later = views.as_of(flow, at=convened + timedelta(days=2, hours=12))
        assert [(x.action_id, x.waiting_days) for x in later.queue().open_actions] == [("A2", 2.5)]
        assert [x.case_id for x in later.queue().awaiting_consultation] == [str(a)]
    finally:
        views.close()
        flow.close()


def test_ledger_totals(flow_and_views: tuple[AidFlow, ReadModels]) -> None:
    flow, views = flow_and_views
    gov, don = government_fund(flow, yuan=20_000), donation_fund(flow, yuan=10_000)
    one, two = paid(flow, gov, 1, yuan=5000), paid(flow, gov, 2, yuan=3000)
    approved(flow, gov, 3, yuan=2000)
    flow.return_disbursement(
        cmd.ReturnDisbursement(case_id=two, voucher="V-2", reason="wrong account", actor="bank")
    )
    secondary_aid(flow, one, don, 600_000)
    flow.disburse(cmd.Disburse(case_id=one, amount_fen=600_000, voucher="S-1", actor="cashier"))
    ledger = views.ledger(entries=True)
    assert ledger.government_approved_fen == 1_000_000
    assert ledger.government_disbursed_fen == 500_000
    assert ledger.secondary_aid_fen == 600_000
    assert ledger.donations_received_fen == 1_000_000
    assert ledger.total_disbursed_fen == 1_100_000
    assert ledger.students_assisted == 1 and ledger.students_with_secondary_aid == 1
    assert ledger.by_need_fen == {"tuition": 1_000_000}
    assert ledger.by_town_fen == {"Dalian": 1_100_000}
    gov_totals = next(f for f in ledger.funds if f.kind == "government")
    assert gov_totals.balance_fen == flow.fund(gov).balance_fen == 1_000_000
    assert [e.entry for e in ledger.entries].count("return") == 1


# -- rule checks catch what the write side would refuse ---------------------------------


def test_checks_report_violations_forced_into_history(
    flow_and_views: tuple[AidFlow, ReadModels],
) -> None:
    """Events written around the rules (as an import or a bug might) are caught from history alone."""
    flow, views = flow_and_views
    gov = government_fund(flow, yuan=100)
    case = verified(flow, 1, verifier="visitor")
    raw = flow.load_case(case)
    raw._grant_approved(
        amount_fen=600_000, need="tuition", fund_id=gov, actor="visitor", ref="", policy_version=0
    )
    raw._disbursed(
        amount_fen=700_000,
        voucher="DUP",
        fund_id=gov,
        value_date=None,
        actor="cashier",
        account="",
        listed=False,
        use="grant",
    )
    fund = flow.load_fund(gov)
    fund._allocated(case_id=case, amount_fen=600_000, use="grant", actor="visitor")
    other = flow.load_case(verified(flow, 2))
    other._disbursed(
        amount_fen=100,
        voucher="DUP",
        fund_id=gov,
        value_date=None,
        actor="cashier",
        account="",
        listed=False,
        use="grant",
    )
    unpaid = flow.load_case(verified(flow, 3))
    unpaid._secondary_aid_allocated(fund_id=gov, amount_fen=1, reason="", actor="x", ref="")
    flow.save(raw, fund, other, unpaid)
    views.catch_up(flow)
    rules = {v.rule for v in views.check(flow.policy)}
    assert {
        "verifier_approved",
        "cap_exceeded",
        "paid_before_approval",
        "duplicate_voucher",
        "fund_overdrawn",
        "incomplete_dossier",
        "wrong_fund_kind",
        "secondary_aid_without_paid_grant",
    } <= rules


def test_checks_timeliness_against_policy(store_url: str) -> None:
    now = [datetime(2026, 8, 1, tzinfo=UTC)]
    flow = AidFlow.open(store_url, clock=lambda: now[0])
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    try:
        gov = government_fund(flow)
        case = approved(flow, gov, 1)
        flow.report_hardship(
            cmd.ReportHardship(case_id=verified(flow, 2), kind="illness", detail="x", actor="v")
        )
        policy = Policy()
        assert views.check(policy, now=now[0] + timedelta(days=5)) == []
        late = {v.rule: v for v in views.check(policy, now=now[0] + timedelta(days=31))}
        assert set(late) == {"approved_unpaid_too_long", "hardship_without_consultation"}
        assert late["approved_unpaid_too_long"].case_id == str(case)
    finally:
        views.close()
        flow.close()


# -- time travel -----------------------------------------------------------------------


def test_views_as_of_a_position_and_a_moment_answer_what_they_said_then(store_url: str) -> None:
    now = [datetime(2026, 8, 20, tzinfo=UTC)]
    flow = AidFlow.open(store_url, clock=lambda: now[0])
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    try:
        gov = government_fund(flow)
        paid(flow, gov, 1)
        then_ledger = views.ledger()
        then_dump = dump(views)
        then_position = flow.recorder.max_notification_id()
        now[0] = datetime(2026, 9, 2, tzinfo=UTC)
        paid(flow, gov, 2, yuan=3000)
        assert views.ledger().government_disbursed_fen == 800_000
        by_position = views.as_of(flow, position=then_position)
        by_moment = views.as_of(flow, at=datetime(2026, 8, 29, tzinfo=UTC))
        for old in (by_position, by_moment):
            assert old.upto == then_position
            assert old.ledger() == then_ledger
        rebuilt = ReadModels.rebuilt_as_of(flow, at=datetime(2026, 8, 29, tzinfo=UTC))
        assert rebuilt.ledger() == then_ledger
        assert dump(rebuilt) == then_dump
    finally:
        views.close()
        flow.close()


def test_checks_follow_a_reopened_case(store_url: str) -> None:
    """A closed case reopened by hardship and approved again is checked like any open case."""
    now = [datetime(2026, 8, 1, tzinfo=UTC)]
    flow = AidFlow.open(store_url, clock=lambda: now[0])
    register_staff(flow)
    views = ReadModels.attach(flow, store_url)
    try:
        gov = government_fund(flow)
        case = paid(flow, gov, 1, yuan=3000)
        followed_up(flow, case)
        flow.close_case(cmd.CloseCase(case_id=case, reason="done", actor="clerk"))
        flow.report_hardship(
            cmd.ReportHardship(
                case_id=case, kind="illness", severity="minor", detail="x", actor="v"
            )
        )
        flow.verify(
            cmd.Verify(
                case_id=case,
                income_fen=0,
                tuition_fen=0,
                gap_fen=200_000,
                needs=["living"],
                actor="visitor2",
            )
        )
        flow.approve(
            cmd.Approve(
                ref=new_ref(),
                case_id=case,
                amount_fen=100_000,
                need="living",
                fund_id=gov,
                actor="approver",
            )
        )
        late = {v.rule for v in views.check(Policy(), now=now[0] + timedelta(days=90))}
        assert "approved_unpaid_too_long" in late
        assert views.ledger().government_approved_fen == flow.case(case).approved_fen == 400_000
    finally:
        views.close()
        flow.close()
