"""The source catalogue: every user-facing string of the CLI, the report and the HTTP service
in English (the commands' help texts aside: those are read from the command tree, see
``aidflow.cli.helptext``). Each constant's text is a gettext msgid; translations are in
``aidflow/i18n/locale/<lang>/LC_MESSAGES/aidflow.po`` (``python scripts/i18n.py update``
adds new ones there, a test fails while one lacks a translation).

Templates are ``str.format`` strings filled by :func:`aidflow.render.line`, which
translates the template and escapes every value; the template text itself is trusted.
Tuples are table headers (:func:`aidflow.render.table` translates each cell).
"""

from __future__ import annotations

# -- errors and refusals --------------------------------------------------------------------
ERROR = "error: {message}"
ERROR_DETAIL = "{summary}: {message}"
LABEL_COLON = ":"
USAGE_HINT = "{message} (see '{command} --help')"
INTERNAL = "internal error: {kind}: {message}"
NEEDS_ACTOR = (
    "this command writes to the record, so it needs to know who is acting: "
    "give --actor NAME or set AIDFLOW_ACTOR"
)
NOT_AN_ID = "{text!r} is not a {kind} id (give the id, or at least its first 6 characters)"
NO_ID_STARTS = "no {kind} id starts with {text}"
AMBIGUOUS_ID = "more than one {kind} id starts with {text} ({candidates}); give more characters"
NO_VERSION = "case {case_id} has no version {version}"
AS_OF_OR_VERSION = "give --as-of or --version, not both"
VIOLATIONS_FOUND = "{count} rule violation(s) found"
MEANS_USAGE_ERROR = "The command line itself is wrong: an unknown option, a missing or bad value."
MEANS_RULE_VIOLATIONS = "`audit check` found rules broken in the record."
MEANS_DIGEST_MISMATCH = "`audit verify`: the store no longer matches the digest."
MEANS_VIEWS_BROKEN = (
    "`projections status` or `projections rebuild`: a view stopped on an event or is damaged; "
    "fix the cause, then `aidflow projections rebuild VIEW`."
)
STOPPED_AT = "stopped at {position}: {error}"
VIEWS_BROKEN = "views not current: {names}; see the problem column"
MEANS_VIEWS_DRIFTED = (
    "`projections verify` or `audit check`: a view's rows differ from a fresh replay of the "
    "store (an edited view row or event); `aidflow projections rebuild VIEW` rebuilds it."
)
VIEWS_DRIFTED = "views drifted from the store: {names}"
VIEW_AGREES = "{view}: agrees with a replay of the store up to position {position} ({checksum})"
VIEW_DRIFTED = "{view}: DRIFTED at {table} key {key} (replayed up to position {position})"
AUDIT_VIEW_AGREES = (
    "the audit view read agrees with a fresh replay of the store up to position {position}"
)
MEANS_WARM_UNAVAILABLE = (
    "`aidflow warm start` could not start a warm process; commands still run, without it."
)
MEANS_INTERNAL_ERROR = "A bug: please report it, with the output of `AIDFLOW_DEBUG=1`."

# -- parameter problems ---------------------------------------------------------------------
# what a typed value names, in a refusal of it (``aidflow.i18n.words``)
WORD_NEED = "need"
WORD_FAMILY_CATEGORY = "family category"
WORD_FUND_KIND = "fund kind"
WORD_HARDSHIP_KIND = "hardship kind"
WORD_SEVERITY = "severity"
WORD_HARDSHIP_TREND = "hardship trend"
WORD_CASE_STATUS = "case status"
WORD_ROLE = "role"
WORD_SETTLEMENT = "settlement"
WORD_RECEIPT = "whether the money arrived"
WORD_APPEAL_OUTCOME = "appeal decision"
APPEAL_LODGED = "appeal of {case_id} lodged; a person other than the one who rejected decides it"
APPEAL_DECIDED = "appeal of {case_id} decided: {outcome}"
APPEAL_NEEDS_OUTCOME = "give --uphold or --overturn"
NOT_A_DATE = "{value!r} is not a date like 2026-08-29"
NOT_A_TIME = "{value!r} is not a time like 2026-08-29 or 2026-08-29T17:00"
OUT_OF_RANGE_TIME = "{value!r} is outside the times aidflow can represent in UTC"
TOO_MUCH_MONEY = "amount {value} is too large"
POSITION_TOO_LARGE = "position {position} is too large"
NOT_AN_ACTION_FORMAT = "{value!r} must be DEPARTMENT=TEXT (departments: aidflow policy show)"
NOT_FINITE = "{value!r} must be a finite number"

