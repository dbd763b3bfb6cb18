"""The money loop (issue 12): four eyes on accounts and secondary aid, the bank's word on
payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aidflow.auditing.money import MoneyRules
from aidflow.auditing.state import voucher_of
from aidflow.domain.canonical import document_key, same_person
from aidflow.domain.errors import said
from aidflow.domain.money import format_yuan
from aidflow.i18n.words import Recorded, Word


class LoopRules(MoneyRules):
    def confirmed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].listed.pop(document_key(voucher_of(d)), None)
        self.settled(position, actor, case, d)

    def returned(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        super().returned(position, at, actor, case, d)
        self.cases[case].returned.add(document_key(voucher_of(d)))
        self.cases[case].awaiting_receipt.pop(document_key(voucher_of(d)), None)
        self.settled(position, actor, case, d)

    def disputed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        key = document_key(voucher_of(d))
        c.listed.pop(key, None)  # the statement answered it: held, not overdue
        c.disputed.add(key)

    def settled(self, position: int, actor: str, case: str, d: dict[str, Any]) -> None:
        """A payment settled: by ``pay resolve`` (``resolved``) only if it was in dispute,
        and never by the person who issued it."""
        c = self.cases[case]
        key = document_key(voucher_of(d))
        in_dispute = key in c.disputed
        c.disputed.discard(key)
        if not d.get("resolved"):
            return
        if not in_dispute:
            self.flag(
                "resolved_without_dispute",
                said(
                    "voucher {voucher} was settled by hand, but no statement line had disputed it",
                    voucher=voucher_of(d),
                ),
                [position],
                case=case,
            )
        elif c.issuers.get(key) == same_person(actor):
            self.flag(
                "dispute_settled_by_issuer",
                said(
                    "{actor} issued voucher {voucher} and settled its dispute",
                    actor=actor,
                    voucher=voucher_of(d),
                ),
                [position],
                case=case,
            )

    def reissued(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        key = document_key(voucher_of(d))
        if key not in c.returned or key in c.reissued:
            self.flag(
                "reissue_without_return",
                said(
                    "voucher {voucher} was issued again, but it was not a returned payment (or "
                    "was issued again before)",
                    voucher=voucher_of(d),
                ),
                [position],
                case=case,
            )
        elif c.issuers.get(key) == same_person(actor):
            self.flag(
                "reissue_by_issuer",
                said(
                    "{actor} issued voucher {voucher} and decided to issue it again",
                    actor=actor,
                    voucher=voucher_of(d),
                ),
                [position],
                case=case,
            )
        c.reissued.add(key)

    def account_set(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].account_proposer = same_person(actor) if d.get("pending") else None

    def account_confirmed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        if c.account_proposer is None:
            self.flag(
                "account_confirmed_unproposed",
                said("an account change was confirmed that nobody had proposed"),
                [position],
                case=case,
            )
        elif c.account_proposer == same_person(actor):
            self.flag(
                "account_change_self_confirmed",
                said("{actor} proposed and confirmed the same account change", actor=actor),
                [position],
                case=case,
            )
        c.account_proposer = None

    def secondary_proposed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].secondary_proposers[document_key(d["ref"])] = same_person(actor)

    def secondary_approved(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        proposer = c.secondary_proposers.get(document_key(d["ref"]))
        if proposer is None or proposer == same_person(actor):
            self.flag(
                "secondary_aid_single_person",
                said(
                    "secondary aid {ref} was approved by {actor} without another person's proposal",
                    ref=d["ref"],
                    actor=actor,
                ),
                [position],
                case=case,
            )
        c.secondary_approved += d["amount_fen"]
        self.secondary_aid(position, at, actor, case, d)

    def correction_proposed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].correction_proposers[document_key(d["ref"])] = same_person(actor)

    def corrected(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        """A correction takes off only what is unpaid, and two people made it."""
        c = self.cases[case]
        proposer = c.correction_proposers.pop(document_key(d["ref"]), None)
        if proposer is None or proposer == same_person(actor):
            self.flag(
                "correction_single_person",
                said(
                    "approval {ref} was corrected by {actor} without another person's proposal",
                    ref=d["ref"],
                    actor=actor,
                ),
                [position],
                case=case,
            )
        if c.approved - d["amount_fen"] < c.paid:
            self.flag(
                "correction_beyond_unpaid",
                said(
                    "approval {ref} reduced by {amount} yuan, below the {paid} yuan already paid",
                    ref=d["ref"],
                    amount=format_yuan(d["amount_fen"]),
                    paid=format_yuan(c.paid),
                ),
                [position],
                case=case,
            )
        c.approved -= d["amount_fen"]
        c.since_visit = max(0, c.since_visit - d["amount_fen"])

    def statement(
        self, position: int, at: datetime, actor: str, book: str, d: dict[str, Any]
    ) -> None:
        for item in d["findings"]:
            self.flag(
                f"statement_{item['kind']}",
                said(
                    "bank statement {name} line {line} ({reference}, {amount} yuan): {detail}",
                    name=repr(d["name"]),
                    line=item["line"],
                    reference=item["reference"],
                    amount=format_yuan(item["amount_fen"]),
                    detail=Recorded(item["detail"], Word(item["kind"])),
                ),
                [position],
                subject=f"line {item['line']} {item['reference']}",
            )
