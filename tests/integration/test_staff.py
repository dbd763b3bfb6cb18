"""Who may do what (issue 11 §1): staff and roles are events; every command is authorised as of
its moment; the audit re-derives authorisation from the record."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow import commands as cmd
from aidflow.domain.errors import InvalidInput, NotAuthorised, UnknownStaff
from aidflow.domain.staff import REQUIRED, Role
from aidflow.projections import ReadModels
from tests.builders import national_id
from tests.properties import examples


def _position(flow: AidFlow) -> int:
    return flow.recorder.max_notification_id() or 0


def _office(flow: AidFlow) -> None:
    """A small office: an admin, a clerk, a verifier, an approver, a cashier, two liaisons."""
    flow.add_staff(cmd.AddStaff(name="Li Admin", roles=[Role.ADMIN], actor="li admin"))
    for name, roles, department in (
        ("zhou", [Role.SCREENING_CLERK], ""),
        ("wang", [Role.VERIFIER], ""),
        ("chen", [Role.APPROVER], ""),
        ("liu", [Role.CASHIER, Role.DONATIONS_OFFICER], ""),
        ("he", [Role.LIAISON], "health"),
        ("jiao", [Role.LIAISON], "education"),
    ):
        flow.add_staff(
            cmd.AddStaff(name=name, roles=roles, department=department, actor="li admin")
        )


def _apply(flow: AidFlow, actor: str, n: int = 1) -> None:
    flow.apply(
        cmd.Apply(
            student_id=national_id(n),
            name=f"Student {n}",
            university="Guizhou University",
            family_category="dibao",
            town="Dalian",
            year=2026,
            actor=actor,
        )
    )


@pytest.fixture
def office(store_url: str) -> AidFlow:
    flow = AidFlow.open(store_url)
    _office(flow)
    return flow


def test_a_store_without_staff_refuses_every_command_and_says_how_to_start(
    store_url: str,
) -> None:
    flow = AidFlow.open(store_url)
    with pytest.raises(UnknownStaff, match="staff add NAME --role admin"):
        _apply(flow, "zhou")
    with pytest.raises(NotAuthorised, match=r"first staff member .* must be an admin"):
        flow.add_staff(cmd.AddStaff(name="zhou", roles=[Role.SCREENING_CLERK], actor="zhou"))
    assert _position(flow) == 0


def test_an_unregistered_actor_is_refused_and_nothing_written(office: AidFlow) -> None:
    before = _position(office)
    with pytest.raises(UnknownStaff, match="not registered staff"):
        _apply(office, "stranger")
    assert _position(office) == before


def test_an_actor_without_the_role_is_refused(office: AidFlow) -> None:
    before = _position(office)
    with pytest.raises(NotAuthorised, match="screening-clerk"):
        _apply(office, "wang")  # a verifier does not open cases
    assert _position(office) == before
    _apply(office, "ZHOU")  # any spelling of a registered person


def test_only_the_departments_liaison_completes_its_action(office: AidFlow) -> None:
    case = applied_by(office, "zhou")
    office.report_hardship(
        cmd.ReportHardship(case_id=case, kind="illness", detail="surgery", actor="wang")
    )
    office.convene_review(
        cmd.ConveneReview(
            case_id=case,
            departments=["health", "education"],
            actions=[cmd.ActionItem(department="health", text="medical assistance")],
            actor="chen",
        )
    )
    before = _position(office)
    with pytest.raises(NotAuthorised, match="liaison of education"):
        office.complete_action(
            cmd.CompleteAction(case_id=case, action_id="A1", note="done", actor="jiao")
        )
    assert _position(office) == before
    office.complete_action(cmd.CompleteAction(case_id=case, action_id="A1", note="ok", actor="he"))


def applied_by(flow: AidFlow, actor: str) -> object:
    from uuid import UUID

    case: UUID = flow.apply(
        cmd.Apply(
            student_id=national_id(9),
            name="Student 9",
            university="Guizhou University",
            family_category="dibao",
            town="Dalian",
            year=2026,
            actor=actor,
        )
    )
    return case


def test_no_admin_grants_themselves_and_the_last_admin_stays(office: AidFlow) -> None:
    before = _position(office)
    with pytest.raises(NotAuthorised, match="themselves"):
        office.grant_role(cmd.GrantRole(name="li admin", role=Role.APPROVER, actor="li admin"))
    with pytest.raises(NotAuthorised, match="last admin"):
        office.revoke_role(cmd.RevokeRole(name="li admin", role=Role.ADMIN, actor="li admin"))
    with pytest.raises(NotAuthorised, match="only an admin"):
        office.grant_role(cmd.GrantRole(name="zhou", role=Role.APPROVER, actor="chen"))
    with pytest.raises(InvalidInput, match="already registered"):
        office.add_staff(cmd.AddStaff(name="Zhou", roles=[Role.VERIFIER], actor="li admin"))
    assert _position(office) == before
    office.add_staff(cmd.AddStaff(name="ma", roles=[Role.ADMIN], actor="li admin"))
    office.grant_role(cmd.GrantRole(name="li admin", role=Role.APPROVER, actor="ma"))
    assert "approver" in office.staff_registry().members["li admin"]["roles"]  # type: ignore[union-attr]


def test_a_revoked_role_refuses_from_that_moment_and_staff_list_remembers(
    office: AidFlow,
) -> None:
    _apply(office, "zhou", 1)
    office.revoke_role(cmd.RevokeRole(name="zhou", role=Role.SCREENING_CLERK, actor="li admin"))
    with pytest.raises(NotAuthorised):
        _apply(office, "zhou", 2)
    now = {m.name: m.roles for m in office.staff()}
    assert now["zhou"] == []
    first = office.history(office.staff_registry().id)[1].timestamp  # type: ignore[union-attr]
    then = {m.name: m.roles for m in office.staff(as_of=first)}
    assert then == {"li admin": ["admin"]}


def test_a_role_revoked_or_a_policy_changed_by_another_process_holds_at_the_next_command(
    office: AidFlow, store_url: str
) -> None:
    """Each process keeps the registry and the policy it read last, and must notice another
    process's change at its very next command (they are reloaded when their version moved)."""
    _apply(office, "zhou", 1)  # this process has read the registry and the policy now
    other = AidFlow.open(store_url)
    try:
        other.revoke_role(cmd.RevokeRole(name="zhou", role=Role.SCREENING_CLERK, actor="li admin"))
        before = _position(office)
        with pytest.raises(NotAuthorised):
            _apply(office, "zhou", 2)
        assert _position(office) == before
        other.grant_role(cmd.GrantRole(name="zhou", role=Role.SCREENING_CLERK, actor="li admin"))
        _apply(office, "zhou", 3)
        other.set_policy(cmd.SetPolicy(key="cap", value="3000", actor="li admin"))
        assert office.current_policy().cap_fen == 300_000
    finally:
        other.close()


