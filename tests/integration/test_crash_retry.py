"""Kill -9 in the middle of money commands, then retry them all: each decision and each
payment is recorded exactly once (issue 8: 7 of 20 approvals were doubled this way)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from uuid import UUID

from aidflow import AidFlow
from tests.builders import donation_fund, government_fund, register_staff, verified

CASES = 40
GRANT_FEN = 200_000
AID_FEN = 50_000

# The clerk's session: approve, pay, then secondary aid, each under its document number.
CHILD = f"""
import sys
from uuid import UUID
from aidflow import AidFlow
from aidflow import commands as cmd
url, gov, don, *cases = sys.argv[1:]
flow = AidFlow.open(url)
for i, case in enumerate(cases):
    case = UUID(case)
    flow.approve(cmd.Approve(case_id=case, amount_fen={GRANT_FEN}, need="tuition",
                             fund_id=UUID(gov), ref=f"SP-{{i}}", actor="approver"))
    flow.disburse(cmd.Disburse(case_id=case, amount_fen={GRANT_FEN}, voucher=f"HC-{{i}}",
                               actor="cashier"))
    flow.allocate_secondary_aid(cmd.AllocateSecondaryAid(case_id=case, fund_id=UUID(don),
                                amount_fen={AID_FEN}, ref=f"EC-{{i}}", actor="committee"))
    flow.approve_secondary_aid(cmd.ApproveSecondaryAid(case_id=case, ref=f"EC-{{i}}",
                                                       actor="approver"))
print("done")
"""


def _run_child(args: list[str], kill_after: tuple[int, float] | None) -> bool:
    """Run the clerk's session; kill -9 it once it has reported ``kill_after[0]`` cases and a
    further ``kill_after[1]`` seconds have passed (mid-command). True if it finished."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    if kill_after is None:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        return b"done" in out
    reported, delay = kill_after
    assert child.stdout is not None
    for _ in range(reported):
        if not child.stdout.readline():
            break
    time.sleep(delay)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    if child.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(child.stderr.read().decode() if child.stderr else "child failed")
    return child.returncode == 0


def test_kill_9_during_money_commands_then_retry_records_each_once(store_url: str) -> None:
    flow = AidFlow.open(store_url)
    register_staff(flow)
    gov = government_fund(flow, 100_000)
    don = donation_fund(flow, 50_000)
    cases = [verified(flow, n) for n in range(1, CASES + 1)]
    flow.close()
    args = [store_url, str(gov), str(don), *map(str, cases)]

    rng = random.Random(8)
    kills = 0
    for attempt in range(6):  # each retry redoes what is done (no-ops), then dies in new work
        reported = 3 * attempt + rng.randrange(1, 4)
        if not _run_child(args, kill_after=(reported, rng.uniform(0, 0.03))):
            kills += 1
    assert kills, "no run was killed mid-way, so this proved nothing"
    flow = AidFlow.open(store_url)
    register_staff(flow)
    progress = flow.fund(gov).allocated_fen // GRANT_FEN
    flow.close()
    assert progress > 0, "every kill came before the first command: nothing was tested"
    assert _run_child(args, kill_after=None)  # the final retry finishes the session

    flow = AidFlow.open(store_url)
    register_staff(flow)
    try:
        for case_id in cases:
            case = flow.case(case_id)
            assert (case.approved_fen, case.disbursed_fen, case.secondary_aid_fen) == (
                GRANT_FEN,
                GRANT_FEN,
                AID_FEN,
            )
            kinds = [e.type for e in flow.history(case_id)]
            for kind in (
                "case.grant_approved",
                "case.disbursed",
                "case.secondary_aid_proposed",
                "case.secondary_aid_approved",
            ):
                assert kinds.count(kind) == 1, f"{case_id}: {kinds}"
        assert flow.fund(UUID(str(gov))).allocated_fen == CASES * GRANT_FEN
        assert flow.fund(UUID(str(don))).allocated_fen == CASES * AID_FEN
    finally:
        flow.close()
