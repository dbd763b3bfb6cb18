"""Hardship, consultation, follow-up and closing: what a case may record, and when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aidflow.auditing.loop import LoopRules
from aidflow.domain.canonical import document_key, same_person
from aidflow.domain.errors import Said, said
from aidflow.domain.values import Severity
from aidflow.i18n import messages as M
from aidflow.i18n.words import Listed


class LifecycleRules(LoopRules):
    def applied(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].year = int(d.get("year", 0))

    # -- a programme year closed (issue 23) ---------------------------------------------

    def year_close_proposed(
        self, position: int, at: datetime, actor: str, year_id: str, d: dict[str, Any]
    ) -> None:
        self.year_proposers[int(d["year"])] = same_person(actor)

    def year_closed(
        self, position: int, at: datetime, actor: str, year_id: str, d: dict[str, Any]
    ) -> None:
        """A year closes on two people's word."""
        year = int(d["year"])
        if self.year_proposers.get(year) in (None, same_person(actor)):
            self.flag(
                "year_close_single_person",
                said(
                    "programme year {year} was closed by {actor} without another person's proposal",
                    year=year,
                    actor=actor,
                ),
                [position],
            )
        self.closed_years[year] = position

    def case_year_closed(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.approved -= sum(d["releases"].values())
        c.since_visit = max(0, c.since_visit - sum(d["releases"].values()))
        c.secondary_approved -= sum(d.get("secondary_releases", {}).values())

    def new_money(self, position: int, case: str, what: Said) -> None:
        """No approval, secondary aid or payment for a case of a closed year."""
        year = self.cases[case].year
        if year in self.closed_years:
            self.flag(
                "act_in_closed_year",
                said(
                    "{what} recorded for programme year {year} after it was closed (position "
                    "{position})",
                    what=what,
                    year=year,
                    position=self.closed_years[year],
                ),
                [position],
                case=case,
            )

    def hardship(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        c = self.cases[case]
        c.verified = False
        c.closed = False  # a hardship report reopens even a closed or rejected case
        c.rejected = False
        if Severity(d["severity"]).needs_consultation:
            c.hardships.append((position, at, d["kind"]))

    def review(self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]) -> None:
        c = self.cases[case]
        c.hardships = []  # a consultation answers every hardship reported before it
        for item in d["actions"]:
            c.actions[item["action_id"]] = (position, at, item["department"])

    def action_done(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.on_closed_case(
            position, case, said("action {action} completed", action=d["action_id"])
        )
        self.cases[case].actions.pop(d["action_id"], None)

    def followed_up(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.on_closed_case(position, case, said("follow-up recorded"))
        c = self.cases[case]
        c.follow_up_due = False
        vouchers = list(d.get("vouchers") or [])
        for voucher in vouchers:
            c.awaiting_receipt.pop(document_key(voucher), None)
        if d.get("received") == "no":
            self.flag(
                "receipt_denied",
                said(
                    "the student says the money of voucher(s) {vouchers} did not arrive",
                    vouchers=", ".join(vouchers),
                ),
                [position],
                case=case,
                subject=",".join(vouchers),
            )

    def closed(self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]) -> None:
        c = self.cases[case]
        if self.moment.strict_close:
            broken = [
                why
                for why, broke in (
                    (
                        said("reopened by new hardship and not verified again"),
                        c.verified_once and not c.verified,
                    ),
                    (
                        said("consultation action(s) {actions} open", actions=", ".join(c.actions)),
                        bool(c.actions),
                    ),
                    (said("paid and not followed up since"), c.follow_up_due),
                )
                if broke
            ]
            if broken:
                self.flag(
                    "closed_against_rules",
                    said(
                        "case closed while {reasons}",
                        reasons=Listed(broken, M.LIST_SEMICOLON),
                    ),
                    [position],
                    case=case,
                )
        c.closed = True
        c.approved -= sum(d["releases"].values())
        c.since_visit = max(0, c.since_visit - sum(d["releases"].values()))

    def rejected(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].closed = True
        self.cases[case].rejected = True
        self.cases[case].rejected_by = same_person(actor)

    def appeal_lodged(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        self.cases[case].appeal = (position, at)

    def appeal_decided(
        self, position: int, at: datetime, actor: str, case: str, d: dict[str, Any]
    ) -> None:
        """An appeal is decided by someone other than the one who rejected, in time."""
        c = self.cases[case]
        if same_person(actor) == c.rejected_by:
            self.flag(
                "appeal_decided_by_rejecter",
                said("{actor} rejected this case and decided its appeal", actor=actor),
                [position],
                case=case,
            )
        if c.appeal is not None and at - c.appeal[1] > timedelta(
            days=self.moment.appeal_decision_days
        ):
            self.flag(
                "appeal_decided_late",
                said(
                    "the appeal was decided {days} days after it was lodged",
                    days=(at - c.appeal[1]).days,
                ),
                [c.appeal[0], position],
                case=case,
            )
        c.appeal = None
        if d.get("outcome") == "overturned":
            c.closed = c.rejected = False

    def on_closed_case(self, position: int, case: str, what: Said) -> None:
        c = self.cases[case]
        if c.closed:
            self.flag(
                "recorded_on_closed_case",
                said("{what} on a rejected case (only a hardship report reopens it)", what=what)
                if c.rejected
                else said("{what} on a closed case (only a hardship report reopens it)", what=what),
                [position],
                case=case,
            )
