"""The views' upkeep is the service's (issue 21 §1), held against a person's real PostgreSQL
login: a clerk's or an auditor's `projections rebuild` (alone or `--jobs`), `follow` and a
catch-up are refused by name before anything is written (they met the database's refusal
halfway, as an internal error); a person's login on a store whose views are not made yet is
told who makes them."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner, Result

from aidflow import AidFlow, Office
from aidflow.cli import main
from aidflow.domain.errors import NotAuthorised
from tests.integration.test_pg_logins import _apply, _as, office  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg-roles")]

Logins = tuple[str, str, str, str]


def _aidflow(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args], env={"AIDFLOW_WARM": "0"})


def _tracked(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute("SELECT * FROM aidflow_tracking ORDER BY 1").fetchall()
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%aidflow_rebuild%'"
        ).fetchall()
    return [*rows, *schemas]


def _kept(url: str, clerk: str) -> None:
    """The store with a case, its views made and current (as the service keeps them)."""
    flow = AidFlow.open(url)
    _apply(flow, clerk, 1)
    flow.close()
    with Office.open(url) as service:
        service.catch_up_views()


@pytest.mark.parametrize(
    "args",
    [
        ("projections", "rebuild"),
        ("projections", "rebuild", "--jobs", "2"),
        ("projections", "follow"),
    ],
)
def test_a_persons_login_may_not_keep_the_views(office: Logins, args: tuple[str, ...]) -> None:  # noqa: F811
    url, clerk, auditor, _admin = office
    _kept(url, clerk)
    before = _tracked(url)
    for login in (clerk, auditor):
        result = _aidflow(_as(url, login), *args)
        assert result.exit_code != 0, result.output
        assert "internal error" not in result.output
        assert f"{login} may not rebuild, follow or catch up the views" in result.output
        assert "service's login" in result.output
    assert _tracked(url) == before  # no position moved, no scratch schema left


def test_the_library_refuses_it_too(office: Logins) -> None:  # noqa: F811
    url, clerk, _auditor, _admin = office
    _kept(url, clerk)
    with Office.open(_as(url, clerk)) as person:
        for upkeep in (person.rebuild, person.catch_up_views, lambda: person.rebuild(jobs=2)):
            with pytest.raises(NotAuthorised, match="the office's service keeps them"):
                upkeep()
        assert person.views_status()  # reading the views' state is every post's


def test_views_not_made_yet_are_the_services_to_make(office: Logins) -> None:  # noqa: F811
    url, clerk, _auditor, _admin = office
    flow = AidFlow.open(url)  # events, but the views never opened by the service
    _apply(flow, clerk, 1)
    flow.close()
    result = _aidflow(_as(url, clerk), "projections", "status")
    assert result.exit_code != 0
    assert "internal error" not in result.output
    assert "the views are not made yet" in result.output
    assert "aidflow serve" in result.output
