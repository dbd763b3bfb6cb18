"""Many writers on one hot fund (issue 25 §1): every answer must be the command's own.

Two shapes, as an office meets them:

- ``run_http``: the HTTP service as it runs (``uvicorn`` in its own process) and N client
  threads, each posting deposits and approvals against one fund as fast as it answers;
- ``run_cli``: N ``aidflow fund deposit`` processes at once on one fund, each recording its
  own receipts one command per process, as clerks at N counters do;
- ``run_processes``: N writer processes (services embedding the library) depositing on one
  fund as fast as they can: the contest between processes that locks inside one cannot
  settle, left to the store's check and the retries.

Each returns the count of answers by kind: ``recorded`` (2xx / exit 0), ``refused`` (a rule's
own refusal: 409 / exit 1 with a rule's code) and ``other`` (anything else: a conflict, a busy
store, a crash), and whether the fund's money is exact afterwards (its balance equals the
deposits answered as recorded minus the approvals answered as recorded).
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from aidflow import AidFlow, Office
from aidflow import commands as cmd
from aidflow.domain.errors import AidflowError
from tests.builders import government_fund, register_staff, verified

GRANT_FEN = 100
DEPOSIT_FEN = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def world(url: str, cases: int) -> tuple[UUID, list[UUID], dict[str, str]]:
    """A registered office, one fund, ``cases`` verified cases, a token for the writers."""
    flow = AidFlow.open(url)
    try:
        register_staff(flow)
        fund = government_fund(flow, yuan=1_000)
        made = [verified(flow, n) for n in range(cases)]
    finally:
        flow.close()
    with Office.open(url) as office:
        tokens = {n: office.issue_token(n, actor=n).token for n in ("finance", "approver")}
    return fund, made, tokens


def serve(
    port: int, app: str = "aidflow.http.app:app_from_env", **env: str
) -> subprocess.Popen[bytes]:
    """``app`` under uvicorn in its own process on ``port``, once it answers ``/health``."""
    factory = ["--factory"] if app.endswith("_from_env") else []
    command = [sys.executable, "-m", "uvicorn", app, *factory, "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "error"], env={**os.environ, **env}
    )
    for _ in range(400):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the service did not start")


def _fund_fen(url: str, fund: UUID) -> tuple[int, int]:
    flow = AidFlow.open(url)
    try:
        f = flow.fund(fund)
        return f.balance_fen, f.allocated_fen
    finally:
        flow.close()


def run_http(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads posting deposits and approvals on one fund for ``seconds``."""
    fund, cases, tokens = world(url, cases=clients * 4)
    before, _ = _fund_fen(url, fund)
    port = free_port()
    proc = serve(port, AIDFLOW_DB=url)
    tally: Counter[str] = Counter()
    others: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        mine = cases[i::clients]
        heads = {n: {"Authorization": f"Bearer {tokens[n]}"} for n in tokens}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                if n % 4 == 0 and mine:
                    kind, r = (
                        "approve",
                        c.post(
                            "/commands/approve",
                            headers=heads["approver"],
                            json={
                                "case_id": str(mine.pop()),
                                "amount_fen": GRANT_FEN,
                                "need": "tuition",
                                "fund_id": str(fund),
                                "ref": f"MZ-{i}-{n}",
                            },
                        ),
                    )
                else:
                    kind, r = (
                        "deposit",
                        c.post(
                            "/commands/deposit",
                            headers=heads["finance"],
                            json={
                                "fund_id": str(fund),
                                "amount_fen": DEPOSIT_FEN,
                                "source": "budget",
                                "receipt": f"R-{i}-{n}",
                            },
                        ),
                    )
                with lock:
                    if r.status_code == 200:
                        tally[kind] += 1
                    elif r.status_code == 409:
                        tally["refused"] += 1
                    else:
                        tally["other"] += 1
                        others[f"{r.status_code} {r.json()['error']['code']}"] += 1

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
    finally:
        proc.terminate()
        proc.wait(30)
    elapsed = time.monotonic() - started
    balance, allocated = _fund_fen(url, fund)
    expected = before + tally["deposit"] * DEPOSIT_FEN - tally["approve"] * GRANT_FEN
    return {
        "recorded": tally["deposit"] + tally["approve"],
        "refused": tally["refused"],
        "other": tally["other"],
        "others": dict(others),
        "per_second": (tally["deposit"] + tally["approve"]) / elapsed,
        "exact": balance == expected and allocated == tally["approve"] * GRANT_FEN,
    }


def run_cli(url: str, processes: int, commands_each: int) -> dict[str, Any]:
    """``processes`` CLI deposit processes at once on one fund, ``commands_each`` rounds."""
    fund, _cases, _tokens = world(url, cases=0)
    before, _ = _fund_fen(url, fund)
    env = {**os.environ, "AIDFLOW_DB": url, "AIDFLOW_ACTOR": "finance"}
    aidflow = str(Path(sys.executable).with_name("aidflow"))
    tally: Counter[str] = Counter()
    others: Counter[str] = Counter()
    started = time.monotonic()
    for round_ in range(commands_each):
        procs = [
            subprocess.Popen(
                [
                    aidflow,
                    "fund",
                    "deposit",
                    str(fund),
                    "--amount",
                    "1",
                    "--source",
                    "budget",
                    "--receipt",
                    f"C-{round_}-{p}",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for p in range(processes)
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=300)
            if proc.returncode == 0:
                tally["recorded"] += 1
            else:
                tally["other"] += 1
                others[err.decode(errors="replace").strip().splitlines()[-1][:120]] += 1
    elapsed = time.monotonic() - started
    balance, _ = _fund_fen(url, fund)
    return {
        "recorded": tally["recorded"],
        "refused": 0,
        "other": tally["other"],
        "others": dict(others),
        "per_second": tally["recorded"] / elapsed,
        "exact": balance == before + tally["recorded"] * 100,
    }


def _process_writer(url: str, fund: str, index: int, seconds: float, start: Any, out: Any) -> None:
    flow = AidFlow.open(url)
    tally: Counter[str] = Counter()
    start.wait(timeout=120)
    deadline = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            deposit = cmd.Deposit(
                fund_id=UUID(fund),
                amount_fen=DEPOSIT_FEN,
                source="budget",
                receipt=f"P-{index}-{n}",
                actor="finance",
            )
            try:
                flow.deposit(deposit)
            except AidflowError as exc:
                tally[f"other {exc.code}"] += 1
            else:
                tally["recorded"] += 1
        tally["retried"] = flow.conflicts_retried
    finally:
        flow.close()
        out.put(dict(tally))


def run_processes(url: str, processes: int, seconds: float) -> dict[str, Any]:
    """``processes`` writer processes depositing on one fund for ``seconds``."""
    fund, _cases, _tokens = world(url, cases=0)
    before, _ = _fund_fen(url, fund)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start = ctx.Barrier(processes + 1)
    procs = [
        ctx.Process(target=_process_writer, args=(url, str(fund), i, seconds, start, out))
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    start.wait(timeout=120)
    started = time.monotonic()
    tally: Counter[str] = Counter()
    for _ in procs:
        tally.update(out.get(timeout=seconds + 300))
    elapsed = time.monotonic() - started
    for proc in procs:
        proc.join(60)
    balance, _ = _fund_fen(url, fund)
    others = {k: v for k, v in tally.items() if k.startswith("other ")}
    return {
        "recorded": tally["recorded"],
        "refused": 0,
        "other": sum(others.values()),
        "others": others,
        "retried": tally["retried"],
        "per_second": tally["recorded"] / elapsed,
        "exact": balance == before + tally["recorded"] * DEPOSIT_FEN,
    }
