"""The office's clock (issue 23 §7): days, due dates, ``--as-of DATE``, periods and shown times
follow the policy's ``timezone`` (Asia/Shanghai unless set); stored times stay UTC.

The story is a Guizhou office working early in the morning: its acts at 07:30 local are
23:30 UTC the evening before, so a UTC reading puts them on the wrong day. Each face (the
library, the CLI, HTTP) is asked the same question and gives the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aidflow import Office
from aidflow import commands as cmd
from aidflow.cli import main
from aidflow.domain.clock import day_end, local, office_day
from aidflow.domain.errors import InvalidInput
from aidflow.http.app import create_app
from tests.builders import register_staff, verified

EVENING_UTC = datetime(2026, 8, 1, 23, 30, tzinfo=UTC)
"""07:30 on 2 August in Guizhou."""
AFTERNOON_UTC = datetime(2026, 8, 1, 15, 0, tzinfo=UTC)
"""23:00 on 1 August in Guizhou."""


@pytest.fixture
def story(store_url: str) -> Iterator[tuple[Office, dict[str, UUID]]]:
    """A fund with a deposit at 23:00 local on 1 August and another at 07:30 local on 2
    August, and a grant approved at that same 07:30."""
    clock = [AFTERNOON_UTC]
    office = Office.open(store_url, clock=lambda: clock[0])
    register_staff(office.flow)
    fund = office.handle(cmd.OpenFund(name="Gov", kind="government", actor="finance"))
    office.handle(
        cmd.Deposit(fund_id=fund, amount_fen=100_000, source="b", receipt="R-1", actor="finance")
    )
    case = verified(office.flow, 1)
    clock[0] = EVENING_UTC
    office.handle(
        cmd.Deposit(fund_id=fund, amount_fen=50_000, source="b", receipt="R-2", actor="finance")
    )
    office.handle(
        cmd.Approve(
            ref="MZ-1",
            case_id=case,
            amount_fen=30_000,
            need="tuition",
            fund_id=fund,
            actor="approver",
        )
    )
    office.handle(cmd.Disburse(case_id=case, amount_fen=10_000, voucher="V-0730", actor="cashier"))
    try:
        yield office, {"fund": fund, "case": case}
    finally:
        office.close()


def _cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(
        main, list(args), env={"AIDFLOW_DB": url, "AIDFLOW_ACTOR": "admin"}, catch_exceptions=False
    )
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result.stdout


def test_the_clock_helpers_turn_days_and_typed_times_on_the_offices_clock() -> None:
    assert office_day(EVENING_UTC, "Asia/Shanghai") == date(2026, 8, 2)
    assert office_day(EVENING_UTC, "UTC") == date(2026, 8, 1)
    assert local(datetime(2026, 8, 2, 7, 30), "Asia/Shanghai") == EVENING_UTC
    assert local(EVENING_UTC, "Asia/Shanghai") == EVENING_UTC  # a zone named is kept
    assert day_end(date(2026, 8, 1), "Asia/Shanghai") == datetime(
        2026, 8, 1, 15, 59, 59, 999_999, tzinfo=UTC
    )
    with pytest.raises(InvalidInput):
        local(datetime(1, 1, 1), "Asia/Shanghai")  # before the first moment UTC can hold


def test_the_default_clock_is_shanghai_and_an_admin_sets_another_by_any_spelling(
    story: tuple[Office, dict[str, UUID]],
) -> None:
    office, _ = story
    assert office.policy().timezone == "Asia/Shanghai"
    head = office.head()
    with pytest.raises(InvalidInput, match="IANA time zone"):
        office.handle(cmd.SetPolicy(key="timezone", value="Mars/Olympus", actor="admin"))
    with pytest.raises(InvalidInput, match="IANA time zone"):
        office.handle(cmd.SetPolicy(key="timezone", value="../../etc/passwd", actor="admin"))
    assert office.head() == head  # refused: nothing recorded
    office.handle(cmd.SetPolicy(key="timezone", value="asia/urumqi", actor="admin"))
    assert office.policy().timezone == "Asia/Urumqi"


def test_due_dates_count_from_the_offices_day(story: tuple[Office, dict[str, UUID]]) -> None:
    """Approved at 07:30 on 2 August in Guizhou: the payment is due 14 days after 2 August;
    read on UTC it would be due a day earlier."""
    office, ids = story
    due = [i for i in office.due() if i.case_id == str(ids["case"])]
    assert [(i.kind, i.due) for i in due] == [("payment", date(2026, 8, 16))]
    office.handle(cmd.SetPolicy(key="timezone", value="UTC", actor="admin"))
    due = [i for i in office.due() if i.case_id == str(ids["case"])]
    assert [(i.kind, i.due) for i in due] == [("payment", date(2026, 8, 15))]


def test_as_of_a_date_means_the_end_of_the_offices_day_on_every_face(
    story: tuple[Office, dict[str, UUID]],
) -> None:
    """As of 1 August (office time) the fund holds the 23:00 deposit only: the 07:30 one of
    2 August is 23:30 UTC on 1 August, inside a UTC day but not the office's."""
    office, ids = story
    fund = str(ids["fund"])

    def received(ledger: dict[str, object]) -> int:
        funds = ledger["funds"]
        assert isinstance(funds, list)
        return int(next(f for f in funds if f["fund_id"] == fund)["deposited_fen"])

    library = office.ledger(as_of=datetime(2026, 8, 1, 23, 59, 59, 999_999))
    assert received(library.model_dump(mode="json")) == 100_000
    cli = json.loads(_cli(office.url, "audit", "ledger", "--as-of", "2026-08-01", "--json"))
    with Office.open(office.url) as now:  # a token issued today (the story's clock is August's)
        token = now.issue_token("admin", actor="admin").token
    http = TestClient(create_app(office.url)).get(
        "/audit/ledger",
        params={"as_of": "2026-08-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert http.status_code == 200, http.text
    assert received(cli) == received(http.json()) == 100_000
    # naming its zone, a time is that instant: the end of the UTC day holds both deposits
    cli_utc = json.loads(
        _cli(office.url, "audit", "ledger", "--as-of", "2026-08-01T23:59:59Z", "--json")
    )
    assert received(cli_utc) == 150_000


def test_shown_times_and_the_journals_since_are_on_the_offices_clock(
    story: tuple[Office, dict[str, UUID]],
) -> None:
    office, ids = story
    text = _cli(office.url, "audit", "journal", "--case", str(ids["fund"]))
    assert "2026-08-02 07:30" in text and "2026-08-01 23:00" in text
    assert "23:30" not in text  # the UTC wall time is not what the office reads
    since = json.loads(
        _cli(
            office.url,
            "audit",
            "journal",
            "--case",
            str(ids["fund"]),
            "--since",
            "2026-08-02",
            "--json",
        )
    )
    # from the start of 2 August in Guizhou: the 07:30 deposit and allocation, not the
    # 23:00 deposit of the day before (which a UTC day would also hold back, but not the
    # 07:30 ones: they are 1 August in UTC)
    assert [line["recorded_at"] for line in since] == ["2026-08-01T23:30:00Z"] * 2


def test_a_notice_period_is_whole_days_on_the_offices_clock(
    story: tuple[Office, dict[str, UUID]],
) -> None:
    """Paid at 07:30 on 2 August in Guizhou: on the notice of 2 August, not of 1 August (the
    UTC day it fell on)."""
    office, _ = story
    assert office.notice("2026-08-01..2026-08-01", actor="approver").grant_fen == 0
    assert office.notice("2026-08-02..2026-08-02", actor="approver").grant_fen == 10_000