# -- funds ------------------------------------------------------------------------------------
ID = "{id}"
DEPOSIT_RECORDED = "recorded: {amount} yuan, receipt {receipt}"
DEPOSIT_REPEATED = (
    "already recorded (same receipt): nothing new written: {amount} yuan, receipt {receipt}"
)
FUND_SHOW = (
    "{f.name} ({kind})  {f.fund_id}\n"
    "purpose:    {purpose}\n"
    "deposited:  {deposited} yuan\n"
    "allocated:  {allocated} yuan\n"
    "released:   {released} yuan\n"
    "balance:    {balance} yuan"
)
FUND_LIST_HEADER = ("fund", "name", "kind", "deposited", "allocated", "balance")
FUND_MOVEMENTS = "Movements:"
FUND_NO_MOVEMENTS = "  none"
FUND_MOVEMENTS_HEADER = (
    "pos",
    "date",
    "movement",
    "yuan",
    "case",
    "voucher/receipt",
    "source",
    "actor",
)

# -- cases ------------------------------------------------------------------------------------
VERIFIED = "verified {case_id}"
REJECTED = "rejected {case_id}: {reason}"
APPROVED = "approved {amount} yuan for {case_id} under {ref}"
PAID = "paid {amount} yuan, voucher {voucher}"
PAID_BEFORE = "voucher {voucher} was already paid for this case: nothing new written"
RETURNED = "voucher {voucher} returned: {reason}"
SECONDARY_AID = "secondary aid of {amount} yuan for {case_id} under {ref}"
DECIDED_BEFORE = "{ref} was already recorded with the same content: nothing new written"
HARDSHIP = "hardship recorded; {case_id} awaits re-verification"
NO_ACTIONS = "consultation recorded (no actions)"
ACTION_DONE = "{action_id} done"
FOLLOWED_UP = "follow-up recorded for {case_id}"
CLOSED = "closed {case_id}"
DOSSIER_HEAD = (
    "{d.name}  {d.student_id_masked}  case {d.case_id}\n"
    "status {status} · {category} · {d.town} · {d.university} · year {d.year}"
    " · account {account}\n"
    "approved {approved} · paid {paid} · secondary aid {secondary} yuan"
)
DOSSIER_REASON = "reason: {reason}"
DOSSIER_VERIFIED = "verified by {by}: income {income}, tuition {tuition}, gap {gap}; needs {needs}"
DOSSIER_ACTION = "action {a.action_id} [{department}] {a.text}: {state}"
DOSSIER_APPLICATION = "opened {opened} by {source}"
DOSSIER_PREVIOUS_CASE = "the same student's case of an earlier year: {case_id}"
DOSSIER_VERIFIED_ON = "visited on {day}"
DOSSIER_NOTE = "note: {note}"
SECTION_APPROVALS = "Approvals:"
SECTION_DISBURSEMENTS = "Payments:"
SECTION_RETURNS = "Returned by the bank:"
SECTION_SECONDARY = "Secondary aid:"
SECTION_HARDSHIPS = "Hardship after enrolment:"
SECTION_CONSULTATIONS = "Consultations:"
SECTION_ACTIONS = "Actions:"
SECTION_FOLLOW_UPS = "Follow-up:"
SECTION_TIMELINE = "Timeline:"
APPROVALS_HEADER = ("date", "ref", "yuan", "need", "fund", "by")
DISBURSEMENTS_HEADER = ("date", "voucher", "yuan", "value date", "by")
RETURNS_HEADER = ("date", "voucher", "value date", "reason", "by")
SECONDARY_HEADER = ("date", "ref", "yuan", "fund", "donors", "reason", "by")
HARDSHIPS_HEADER = ("date", "kind", "severity", "detail", "by")
CONSULTATIONS_HEADER = ("date", "departments", "note", "by")
FOLLOW_UPS_HEADER = ("date", "study", "living", "hardship", "by")
FIND_HEADER = ("case", "name", "national id", "university", "town", "year", "status")
ACTION_OPEN = "OPEN"
ACTION_DONE_ON = "done {day}"
TIMELINE_HEADER = ("pos", "recorded at", "event", "actor")
HISTORY_LINE = "v{version}  {timestamp}  {type:<22} {actor:<20} {brief}"
CASE_LIST_HEADER = (
    "case",
    "name",
    "national id",
    "town",
    "category",
    "status",
    "approved",
    "paid",
    "secondary",
)
CASE_COUNT = "{count} case(s)"
CASES_FOUND = "{count} case(s) match"
QUEUE_AWAITING = "Awaiting consultation:"
QUEUE_OWED = "\nActions owed:"
QUEUE_NONE = "  none"
QUEUE_AWAITING_HEADER = ("case", "name", "town", "severity", "kind", "days", "detail")
QUEUE_OWED_HEADER = ("case", "name", "action", "department", "days", "due", "decision")
DUE_HEADER = ("due", "days left", "kind", "case", "name", "amount", "action", "department")
DUE_COUNT = "{count} item(s) due"
DUE_PAYMENT = "payment"
DUE_ACTION = "action"
DUE_APPEAL = "appeal"

