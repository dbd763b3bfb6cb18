"""Corrections are events, never edits (issue 23 §3): an approval for the wrong amount is
reduced, a grant the student declined is cancelled, each for its unpaid part only, proposed
by one approver and confirmed by another; the fund's reservation comes back in the same save,
and the dossier, the ledger, the journal and the checks all follow."""

from __future__ import annotations

from uuid import UUID

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.errors import (
    CorrectionExceedsUnpaid,
    DuplicateReceipt,
    InsufficientFunds,
    InvalidTransition,
    NoCorrectionPending,
    NotAuthorised,
    SegregationOfDuties,
    UnknownApproval,
    UnknownReceipt,
)
from aidflow.domain.staff import Role
from aidflow.i18n import using
from tests.builders import government_fund, new_ref, verified

REF = "MZ-CORR"


def approved(office: Office, fund: UUID, yuan: int = 3000, ref: str = REF) -> UUID:
    case = verified(office.flow, 1)
    office.handle(
        cmd.Approve(
            case_id=case, amount_fen=yuan * 100, need="tuition", fund_id=fund, ref=ref,
            actor="approver",
        )
    )  # fmt: skip
    return case


def propose(office: Office, case: UUID, fen: int | None, actor: str = "approver") -> bool:
    result = office.handle(
        cmd.CorrectApproval(
            case_id=case, ref=REF, amount_fen=fen, reason="typed 3000 for 2000", actor=actor
        )
    )
    return result.recorded


def confirm(office: Office, case: UUID, actor: str = "boss") -> None:
    office.handle(cmd.ConfirmCorrection(case_id=case, ref=REF, actor=actor))


