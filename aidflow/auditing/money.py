"""Funds, grants, payments and secondary aid: where the money may come from and go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aidflow.auditing.moment import MomentRules
from aidflow.auditing.state import CaseState, voucher_of
from aidflow.domain.canonical import document_key, same_person
from aidflow.domain.errors import said
from aidflow.domain.money import format_yuan


class MoneyRules(MomentRules):
    # -- funds ---------------------------------------------------------------------------

    def deposited(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.balances[fund] += d["amount_fen"]
        if not str(d.get("receipt", "")).strip():
            self.flag(
                "deposit_without_receipt",
                said(
                    "deposit of {amount} yuan has no receipt", amount=format_yuan(d["amount_fen"])
                ),
                [position],
                fund=fund,
            )

    def reversal_proposed(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.reversal_proposers[(fund, document_key(d["receipt"]))] = same_person(actor)

    def reversed_deposit(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        """A deposit reversed: by two people, and never below what the fund has reserved."""
        proposer = self.reversal_proposers.pop((fund, document_key(d["receipt"])), None)
        if proposer is None or proposer == same_person(actor):
            self.flag(
                "reversal_single_person",
                said(
                    "deposit {receipt} was reversed by {actor} without another person's proposal",
                    receipt=d["receipt"],
                    actor=actor,
                ),
                [position],
                fund=fund,
            )
        self.drawn(position, fund, d["amount_fen"])

    def drawn(self, position: int, fund: str, fen: int, case: str | None = None) -> None:
        """Money taken out of a fund (an allocation, a reversed deposit): never below zero."""
        self.balances[fund] -= fen
        if self.balances[fund] < 0:
            self.flag(
                "fund_overdrawn",
                said(
                    "fund balance fell to {balance} yuan", balance=format_yuan(self.balances[fund])
                ),
                [position],
                case=case,
                fund=fund,
            )

    def allocated(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        self.drawn(position, fund, d["amount_fen"], case=d.get("case_id"))
        self.reserved[(fund, str(d.get("case_id")))] += d["amount_fen"]

    def released(
        self, position: int, at: datetime, actor: str, fund: str, d: dict[str, Any]
    ) -> None:
        """A reservation given back: never more than was reserved for that case on the fund
        (a release with nothing behind it would create money)."""
        self.balances[fund] += d["amount_fen"]
        key = (fund, str(d.get("case_id")))
        self.reserved[key] -= d["amount_fen"]
        if self.reserved[key] < 0:
            self.flag(
                "release_beyond_reservation",
                said(
                    "{amount} yuan released for a case that had {reserved} yuan reserved on the "
                    "fund",
                    amount=format_yuan(d["amount_fen"]),
                    reserved=format_yuan(self.reserved[key] + d["amount_fen"]),
                ),
                [position],
                case=d.get("case_id"),
                fund=fund,
            )
            self.reserved[key] = 0

    # -- cases ---------------------------------------------------------------------------

    def verified(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.verifiers.add(same_person(actor))  # people, not spellings (v0.1 stored them raw)
        c.verified = True
        c.verified_once = True
        c.gap, c.since_visit, c.needs = d["gap_fen"], 0, frozenset(d["needs"])

    def approved(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if not c.verified:
            self.flag(
                "approved_before_verification",
                said("grant approved while the case awaited verification"),
                [position],
                case=case,
            )
        if same_person(actor) in c.verifiers:
            self.flag(
                "verifier_approved",
                said("{actor} verified this case and approved its grant", actor=actor),
                [position],
                case=case,
            )
        if self.fund_kinds.get(d["fund_id"]) != "government":
            self.flag(
                "wrong_fund_kind",
                said("temporary assistance approved from a fund that is not a government fund"),
                [position],
                case=case,
                fund=d["fund_id"],
            )
        self.approval_by_moment(position, actor, case, c, d)
        c.approved += d["amount_fen"]
        c.since_visit += d["amount_fen"]
        c.approvals.append(position)
        c.funds.add(d["fund_id"])
        c.last_approval_at, c.last_approval_position = at, position
        if c.approved > self.policy.cap_fen:
            self.flag(
                "cap_exceeded",
                said(
                    "approved {approved} yuan, over the cap of {cap} yuan",
                    approved=format_yuan(c.approved),
                    cap=format_yuan(self.policy.cap_fen),
                ),
                c.approvals[:],
                case=case,
            )

    def disbursed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        amount = d["amount_fen"]
        voucher = voucher_of(d)
        key = document_key(voucher)  # V1, v1 and Ｖ１ are one voucher
        if d.get("listed"):
            c.listed[key] = (position, at, amount)
        c.issuers[key] = same_person(actor)
        if self.moment.receipt_days:  # judged by the policy in force when it was paid
            c.awaiting_receipt[key] = (position, at, self.moment.receipt_days, voucher)
        if d.get("use") == "secondary-aid":
            self.secondary_paid(position, case, c, d)
        else:
            if c.paid + amount > c.approved:
                self.flag(
                    "paid_before_approval",
                    said(
                        "paid {paid} yuan against {approved} yuan approved",
                        paid=format_yuan(c.paid + amount),
                        approved=format_yuan(c.approved),
                    ),
                    [position],
                    case=case,
                )
            c.paid += amount
        c.follow_up_due = True
        c.vouchers.append(voucher)
        if key in self.voucher_seen:
            self.flag(
                "duplicate_voucher",
                said("voucher {voucher} used twice", voucher=voucher),
                [self.voucher_seen[key], position],
                case=case,
            )
        else:
            self.voucher_seen[key] = position

    def returned(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.listed.pop(document_key(voucher_of(d)), None)
        if d.get("use") == "secondary-aid":
            c.secondary_paid -= d["amount_fen"]
        else:
            c.paid -= d["amount_fen"]

    def secondary_paid(self, position: int, case: str, c: CaseState, d: dict[str, Any]) -> None:
        if c.secondary_paid + d["amount_fen"] > c.secondary_approved:
            self.flag(
                "paid_before_approval",
                said(
                    "secondary aid paid {paid} yuan against {approved} yuan approved",
                    paid=format_yuan(c.secondary_paid + d["amount_fen"]),
                    approved=format_yuan(c.secondary_approved),
                ),
                [position],
                case=case,
            )
        c.secondary_paid += d["amount_fen"]

    def secondary_aid(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if c.paid <= 0:
            self.flag(
                "secondary_aid_without_paid_grant",
                said("secondary aid allocated before any grant was paid"),
                [position],
                case=case,
            )
        if self.fund_kinds.get(d["fund_id"]) != "donation":
            self.flag(
                "wrong_fund_kind",
                said("secondary aid allocated from a fund that is not a donation fund"),
                [position],
                case=case,
                fund=d["fund_id"],
            )
        c.secondary += d["amount_fen"]
        if c.secondary > self.policy.secondary_cap_fen:
            self.flag(
                "secondary_cap_exceeded",
                said(
                    "secondary aid of {amount} yuan, over the cap of {cap} yuan",
                    amount=format_yuan(c.secondary),
                    cap=format_yuan(self.policy.secondary_cap_fen),
                ),
                [position],
                case=case,
            )
