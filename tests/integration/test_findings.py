"""Findings explained (issue 23 §2): every finding has a stable id; someone other than the
people whose acts raised it records why it needs no further act; ``audit check`` lists it
apart and passes when none is open; a new act raising the same rule is a new finding."""

from __future__ import annotations

import pytest

from aidflow import Office
from aidflow import commands as cmd
from aidflow.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotAuthorised,
    SegregationOfDuties,
    UnknownFinding,
)
from aidflow.domain.findings import FindingsRegister, finding_id
from aidflow.domain.staff import Role
from aidflow.projections.models import Violation
from tests.builders import government_fund


def salary_line(office: Office, reference: str = "SALARY-1", actor: str = "cashier") -> None:
    """The bank's statement carries a line of someone else's business: ``no_voucher``."""
    office.handle(
        cmd.Reconcile(
            name=f"{reference}.csv",
            lines=[cmd.StatementLine(amount_fen=880_000, reference=reference, status="paid")],
            actor=actor,
        )
    )


def dispose(
    office: Office, finding: str, actor: str = "approver", reason: str = "bank salary"
) -> None:
    office.handle(cmd.DisposeFinding(finding=finding, reason=reason, actor=actor))


def test_a_finding_explained_is_listed_apart_and_the_check_passes(office: Office) -> None:
    salary_line(office)
    before = office.check()
    (finding,) = before.violations
    assert finding.rule == "statement_no_voucher" and not before.ok
    assert finding.subject == "line 0 SALARY-1"
    assert finding.id == finding_id(finding.rule, None, None, finding.positions, finding.subject)
    assert finding.id.startswith("F-") and len(finding.id) == 14
    assert office.check().violations[0].id == finding.id  # stable: asked again, the same id
    dispose(office, finding.id.lower().replace("f-", "ｆ-"))  # typed loosely, one finding
    after = office.check()
    assert after.ok and after.violations == []
    (explained,) = after.disposed
    assert (explained.violation.id, explained.by, explained.reason) == (
        finding.id,
        "approver",
        "bank salary",
    )
    # the report shows it too, apart
    text = office.report(fmt="text")
    assert finding.id in text and "bank salary" in text
    # withdrawn: open again
    office.handle(cmd.DisposeFinding(finding=finding.id, withdraw=True, actor="approver"))
    again = office.check()
    assert [v.id for v in again.violations] == [finding.id] and again.disposed == []


def test_the_person_whose_act_raised_it_does_not_explain_it(office: Office) -> None:
    salary_line(office, actor="cashier")
    (finding,) = office.check().violations
    head = office.head()
    with pytest.raises(SegregationOfDuties, match="own act raised"):
        dispose(office, finding.id, actor="Cashier")
    assert office.head() == head


def test_refusals_write_nothing(office: Office) -> None:
    salary_line(office)
    (finding,) = office.check().violations
    office.flow.add_staff(cmd.AddStaff(name="inspector", roles=[Role.AUDITOR], actor="admin"))
    head = office.head()
    with pytest.raises(NotAuthorised):
        dispose(office, finding.id, actor="inspector")
    with pytest.raises(UnknownFinding):
        dispose(office, "F-000000000000")
    with pytest.raises(InvalidInput):
        dispose(office, "F-xyz")
    with pytest.raises(InvalidInput, match="reason"):
        dispose(office, finding.id, reason=" ")
    with pytest.raises(InvalidTransition, match="no explanation to withdraw"):
        office.handle(cmd.DisposeFinding(finding=finding.id, withdraw=True, actor="approver"))
    assert office.head() == head
    dispose(office, finding.id)
    with pytest.raises(InvalidTransition, match="already explained"):
        dispose(office, finding.id, actor="boss")


def test_a_new_act_raising_the_same_rule_is_a_new_finding(office: Office) -> None:
    salary_line(office, "SALARY-1")
    (first,) = office.check().violations
    dispose(office, first.id)
    salary_line(office, "SALARY-2")
    result = office.check()
    assert [v.rule for v in result.violations] == ["statement_no_voucher"]
    assert result.violations[0].id != first.id
    assert [d.violation.id for d in result.disposed] == [first.id]


def test_a_finding_about_many_acts_changes_id_with_each_new_act() -> None:
    """The findings that list at most 20 positions list the first 19 and the last."""
    from aidflow.auditing.state import shown

    many = list(range(1, 31))
    assert shown(many) == [*range(1, 20), 30]
    assert shown([*many, 31]) != shown(many)
    assert shown([1, 2]) == [1, 2]


def test_an_explanation_written_around_the_rule_is_a_finding(office: Office) -> None:
    """An insider's explanation of their own finding, saved without the command's check."""
    salary_line(office, actor="cashier")
    (finding,) = office.check().violations
    register = FindingsRegister()
    register._disposed(
        finding=finding.id,
        rule=finding.rule,
        case_id="",
        fund_id="",
        reason="mine",
        actor="cashier",
    )
    office.flow.save(register)
    result = office.check()
    assert sorted(v.rule for v in result.violations) == [
        "finding_explained_by_its_actor",
        "statement_no_voucher",
    ]
    assert result.disposed == []


def test_faces_agree_on_ids(office: Office) -> None:
    government_fund(office.flow)
    salary_line(office)
    office.catch_up()
    found = office.check().violations
    assert all(isinstance(v, Violation) for v in found)
    dumped = [v.model_dump(mode="json") for v in found]
    assert [d["id"] for d in dumped] == [v.id for v in found]


def test_findings_raised_by_the_same_events_are_told_apart() -> None:
    """Two findings of one rule from one event, with nothing else to tell them apart, get
    two ids (from their messages) rather than one id for both."""
    from aidflow.auditing.rules import _told_apart

    one = Violation(rule="r", case_id=None, fund_id=None, positions=[5], message="a")
    two = one.model_copy(update={"message": "b"})
    apart = _told_apart([one, two])
    assert apart[0].id != apart[1].id
    assert _told_apart([one]) == [one]