# -- audit ------------------------------------------------------------------------------------
JOURNAL_LINE = "{x.position:>7}  {when}  {x.actor:<22} {short}  {x.summary}"
JOURNAL_HEADER = "{pos:>7}  {when:<16}  {actor:<22} {id:<8}  {summary}"
JOURNAL_POS = "pos"
JOURNAL_WHEN = "recorded at"
JOURNAL_ACTOR = "actor"
JOURNAL_ID = "id"
JOURNAL_SUMMARY = "summary"
JOURNAL_COLUMNS = ("pos", "recorded at", "actor", "id", "event", "summary")
LEDGER_HEAD = "Ledger at position {position}"
LEDGER_TOTAL = "  {label:<24} {value:>16}{unit}"
YUAN_UNIT = " yuan"
BUDGET_RECEIVED = "budget received"
DONATIONS_RECEIVED = "donations received"
GOVERNMENT_APPROVED = "government approved"
GOVERNMENT_PAID = "government paid (net)"
SECONDARY_AID_TOTAL = "secondary aid"
PROGRAMME_TOTAL = "programme total"
STUDENTS_ASSISTED = "students assisted"
WITH_SECONDARY_AID = "with secondary aid"
LEDGER_FUND_HEADER = ("fund", "id", "kind", "received", "paid out", "balance")
BY_NEED = "Approved by need"
BY_CATEGORY = "Paid by category"
BY_TOWN = "Paid by town"
BREAKDOWN = "{label:<19}{items}"
ENTRIES_HEADER = ("pos", "date", "entry", "yuan", "case", "fund", "voucher/receipt")
ALL_RULES_HOLD = "all rules hold"
RULES_HOLD = "all rules hold over {events} events up to position {position}"
RULES_CHECKED = "checked {events} events up to position {position}"
VIOLATION = "{v.id} {v.rule}: {v.message} (case {case}, positions {positions})"
DISPOSED_HEADING = "explained ({count}; `aidflow audit dispose --withdraw` reopens one):"
DISPOSED = "{v.id} {v.rule}: explained by {by}: {reason}"
DISPOSED_HEADER = ("finding", "rule", "case", "explained by", "why")
FINDING_DISPOSED = (
    "finding {finding} ({rule}) explained; `aidflow audit check` lists it apart and no longer "
    "fails on it"
)
FINDING_REOPENED = "the explanation of finding {finding} is withdrawn: it is open again"
# how a finding's message lists things (:class:`aidflow.i18n.words.Listed`): a list of words,
# a list of clauses
LIST_COMMA = ", "
LIST_SEMICOLON = "; "
LIST_OR = " or "
"""Alternatives (``aidflow.domain.errors.Terms``): 审批人或县级审批人."""
WHERE_MESSAGE = "{where}: {message}"
"""A refused field and why (``aidflow.i18n.problems``)."""
WROTE = "wrote {path}"
EXPORT_FORMAT = "cannot export to {path}: give a file ending .csv, .xlsx or .html"

