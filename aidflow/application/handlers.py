"""Every command class and the slice that handles it: the one table the library, the
:class:`~aidflow.office.Office` and the HTTP service's command routes are built from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application import cases, findings, funds, payments, personal, staff, years
from aidflow.application.context import voucher_ids
from aidflow.application.pipeline import Slice
from aidflow.models import (
    AccountResult,
    CorrectionResult,
    DecisionResult,
    DepositResult,
    DisbursementResult,
    FindingDisposal,
    IssuedToken,
    PaymentList,
    PaymentSettlement,
    PersonalData,
    PolicyInForce,
    Reconciliation,
    ReversalResult,
    ReviewResult,
    VisitList,
    YearClose,
)

HANDLERS: Mapping[type[cmd.Command[Any]], Slice[Any, Any]] = {
    # staff and policy
    cmd.AddStaff: Slice(staff.add_staff, "add_staff", None),
    cmd.GrantRole: Slice(staff.grant_role, "grant_role", None),
    cmd.RevokeRole: Slice(staff.revoke_role, "revoke_role", None),
    # the token is shown once and never kept as a request's result
    cmd.IssueToken: Slice(staff.issue_token, "issue_token", IssuedToken, idempotent=False),
    cmd.RevokeToken: Slice(staff.revoke_token, "issue_token", None),
    # a master key replaced: on record, an admin's (issue 21 §5); the rotation itself is the
    # Office's (Office.rotate_master_key), not served over HTTP
    cmd.RecordKeyRotation: Slice(staff.record_rotation, "rotate_keys", None, idempotent=False),
    cmd.RecordWitness: Slice(staff.record_witness, "witness", None, idempotent=False),
    cmd.RecordNotice: Slice(staff.record_notice, "post_notice", None, idempotent=False),
    cmd.SetPolicy: Slice(staff.set_policy, "set_policy", PolicyInForce),
    cmd.LoadPolicy: Slice(staff.load_policy, "set_policy", PolicyInForce),
    # funds
    cmd.OpenFund: Slice(funds.open_fund, "open_fund", UUID),
    cmd.Deposit: Slice(funds.deposit, "deposit", DepositResult),
    cmd.ReverseDeposit: Slice(funds.reverse_deposit, "reverse_deposit", ReversalResult),
    cmd.ConfirmReversal: Slice(funds.confirm_reversal, "confirm_reversal", ReversalResult),
    # cases
    cmd.Apply: Slice(cases.apply, "apply", UUID),
    cmd.Verify: Slice(cases.verify, "verify", None),
    cmd.Reject: Slice(cases.reject, "reject", None),
    cmd.Approve: Slice(cases.approve, "approve", DecisionResult, ref=lambda c: c.ref),
    cmd.Disburse: Slice(
        cases.disburse, "disburse", DisbursementResult, reads=lambda c: voucher_ids(c.voucher)
    ),
    cmd.ReturnDisbursement: Slice(cases.return_disbursement, "return_disbursement", None),
    cmd.AllocateSecondaryAid: Slice(
        cases.allocate_secondary_aid, "secondary_aid", DecisionResult, ref=lambda c: c.ref
    ),
    cmd.ApproveSecondaryAid: Slice(
        cases.approve_secondary_aid, "approve_secondary_aid", DecisionResult
    ),
    cmd.ReportHardship: Slice(cases.report_hardship, "report_hardship", None),
    cmd.ConveneReview: Slice(cases.convene_review, "convene_review", ReviewResult),
    cmd.CompleteAction: Slice(cases.complete_action, "complete_action", None),
    cmd.FollowUp: Slice(cases.follow_up, "follow_up", None),
    cmd.CloseCase: Slice(cases.close_case, "close_case", None),
    cmd.LodgeAppeal: Slice(cases.lodge_appeal, "lodge_appeal", None),
    cmd.DecideAppeal: Slice(cases.decide_appeal, "decide_appeal", None),
    cmd.CorrectApproval: Slice(cases.correct_approval, "correct_approval", CorrectionResult),
    cmd.ConfirmCorrection: Slice(cases.confirm_correction, "confirm_correction", CorrectionResult),
    # the money loop
    cmd.SetAccount: Slice(payments.set_account, "set_account", AccountResult),
    cmd.ConfirmAccount: Slice(payments.confirm_account, "confirm_account", AccountResult),
    # the list holds full names and accounts: never kept as a request's result (a list
    # issued again gives unsettled lines their same vouchers anyway)
    cmd.IssuePaymentList: Slice(
        payments.pay_list_of_payable, "pay_list", PaymentList, idempotent=False, opens=True
    ),
    cmd.Reconcile: Slice(payments.reconcile, "reconcile", Reconciliation, opens=True),
    cmd.ResolvePayment: Slice(payments.resolve, "resolve_payment", PaymentSettlement),
    cmd.ReissuePayment: Slice(payments.reissue, "reissue_payment", PaymentSettlement),
    # the audit's findings explained
    cmd.DisposeFinding: Slice(findings.dispose_finding, "dispose_finding", FindingDisposal),
    # a programme year closed: proposed by an admin, confirmed by a second person
    cmd.CloseYear: Slice(years.close_year, "propose_year_close", YearClose),
    cmd.ConfirmYearClose: Slice(years.confirm_year_close, "close_year", YearClose),
    # personal data: every reveal is recorded, and its answer never kept in the store
    cmd.Reveal: Slice(personal.reveal, "reveal", PersonalData, idempotent=False, opens=True),
    cmd.RevealVisitList: Slice(
        personal.visit_list, "reveal", VisitList, idempotent=False, opens=True
    ),
    cmd.EraseCase: Slice(personal.erase, "erase_case", list),
    cmd.RecordSearch: Slice(personal.record_search, "find", None, idempotent=False),
}
"""Command class -> its slice (what it decides, the role table's name for it, its result)."""
