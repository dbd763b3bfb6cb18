"""A public notice that is provable (issue 22 §5): the de-identified list the bureau posts,
with totals that recompute from its rows, the digest it was drawn from, and per row a reference
a student checks offline against that digest; drawing it is recorded."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli


def test_a_notice_posts_masked_rows_with_totals_and_a_proof_per_row(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    case = world["case"]
    cli(
        "case", "approve", case, "--amount", "3000", "--need", "tuition", "--fund", world["gov"],
        "--ref", "MZ-N-1", actor="approver",
    )  # fmt: skip
    cli("case", "disburse", case, "--amount", "2000", "--voucher", "V-N-1", actor="cashier")
    out = tmp_path / "公示.csv"
    shown = cli.json(
        "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(out), actor="approver"
    )
    [row] = shown["rows"]
    assert (row["grant_fen"], row["name"], row["town"]) == (200_000, "W**", "Gaoping")
    assert "5203" in row["student_id_masked"] and "*" in row["student_id_masked"]
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert "Wang" not in out.read_text(encoding="utf-8-sig")  # nothing unmasked posted
    body, totals = lines[1:-1], lines[-1]
    assert sum(float(r[5].replace(",", "")) for r in body) == float(totals[5].replace(",", ""))
    # a student checks their row offline, with nothing but the digest and the proofs file
    proofs = out.with_name(out.name + ".proofs.json")
    checked = cli.json(
        "audit", "check-proof", str(proofs), "--ref", row["ref"], "--digest", shown["digest"]
    )
    assert checked["ok"]
    # a row whose proof was changed no longer checks
    doc = json.loads(proofs.read_text())
    doc["proofs"][row["ref"]]["leaf"] = doc["proofs"][row["ref"]]["leaf"].replace(
        "200000", "900000"
    )
    proofs.write_text(json.dumps(doc))
    cli(
        "audit", "check-proof", str(proofs), "--ref", row["ref"], "--digest", shown["digest"],
        code=1,
    )  # fmt: skip
    journal = cli.json("audit", "journal", "--limit", "100")
    assert [e["actor"] for e in journal if e["event_type"] == "payments.notice_posted"] == [
        "approver"
    ]


def _posted(cli: Cli, world: dict[str, str], out: Path) -> str:
    """A student paid twice (2,000 and 500 yuan), the notice posted: its digest."""
    case = world["case"]
    cli(
        "case", "approve", case, "--amount", "3000", "--need", "tuition", "--fund", world["gov"],
        "--ref", "MZ-N-2", actor="approver",
    )  # fmt: skip
    cli("case", "disburse", case, "--amount", "2000", "--voucher", "V-N-2", actor="cashier")
    cli("case", "disburse", case, "--amount", "500", "--voucher", "V-N-3", actor="cashier")
    shown = cli.json(
        "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(out), actor="approver"
    )
    return str(shown["digest"])


def _check(cli: Cli, out: Path, digest: str, code: int = 0) -> dict[str, Any]:
    result = cli("--json", "audit", "check-notice", str(out), "--digest", digest, code=code)
    return dict(json.loads(result.stdout or result.stderr))


def _rewrite(out: Path, change: Callable[[list[list[str]]], None]) -> None:
    with out.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    change(lines)
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(lines)


def test_a_posted_notice_checks_row_by_row_and_in_total(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """Issue 22 §8: a row's amount changed on the posted notice, the totals changed, a row
    taken off: each is caught by ``audit check-notice`` with the digest and the proofs file."""
    out = tmp_path / "公示.csv"
    digest = _posted(cli, world, out)
    honest = _check(cli, out, digest)
    assert honest["ok"] and honest["rows"] == 1 and honest["grant_fen"] == 250_000

    def more(lines: list[list[str]]) -> None:  # the row says 3,500 yuan, as the totals do
        lines[1][5] = lines[-1][5] = "3500.00"

    _rewrite(out, more)
    bad = _check(cli, out, digest, code=1)
    assert any(
        "the notice shows 350000 + 0 fen, its proved events 250000 + 0" in p
        for p in bad["problems"]
    )


def test_a_total_changed_on_the_notice_is_caught(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "公示.csv"
    digest = _posted(cli, world, out)

    def total(lines: list[list[str]]) -> None:
        lines[-1][5] = "9999.00"

    _rewrite(out, total)
    assert _check(cli, out, digest, code=1)["problems"] == [
        "the totals row is not the sum of the rows (250000 + 0 fen)"
    ]


def test_a_row_taken_off_the_notice_is_caught(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "公示.csv"
    digest = _posted(cli, world, out)

    def drop(lines: list[list[str]]) -> None:
        ref = lines[1][0]
        del lines[1]
        lines[-1][5] = "0.00"
        drop.ref = ref  # type: ignore[attr-defined]

    _rewrite(out, drop)
    problems = _check(cli, out, digest, code=1)["problems"]
    assert problems == [f"row {drop.ref} of the proofs is not on the notice"]  # type: ignore[attr-defined]


def test_an_xlsx_notice_checks_and_an_edited_proof_fails(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "公示.xlsx"
    digest = _posted(cli, world, out)
    assert _check(cli, out, digest)["ok"]
    proofs = out.with_name(out.name + ".proofs.json")
    doc = json.loads(proofs.read_text())
    [(ref, events)] = doc["events"].items()
    events[0]["leaf"] = events[0]["leaf"].replace("200000", "100000")
    proofs.write_text(json.dumps(doc))
    assert _check(cli, out, digest, code=1)["problems"] == [
        f"row {ref}: an event of it is not proved in {digest}"
    ]


def test_an_html_notice_to_post_checks_and_a_changed_amount_fails(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """The page the bureau posts or prints: masked rows, totals, the digest in its caption."""
    out = tmp_path / "公示.html"
    digest = _posted(cli, world, out)
    page = out.read_text(encoding="utf-8")
    assert digest in page and "Wang" not in page and "W**" in page
    assert '<td class="money">2,500.00</td>' in page
    assert _check(cli, out, digest)["ok"]
    out.write_text(
        page.replace('<td class="money">2,500.00</td>', '<td class="money">3,500.00</td>')
    )
    assert any(
        "its proved events 250000 + 0" in p for p in _check(cli, out, digest, code=1)["problems"]
    )


def test_a_notice_of_a_period_nobody_was_paid_in_checks(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    shown = cli.json(
        "audit", "notice", "--period", "2020-01-01..2020-01-31", "-o", str(out), actor="approver"
    )
    assert shown["rows"] == []
    assert _check(cli, out, shown["digest"])["ok"]


def test_a_notice_in_chinese_checks_and_a_broken_file_is_one_clear_line(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    """The notice is read by the importers' reader (its caps, its refusals), under its headers
    in either language; a file that is no notice is refused in one line, never an internal
    error (a corrupt workbook, a binary CSV, a page not in UTF-8)."""
    out = tmp_path / "公示.xlsx"
    cli(
        "case", "approve", world["case"], "--amount", "3000", "--need", "tuition", "--fund",
        world["gov"], "--ref", "MZ-N-9", actor="approver",
    )  # fmt: skip
    cli(
        "case", "disburse", world["case"], "--amount", "2000", "--voucher", "V-N-9", actor="cashier"
    )
    shown = cli.json(
        "--lang", "zh", "audit", "notice", "--period", "2020-01-01..2100-12-31", "-o", str(out),
        actor="approver",
    )  # fmt: skip
    assert _check(cli, out, shown["digest"])["ok"]
    proofs = out.with_name(out.name + ".proofs.json").read_text()
    for name, data in (
        ("corrupt.xlsx", b"PK\x03\x04not a workbook"),
        ("binary.csv", b"\xff\xfe\x00\x01\x02"),
        ("latin.html", "<table><tr><td>caf\xe9</td></tr></table>".encode("latin-1")),
    ):
        bad = tmp_path / name
        bad.write_bytes(data)
        bad.with_name(name + ".proofs.json").write_text(proofs)
        result = cli("audit", "check-notice", str(bad), "--digest", shown["digest"], code=2)
        assert result.stderr.startswith("error: ") and "internal error" not in result.stderr
        assert result.stderr.count("\n") == 1
