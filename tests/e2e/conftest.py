"""Shared by the CLI tests: a runner over one store, and a small world of funds and a case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from aidflow import AidFlow
from aidflow.cli import main
from tests.builders import national_id, register_staff


class Cli:
    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def head(self) -> int:
        flow = AidFlow.open(self.url)
        try:
            return flow.recorder.max_notification_id() or 0
        finally:
            flow.close()

    def __call__(self, *args: str, actor: str | None = "clerk", code: int = 0) -> Result:
        env = {"AIDFLOW_DB": self.url, "AIDFLOW_ACTOR": actor or ""}
        result = self.runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, (args, result.output, result.stderr)
        return result

    def json(self, *args: str, actor: str | None = "clerk") -> Any:
        return json.loads(self(*args, "--json", actor=actor).stdout)

    def refused(self, *args: str, says: str, code: int = 1, actor: str | None = "clerk") -> Result:
        """The command fails with ``code``, says ``says`` and leaves the store as it was."""
        before = self.head()
        result = self(*args, actor=actor, code=code)
        assert says in result.stderr, result.stderr
        if code == 1 and "--json" not in args:
            assert result.stderr.startswith("error:")
        assert self.head() == before
        return result


def registered_cli(url: str) -> Cli:
    """The CLI over the store at ``url``, with the test office registered."""
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    return Cli(url)


@pytest.fixture
def cli(store_url: str) -> Iterator[Cli]:
    """The CLI over a fresh store with the test office registered."""
    yield registered_cli(store_url)


@pytest.fixture
def world(cli: Cli) -> dict[str, str]:
    """A government and a donation fund, and one case verified by 'visitor'."""
    gov = cli.json("fund", "open", "--name", "Temporary assistance", "--kind", "government")[
        "fund_id"
    ]
    don = cli.json(
        "fund", "open", "--name", "Chamber", "--kind", "donation", "--purpose", "secondary aid"
    )["fund_id"]
    cli(
        "fund",
        "deposit",
        gov,
        "--amount",
        "20000",
        "--source",
        "district budget",
        "--receipt",
        "B-1",
    )
    cli(
        "fund",
        "deposit",
        don,
        "--amount",
        "8000.50",
        "--source",
        "Huichuan chamber",
        "--receipt",
        "D-1",
        "--date",
        "2026-07-02",
    )
    case = cli.json(
        "case",
        "apply",
        "--student-id",
        national_id(1),
        "--name",
        "Wang Fang",
        "--university",
        "Guizhou University",
        "--category",
        "dibao",
        "--town",
        "Gaoping",
        "--year",
        "2026",
        "--account",
        "6222020200112233445",
    )["case_id"]
    cli(
        "case",
        "verify",
        case,
        "--income",
        "12000",
        "--tuition",
        "5000",
        "--gap",
        "5000",
        "--need",
        "tuition",
        "--need",
        "travel",
        actor="visitor",
    )
    return {"gov": gov, "don": don, "case": case}
