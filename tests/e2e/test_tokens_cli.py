"""`aidflow staff token`: one's own token, an admin's issue for another, expiry and
revocation, each recorded (issue 21 §3)."""

from __future__ import annotations

import json

from tests.e2e.conftest import Cli


def test_tokens_on_the_cli(cli: Cli) -> None:
    out = cli("staff", "token", "cashier", "--expires", "7d", actor="cashier").stdout
    assert "afw_" in out and "cashier" in out
    cli("staff", "token", "cashier", "--expires", "0d", actor="cashier", code=2)
    cli("staff", "token", "cashier", "--expires", "400", actor="cashier", code=2)
    cli.refused("staff", "token", "admin", says="only an admin", actor="cashier")
    issued = cli.json("staff", "token", "approver", actor="admin")
    assert issued["name"] == "approver" and issued["token"].startswith("afw_")
    cli("staff", "token", "approver", "--revoke", "--reason", "left the office", actor="admin")
    cli.refused(
        "staff", "token", "approver", "--revoke", says="holds no token", code=2, actor="admin"
    )
    journal = [
        (e["event_type"], e["actor"])
        for e in json.loads(cli("audit", "journal", "--json", actor="admin").stdout)
        if e["event_type"].startswith("staff.token")
    ]
    assert journal == [
        ("staff.token_issued", "cashier"),
        ("staff.token_issued", "admin"),
        ("staff.token_revoked", "admin"),
    ]
