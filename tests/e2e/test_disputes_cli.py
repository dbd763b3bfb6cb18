"""A disputed payment through the CLI and HTTP (issue 23 §1): the bank's GBK statement paid
3,500 against a voucher issued for 1,500 and names someone else; the voucher is held, settled
by a second person, and the returned money issued again to the same account."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from aidflow import Office
from aidflow.http.app import create_app
from tests.builders import national_id
from tests.e2e.conftest import Cli

ACCOUNT = "6222020200112233445"


def _listed(cli: Cli, gov: str, path: Path) -> dict[str, object]:
    answer: dict[str, object] = cli.json(
        "pay", "list", "--fund", gov, "--date", "2026-08-12", "-o", str(path), actor="cashier"
    )
    return answer


def test_a_disputed_payment_is_held_settled_and_paid_again(
    cli: Cli, world: dict[str, str], tmp_path: Path
) -> None:
    gov, case = world["gov"], world["case"]
    cli(
        "case",
        "approve",
        case,
        "--amount",
        "1500",
        "--need",
        "学费",
        "--fund",
        gov,
        "--ref",
        "MZ-D1",
        actor="approver",
    )
    first = _listed(cli, gov, tmp_path / "list1.csv")
    lines = first["lines"]
    assert isinstance(lines, list) and len(lines) == 1
    voucher = lines[0]["voucher"]
    statement = tmp_path / "回单.csv"
    statement.write_bytes(
        (
            f'日期,账号,金额,摘要,状态,户名\n2026-08-14,{ACCOUNT},"3,500.00",{voucher},成功,李四\n'
        ).encode("gbk")
    )
    out = cli("pay", "reconcile", str(statement), actor="cashier").stdout
    assert "amount_mismatch" in out or "金额不符" in out
    assert "李四" not in out  # the bank's account holder is personal data too
    # held: the next list does not send it to the bank again
    again = _listed(cli, gov, tmp_path / "list2.csv")
    assert again["lines"] == [] and again["new_vouchers"] == 0

    # the issuer may not settle it; a screening clerk may not at all
    cli.refused(
        "pay", "resolve", voucher, "--as", "returned", "--reason", "r", says="issued voucher",
        actor="cashier",
    )  # fmt: skip
    cli.refused(
        "pay", "resolve", voucher, "--as", "bogus", "--reason", "r", says="bogus", code=2,
        actor="approver",
    )  # fmt: skip
    settled = cli(
        "pay",
        "resolve",
        voucher,
        "--as",
        "退回",
        "--reason",
        "银行回复：重复入账已冲回",
        "--lang",
        "zh",
        actor="approver",
    ).stdout
    assert "已按" in settled and "pay reissue" in settled
    cli.refused(
        "pay", "resolve", voucher, "--as", "paid", "--reason", "r", says="already settled",
        actor="approver",
    )  # fmt: skip
    held = _listed(cli, gov, tmp_path / "list3.csv")
    assert held["lines"] == [] and "pay reissue" in str(held["held"])

    # issued again to the same account, on a second person's word
    cli.refused("pay", "reissue", voucher, "--reason", "ok", says="issue it again", actor="cashier")
    answer = cli.json("pay", "reissue", voucher, "--reason", "户名已更正", actor="approver")
    assert answer == {
        "voucher": voucher,
        "case_id": case,
        "amount_fen": 150_000,
        "outcome": "reissued",
    }
    paid_again = _listed(cli, gov, tmp_path / "list4.csv")
    (new_line,) = paid_again["lines"]  # type: ignore[misc]
    assert new_line["voucher"] != voucher and new_line["amount_fen"] == 150_000
    assert new_line["account"].endswith(ACCOUNT[-4:])

    # the dossier and the journal show the dispute and the reissue
    history = [e["type"] for e in cli.json("case", "history", case, actor="approver")]
    assert history[-4:] == [
        "case.disbursement_disputed",
        "case.disbursement_returned",
        "case.payment_reissued",
        "case.disbursed",
    ]


def test_resolving_over_http_answers_as_the_cli(
    cli: Cli, world: dict[str, str], store_url: str, tmp_path: Path
) -> None:
    gov = world["gov"]
    second = cli.json(
        "case", "apply", "--student-id", national_id(2), "--name", "Li Wei", "--university",
        "Guizhou University", "--category", "dibao", "--town", "Gaoping", "--year", "2026",
        "--account", "6222020200998877665",
    )["case_id"]  # fmt: skip
    cli(
        "case", "verify", second, "--income", "9000", "--tuition", "5000", "--gap", "3000",
        "--need", "tuition", actor="visitor",
    )  # fmt: skip
    for n, case in enumerate((world["case"], second)):
        cli(
            "case", "approve", case, "--amount", "1000", "--need", "tuition", "--fund", gov,
            "--ref", f"MZ-H{n}", actor="approver",
        )  # fmt: skip
    lines = _listed(cli, gov, tmp_path / "list.csv")["lines"]
    assert isinstance(lines, list)
    vouchers = {line["case_id"]: line["voucher"] for line in lines}
    statement = tmp_path / "st.csv"
    statement.write_text(
        "date,account,amount,reference,status\n"
        + "".join(f"2026-08-14,,999,{v},paid\n" for v in vouchers.values()),
        encoding="utf-8",
    )
    cli("pay", "reconcile", str(statement), actor="cashier")
    by_cli = cli.json(
        "pay", "resolve", vouchers[world["case"]], "--as", "paid", "--reason", "bank: paid 1000",
        actor="approver",
    )  # fmt: skip
    with Office.open(store_url) as office:
        token = office.issue_token("approver", actor="admin").token
    client = TestClient(create_app(store_url))
    body = {"voucher": vouchers[second], "outcome": "已支付", "reason": "bank: paid 1000"}
    response = client.post(
        "/commands/resolve-payment", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    by_http = response.json()
    assert by_cli == {**by_http, "voucher": vouchers[world["case"]], "case_id": world["case"]}
    assert by_http == {
        "voucher": vouchers[second],
        "case_id": second,
        "amount_fen": 100_000,
        "outcome": "paid",
    }
    again = client.post(
        "/commands/resolve-payment", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