# -- the audit report ----------------------------------------------------------------------
REPORT_TITLE = "aidflow audit report as of {moment} (event position {position})"
REPORT_HEADING = "Audit report"
REPORT_CHECKS = "Rule checks: {outcome}"
REPORT_SOME_VIOLATIONS = "{count} violation(s)"
REPORT_CHECK_LINE = "  {rule} (case {case}): {message}"
REPORT_DIGEST_LINE = "Digest: {digest} (the v0.1 chain: {chain})"
REPORT_LEDGER = "Ledger (yuan)"
REPORT_FUNDS = "Funds (yuan)"
REPORT_BREAKDOWNS = "Breakdowns"
REPORT_CHARTS = "Charts"
REPORT_CHECKS_HEADING = "Rule checks"
REPORT_CHECKS_HEADER = ("rule", "case", "finding")
REPORT_DIGEST = "Digest (prove and verify against it)"
REPORT_CHAIN = "The v0.1 hash chain's head, under its own name: {chain}"
REPORT_ROSTER = "Case roster ({count} cases, personal data masked)"
REPORT_ROSTER_HEADER = (
    "case",
    "name",
    "national id",
    "university",
    "town",
    "category",
    "status",
    "approved",
    "paid",
    "secondary",
)
CHART_BY_MONTH = "Money paid by month (yuan)"
CHART_BY_TOWN = "Money paid by town (yuan)"
CHART_BY_NEED = "Approved by need (yuan)"
CHART_BY_CATEGORY = "Paid by family category (yuan)"
CHART_BALANCE = "Balance of {name} over time (yuan)"
CHART_FINDINGS = "Findings by rule"
CHART_NO_DATA = "no data"
BREAKDOWN_HEADER = ("key", "yuan")

# -- the event feed and the HTTP service ----------------------------------------------------
EVENT_LINE = "{e.position:>7}  {when}  {e.actor:<22} {name:<28} {brief}"
FOLLOWING_EVENTS = "following events after position {position}; Ctrl-C to stop"
TOKEN_ISSUED = "token for {name}, until {expires} (shown once; keep it secret):\n{token}"  # noqa: S105
TOKEN_REVOKED = "{name}'s token is revoked: it opens nothing from now on"  # noqa: S105
CHOOSE_FROM = "choose from: {choices}"
NOT_A_LIFETIME = "{value!r} is not a number of days like 30d (1 to 366)"
SERVING = "serving {url} on http://{host}:{port} (OpenAPI at /docs); Ctrl-C to stop"
NEEDS_HTTP_EXTRA = "the HTTP service needs the [http] extra: pip install 'aidflow[http]'"

# -- the warm process (aidflow warm) ----------------------------------------------------------
WARM_STARTED = (
    "warm process started (pid {pid}, {socket}): your aidflow commands now run in it; "
    "`aidflow warm stop` ends it, and it ends by itself after {idle} idle"
)
WARM_ALREADY = "a warm process is already running (pid {pid}, {socket})"
WARM_ALREADY_LONGER = (
    "a warm process is already running (pid {pid}, {socket}); it now ends after {idle} idle"
)
WARM_RUNNING = (
    "warm process running: pid {pid}, {socket}, since {since}, {served} commands run; {code}"
)
WARM_SAME_CODE = "it runs the code on disk"
WARM_OTHER_CODE = "it runs other code than the files on disk: the next command ends it"
WARM_NONE = "no warm process is running ({socket}): commands start on their own"
WARM_STOPPED = "warm process {pid} stopped"
WARM_NOT_STARTED = "the warm process did not start: {reason} (see {log})"
WARM_EXITED = "it ended with exit status {status}"
WARM_NO_ANSWER = "no answer in {seconds} s"
WARM_SWITCHED_OFF = (
    "AIDFLOW_WARM={value} is set: commands here run without a warm process, so none is "
    "started; unset AIDFLOW_WARM to start one"
)
WARM_NOT_PRIVATE = (
    "{folder} is not this user's alone (it must be a folder owned by you with mode 0700): "
    "remove it or set AIDFLOW_WARM_SOCKET to a path in a private folder"
)
WARM_LOST = (
    "the warm process ended while it ran this command (pid {pid}): before running it again, "
    "see with `aidflow events` whether it was recorded"
)