def test_segregation_of_duties_compares_registered_people(office: AidFlow) -> None:
    office.grant_role(cmd.GrantRole(name="wang", role=Role.APPROVER, actor="li admin"))
    gov = office.open_fund(cmd.OpenFund(name="Budget", kind="government", actor="liu"))
    office.deposit(
        cmd.Deposit(fund_id=gov, amount_fen=10**7, source="budget", receipt="B1", actor="liu")
    )
    case = applied_by(office, "zhou")
    office.verify(
        cmd.Verify(
            case_id=case,  # type: ignore[arg-type]
            income_fen=0,
            tuition_fen=0,
            gap_fen=500_000,
            needs=["tuition"],
            actor="wang",
        )
    )
    from aidflow.domain.errors import SegregationOfDuties

    with pytest.raises(SegregationOfDuties):
        office.approve(
            cmd.Approve(
                case_id=case,  # type: ignore[arg-type]
                amount_fen=100_000,
                need="tuition",
                fund_id=gov,
                ref="A-1",
                actor="WANG",
            )
        )


def test_the_audit_finds_events_recorded_without_the_role(office: AidFlow, store_url: str) -> None:
    """Events written around the authorisation (an import, a bug) are findings."""
    views = ReadModels.attach(office, store_url)
    case = applied_by(office, "zhou")
    raw = office.load_case(case)  # type: ignore[arg-type]
    raw._rejected(reason="bypassed the approver", actor="zhou")
    office.save(raw)
    views.catch_up(office)
    found = [v for v in views.check(office.current_policy()) if v.rule == "unauthorised_actor"]
    assert len(found) == 1 and "zhou" in found[0].message and "reject" in found[0].message
    assert found[0].positions == [_position(office)]


