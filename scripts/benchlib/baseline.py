"""The bare ``eventsourcing`` library doing the same work, as the baseline for every ratio.

A minimal application with aggregates whose events carry the same fields as
aidflow's, and one ``get -> change -> save`` per command, saving the same
aggregates together as aidflow does.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

NS = UUID("6f0d9f4e-4a56-4a0e-9d1d-1b7f3c3b6a11")


class BareCase(Aggregate):
    @event("Applied")
    def __init__(
        self,
        student_id: str,
        name: str,
        university: str,
        family_category: str,
        town: str,
        year: int,
        account: str,
        source: str,
        actor: str,
    ) -> None:
        self.paid = 0

    @event("Verified")
    def verify(
        self,
        income_fen: int,
        tuition_fen: int,
        gap_fen: int,
        needs: list[str],
        visited_on: date | None,
        note: str,
        actor: str,
    ) -> None:
        pass

    @event("GrantApproved")
    def approve(self, amount_fen: int, need: str, fund_id: UUID, actor: str) -> None:
        pass

    @event("Disbursed")
    def disburse(
        self, amount_fen: int, voucher: str, fund_id: UUID, value_date: date | None, actor: str
    ) -> None:
        self.paid += amount_fen

    @event("SecondaryAidAllocated")
    def secondary(self, fund_id: UUID, amount_fen: int, reason: str, actor: str) -> None:
        pass


class BareKey(Aggregate):
    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NS, key)

    @event("Registered")
    def __init__(self, key: str, case_id: UUID) -> None:
        pass


class BareFund(Aggregate):
    @event("Opened")
    def __init__(self, name: str) -> None:
        self.balance = 10**15
        self.receipts: dict[str, dict[str, Any]] = {}

    @event("Deposited")
    def deposit(self, amount_fen: int, source: str, receipt: str, actor: str) -> None:
        self.balance += amount_fen
        self.receipts[receipt] = {"amount_fen": amount_fen, "source": source}

    @event("Allocated")
    def allocate(self, case_id: UUID, amount_fen: int, use: str, actor: str) -> None:
        self.balance -= amount_fen


class BareApp(Application[UUID]):
    name = "Bare"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {BareFund: 100}  # as AidFlow does

    def open_fund(self) -> UUID:
        fund = BareFund(name="fund")
        self.save(fund)
        return fund.id

    def deposit(self, fund_id: UUID, receipt: str) -> None:
        """A deposit of 1 fen: the fund loaded (snapshot and events), changed, saved."""
        fund: Any = self.repository.get(fund_id)
        fund.deposit(amount_fen=1, source="s", receipt=receipt, actor="finance")
        self.save(fund)

    def apply(self, student_id: str) -> UUID:
        case = BareCase(
            student_id=student_id,
            name="Student",
            university="Guizhou University",
            family_category="dibao",
            town="Gaoping",
            year=2026,
            account="6222020200112233445",
            source="application",
            actor="clerk",
        )
        self.save(case, BareKey(key=f"{student_id}/2026", case_id=case.id))
        return case.id

    def change(self, case_id: UUID, step: str, fund_id: UUID, n: int) -> None:
        case: Any = self.repository.get(case_id)
        if step == "verify":
            case.verify(
                income_fen=1_200_000,
                tuition_fen=500_000,
                gap_fen=400_000,
                needs=["tuition"],
                visited_on=None,
                note="",
                actor="visitor",
            )
            self.save(case)
        elif step == "approve":
            fund: Any = self.repository.get(fund_id)
            case.approve(amount_fen=300_000, need="tuition", fund_id=fund_id, actor="approver")
            fund.allocate(case_id=case_id, amount_fen=300_000, use="grant", actor="approver")
            self.save(case, fund)
        elif step == "disburse":
            case.disburse(
                amount_fen=300_000,
                voucher=f"V{n}",
                fund_id=fund_id,
                value_date=None,
                actor="cashier",
            )
            self.save(case, BareKey(key=f"V{n}", case_id=case_id))
        elif step == "secondary":
            fund = self.repository.get(fund_id)
            case.secondary(fund_id=fund_id, amount_fen=600_000, reason="", actor="federation")
            fund.allocate(
                case_id=case_id, amount_fen=600_000, use="secondary-aid", actor="federation"
            )
            self.save(case, fund)

    def lifecycle(self, student_id: str, n: int, fund: UUID) -> int:
        """The workload's lifecycle (``workload.lifecycle``) in the bare library; commands run."""
        case = self.apply(student_id)
        for step in ("verify", "approve", "disburse"):
            self.change(case, step, fund, n)
        if n % 7 == 0:
            self.change(case, "secondary", fund, n)
            return 5
        return 4

    def new_cases(self, count: int) -> None:
        """The batch baseline: ``count`` new aggregates (with their keys), saved 500 to a save()."""
        for start in range(0, count, 500):
            aggregates: list[Any] = []
            for n in range(start, min(count, start + 500)):
                case = BareCase(
                    student_id=str(uuid4()),
                    name="Student",
                    university="u",
                    family_category="dibao",
                    town="t",
                    year=2026,
                    account="",
                    source="screening",
                    actor="screening",
                )
                aggregates += [case, BareKey(key=f"{n}/2026", case_id=case.id)]
            self.save(*aggregates)