# -- projections, screening, demo ------------------------------------------------------------
VIEW_STATUS_HEADER = ("view", "position", "head", "behind", "problem")
REBUILDING = "rebuilding"
REBUILT = "rebuilt {names} from {count} events"
REBUILD_STOPPED = "{view}: rebuilt up to position {position} only, {problem}"
NOT_REBUILT = "not rebuilt to the store's head: {names}; fix the cause, then rebuild them again"
ALL_VIEWS = "all views"
FOLLOWING = "following {url}; Ctrl-C to stop"
APPLIED = "applied {count} event(s)"
SCREENING = "screening"
SCREEN_ADMISSIONS = (
    "admissions: {r.admissions_file} ({r.admissions_format}), {r.admissions_rows} rows = "
    "{opened} {opened_label} + {already} already open + {duplicates} duplicates + "
    "{r.not_in_registry} not in registry + {rejected} rejected"
)
SCREEN_REGISTRY = (
    "registry: {r.registry_file} ({r.registry_format}), {r.registry_rows} rows, "
    "{r.registry_read} read, {r.registry_eligible} eligible households"
)
SCREEN_DUPLICATE = "  duplicate (line {d.line}): same student as line {d.first_line}"
SCREEN_COUNTS = (
    "matched: {r.matched}; {opened_label}: {opened}; already open: {already}; "
    "not in registry: {r.not_in_registry}; rejected rows: {rejected}"
)
WOULD_OPEN = "would open"
OPENED = "opened"
SCREEN_ALREADY_OPEN = "  already open (line {r.line}): case {r.case_id}"
SCREEN_REJECTED = "  rejected {p.file} line {p.line}: {p.reason}"
SCREEN_UNMATCHED_WRITTEN = "unmatched students: {count} written to {path}"
UNMATCHED_HEADER = ("line", "national ID", "name", "university", "why", "registry category")
UNMATCHED_NOT_IN_REGISTRY = "not in the assistance registry"
UNMATCHED_NOT_ELIGIBLE = "in the registry under a category this programme does not assist"
SCREEN_UNMATCHED_NEEDS_FILE = "--unmatched writes its list to a file: give -o FILE (.xlsx or .csv)"
VISITS_HEADER = (
    "no.", "name", "national ID", "university", "town", "category", "status", "case",
)  # fmt: skip
VISITS_WRITTEN = "visit list: {count} households written to {path} (each reveal recorded)"
VISITS_REASON = "household visit list"
"""The reason recorded on each case of a visit list drawn without one, in the clerk's language
(like any reason the clerk types)."""
VISITS_NO_FOLDER = "no folder {path} to write the visit list in"
SCREEN_UNMATCHED_NO_FOLDER = "no folder {path} to write the unmatched list in"
SCREEN_OUTPUT_IS_UNMATCHED = "-o FILE is where --unmatched writes its list: give --unmatched too"
BUILDING_YEAR = "building the programme year"
BUILDING_VIEWS = "building the views"
DEMO_SUMMARY = (
    "Programme year {r.year}: {r.screened} screening matches, {rejected} rejected, "
    "{paid} paid, {secondary} with secondary aid."
)
DEMO_NEXT = (
    "Next, try:\n"
    "  aidflow{db} case show {case}      # a dossier with a consultation\n"
    "  aidflow{db} case list --status rejected\n"
    "  aidflow{db} queue\n"
    "  aidflow{db} audit check\n"
    "  aidflow{db} audit ledger --as-of {r.year}-08-31\n"
    "  aidflow{db} audit digest"
)

