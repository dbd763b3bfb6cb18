"""One office, one answer: every question asked of one store through the library (the
``Office``), the CLI (``--json``) and HTTP gets the same answer, and every refusal the
same code and ids.

The table below has a row per question or command; a row names how each face asks it,
or why a face does not (``None`` with the reason). A CLI command or an HTTP route that no
row names fails :func:`test_every_cli_command_and_http_route_has_a_row`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aidflow import Office
from aidflow import commands as cmd
from aidflow.cli import main
from aidflow.cli.helptext import walk
from aidflow.domain.errors import AidflowError
from aidflow.http.app import COMMANDS, create_app, route_name
from aidflow.render import to_json
from tests.builders import national_id
from tests.conftest import DemoYear

ADMIN = "district-admin"
CASHIER = "finance-cashier"
"""The demo's cashier: may find a case by ID or name (each search recorded)."""
AUDITOR = "district-auditor"
"""The demo's auditor: may read, may record nothing."""
MOMENT = "2026-09-15T12:00:00+00:00"


@dataclass
class Store:
    url: str
    office: Office
    http: TestClient
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, demo_year: DemoYear) -> Iterator[Store]:
    """The session's demo year (copied), its Office, and its HTTP service on the same store."""
    db = tmp_path_factory.mktemp("parity") / "office.db"
    shutil.copy(demo_year.path, db)
    url = f"sqlite:///{db}"
    office = Office.open(url)
    tokens = {
        name: office.issue_token(name, actor=ADMIN).token
        for name in (ADMIN, AUDITOR, "bureau-approver-1", "finance-cashier")
    }
    demo = demo_year.result
    paid = next(c for c in office.cases() if c.status == "paid")
    ids = {
        "case": str(demo.consulted),  # type: ignore[attr-defined]
        "paid": paid.case_id,
        "fund": str(demo.donation_fund),  # type: ignore[attr-defined]
        "gov": str(demo.government_fund),  # type: ignore[attr-defined]
        "digest": office.digest().digest,
    }
    reveal = cmd.Reveal(case_id=UUID(paid.case_id), reason="parity", actor="village-officer")
    ids["name"] = office.revealed_dossier(reveal).personal_data.name
    owe_something(office, ids)
    with TestClient(create_app(url)) as http:
        yield Store(url, office, http, tokens, ids)
    office.close()


def owe_something(office: Office, ids: dict[str, str]) -> None:
    """What the demo's year has settled by its end: an approval not yet paid, and a new
    hardship with a consultation whose actions are owed (so ``due`` and ``queue`` answer)."""
    case = office.handle(
        cmd.Apply(
            student_id=national_id(9001), name="Li Lei", university="Zunyi Medical University",
            family_category="tekun", town="Gaoping", year=2026, actor="screening-office",
        )
    )  # fmt: skip
    office.handle(
        cmd.Verify(
            case_id=case, income_fen=600_000, tuition_fen=500_000, gap_fen=500_000,
            needs=["tuition"], actor="village-officer",
        )
    )  # fmt: skip
    office.handle(
        cmd.Approve(
            case_id=case, amount_fen=300_000, need="tuition", fund_id=UUID(ids["gov"]),
            ref="PARITY-1", actor="bureau-approver-1",
        )
    )  # fmt: skip
    hardship = UUID(ids["paid"])
    office.handle(
        cmd.ReportHardship(case_id=hardship, kind="illness", detail="d", actor="village-officer")
    )
    office.handle(
        cmd.ConveneReview(
            case_id=hardship,
            departments=["health", "education"],
            actions=[cmd.ActionItem(department="health", text="medical assistance")],
            actor="civil-affairs-chair",
        )
    )
    office.handle(
        cmd.ReportHardship(case_id=case, kind="accident", detail="d", actor="village-officer")
    )


def plain(answer: Any) -> Any:
    """An answer as JSON gives it."""
    return json.loads(to_json(answer))


def cli(store: Store, *args: str, actor: str = ADMIN) -> tuple[int, Any]:
    """Exit status and the JSON answer (stdout), or the JSON error (stderr)."""
    result = CliRunner().invoke(
        main, [*args, "--json"], env={"AIDFLOW_DB": store.url, "AIDFLOW_ACTOR": actor}
    )
    text = result.stdout if result.exit_code == 0 else result.stderr
    if args[0] == "events" and result.exit_code == 0:  # JSON Lines, one event a line
        return 0, [json.loads(line) for line in text.splitlines()]
    return result.exit_code, json.loads(text)


