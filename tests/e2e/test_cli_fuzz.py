"""A hostile clerk at the command line (issue 8): random commands with look-alike digits,
invisible and control characters, huge numbers, bad dates, ids and URLs, against a live store.

Every run must end with exit status 0, 1 or 2 and never a traceback; afterwards the store
still verifies, every view equals a rebuild from the events, and the audit check is clean
(the commands go through the rules, so no finding is genuine here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from aidflow import AidFlow
from aidflow.cli import main
from aidflow.projections import ReadModels
from aidflow.projections.base import create_view_engine
from tests.builders import national_id, register_staff
from tests.properties import examples

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

hostile_text = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "ok",
            "王芳",
            "a\nerror: forged",
            "\x00",
            "\x1b[31m",
            "zero\u200bwidth",
            "\u202eevil",
            "'; DROP TABLE stored_events; --",
            "x" * 3000,
        ]
    ),
    st.text(max_size=12),
)
amounts = st.one_of(
    st.sampled_from(
        ["1000", "１０００", "١٠٠٠", "99999999999999999999", "-5", "0", "1e5", "3000.505", "nan"]
    ),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)
ids = st.sampled_from(
    [
        national_id(1),
        national_id(1).translate(FULL_WIDTH),
        national_id(1).lower(),
        national_id(2),
        national_id(2)[:17].translate(ARABIC) + national_id(2)[17],
        "5.20302E+17",
        "123",
    ]
)
refs = st.sampled_from(["CASE", "FUND", "deadbeef", "00000000-0000-0000-0000-000000000000", "ab"])
vouchers = st.sampled_from(["V1", "v1", "Ｖ１", "V\u200b1", "V2", "", "x" * 100])
dates = st.sampled_from(["2026-08-29", "0001-01-01T00:00+05:00", "9999-12-31", "2026-13-40", "x"])
actors = st.sampled_from(["clerk", "CLERK", "ｃｌｅｒｋ", "clerk\u200b", "stranger", "", "health"])


def command() -> st.SearchStrategy[tuple[str, ...]]:
    return st.one_of(
        st.tuples(
            st.just("fund"),
            st.just("open"),
            st.just("--name"),
            hostile_text,
            st.just("--kind"),
            st.sampled_from(["government", "donation", "bogus"]),
        ),
        st.tuples(
            st.just("fund"),
            st.just("deposit"),
            refs,
            st.just("--amount"),
            amounts,
            st.just("--source"),
            hostile_text,
            st.just("--receipt"),
            vouchers,
        ),
        st.tuples(
            st.just("case"),
            st.just("apply"),
            st.just("--student-id"),
            ids,
            st.just("--name"),
            hostile_text,
            st.just("--university"),
            st.just("GZU"),
            st.just("--category"),
            st.sampled_from(["dibao", "低保", "bogus"]),
            st.just("--town"),
            st.just("Gaoping"),
            st.just("--year"),
            st.sampled_from(["2026", "２０２６", "99999999999999999999"]),
        ),
        st.tuples(
            st.just("case"),
            st.just("verify"),
            refs,
            st.just("--income"),
            amounts,
            st.just("--tuition"),
            amounts,
            st.just("--gap"),
            amounts,
            st.just("--need"),
            st.sampled_from(["tuition", "bogus"]),
        ),
        st.tuples(
            st.just("case"),
            st.just("approve"),
            refs,
            st.just("--amount"),
            amounts,
            st.just("--need"),
            st.just("tuition"),
            st.just("--fund"),
            refs,
            st.just("--ref"),
            vouchers,
        ),
        st.tuples(
            st.just("case"),
            st.just("disburse"),
            refs,
            st.just("--amount"),
            amounts,
            st.just("--voucher"),
            vouchers,
            st.just("--value-date"),
            dates,
        ),
        st.tuples(
            st.just("case"),
            st.just("return"),
            refs,
            st.just("--voucher"),
            vouchers,
            st.just("--reason"),
            hostile_text,
        ),
        st.tuples(
            st.just("case"),
            st.just("report-hardship"),
            refs,
            st.just("--kind"),
            st.just("illness"),
            st.just("--detail"),
            hostile_text,
        ),
        st.tuples(st.just("case"), st.just("close"), refs, st.just("--reason"), hostile_text),
        st.tuples(st.just("case"), st.just("show"), refs, st.just("--as-of"), dates),
        st.tuples(st.just("audit"), st.just("journal"), st.just("--limit"), amounts),
        st.tuples(st.just("audit"), st.just("ledger"), st.just("--as-of"), dates),
        st.tuples(
            st.just("--db"),
            st.sampled_from(
                [
                    "sqlite:///q.db?mode=xx",
                    "postgresql://u@h:x/d",
                    "sqlite:////proc/self/status",
                    "mysql://x",
                ]
            ),
            st.just("fund"),
            st.just("list"),
        ),
    )


def _dump(models: ReadModels) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with models.engine.connect() as conn:
        for view in models.views.values():
            for table in view.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                tables[table.name] = [
                    tuple(r) for r in conn.execute(sa.select(table).order_by(*order))
                ]
    return tables


@settings(max_examples=examples(int(__import__("os").environ.get("AIDFLOW_FUZZ_EXAMPLES", "12"))))
@given(program=st.lists(st.tuples(command(), actors), min_size=3, max_size=12))
def test_hostile_commands_end_in_one_line_and_leave_a_sound_store(
    tmp_path_factory: pytest.TempPathFactory, program: list[tuple[tuple[str, ...], str]]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder}/fuzz.db"
    flow = AidFlow.open(url)
    register_staff(flow)
    flow.close()
    runner = CliRunner()
    env = {"AIDFLOW_DB": url}
    made: dict[str, str] = {}
    for args, actor in program:
        filled = [made.get(a, a) for a in args]
        result = runner.invoke(main, filled, env={**env, "AIDFLOW_ACTOR": actor})
        out = result.stdout + result.stderr
        assert result.exit_code in (0, 1, 2), (filled, out, result.exception)
        assert "Traceback" not in out and "internal error" not in out, (filled, out)
        if result.exit_code:
            assert result.stderr.startswith("error:") or "Usage:" in result.stderr, (filled, out)
            assert len(result.stderr.strip().splitlines()) <= 3, (filled, result.stderr)
        elif filled[:2] == ["fund", "open"]:
            made["FUND"] = result.stdout.strip()
        elif filled[:2] == ["case", "apply"]:
            made["CASE"] = result.stdout.strip().split()[-1]

    flow = AidFlow.open(url)
    live = ReadModels.attach(flow, url)
    assert live.verify(flow, live.digest()).ok
    rebuilt = ReadModels(create_view_engine("sqlite:///:memory:"))
    rebuilt.catch_up(flow)
    assert _dump(live) == _dump(rebuilt)
    assert live.check(flow.current_policy()) == []
    live.close()
    flow.close()
    assert not any(name.startswith("q.db") for name in (p.name for p in Path.cwd().iterdir()))