# -- staff and policy ------------------------------------------------------------------------
STAFF_ADDED = "staff {name} added: {roles}"
ROLE_GRANTED = "{name} now holds {role}"
ROLE_REVOKED = "{name} no longer holds {role}"
STAFF_HEADER = ("name", "roles", "department", "town")
POLICY_HEADER = ("setting", "value")
POLICY_SET = "policy {key} set to {value} (policy version {version})"
POLICY_LOADED = "{count} policy setting(s) loaded (policy version {version})"
ROLES_NEED_POSTGRES = "database roles exist only on PostgreSQL; a SQLite file is one person's"

# -- issue 14: proofs, bundles, signing keys, explain, what-if (kept together for merging) ----

TREE_DIGEST = (
    "{digest}\n(tree of {size} events up to position {position}; chain {chain})\n"
    "{heads} (publish it beside the tree digest: `audit verify-bundle --heads` proves a case "
    "bundle complete against it)"
)
VERIFY_PART = "{what}: {message}"
PROOF_WROTE = "wrote a proof of {kind} ({hashes} hashes) to {path}"
PROOF_NEEDS = "give a POSITION (inclusion proof) or --from OLD_DIGEST (consistency proof)"
PROOF_NEEDS_TREE = (
    "{digest} is a chain digest (v0.1); proofs need a tree digest from `aidflow audit digest`"
)
PROOF_FAILED = "the proof does not check out"
BUNDLE_SCOPE = "give --case CASE or --period FROM..TO"
BUNDLE_WROTE = (
    "wrote {events} events with their proofs and figures, signed, to {path} (digest {digest})"
)
BUNDLE_OK = "the bundle is intact ({events} events proved in {digest}, signature valid) and its figures follow from its events"
BUNDLE_BAD = "the bundle does not check out: {problems}"
KEY_CREATED = "{public}"
KEY_KEPT = "{public}\n(a signing key already exists in {dir}; it was kept)"
KEY_CREATED_NOTE = (
    "signing key created in {dir} (private key mode 0600); give auditors the public key"
)
EXPLAIN_FIGURE = "{field}: {value}"
EXPLAIN_CAUSE = "  #{position} {when} {actor}: {command} ({event_type}){change} — {allowed_by}"
EXPLAIN_FINDING = "finding {rule} at positions {positions}: {message}"
EXPLAIN_NO_FINDINGS = "no audit finding about this case"
EXPLAIN_DISAGREES = "warning: these figures differ from the case replayed by the domain"
EXPLAIN_FIELD = "no such figure {field!r}; figures are {fields}"
WHATIF_REFUSED = (
    "would be refused: case {case} v{version} ref {ref} {amount} yuan by {actor} ({rule})"
)
WHATIF_ALLOWED = (
    "would be allowed: case {case} v{version} ref {ref} {amount} yuan by {actor} (was {rule})"
)
WHATIF_TOTALS = (
    "{approvals} approvals decided again: {refused} refused, {allowed} newly allowed, "
    "{cases} cases changed; approved {then} yuan -> {now} yuan. Nothing was written."
)
WHATIF_NEEDS = "give --policy FILE or at least one setting (--cap, --set KEY=VALUE)"

