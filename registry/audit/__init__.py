"""The access log: every operation, refused ones included, recorded before its answer leaves.

Entries are hash-chained in the database, the chain head is signed in checkpoints, and an
export verifies offline (`verify`), so any edit, deletion, insertion or reordering shows.
"""

from registry.audit.chain import FORMAT, checkpoint_message, entry_hash
from registry.audit.entry import (
    AccessEntry,
    Outcome,
    canonical,
    document_hash,
    keyed_hash,
    variables_hash,
)
from registry.audit.keys import AuditKeys, audit_keys, public_keys, rotate_audit_key
from registry.audit.log import (
    AccessLogTampered,
    AccessLogUnavailable,
    Checkpoint,
    append,
    append_many,
    checkpoint,
    export,
    maybe_checkpoint,
)
from registry.audit.queries import PAGE_MAX, AccessPage, LoggedAccess, search
from registry.audit.verifier import Problem, Reason, VerifyReport, verify

__all__ = [
    "FORMAT",
    "PAGE_MAX",
    "AccessEntry",
    "AccessLogTampered",
    "AccessLogUnavailable",
    "AccessPage",
    "AuditKeys",
    "Checkpoint",
    "LoggedAccess",
    "Outcome",
    "Problem",
    "Reason",
    "VerifyReport",
    "append",
    "append_many",
    "audit_keys",
    "canonical",
    "checkpoint",
    "checkpoint_message",
    "document_hash",
    "entry_hash",
    "export",
    "keyed_hash",
    "maybe_checkpoint",
    "public_keys",
    "rotate_audit_key",
    "search",
    "variables_hash",
    "verify",
]