def http(
    store: Store, method: str, path: str, *, actor: str = ADMIN, **kwargs: Any
) -> tuple[int, Any]:
    response = store.http.request(
        method, path, headers={"Authorization": f"Bearer {store.tokens[actor]}"}, **kwargs
    )
    return response.status_code, response.json()


def office_error(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(AidflowError) as caught:
        call()
    exc = caught.value
    return {"code": exc.code, "message": str(exc), "ids": exc.ids}


# -- the questions -------------------------------------------------------------------------------

Ask = Callable[[Store], Any]


@dataclass(frozen=True)
class Question:
    name: str
    office: Ask
    cli: Callable[[Store], list[str]] | str
    """The CLI's arguments, or why it has none."""
    http: Callable[[Store], tuple[str, dict[str, Any]]] | str
    """(path, query parameters) of the GET route, or why there is none."""
    shape: Callable[[str, Any], Any] = lambda _face, answer: answer
    """Where a face's answer wraps the Office's (the feed's page), the answer inside it."""
    actor: str = AUDITOR
    """Who asks on the CLI and HTTP (the Office's call names them itself where it must): the
    auditor, whose post may ask every question (issue 21 §3)."""


def _without_waiting(answer: Any) -> Any:
    """The queue without the moment it was asked and ``waiting_days`` (they grow between the
    faces' calls; checked apart)."""
    if isinstance(answer, dict):
        return {
            k: _without_waiting(v) for k, v in answer.items() if k not in ("waiting_days", "as_of")
        }
    if isinstance(answer, list):
        return [_without_waiting(v) for v in answer]
    return answer


def _feed_page(face: str, answer: Any) -> Any:
    return answer["events"] if face == "http" else answer


QUESTIONS = [
    Question(
        "case list --status 已发放 --category 低保户 (Chinese)",
        lambda s: s.office.cases(status="已发放", category="低保户"),
        lambda s: ["case", "list", "--status", "已发放", "--category", "低保户"],
        lambda s: ("/cases", {"status": "已发放", "category": "低保户"}),
    ),
    Question(
        "case list",
        lambda s: s.office.cases(status="paid", category="低保"),
        lambda s: ["case", "list", "--status", "paid", "--category", "低保"],
        lambda s: ("/cases", {"status": "paid", "category": "低保"}),
    ),
    Question(
        "case list --student",
        lambda s: s.office.cases(student=_student(s)),
        lambda s: ["case", "list", "--student", _student(s)],
        lambda s: ("/cases", {"student": _student(s)}),
    ),
    Question(
        "case find",
        lambda s: s.office.find(s.ids["name"], actor=CASHIER),
        lambda s: ["case", "find", s.ids["name"]],
        lambda s: ("/cases/find", {"q": s.ids["name"]}),
        actor=CASHIER,
    ),
    Question(
        "case show",
        lambda s: s.office.dossier(UUID(s.ids["case"])),
        lambda s: ["case", "show", s.ids["case"][:8]],
        lambda s: (f"/cases/{s.ids['case'][:8]}", {}),
    ),
    Question(
        "case show --as-of",
        lambda s: s.office.dossier(UUID(s.ids["case"]), as_of=datetime.fromisoformat(MOMENT)),
        lambda s: ["case", "show", s.ids["case"], "--as-of", MOMENT],
        lambda s: (f"/cases/{s.ids['case']}", {"as_of": MOMENT}),
    ),
    Question(
        "case show --version",
        lambda s: s.office.dossier(UUID(s.ids["case"]), version=3),
        lambda s: ["case", "show", s.ids["case"], "--version", "3"],
        lambda s: (f"/cases/{s.ids['case']}", {"version": 3}),
    ),
    Question(
        "case history",
        lambda s: s.office.history(UUID(s.ids["case"])),
        lambda s: ["case", "history", s.ids["case"]],
        lambda s: (f"/cases/{s.ids['case']}/history", {}),
    ),
    Question(
        "case explain",
        lambda s: s.office.explain(UUID(s.ids["paid"])),
        lambda s: ["case", "explain", s.ids["paid"]],
        lambda s: (f"/cases/{s.ids['paid']}/explain", {}),
    ),
    Question(
        "fund list",
        lambda s: s.office.funds(),
        lambda s: ["fund", "list"],
        lambda s: ("/funds", {}),
    ),
    Question(
        "fund show",
        lambda s: s.office.fund_statement(UUID(s.ids["fund"])),
        lambda s: ["fund", "show", s.ids["fund"][:8]],
        lambda s: (f"/funds/{s.ids['fund'][:8]}", {}),
    ),
    Question(
        "year show",
        lambda s: s.office.year(2026),
        lambda s: ["year", "show", "2026"],
        lambda s: ("/years/2026", {}),
    ),
    Question(
        "fund trace",
        lambda s: s.office.donor_trace(UUID(s.ids["fund"])),
        lambda s: ["fund", "trace", s.ids["fund"]],
        lambda s: (f"/funds/{s.ids['fund']}/trace", {}),
    ),
    Question(
        "queue",
        lambda s: s.office.queue("Health"),
        lambda s: ["queue", "--department", "Health"],
        lambda s: ("/queue", {"department": "Health"}),
        lambda _face, answer: _without_waiting(answer),
    ),
    Question(
        "queue --department 卫健 (Chinese)",
        lambda s: s.office.queue("卫健"),
        lambda s: ["queue", "--department", "卫健"],
        lambda s: ("/queue", {"department": "卫健"}),
        lambda _face, answer: _without_waiting(answer),
    ),
    Question(
        "due",
        lambda s: s.office.due(within=3650),
        lambda s: ["due", "--within", "3650"],
        lambda s: ("/due", {"within": 3650}),
    ),
    Question(
        "staff list",
        lambda s: s.office.staff(),
        lambda s: ["staff", "list"],
        lambda s: ("/staff", {}),
    ),
    Question(
        "policy show",
        lambda s: s.office.policy(as_of=datetime.fromisoformat(MOMENT)),
        lambda s: ["policy", "show", "--as-of", MOMENT],
        lambda s: ("/policy", {"as_of": MOMENT}),
    ),
    Question(
        "audit journal",
        lambda s: s.office.journal(aggregate_id=UUID(s.ids["case"]), limit=5),
        lambda s: ["audit", "journal", "--case", s.ids["case"][:8], "--limit", "5"],
        lambda s: ("/audit/journal", {"case": s.ids["case"][:8], "limit": 5}),
    ),
    Question(
        "audit ledger",
        lambda s: s.office.ledger(as_of=datetime.fromisoformat(MOMENT), entries=True),
        lambda s: ["audit", "ledger", "--as-of", MOMENT, "--entries"],
        lambda s: ("/audit/ledger", {"as_of": MOMENT, "entries": True}),
    ),
    Question(
        "audit check",
        lambda s: s.office.check(as_of=datetime.fromisoformat(MOMENT)),
        lambda s: ["audit", "check", "--as-of", MOMENT],
        lambda s: ("/audit/check", {"as_of": MOMENT}),
    ),
    Question(
        "audit digest",
        lambda s: s.office.digest(),
        lambda s: ["audit", "digest"],
        lambda s: ("/audit/digest", {}),
    ),
    Question(
        "audit verify",
        lambda s: s.office.verify(s.ids["digest"]),
        lambda s: ["audit", "verify", s.ids["digest"]],
        lambda s: ("/audit/verify", {"digest": s.ids["digest"]}),
    ),
    Question(
        "audit report",
        lambda s: json.loads(s.office.report(as_of=datetime.fromisoformat(MOMENT), fmt="json")),
        lambda s: ["audit", "report", "--as-of", MOMENT],
        lambda s: ("/audit/report", {"as_of": MOMENT, "format": "json"}),
    ),
    Question(
        "events",
        lambda s: s.office.events(after=10, limit=20),
        lambda s: ["events", "--after", "10", "--limit", "20"],
        lambda s: ("/events", {"after": 10, "limit": 20}),
        _feed_page,
    ),
    Question(
        "projections status",
        lambda s: s.office.views_status(),
        lambda s: ["projections", "status"],
        lambda s: ("/projections/status", {}),
    ),
]


def _student(store: Store) -> str:
    """A national ID with cases, as a cashier sees it in a reveal."""
    if "student" not in store.ids:
        person = store.office.revealed_dossier(
            cmd.Reveal(case_id=UUID(store.ids["paid"]), reason="parity", actor="finance-cashier")
        )
        store.ids["student"] = person.personal_data.student_id
    return store.ids["student"]


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_every_face_gives_the_same_answer(store: Store, question: Question) -> None:
    expected = question.shape("office", plain(question.office(store)))
    assert expected not in ([], {}, None), "a question worth asking has an answer here"
    if not isinstance(question.cli, str):
        status, answer = cli(store, *question.cli(store), actor=question.actor)
        assert status == 0, answer
        assert question.shape("cli", answer) == expected
    if not isinstance(question.http, str):
        path, params = question.http(store)
        status, answer = http(store, "GET", path, actor=question.actor, params=params)
        assert status == 200, answer
        assert question.shape("http", answer) == expected


def test_the_queue_waits_the_same_on_every_face(store: Store) -> None:
    """``waiting_days`` grows while the faces are asked: equal within a minute."""

    def waits(answer: Any) -> list[float]:
        rows = answer["awaiting_consultation"] + answer["open_actions"]
        return [row["waiting_days"] for row in rows]

    office = waits(plain(store.office.queue()))
    assert office
    for answer in (
        cli(store, "queue", actor=AUDITOR)[1],
        http(store, "GET", "/queue", actor=AUDITOR)[1],
    ):
        assert waits(answer) == pytest.approx(office, abs=1 / 1440)


# -- the refusals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    name: str
    office: Ask
    cli: Callable[[Store], list[str]]
    http: Callable[[Store], tuple[str, str, dict[str, Any]]]
    """(method, path, request keywords)."""
    actor: str = AUDITOR


QUERY_REFUSALS = [
    Refusal(
        "finding by ID or name, by a role that may not reveal",
        lambda s: s.office.find(s.ids["name"], actor=AUDITOR),
        lambda s: ["case", "find", s.ids["name"]],
        lambda s: ("GET", "/cases/find", {"params": {"q": s.ids["name"]}}),
        actor=AUDITOR,
    ),
    Refusal(
        "an unknown department",
        lambda s: s.office.queue("no-such-dept"),
        lambda s: ["queue", "--department", "no-such-dept"],
        lambda s: ("GET", "/queue", {"params": {"department": "no-such-dept"}}),
    ),
    Refusal(
        "an unknown department for what is due",
        lambda s: s.office.due(department="Nowhere"),
        lambda s: ["due", "--department", "Nowhere"],
        lambda s: ("GET", "/due", {"params": {"department": "Nowhere"}}),
    ),
    Refusal(
        "an unknown status",
        lambda s: s.office.cases(status="lost"),
        lambda s: ["case", "list", "--status", "lost"],
        lambda s: ("GET", "/cases", {"params": {"status": "lost"}}),
    ),
    Refusal(
        "an unknown family category",
        lambda s: s.office.cases(category="rich"),
        lambda s: ["case", "list", "--category", "rich"],
        lambda s: ("GET", "/cases", {"params": {"category": "rich"}}),
    ),
    Refusal(
        "no such case",
        lambda s: s.office.dossier(s.office.case_id("ffffff")),
        lambda s: ["case", "show", "ffffff"],
        lambda s: ("GET", "/cases/ffffff", {}),
    ),
    Refusal(
        "no such fund",
        lambda s: s.office.fund_statement(s.office.fund_id("ffffff")),
        lambda s: ["fund", "show", "ffffff"],
        lambda s: ("GET", "/funds/ffffff", {}),
    ),
    Refusal(
        "a malformed digest",
        lambda s: s.office.verify("tree:12:beef"),
        lambda s: ["audit", "verify", "tree:12:beef"],
        lambda s: ("GET", "/audit/verify", {"params": {"digest": "tree:12:beef"}}),
    ),
    Refusal(
        "no such figure",
        lambda s: s.office.explain(UUID(s.ids["paid"]), fields=("wealth",)),
        lambda s: ["case", "explain", s.ids["paid"], "--field", "wealth"],
        lambda s: ("GET", f"/cases/{s.ids['paid']}/explain", {"params": {"field": "wealth"}}),
    ),
    Refusal(
        "an as-of moment and a version at once",
        lambda s: s.office.dossier(
            UUID(s.ids["case"]), as_of=datetime.fromisoformat(MOMENT), version=2
        ),
        lambda s: ["case", "show", s.ids["case"], "--as-of", MOMENT, "--version", "2"],
        lambda s: ("GET", f"/cases/{s.ids['case']}", {"params": {"as_of": MOMENT, "version": 2}}),
    ),
]


def _command(cls: type[cmd.Command[Any]], s: Store) -> tuple[cmd.Command[Any], list[str]]:
    """One command of each kind, as the library builds it and as the CLI types it."""
    case, paid, fund, gov = s.ids["case"], s.ids["paid"], s.ids["fund"], s.ids["gov"]
    actor = AUDITOR
    built: dict[type[cmd.Command[Any]], tuple[dict[str, Any], list[str]]] = {
        cmd.OpenFund: (
            {"name": "N", "kind": "donation"},
            ["fund", "open", "--name", "N", "--kind", "donation"],
        ),
        cmd.Deposit: (
            {"fund_id": fund, "amount_fen": 100, "source": "s", "receipt": "R-P"},
            ["fund", "deposit", fund, "--amount", "1", "--source", "s", "--receipt", "R-P"],
        ),
        cmd.Apply: (
            {
                "student_id": "520302200703150011",
                "name": "N",
                "university": "U",
                "family_category": "dibao",
                "town": "T",
                "year": 2026,
            },
            [
                "case",
                "apply",
                "--student-id",
                "520302200703150011",
                "--name",
                "N",
                "--university",
                "U",
                "--category",
                "dibao",
                "--town",
                "T",
                "--year",
                "2026",
            ],
        ),
        cmd.Verify: (
            {
                "case_id": case,
                "income_fen": 0,
                "tuition_fen": 0,
                "gap_fen": 0,
                "needs": ["tuition"],
            },
            [
                "case",
                "verify",
                case,
                "--income",
                "0",
                "--tuition",
                "0",
                "--gap",
                "0",
                "--need",
                "tuition",
            ],
        ),
        cmd.Reject: ({"case_id": case, "reason": "r"}, ["case", "reject", case, "--reason", "r"]),
        cmd.Approve: (
            {"case_id": case, "amount_fen": 100, "need": "tuition", "fund_id": gov, "ref": "P-1"},
            [
                "case",
                "approve",
                case,
                "--amount",
                "1",
                "--need",
                "tuition",
                "--fund",
                gov,
                "--ref",
                "P-1",
            ],
        ),
        cmd.Disburse: (
            {"case_id": case, "amount_fen": 100, "voucher": "V-P"},
            ["case", "disburse", case, "--amount", "1", "--voucher", "V-P"],
        ),
        cmd.ReturnDisbursement: (
            {"case_id": paid, "voucher": "V-P", "reason": "r"},
            ["case", "return", paid, "--voucher", "V-P", "--reason", "r"],
        ),
        cmd.AllocateSecondaryAid: (
            {"case_id": paid, "fund_id": fund, "amount_fen": 100, "ref": "P-2"},
            ["case", "secondary-aid", paid, "--fund", fund, "--amount", "1", "--ref", "P-2"],
        ),
        cmd.ApproveSecondaryAid: (
            {"case_id": paid, "ref": "P-2"},
            ["case", "approve-secondary-aid", paid, "--ref", "P-2"],
        ),
        cmd.ReportHardship: (
            {"case_id": case, "kind": "illness", "detail": "d"},
            ["case", "report-hardship", case, "--kind", "illness", "--detail", "d"],
        ),
        cmd.ConveneReview: (
            {"case_id": case, "departments": ["health"]},
            ["case", "convene-review", case, "--department", "health"],
        ),
        cmd.CompleteAction: (
            {"case_id": case, "action_id": "A1", "note": "n"},
            ["case", "complete-action", case, "A1", "--note", "n"],
        ),
        cmd.FollowUp: (
            {"case_id": case, "study": "s", "living": "l", "hardship_trend": "unchanged"},
            ["case", "follow-up", case, "--study", "s", "--living", "l", "--hardship", "unchanged"],
        ),
        cmd.CloseCase: ({"case_id": case, "reason": "r"}, ["case", "close", case, "--reason", "r"]),
        cmd.AddStaff: (
            {"name": "newcomer", "roles": ["verifier"]},
            ["staff", "add", "newcomer", "--role", "verifier"],
        ),
        cmd.GrantRole: (
            {"name": "federation", "role": "approver"},
            ["staff", "grant", "federation", "approver"],
        ),
        cmd.RevokeRole: (
            {"name": "federation", "role": "donations-officer"},
            ["staff", "revoke", "federation", "donations-officer"],
        ),
        cmd.SetPolicy: ({"key": "cap", "value": "6000"}, ["policy", "set", "cap", "6000"]),
        cmd.LoadPolicy: ({"settings": {"cap": "6000"}}, ["policy", "load", "{policy_file}"]),
        cmd.RecordSearch: ({"text": s.ids["name"], "hits": []}, ["case", "find", s.ids["name"]]),
        cmd.Reveal: (
            {"case_id": case, "reason": "r"},
            ["case", "show", case, "--reveal", "--reason", "r"],
        ),
        cmd.RevealVisitList: (
            {"case_ids": [case], "reason": "r"},
            ["visits", "--reason", "r", "-o", "{list_file}"],
        ),
        cmd.EraseCase: ({"case_id": case, "reason": "r"}, ["case", "erase", case, "--reason", "r"]),
        cmd.SetAccount: (
            {"case_id": case, "account": "6222020200112233445", "reason": "r"},
            ["case", "set-account", case, "--account", "6222020200112233445", "--reason", "r"],
        ),
        cmd.ConfirmAccount: ({"case_id": case}, ["case", "confirm-account", case]),
        cmd.Reconcile: (
            {"name": "s.csv", "lines": [{"amount_fen": 100, "reference": "V-P", "status": "paid"}]},
            ["pay", "reconcile", "{statement_file}"],
        ),
        cmd.ResolvePayment: (
            {"voucher": "V-P", "outcome": "paid", "reason": "r"},
            ["pay", "resolve", "V-P", "--as", "paid", "--reason", "r"],
        ),
        cmd.ReissuePayment: (
            {"voucher": "V-P", "reason": "r"},
            ["pay", "reissue", "V-P", "--reason", "r"],
        ),
        cmd.IssueToken: ({"name": "federation"}, ["staff", "token", "federation"]),
        cmd.LodgeAppeal: (
            {"case_id": case, "reason": "r"},
            ["case", "appeal", case, "--reason", "r"],
        ),
        cmd.DecideAppeal: (
            {"case_id": case, "outcome": "upheld", "reason": "r"},
            ["case", "decide-appeal", case, "--uphold", "--reason", "r"],
        ),
        cmd.ReverseDeposit: (
            {"fund_id": gov, "receipt": "B-X", "reason": "r"},
            ["fund", "reverse-deposit", gov, "--receipt", "B-X", "--reason", "r"],
        ),
        cmd.ConfirmReversal: (
            {"fund_id": gov, "receipt": "B-X"},
            ["fund", "confirm-reversal", gov, "--receipt", "B-X"],
        ),
        cmd.CorrectApproval: (
            {"case_id": case, "ref": "MZ-X", "amount_fen": 100, "reason": "r"},
            ["case", "reduce-approval", case, "--ref", "MZ-X", "--amount", "1", "--reason", "r"],
        ),
        cmd.ConfirmCorrection: (
            {"case_id": case, "ref": "MZ-X"},
            ["case", "confirm-correction", case, "--ref", "MZ-X"],
        ),
        cmd.CloseYear: ({"year": 2026}, ["year", "close", "2026"]),
        cmd.RecordKeyRotation: ({"fingerprint": "0" * 16, "rewrapped": 0}, ["keys", "rotate"]),
        cmd.ConfirmYearClose: ({"year": 2026}, ["year", "confirm-close", "2026"]),
        cmd.RevokeToken: (
            {"name": "federation", "reason": "r"},
            ["staff", "token", "federation", "--revoke", "--reason", "r"],
        ),
        cmd.DisposeFinding: (
            {"finding": "F-000000000000", "reason": "r"},
            ["audit", "dispose", "F-000000000000", "--reason", "r"],
        ),
        cmd.IssuePaymentList: (
            {"fund_id": gov, "list_date": "2026-09-01"},
            ["pay", "list", "--fund", gov, "--date", "2026-09-01", "-o", "{list_file}"],
        ),
    }
    fields, args = built[cls]
    return cls(**fields, actor=actor), args


def _files(args: list[str], folder: Path) -> list[str]:
    policy = folder / "policy.json"
    policy.write_text('{"cap": "6000"}', encoding="utf-8")
    statement = folder / "s.csv"
    statement.write_text(
        "date,account,amount,reference,status\n2026-09-02,,1,V-P,paid\n", encoding="utf-8"
    )
    files = {
        "{policy_file}": policy,
        "{statement_file}": statement,
        "{list_file}": folder / "list.csv",
    }
    return [str(files[a]) if a in files else a for a in args]


@pytest.mark.parametrize(
    "command", [*list(COMMANDS.values()), cmd.IssuePaymentList, cmd.IssueToken], ids=route_name
)
def test_every_command_is_refused_alike_to_a_role_that_may_not(
    store: Store, command: type[cmd.Command[Any]], tmp_path: Path
) -> None:
    """The auditor may record nothing: every command, on every face, is refused the same
    way (same code, same ids, same sentence) and writes nothing."""
    built, args = _command(command, store)
    head = store.office.head()
    expected = office_error(lambda: store.office.handle(built))
    assert expected["code"] == "not_authorised", expected
    status, answer = cli(store, *_files(args, tmp_path), actor=AUDITOR)
    assert status == 1 and answer["error"] == expected
    if command in COMMANDS.values():
        body = built.model_dump(mode="json", exclude={"actor", "idempotency_key"})
        status, answer = http(
            store, "POST", f"/commands/{route_name(command)}", actor=AUDITOR, json=body
        )
        assert status == 403 and answer["error"] == expected
    assert store.office.head() == head, "a refused command wrote nothing"


@pytest.mark.parametrize("refusal", QUERY_REFUSALS, ids=[r.name for r in QUERY_REFUSALS])
def test_every_face_refuses_alike(store: Store, refusal: Refusal) -> None:
    expected = office_error(lambda: refusal.office(store))
    status, answer = cli(store, *refusal.cli(store), actor=refusal.actor)
    assert status in (1, 2) and answer["error"] == expected
    method, path, keywords = refusal.http(store)
    status, answer = http(store, method, path, actor=refusal.actor, **keywords)
    assert status in (403, 404, 409, 422) and answer["error"] == expected


# -- every command and route has its row -------------------------------------------------------------

CLI_ONLY = {
    "admin roles": "the DBA's statements for a PostgreSQL store, not a question of its records",
    "audit check-proof": "the offline verifier: opens no store (tests/e2e/test_proofs_cli.py)",
    "audit check-notice": "the offline verifier: opens no store (tests/e2e/test_notice.py)",
    "audit verify-bundle": "the offline verifier: opens no store (tests/e2e/test_proofs_cli.py)",
    "audit prove": "writes a proof file for an auditor (tests/e2e/test_proofs_cli.py)",
    "audit export": "writes a signed bundle with the office's key (tests/e2e/test_proofs_cli.py)",
    "audit what-if": "an auditor's experiment at the desk (tests/integration/test_loop_rules.py)",
    "audit check-witness": "the offline verifier: opens no store (tests/e2e/test_witness.py)",
    "audit sample": "draws cases and writes their signed bundles (tests/e2e/test_sample.py)",
    "demo": "builds a programme year into an empty store",
    "screen": "reads the admission list and the registry from files",
    "import verifications": "reads a town's sheet from a file (tests/e2e/test_import_steps.py)",
    "import approvals": "reads an approval sheet from a file (tests/e2e/test_import_steps.py)",
    "import follow-ups": "reads a follow-up sheet from a file (tests/e2e/test_import_steps.py)",
    "template": "writes an empty sheet to a file",
    "keys init": "makes the master key file before the store is opened",
    "keys init-signing": "makes the bundle signing key files",
    "projections rebuild": "the operator's upkeep of the views on this machine",
    "projections follow": "a long-running follower process",
    "projections verify": "the operator's drift check (audit check runs it too)",
    "serve": "starts the HTTP face itself",
    "warm start": "this user's warm process for the command line (tests/e2e/test_warm.py)",
    "warm status": "this user's warm process for the command line (tests/e2e/test_warm.py)",
    "warm stop": "this user's warm process for the command line (tests/e2e/test_warm.py)",
}
"""CLI commands with no HTTP route, and why."""

COMMAND_ROWS = {
    "fund open": "OpenFund", "fund deposit": "Deposit", "case apply": "Apply",
    "case verify": "Verify", "case reject": "Reject", "case approve": "Approve",
    "case disburse": "Disburse", "case return": "ReturnDisbursement",
    "case secondary-aid": "AllocateSecondaryAid",
    "case approve-secondary-aid": "ApproveSecondaryAid",
    "case report-hardship": "ReportHardship", "case convene-review": "ConveneReview",
    "case complete-action": "CompleteAction", "case follow-up": "FollowUp",
    "case close": "CloseCase", "case erase": "EraseCase", "case set-account": "SetAccount",
    "case confirm-account": "ConfirmAccount", "staff add": "AddStaff",
    "staff grant": "GrantRole", "staff revoke": "RevokeRole", "policy set": "SetPolicy",
    "policy load": "LoadPolicy", "pay reconcile": "Reconcile", "pay list": "IssuePaymentList",
    "pay resolve": "ResolvePayment", "pay reissue": "ReissuePayment",
    "audit dispose": "DisposeFinding", "staff token": "IssueToken",
    "case reduce-approval": "CorrectApproval", "case cancel-approval": "CorrectApproval",
    "case confirm-correction": "ConfirmCorrection", "fund reverse-deposit": "ReverseDeposit",
    "fund confirm-reversal": "ConfirmReversal", "case appeal": "LodgeAppeal",
    "case decide-appeal": "DecideAppeal",
    "year close": "CloseYear", "year confirm-close": "ConfirmYearClose",
    "keys rotate": "RecordKeyRotation", "audit witness": "RecordWitness",
    "audit notice": "RecordNotice",
    "staff token --revoke": "RevokeToken",
    "case show --reveal": "Reveal", "case find": "RecordSearch", "visits": "RevealVisitList",
}  # fmt: skip
"""CLI commands that record, and the command each builds (refused alike above)."""

HTTP_ONLY = {
    "/health": "the process is up (no store asked)",
    "/ready": "the store answers, and its head (for a load balancer)",
}


def _cli_commands(group: click.Group) -> list[str]:
    return [" ".join(path) for path, command in walk(group) if not isinstance(command, click.Group)]


def test_every_cli_command_and_http_route_has_a_row(store: Store) -> None:
    asked = {q.name.split(" --")[0] for q in QUESTIONS} | {"case show"}
    rows = asked | set(CLI_ONLY) | {c.split(" --")[0] for c in COMMAND_ROWS}
    assert sorted(set(_cli_commands(main)) - rows) == [], "CLI commands with no row"
    assert sorted(rows - set(_cli_commands(main))) == [], "rows naming no CLI command"
    assert sorted(set(COMMAND_ROWS.values())) == sorted(c.__name__ for c in Office.COMMANDS), (
        "every command class is typed on the CLI"
    )
    routes = {
        getattr(r, "path", "")
        for r in store.http.app.routes
        if "GET" in getattr(r, "methods", set()) or "POST" in getattr(r, "methods", set())
    }
    docs = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    commands = {f"/commands/{name}" for name in COMMANDS}
    asked_routes = {_route(q.http(store)[0]) for q in QUESTIONS if not isinstance(q.http, str)}
    missing = routes - docs - commands - asked_routes - set(HTTP_ONLY)
    assert sorted(missing) == [], "HTTP routes with no row"


def _route(path: str) -> str:
    """``/cases/1234abcd/history`` -> ``/cases/{case}/history``."""
    parts = path.split("/")
    names = {"cases": "{case}", "funds": "{fund}", "years": "{year}"}
    if len(parts) > 2 and parts[1] in names and parts[2] != "find":
        parts[2] = names[parts[1]]
    return "/".join(parts)