# -- issue 11: personal data (master key, reveal, erasure) -------------------------------------
ERASED = "[erased]"
MASTER_KEY_CREATED = "master key created in {path} (mode 0600)"
MASTER_KEY_KEPT = "a master key already exists in {path}; it was kept"
MASTER_KEY_NOTE = (
    "keep a copy of {path} apart from the database (a backup without its key cannot be "
    "read, and a key beside its database protects nothing from whoever copies both)"
)
MASTER_KEY_FROM_ENV = (
    "the master key is given by AIDFLOW_KEY; `aidflow keys init` makes key files only"
)
MASTER_KEY_ROTATED = "{count} data keys re-wrapped under the new master key, now in {path}"
ROTATE_NEEDS_FILE = (
    "the master key comes from AIDFLOW_KEY: give --to PATH for the new key's file "
    "(then set AIDFLOW_KEY or AIDFLOW_KEY_FILE to it)"
)
REVEAL_NEEDS_REASON = "--reveal needs --reason TEXT (it is recorded with the reveal)"
REVEALED = "{name}  {student_id}  account {account}  (revealed to {actor}; recorded)"
ERASED_CASES = "personal data erased from {count} case(s): {cases}"
# -- the money loop (issue 12): accounts, payment lists, statements, secondary aid ----------
ACCOUNT_RECORDED = "account {account} recorded for {case_id}"
ACCOUNT_PROPOSED = (
    "account {account} proposed for {case_id}; a different person confirms it with "
    "`aidflow case confirm-account` before money is paid to it"
)
ACCOUNT_UNCHANGED = "{case_id} already has account {account}: nothing new written"
ACCOUNT_CONFIRMED = "account {account} confirmed for {case_id}"
SECONDARY_PROPOSED = (
    "secondary aid of {amount} yuan proposed for {case_id} under {ref}; a different person "
    "approves it with `aidflow case approve-secondary-aid`"
)
SECONDARY_APPROVED = (
    "secondary aid of {amount} yuan approved for {case_id} under {ref}; it goes on the "
    "donation fund's next payment list"
)
PAY_LIST_WRITTEN = (
    "payment list of {day}: {count} line(s), {amount} yuan, {new} new voucher(s); "
    "written to {path} (full account numbers: keep it safe)"
)
PAY_LIST_HELD = "held back (not on the list):"
PAY_LIST_HELD_HEADER = ("case", "yuan", "why")
TOTAL_ROW = "total"
"""The first cell of an export's totals row."""
PAY_LIST_HEADER = (
    "no.", "name", "national ID", "bank account", "bank", "amount", "summary", "voucher no.",
    "use", "case",
)  # fmt: skip
"""A bank's 代发 template (序号 姓名 身份证号 银行账号 开户行 金额 摘要 凭证号), then ours."""
STATEMENT_DONE = (
    "statement {name}: {lines} line(s); {confirmed} confirmed paid, {returned} returned, "
    "{already} already settled, {findings} finding(s)"
)
STATEMENT_REPEATED = "statement {name} was imported before: nothing new written"
STATEMENT_FINDINGS = "findings (recorded; `aidflow audit check` reports them):"
STATEMENT_OVERDUE = "listed, and no statement line after {days} days:"
STATEMENT_FINDINGS_HEADER = ("line", "finding", "reference", "yuan", "account", "detail")
NOT_A_COLUMN_MAPPING = "{value!r} must be COLUMN=HEADER, e.g. reference=摘要"
DONOR_TRACE_HEADER = ("receipt", "donor", "case", "voucher", "yuan")
NO_DONOR_TRACE = "no secondary aid paid from this fund yet"
CONFIRMED_PAID = "of which confirmed by a bank statement"
UNCONFIRMED_PAID = "of which paid, not yet confirmed"
PAY_LIST_NO_FOLDER = "no folder {path} to write the payment list in"
REVERSAL_PROPOSED = (
    "reversal of deposit {receipt} ({amount} yuan) proposed; a different person confirms it "
    "with `aidflow fund confirm-reversal`"
)
REVERSAL_PROPOSED_BEFORE = (
    "the reversal of deposit {receipt} ({amount} yuan) was proposed before: nothing new written"
)
REVERSAL_CONFIRMED = "deposit {receipt} ({amount} yuan) reversed: it no longer counts in the fund"
CORRECTION_PROPOSED = (
    "{amount} yuan to come off approval {ref} of {case_id}; a different approver confirms it "
    "with `aidflow case confirm-correction`"
)
CORRECTION_PROPOSED_BEFORE = (
    "this correction of approval {ref} ({amount} yuan, {case_id}) was proposed before: "
    "nothing new written"
)
CORRECTION_CONFIRMED = (
    "approval {ref} of {case_id} reduced by {amount} yuan; released back to its fund"
)
PAYMENT_RESOLVED = (
    "voucher {voucher} of {case_id} ({amount} yuan) settled as {outcome}; the money figures follow"
)
PAYMENT_RESOLVED_RETURNED = (
    "the approval is payable again: correct the account (`aidflow case set-account`) or, "
    "when it was right, have a second person run `aidflow pay reissue {voucher}`"
)
PAYMENT_REISSUED = (
    "returned voucher {voucher} of {case_id} ({amount} yuan) will be paid again to the same "
    "account: it goes on the fund's next payment list under a new voucher"
)

