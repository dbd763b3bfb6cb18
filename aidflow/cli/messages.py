"""Every user-facing string of the CLI (help texts aside), so a message catalogue can replace them.

Templates are ``str.format`` strings filled by :func:`aidflow.cli.render.line`, which escapes
every value; the template text itself is trusted.
"""

from __future__ import annotations

# -- errors and refusals --------------------------------------------------------------------
ERROR = "error: {message}"
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
    "`projections status`: a view stopped on an event or is damaged; fix the cause, then "
    "`aidflow projections rebuild VIEW`."
)
VIEWS_BROKEN = "views not current: {names}; see the problem column"
MEANS_INTERNAL_ERROR = "A bug: please report it, with the output of `AIDFLOW_DEBUG=1`."

# -- parameter problems ---------------------------------------------------------------------
NOT_A_DATE = "{value!r} is not a date like 2026-08-29"
NOT_A_TIME = "{value!r} is not a time like 2026-08-29 or 2026-08-29T17:00"
OUT_OF_RANGE_TIME = "{value!r} is outside the times aidflow can represent in UTC"
TOO_MUCH_MONEY = "amount {value} is too large"
POSITION_TOO_LARGE = "position {position} is too large"
NOT_AN_ACTION = "{value!r} must be DEPARTMENT=TEXT with DEPARTMENT one of {departments}"
NOT_FINITE = "{value!r} must be a finite number"

# -- funds ------------------------------------------------------------------------------------
ID = "{id}"
DEPOSIT_RECORDED = "recorded: {amount} yuan, receipt {receipt}"
DEPOSIT_REPEATED = (
    "already recorded (same receipt): nothing new written: {amount} yuan, receipt {receipt}"
)
FUND_SHOW = (
    "{f.name} ({f.kind})  {f.fund_id}\n"
    "purpose:    {purpose}\n"
    "deposited:  {deposited} yuan\n"
    "allocated:  {allocated} yuan\n"
    "released:   {released} yuan\n"
    "balance:    {balance} yuan"
)
FUND_LIST_HEADER = ("fund", "name", "kind", "deposited", "allocated", "balance")

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
    "status {d.status} · {d.family_category} · {d.town} · {d.university} · year {d.year}"
    " · account {account}\n"
    "approved {approved} · paid {paid} · secondary aid {secondary} yuan"
)
DOSSIER_REASON = "reason: {reason}"
DOSSIER_VERIFIED = "verified by {by}: income {income}, tuition {tuition}, gap {gap}; needs {needs}"
DOSSIER_ACTION = "action {a.action_id} [{a.department}] {a.text}: {state}"
ACTION_OPEN = "OPEN"
ACTION_DONE_ON = "done {day}"
TIMELINE_HEADER = ("pos", "recorded (UTC)", "event", "actor")
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
QUEUE_AWAITING = "Awaiting consultation:"
QUEUE_OWED = "\nActions owed:"
QUEUE_NONE = "  none"
QUEUE_AWAITING_HEADER = ("case", "name", "town", "severity", "kind", "days", "detail")
QUEUE_OWED_HEADER = ("case", "name", "action", "department", "days", "decision")

# -- audit ------------------------------------------------------------------------------------
JOURNAL_LINE = "{x.position:>7}  {when}  {x.actor:<22} {short}  {x.summary}"
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
LEDGER_FUND_HEADER = ("fund", "kind", "received", "paid out", "balance")
BY_NEED = "Approved by need"
BY_CATEGORY = "Paid by category"
BY_TOWN = "Paid by town"
BREAKDOWN = "{label:<19}{items}"
ENTRIES_HEADER = ("pos", "date", "entry", "yuan", "case", "fund", "voucher/receipt")
ALL_RULES_HOLD = "all rules hold"
RULES_HOLD = "all rules hold over {events} events up to position {position}"
RULES_CHECKED = "checked {events} events up to position {position}"
VIOLATION = "{v.rule}: {v.message} (case {case}, positions {positions})"
WROTE = "wrote {path}"

# -- projections, screening, demo ------------------------------------------------------------
VIEW_STATUS_HEADER = ("view", "position", "head", "behind", "problem")
REBUILDING = "rebuilding"
REBUILT = "rebuilt {names} from {count} events"
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


# -- issue 14: proofs, bundles, signing keys, explain, what-if (kept together for merging) ----

TREE_DIGEST = "{digest}\n(tree of {size} events up to position {position}; chain {chain})"
VERIFY_PART = "{what}: {message}"
PROOF_WROTE = "wrote a {kind} proof ({hashes} hashes) to {path}"
PROOF_NEEDS = "give a POSITION (inclusion proof) or --from OLD_DIGEST (consistency proof)"
PROOF_NEEDS_TREE = "{digest} is a chain digest (v0.1); proofs need a tree digest from `aidflow audit digest`"
PROOF_FAILED = "the proof does not check out"
BUNDLE_SCOPE = "give --case CASE or --period FROM..TO"
BUNDLE_WROTE = "wrote {events} events with their proofs and figures, signed, to {path} (digest {digest})"
BUNDLE_OK = "the bundle is intact ({events} events proved in {digest}, signature valid) and its figures follow from its events"
BUNDLE_BAD = "the bundle does not check out: {problems}"
KEY_CREATED = "{public}"
KEY_KEPT = "{public}\n(a signing key already exists in {dir}; it was kept)"
KEY_CREATED_NOTE = "signing key created in {dir} (private key mode 0600); give auditors the public key"
EXPLAIN_FIGURE = "{field}: {value}"
EXPLAIN_CAUSE = "  #{position} {when} {actor}: {command} ({event_type}){change} — {allowed_by}"
EXPLAIN_FINDING = "finding {rule} at positions {positions}: {message}"
EXPLAIN_NO_FINDINGS = "no audit finding about this case"
EXPLAIN_DISAGREES = "warning: these figures differ from the case replayed by the domain"
EXPLAIN_FIELD = "no such figure {field!r}; figures are {fields}"
WHATIF_REFUSED = "would be refused: case {case} v{version} ref {ref} {amount} yuan by {actor} ({rule})"
WHATIF_ALLOWED = "would be allowed: case {case} v{version} ref {ref} {amount} yuan by {actor} (was {rule})"
WHATIF_TOTALS = (
    "{approvals} approvals decided again: {refused} refused, {allowed} newly allowed, "
    "{cases} cases changed; approved {then} yuan -> {now} yuan. Nothing was written."
)
WHATIF_NEEDS = "give --policy FILE or at least one setting (--cap, --set KEY=VALUE)"