def test_an_approval_reduced_by_two_people_gives_the_money_back(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    assert office.flow.fund(fund).balance_fen == 700_000
    assert propose(office, case, 100_000) is True
    assert propose(office, case, 100_000) is False  # the same again: a retry, nothing new
    head = office.head()
    with pytest.raises(SegregationOfDuties, match="different person"):
        confirm(office, case, actor="approver")
    assert office.head() == head
    confirm(office, case)
    assert office.flow.case(case).approved_fen == 200_000
    assert office.flow.fund(fund).balance_fen == 800_000
    dossier = office.dossier(case)
    assert dossier.approved_fen == 200_000
    assert [e.section for e in dossier.timeline][-2:] == ["correction_proposed", "correction"]
    ledger = office.ledger()
    assert ledger.government_approved_fen == 200_000
    with using("en"):  # an earlier test in this process may have chosen another language
        journal = [line.summary for line in office.journal(aggregate_id=case)][-1]
    assert "reduced by 1,000.00 yuan" in journal
    assert office.check().violations == []
    with pytest.raises(NoCorrectionPending):
        confirm(office, case)


def test_a_cancellation_takes_the_whole_unpaid_part(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    office.handle(cmd.Disburse(case_id=case, amount_fen=120_000, voucher="V-C1", actor="cashier"))
    propose(office, case, None)
    confirm(office, case)
    assert office.flow.case(case).approved_fen == 120_000  # what was paid stays approved
    assert office.flow.fund(fund).balance_fen == 1_000_000 - 120_000
    assert office.dossier(case).status == "paid"


def test_only_the_unpaid_part_is_corrected(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    office.handle(cmd.Disburse(case_id=case, amount_fen=250_000, voucher="V-C2", actor="cashier"))
    head = office.head()
    with pytest.raises(
        CorrectionExceedsUnpaid, match=r"unpaid part of approval MZ-CORR can be corrected \(500"
    ):
        propose(office, case, 50_001)
    with pytest.raises(UnknownApproval):
        office.handle(cmd.CorrectApproval(case_id=case, ref="NOPE", reason="x", actor="approver"))
    assert office.head() == head
    propose(office, case, 50_000)
    # paid in between: the confirmation checks again
    office.handle(cmd.Disburse(case_id=case, amount_fen=10_000, voucher="V-C3", actor="cashier"))
    with pytest.raises(CorrectionExceedsUnpaid):
        confirm(office, case)
    with pytest.raises(InvalidTransition, match="awaits a second person"):
        propose(office, case, 20_000)


def test_corrections_are_an_approvers(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    office.flow.add_staff(cmd.AddStaff(name="teller", roles=[Role.CASHIER], actor="admin"))
    with pytest.raises(NotAuthorised):
        propose(office, case, 1_000, actor="teller")


def test_a_correction_written_around_the_rules_is_a_finding(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    office.handle(cmd.Disburse(case_id=case, amount_fen=250_000, voucher="V-C4", actor="cashier"))
    aggregate = office.flow.load_case(case)
    aggregate._approval_corrected(
        ref=REF, fund_id=fund, amount_fen=100_000, reason="alone", proposed_by="", actor="approver"
    )
    office.flow.save(aggregate)
    office.catch_up()
    rules = sorted(v.rule for v in office.check().violations)
    assert rules == ["correction_beyond_unpaid", "correction_single_person"]


def test_the_cli_and_http_faces(office: Office, store_url: str) -> None:
    from click.testing import CliRunner
    from fastapi.testclient import TestClient

    from aidflow.cli import main
    from aidflow.http.app import create_app

    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund)
    env = {"AIDFLOW_DB": store_url, "AIDFLOW_ACTOR": "approver"}
    out = CliRunner().invoke(
        main,
        ["case", "reduce-approval", str(case), "--ref", REF, "--amount", "1000", "--reason", "r"],
        env=env,
    )
    assert out.exit_code == 0, out.output
    assert "1,000.00 yuan to come off approval MZ-CORR" in out.output
    token = office.issue_token("boss", actor="boss").token
    client = TestClient(create_app(store_url))
    answer = client.post(
        "/commands/confirm-correction",
        json={"case_id": str(case), "ref": "mz-corr"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "case_id": str(case),
        "ref": REF,
        "amount_fen": 100_000,
        "pending": False,
        "recorded": True,
    }
    cancelled = CliRunner().invoke(
        main,
        ["case", "cancel-approval", str(case), "--ref", REF, "--reason", "declined", "--json"],
        env=env,
    )
    assert cancelled.exit_code == 0, cancelled.output
    assert '"amount_fen": 200000' in cancelled.output


def test_a_new_ref_is_needed_for_another_approval(office: Office) -> None:
    """The approval's own reference names it: another approval of the case is another ref."""
    fund = government_fund(office.flow, 10_000)
    case = approved(office, fund, 1000)
    office.handle(
        cmd.Approve(
            case_id=case, amount_fen=50_000, need="tuition", fund_id=fund, ref=new_ref(),
            actor="approver",
        )
    )  # fmt: skip
    with pytest.raises(CorrectionExceedsUnpaid):
        propose(office, case, 100_001)  # more than MZ-CORR's own 1,000 yuan


# -- a deposit entered twice or into the wrong fund ---------------------------------------


def deposit(office: Office, fund: UUID, receipt: str, yuan: int = 2000) -> None:
    office.handle(
        cmd.Deposit(
            fund_id=fund, amount_fen=yuan * 100, source="budget", receipt=receipt, actor="finance"
        )
    )


def reverse(office: Office, fund: UUID, receipt: str, actor: str = "cashier") -> bool:
    return office.handle(
        cmd.ReverseDeposit(fund_id=fund, receipt=receipt, reason="entered twice", actor=actor)
    ).recorded


def test_a_deposit_entered_twice_is_reversed_by_two_people(office: Office) -> None:
    fund = government_fund(office.flow, 10_000)
    deposit(office, fund, "B-TWICE")
    assert office.flow.fund(fund).balance_fen == 1_200_000
    assert reverse(office, fund, "b-twice") is True
    assert reverse(office, fund, "B-TWICE") is False  # a retry
    head = office.head()
    with pytest.raises(SegregationOfDuties):
        office.handle(cmd.ConfirmReversal(fund_id=fund, receipt="B-TWICE", actor="cashier"))
    with pytest.raises(InvalidTransition, match="awaits a second person"):
        reverse(office, fund, "B-TWICE", actor="finance")
    assert office.head() == head
    office.handle(cmd.ConfirmReversal(fund_id=fund, receipt="B-TWICE", actor="approver"))
    assert office.flow.fund(fund).balance_fen == 1_000_000
    (totals,) = [f for f in office.ledger().funds if f.fund_id == str(fund)]
    assert (totals.deposited_fen, totals.balance_fen) == (1_000_000, 1_000_000)
    assert office.ledger().budget_received_fen == 1_000_000
    assert office.check().violations == []
    with pytest.raises(UnknownReceipt):
        reverse(office, fund, "B-TWICE")  # reversed: no longer a deposit
    with pytest.raises(DuplicateReceipt, match="was reversed"):
        deposit(office, fund, "B-TWICE")


def test_only_what_the_balance_allows_is_reversed(office: Office) -> None:
    fund = government_fund(office.flow, 1_000)
    deposit(office, fund, "B-WRONG", yuan=500)
    approved(office, fund, yuan=1200)  # 1,500 deposited, 1,200 reserved: 300 left
    head = office.head()
    with pytest.raises(InsufficientFunds, match="would overdraw it"):
        reverse(office, fund, "B-WRONG")
    assert office.head() == head


def test_a_reversal_written_around_the_rules_is_a_finding(office: Office) -> None:
    fund = government_fund(office.flow, 1_000)
    approved(office, fund, yuan=800)
    aggregate = office.flow.load_fund(fund)
    (receipt,) = aggregate.receipts
    aggregate._deposit_reversed(
        receipt=receipt, amount_fen=100_000, reason="alone", proposed_by="", actor="cashier"
    )
    office.flow.save(aggregate)
    office.catch_up()
    rules = sorted(v.rule for v in office.check().violations)
    assert rules == ["fund_overdrawn", "reversal_single_person"]