# -- issue 22 §1: complete bundles ----------------------------------------------------------
BUNDLE_HEADS = (
    "heads digest {heads}: publish it beside the tree digest; `audit verify-bundle --heads` "
    "checks a case bundle's completeness against it"
)
BUNDLE_COMPLETE = "complete: {covered}"
BUNDLE_HEADS_UNCHECKED = (
    "the heads digest {heads} is the bundle's own word: give --heads with the one published "
    "beside the tree digest to rely on it"
)
BUNDLE_INCOMPLETE = "the bundle is incomplete: {missing}"
# issue 22 §2: bundles carry their context, and their findings are the audit's
BUNDLE_FINDINGS = (
    "findings about the bundle's subject, judged as `aidflow audit check` judges them as of "
    "{at}: {open} open, {disposed} explained"
)
BUNDLE_NO_CONTEXT = (
    "format {format_name} carries no context (staff, policy, funds): its rule checks are not "
    "the audit's; export the bundle again for the findings about its subject"
)
BUNDLE_NOT_JUDGED = (
    "not judged in a bundle (they compare people with each other; `aidflow audit check` on the "
    "store judges them): {rules}"
)
BUNDLE_COMPLETENESS_UNKNOWN = (
    "completeness cannot be told: format {format_name} carries no proof of it (export the bundle "
    "again)"
)

# a programme year closed (issue 23)
YEAR_CLOSE_PROPOSED = (
    "closing programme year {year} proposed; a second admin or an approver confirms it with "
    "`aidflow year confirm-close {year}`"
)
YEAR_CLOSE_PROPOSED_BEFORE = (
    "closing programme year {year} was proposed before; it awaits a second person's confirmation"
)
YEAR_STATUS = "programme year {year}: {status} {by}"
YEAR_CLOSED = (
    "programme year {year} closed by {closed_by} (proposed by {proposed_by}): {cases} case(s),"
    " {approved} yuan approved, {paid} yuan paid, {released} yuan released to the funds;"
    " digest {digest} over {size} event(s)"
)

# casework from spreadsheets (issue 24)
IMPORT_SUMMARY = (
    "{file}: {rows} row(s): {recorded} recorded, {already} recorded before, {refused} refused"
)
IMPORT_DRY_RUN = "a dry run: nothing was recorded ('recorded' counts what would be)"
IMPORT_REFUSED = "  line {line} (case {case}): {reason}"
TEMPLATE_WRITTEN = "the empty {kind} sheet written to {file}"

# witnessed digests (issue 22 §4)
WITNESSED = "{witness} witnessed the digest {digest}; the signed statement is in {file}"
WITNESS_OK = "{digest}: signed, and extends the statement before it"
WITNESS_BAD = "{digest}: FAILS: {why}"
SAMPLE_DRAWN = "{count} case(s) drawn for {digest} (aidflow-sample/1):"

# the public notice (公示, issue 22 §5)
NOTICE_CAPTION = (
    "public notice of aid paid {period}, drawn from {digest}: a row is checked with `aidflow "
    "audit check-proof`, the whole notice with `aidflow audit check-notice`"
)
NOTICE_CHECKED = (
    "the notice checks out: its {rows} rows recompute from their payments proved in {digest}, "
    "and the totals from the rows"
)
NOTICE_BAD = "the notice does not check out: {problems}"
NOTICE_NO_PROOFS = (
    "no proofs file {file}: give --proofs with the .proofs.json posted beside the notice"
)
NOTICE_HEADER = (
    "ref",
    "name",
    "national id",
    "town",
    "category",
    "grant paid",
    "secondary aid paid",
)
NOTICE_WROTE = (
    "public notice of {period}: {rows} row(s), {total} yuan, proved against {digest}; "
    "written to {path}, each row's proof in {proofs}"
)
NOTICE_NO_REF = "{file} holds no proof for the row {ref}"
