"""The store: every table the registry keeps, in one place.

Two layers (DESIGN.md, "The data model"):
- `statement` is the evidence. Each row is what one source said about one record in one
  batch, with valid time, observation time and transaction time. Rows are never deleted;
  a statement that stops being true is closed.
- The record tables (`institution`, `holding`, `position`, …) hold each record's identity
  (its natural key, never changed) and its golden values: the statements resolved by
  source precedence. Golden columns are a derived view of `statement`, refreshed by the
  ingest in the same transaction, so hot reads need no per-field resolution.

High-volume tables carry no foreign keys: ids reach them only through joins in the ingest,
and a per-row trigger would cost more than the whole insert (DESIGN.md, "Speed").
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, TSVECTOR

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[int]:
    return Column("id", BigInteger, Identity(), primary_key=True)


def _tstz(name: str, *, nullable: bool = True, now: bool = False) -> Column[object]:
    return Column(
        name,
        TIMESTAMP(timezone=True),
        nullable=nullable,
        server_default=func.now() if now else None,
    )


def _record_meta() -> list[Column[object]]:
    """Columns every record table shares: its key, whether any statement is open, its period."""
    return [
        Column("key", Text, nullable=False, unique=True),
        Column("active", Boolean, nullable=False, server_default=text("true")),
        Column("valid_from", Date),
        Column("valid_to", Date),
        _tstz("updated_at", nullable=False, now=True),
    ]


batch = Table(
    "batch",
    metadata,
    _id(),
    Column("source", Text, nullable=False),
    Column("batch_ref", Text, nullable=False),
    Column("kind", Text, nullable=False),  # snapshot | delta
    _tstz("observed_at", nullable=False),
    _tstz("received_at", nullable=False, now=True),
    Column("content_hash", LargeBinary, nullable=False),
    Column("received", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("closed", Integer, nullable=False),
    Column("report", JSONB, nullable=False),
    Index(None, "source", "batch_ref", unique=True),
)

statement = Table(
    "statement",
    metadata,
    _id(),
    Column("record_kind", Text, nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("body_hash", LargeBinary, nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    # observation time: the feed's own as-of time of the first and last batch that said it
    _tstz("first_seen", nullable=False),
    _tstz("last_seen", nullable=False),
    Column("last_batch_id", BigInteger, nullable=False),
    # transaction time: when the registry started and stopped believing it
    _tstz("recorded_at", nullable=False, now=True),
    _tstz("closed_at"),
    Column("closed_by_batch_id", BigInteger),
    Index(None, "record_kind", "record_id"),
    # one open statement per record and source; the merge relies on it
    Index(
        "uq_statement_open",
        "record_kind",
        "record_id",
        "source",
        unique=True,
        postgresql_where=text("closed_at IS NULL"),
    ),
    Index(
        "ix_statement_open_by_source",
        "source",
        "record_kind",
        postgresql_where=text("closed_at IS NULL"),
    ),
)

quarantine = Table(
    "quarantine",
    metadata,
    _id(),
    Column("batch_id", BigInteger, ForeignKey("batch.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("reasons", JSONB, nullable=False),
    _tstz("created_at", nullable=False, now=True),
    _tstz("resolved_at"),
    Column("resolved_by_batch_id", BigInteger),
    Index(None, "batch_id"),
)

institution = Table(
    "institution",
    metadata,
    _id(),
    Column("uscc", Text, nullable=False, unique=True),
    Column("pilot_uscc", Boolean, nullable=False, server_default=text("false")),
    # known only because another record names it (e.g. an out-of-region shareholder)
    Column("mentioned_only", Boolean, nullable=False, server_default=text("false")),
    Column("name", Text),
    Column("former_names", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("enterprise_type", Text),
    Column("registered_capital", Numeric(22, 4)),
    Column("capital_currency", Text),
    Column("established", Date),
    Column("term_start", Date),
    Column("term_end", Date),
    Column("registration_authority", Text),
    Column("status", Text),
    Column("status_date", Date),
    Column("address", Text),
    Column("division", Text),
    Column("operating_addresses", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("business_scope", Text),
    Column("legacy_registration_number", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("valid_from", Date),
    Column("valid_to", Date),
    _tstz("updated_at", nullable=False, now=True),
    Column(
        "name_search",
        TSVECTOR,
        Computed("registry_name_bigrams(name, former_names)", persisted=True),
    ),
    Index("ix_institution_name_search", "name_search", postgresql_using="gin"),
    Index(None, "division"),
    Index(None, "status"),
)

person = Table(
    "person",
    metadata,
    _id(),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("id_type", Text, nullable=False),
    Column("id_number", Text),
    Column("id_masked", Boolean, nullable=False),
    Column("nationality", Text, nullable=False),
    _tstz("created_at", nullable=False, now=True),
)

holding = Table(
    "holding",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("holder_kind", Text, nullable=False),
    Column("holder_institution_id", BigInteger),
    Column("holder_person_id", BigInteger),
    Column("holder_name", Text),
    Column("share_exact", Numeric(12, 8)),
    Column("share_min", Numeric(12, 8)),
    Column("share_max", Numeric(12, 8)),
    Column("share_min_inclusive", Boolean),
    Column("share_max_inclusive", Boolean),
    Column("subscribed_amount", Numeric(22, 4)),
    Column("subscribed_currency", Text),
    Column("subscribed_date", Date),
    Column("paid_in_amount", Numeric(22, 4)),
    Column("paid_in_currency", Text),
    Column("paid_in_date", Date),
    Column("contribution_method", Text),
    Column("interests", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    *_record_meta(),
    Index(None, "institution_id"),
    Index(None, "holder_institution_id"),
    Index(None, "holder_person_id"),
    Index(
        "ix_holding_state_body",
        "holder_name",
        postgresql_where=text("holder_kind = 'state_body'"),
    ),
)

position = Table(
    "position",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("person_id", BigInteger, nullable=False),
    Column("role", Text, nullable=False),
    Column("title", Text),
    *_record_meta(),
    Index(None, "institution_id"),
    Index(None, "person_id"),
)

licence = Table(
    "licence",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("licence_type", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("issuer", Text),
    Column("business_types", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("coverage", Text),
    Column("status", Text),
    *_record_meta(),
    Index(None, "institution_id"),
    Index(None, "licence_type", "number"),
)

website = Table(
    "website",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("filing_number", Text),
    Column("domain", Text),
    Column("app_name", Text),
    Column("status", Text),
    *_record_meta(),
    Index(None, "institution_id"),
)

classification = Table(
    "classification",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("domain", Text, nullable=False),
    Column("nature", Text),
    Column("remediation_class", Text),
    Column("reasons", Text),
    *_record_meta(),
    Index(None, "institution_id"),
    Index(None, "domain"),
)

list_entry = Table(
    "list_entry",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("list", Text, nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("reason", Text),
    Column("authority", Text),
    Column("removed_on", Date),
    Column("removal_reason", Text),
    *_record_meta(),
    Index(None, "institution_id"),
)

branch = Table(
    "branch",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("branch_uscc", Text),
    Column("branch_name", Text),
    Column("registration_authority", Text),
    Column("established", Date),
    *_record_meta(),
    Index(None, "institution_id"),
)

account = Table(
    "account",
    metadata,
    _id(),
    Column("institution_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("bank", Text),
    Column("bank_uscc", Text),
    Column("holder_name", Text),
    Column("currency", Text),
    Column("opened_on", Date),
    Column("closed_on", Date),
    Column("balance", Numeric(22, 4)),
    Column("balance_currency", Text),
    Column("balance_date", Date),
    *_record_meta(),
    Index(None, "institution_id"),
)


# --- access: clients, keys, legal bases, the access log ------------------------------------

oauth_client = Table(
    "oauth_client",
    metadata,
    _id(),
    Column("client_id", Text, nullable=False, unique=True),
    Column("agency", Text, nullable=False),
    Column("name", Text, nullable=False),
    # client_secret_basic / client_secret_post: a salted scrypt hash; private_key_jwt: jwks
    Column("auth_method", Text, nullable=False),
    Column("secret_hash", Text),
    Column("jwks", JSONB),
    _tstz("created_at", nullable=False, now=True),
    _tstz("secret_rotated_at"),
    _tstz("revoked_at"),
)

signing_key = Table(
    "signing_key",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("purpose", Text, nullable=False),  # token | audit
    Column("algorithm", Text, nullable=False),
    Column("private_jwk", JSONB, nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    _tstz("created_at", nullable=False, now=True),
    # a retired key signs nothing more but verifies until what it signed has expired
    _tstz("retired_at"),
    Index(None, "purpose", "created_at"),
)

legal_basis = Table(
    "legal_basis",
    metadata,
    _id(),
    Column("reference", Text, nullable=False),
    Column("issuing_authority", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("institution_id", BigInteger, ForeignKey("institution.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    _tstz("valid_from", nullable=False),
    _tstz("valid_to", nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("recorded_by", Text, nullable=False),
    _tstz("created_at", nullable=False, now=True),
    Index(None, "client_id", "institution_id"),
)

legal_basis_use = Table(
    "legal_basis_use",
    metadata,
    _id(),
    Column("legal_basis_id", BigInteger, ForeignKey("legal_basis.id"), nullable=False),
    Column("request_id", Text, nullable=False),
    _tstz("used_at", nullable=False, now=True),
    Index(None, "legal_basis_id"),
)

access_log = Table(
    "access_log",
    metadata,
    _id(),
    _tstz("at", nullable=False, now=True),
    # the entry exactly as hashed (canonical JSON), and the same as jsonb for queries
    Column("canonical", Text, nullable=False),
    Column("entry", JSONB, nullable=False),
    Column("prev_hash", LargeBinary),
    Column("entry_hash", LargeBinary, nullable=False),
    Index(None, "at"),
    Index(
        "ix_access_log_entry",
        "entry",
        postgresql_using="gin",
        postgresql_ops={"entry": "jsonb_path_ops"},
    ),
)

access_checkpoint = Table(
    "access_checkpoint",
    metadata,
    _id(),
    Column("log_id", BigInteger, nullable=False),
    Column("head_hash", LargeBinary, nullable=False),
    Column("kid", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    _tstz("signed_at", nullable=False, now=True),
    Index(None, "log_id"),
)