@settings(max_examples=examples(25))
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["grant", "revoke", "act"]),
            st.sampled_from(["zhou", "wang", "chen"]),
            st.sampled_from([Role.SCREENING_CLERK, Role.VERIFIER]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_command_succeeds_exactly_when_its_actor_holds_the_role_then(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, Role]]
) -> None:
    flow = AidFlow.open(f"sqlite:///{tmp_path_factory.mktemp('roles')}/s.db")
    _office(flow)
    held = {"zhou": {Role.SCREENING_CLERK}, "wang": {Role.VERIFIER}, "chen": {Role.APPROVER}}
    student = 0
    for action, name, role in steps:
        if action == "grant":
            try:
                flow.grant_role(cmd.GrantRole(name=name, role=role, actor="li admin"))
                held[name].add(role)
            except InvalidInput:
                assert role in held[name]
        elif action == "revoke":
            try:
                flow.revoke_role(cmd.RevokeRole(name=name, role=role, actor="li admin"))
                held[name].discard(role)
            except InvalidInput:
                assert role not in held[name]
        else:
            student += 1
            may = any(r in held[name] for r in REQUIRED["apply"])
            before = _position(flow)
            try:
                _apply(flow, name, student)
                assert may, f"{name} applied without {REQUIRED['apply']}"
            except NotAuthorised:
                assert not may and _position(flow) == before
    flow.close()


def test_a_v0_1_0_store_shows_its_unregistered_actors_as_the_only_findings(
    tmp_path: Path,
) -> None:
    import shutil

    db = tmp_path / "old.db"
    shutil.copy(Path(__file__).parents[1] / "contract/fixtures/v0.1.0/v0.1.0.db", db)
    flow = AidFlow.open(f"sqlite:///{db}")
    views = ReadModels.attach(flow, f"sqlite:///{db}")
    found = views.check(flow.current_policy())
    # besides its actors, the v0.1.0 demo's random needs and gaps break issue 12's rules
    # (documented in docs/read-models.md); every other rule holds
    assert found and {v.rule for v in found} == {
        "unauthorised_actor",
        "need_not_found",
        "gap_exceeded",
    }
    assert any("screening-office" in v.message and "231 apply" in v.message for v in found)


@pytest.mark.parametrize(
    "twin",
    [
        "w\u0430ng",  # Cyrillic а
        "\u0441hen",  # Cyrillic с
        "zh\u03bfu",  # Greek ο
        "\u0421HEN",  # Cyrillic С, upper case
        "li admin".replace("a", "\u0430"),
        "zh0u",  # a digit zero
    ],
)
def test_a_name_drawn_like_a_members_is_refused(office: AidFlow, twin: str) -> None:
    """An admin registering a look-alike of a trusted colleague (to approve under a name the
    journal and the report show as theirs) is refused, and nothing is written."""
    before = _position(office)
    with pytest.raises(InvalidInput, match=r"looks like .* already registered staff"):
        office.add_staff(cmd.AddStaff(name=twin, roles=[Role.APPROVER], actor="li admin"))
    assert _position(office) == before


def test_names_that_only_differ_are_welcome(office: AidFlow) -> None:
    for name in ("wan", "chen2", "王芳", "zhou.b"):
        office.add_staff(cmd.AddStaff(name=name, roles=[Role.VERIFIER], actor="li admin"))


def test_a_non_admin_learns_nothing_of_who_is_staff(office: AidFlow) -> None:
    for name in ("wang", "w\u0430ng", "nobody"):
        with pytest.raises(NotAuthorised):
            office.add_staff(cmd.AddStaff(name=name, roles=[Role.VERIFIER], actor="zhou"))
