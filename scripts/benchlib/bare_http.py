"""The bare FastAPI baseline (issue 25 §2): one POST that validates a small JSON body with
pydantic and answers JSON, one GET that answers a small JSON document. It imports nothing
of aidflow, so it measures what HTTP itself costs on this machine:

    uvicorn scripts.benchlib.bare_http:app --port N
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
RECORDED: list[dict[str, Any]] = []


class Deposit(BaseModel):
    fund_id: str
    amount_fen: int
    source: str
    receipt: str


@app.post("/commands/deposit")
def deposit(body: Deposit) -> dict[str, Any]:
    RECORDED.append(body.model_dump())
    return {"fund_id": body.fund_id, "receipt": body.receipt, "recorded": True}


@app.get("/cases/{case}")
def case(case: str) -> dict[str, Any]:
    return {"case_id": case, "status": "verified", "approved_fen": 0, "timeline": []}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
