"""After the money: new hardship reopens a case, a multi-department consultation (多部门会商)
owes actions, follow-up visits record how the student fares, and closing needs them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from eventsourcing.domain import event

from aidflow.domain import canonical
from aidflow.domain.case.events import (
    ActionCompleted,
    Closed,
    FollowedUp,
    HardshipReported,
    ReviewConvened,
)
from aidflow.domain.case.state import CaseState
from aidflow.domain.clock import now, office_day
from aidflow.domain.errors import (
    ActionsOpen,
    CaseNotOpen,
    FollowUpRequired,
    InvalidInput,
    InvalidTransition,
    ReverificationPending,
    SecondaryAidUnpaid,
    UnknownAction,
    UnknownDepartment,
    said,
)
from aidflow.domain.money import format_yuan
from aidflow.domain.policy import Policy


class Consultation(CaseState):
    """Hardship, the consultation and its actions, follow-up visits, and closing the case."""

    def report_hardship(self, *, kind: str, severity: str, detail: str, actor: str) -> None:
        """New hardship after enrolment reopens the case for re-verification."""
        self._hardship_reported(
            kind=kind,
            severity=severity,
            detail=canonical.text(detail, "hardship detail"),
            actor=canonical.actor(actor),
        )

    @event(HardshipReported)
    def _hardship_reported(self, *, kind: str, severity: str, detail: str, actor: str) -> None:
        self.hardships += 1
        self.awaiting_verification = True
        self.rejected = False
        self.closed = False

    def convene_review(
        self,
        *,
        departments: list[str],
        actions: Sequence[tuple[str, str] | tuple[str, str, date | None]],
        note: str,
        actor: str,
        policy: Policy | None = None,
    ) -> list[str]:
        """Record a multi-department consultation (多部门会商); returns the new action ids.

        With ``policy``, every department must be on its list, and each action gets a due
        date: its own, else ``action_due_days`` after today.
        """
        if not self.hardships:
            raise InvalidTransition(
                said(
                    "case {id} has no reported hardship; a consultation follows a hardship report",
                    id=self.id,
                )
            )
        if not departments:
            raise InvalidInput(said("a consultation needs at least one department"))
        present = list(dict.fromkeys(canonical.slug(d, "department") for d in departments))
        if policy is not None:
            unknown = [d for d in present if d not in policy.departments]
            if unknown:
                raise UnknownDepartment(
                    said(
                        "no department {unknown} in the policy; departments are {departments} (an admin changes them with `aidflow policy set departments ...`)",
                        unknown=", ".join(unknown),
                        departments=", ".join(policy.departments),
                    )
                )
        items = self._action_items(actions, present, policy)
        self._review_convened(
            departments=present,
            actions=items,
            note=canonical.text(note, "note", required=False),
            actor=canonical.actor(actor),
            policy_version=0 if policy is None else policy.version,
        )
        return [item["action_id"] for item in items]

    def _action_items(
        self,
        actions: Sequence[tuple[str, str] | tuple[str, str, date | None]],
        present: list[str],
        policy: Policy | None,
    ) -> list[dict[str, str]]:
        """The consultation's actions numbered after the case's earlier ones, each owed by a
        department present and due on its own date, else the policy's default."""
        items: list[dict[str, str]] = []
        next_number = len(self.actions) + 1
        for offset, action in enumerate(actions):
            department, text = canonical.slug(action[0], "department"), action[1]
            due = action[2] if len(action) > 2 else None
            if department not in present:
                raise InvalidInput(
                    said(
                        "action for {department} but that department was not at the consultation",
                        department=department,
                    )
                )
            item = {
                "action_id": f"A{next_number + offset}",
                "department": department,
                "text": canonical.text(text, "action text"),
            }
            if due is None and policy is not None:
                due = office_day(now(), policy.timezone) + timedelta(days=policy.action_due_days)
            if due is not None:
                item["due"] = due.isoformat()
            items.append(item)
        return items

    @event(ReviewConvened)
    def _review_convened(
        self,
        *,
        departments: list[str],
        actions: list[dict[str, str]],
        note: str,
        actor: str,
        policy_version: int = 0,
    ) -> None:
        self.reviews += 1
        for item in actions:
            self.actions[item["action_id"]] = {
                "department": item["department"],
                "text": item["text"],
                "done": False,
                "due": item.get("due", ""),
            }

    def complete_action(self, *, action_id: str, note: str, actor: str) -> None:
        """A department reports its referral or decision carried out (not on a closed case)."""
        self.check_open("record a completed action")
        action = self.actions.get(action_id)
        if action is None:
            known = ", ".join(self.actions) or "none"
            raise UnknownAction(
                said(
                    "case {id} has no action {action_id} (actions: {known})",
                    id=self.id,
                    action_id=action_id,
                    known=known,
                )
            )
        if action["done"]:
            raise InvalidTransition(
                said(
                    "action {action_id} of case {id} is already done",
                    action_id=action_id,
                    id=self.id,
                )
            )
        self._action_completed(
            action_id=action_id,
            department=action["department"],
            note=canonical.text(note, "completion note"),
            actor=canonical.actor(actor),
        )

    @event(ActionCompleted)
    def _action_completed(self, *, action_id: str, department: str, note: str, actor: str) -> None:
        self.actions[action_id]["done"] = True

    def follow_up(
        self, *, study: str, living: str, hardship_trend: str, actor: str, received: str = ""
    ) -> None:
        """A follow-up visit: study progress, living conditions, how hardship develops; with
        ``received`` (``yes``/``no``), the student's word on whether the money paid since the
        last such answer arrived (post-payment verification, 回访)."""
        if self.rejected:
            raise CaseNotOpen(
                said("case {id} was rejected; there is nobody to follow up", id=self.id)
            )
        self.check_open("be followed up")
        vouchers: tuple[str, ...] = ()
        if received:
            vouchers = tuple(
                str(p["voucher"])
                for p in self.payments.values()
                if not p["returned"] and not p.get("received")
            )
            if not vouchers:
                raise InvalidTransition(
                    said(
                        "case {id} has no payment awaiting the student's word on whether it arrived",
                        id=self.id,
                    )
                )
        self._followed_up(
            study=canonical.text(study, "study progress"),
            living=canonical.text(living, "living situation"),
            hardship_trend=hardship_trend,
            actor=canonical.actor(actor),
            received=received,
            vouchers=vouchers,
        )

    @event(FollowedUp)
    def _followed_up(
        self,
        *,
        study: str,
        living: str,
        hardship_trend: str,
        actor: str,
        received: str = "",
        vouchers: tuple[str, ...] = (),
    ) -> None:
        self.follow_ups += 1
        self.follow_up_due = False
        for voucher in vouchers:
            payment = self.payments.get(canonical.document_key(voucher))
            if payment is not None:
                payment["received"] = received

    def close(self, *, reason: str, actor: str, policy: Policy | None = None) -> dict[str, int]:
        """Close the case; approved money not yet paid goes back to its fund.

        Returns the fen to release per fund id, which the caller must release in the
        same save so that case and funds stay in step. Under a ``policy`` with
        ``strict_close``, the loop must be closed first (:meth:`check_can_close`).
        """
        self.check_open("be closed")
        unpaid_secondary = {
            f: fen for f, fen in self.unpaid_by_fund.items() if f in self.secondary_granted_by_fund
        }
        if unpaid_secondary:
            raise SecondaryAidUnpaid(
                said(
                    "case {id} has {amount} yuan of approved secondary aid not yet paid; "
                    "pay it through the payment list first",
                    id=self.id,
                    amount=format_yuan(sum(unpaid_secondary.values())),
                ),
                ids={"case_id": str(self.id)},
            )
        if policy is not None and policy.strict_close:
            self.check_can_close()
        releases = self.unpaid_by_fund
        self._closed(
            reason=canonical.text(reason, "closing reason"),
            releases=releases,
            actor=canonical.actor(actor),
            policy_version=0 if policy is None else policy.version,
        )
        return releases

    def check_can_close(self) -> None:
        """Re-verified after new hardship, no action owed, followed up after the last payment."""
        ids = {"case_id": str(self.id)}
        if self.awaiting_verification and self.verified_once:
            raise ReverificationPending(
                said(
                    "case {id} was reopened by new hardship and not verified again; record the household visit before closing it",
                    id=self.id,
                ),
                ids=ids,
            )
        if self.open_actions:
            raise ActionsOpen(
                said(
                    "case {id} still has consultation action(s) {open_actions} open; the departments must complete them before the case closes",
                    id=self.id,
                    open_actions=", ".join(self.open_actions),
                ),
                ids=ids,
            )
        if self.follow_up_due:
            raise FollowUpRequired(
                said(
                    "case {id} was paid and not followed up since; record a follow-up (study, living, hardship) before closing it",
                    id=self.id,
                ),
                ids=ids,
            )

    @event(Closed)
    def _closed(
        self, *, reason: str, releases: dict[str, int], actor: str, policy_version: int = 0
    ) -> None:
        self.closed = True
        self.reason = reason
        for fund, fen in releases.items():
            self.granted_by_fund[fund] -= fen
            self.approved_fen -= fen
            self.approved_since_visit = max(0, self.approved_since_visit - fen)
