"""SQLAlchemy 2 models. The schema itself is created by the Alembic migrations in
``ivr/storage/migrations/versions``; a test checks the two agree.

Personal data columns come in threes (see :mod:`ivr.privacy.pii`): ``*_masked`` (always), ``*_enc``
(encrypt mode) and ``*_hash`` (keyed hash for lookups).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: object | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class CallRow(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_id: Mapped[str | None] = mapped_column(String(128))
    caller_masked: Mapped[str | None] = mapped_column(String(64))
    caller_enc: Mapped[str | None] = mapped_column(Text)
    caller_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    media_mode: Mapped[str] = mapped_column(String(16))
    script_name: Mapped[str | None] = mapped_column(String(128))
    script_version: Mapped[str | None] = mapped_column(String(64))
    end_reason: Mapped[str | None] = mapped_column(String(64))
    handoff_outcome: Mapped[str | None] = mapped_column(String(32))
    #: the service the call was finally about (the script's intent: ktp, pbb, pengaduan...)
    service: Mapped[str | None] = mapped_column(String(64))
    #: the dialog state the call was in when it ended (where callers hang up)
    end_state: Mapped[str | None] = mapped_column(String(128))
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    turns: Mapped[list["TurnRow"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="TurnRow.idx"
    )


class TurnRow(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("call_id", "idx", name="uq_turns_call_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    who: Mapped[str] = mapped_column(String(16))  # caller | system
    source: Mapped[str] = mapped_column(String(16))  # speech | dtmf | prompt | event
    text: Mapped[str | None] = mapped_column(Text)  # personal data masked
    text_enc: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    asr_ms: Mapped[float | None] = mapped_column(Float)
    reply_ms: Mapped[float | None] = mapped_column(Float)  # end of speech/key -> first reply byte
    audio_path: Mapped[str | None] = mapped_column(Text)
    #: dialog state the turn was heard in, and what came of it:
    #: accepted | confirmed | corrected | no_match | no_input | invalid | agent
    state: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: a prompt that answered a decision the second look dropped (the caller went on and the
    #: joined turn was decided again); null otherwise (rows before migration 0010 too)
    superseded: Mapped[bool | None] = mapped_column(Boolean)
    #: a caller turn told its request is outside the hotline's services: the topic of the
    #: script's ``out_of_scope`` ("paspor"); null otherwise (rows before migration 0011 too)
    beyond: Mapped[str | None] = mapped_column(String(64))

    call: Mapped[CallRow] = relationship(back_populates="turns")


class TicketCounterRow(Base):
    __tablename__ = "ticket_counters"

    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # complaint | callback
    status: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str | None] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(Text)
    location_enc: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    description_enc: Mapped[str | None] = mapped_column(Text)
    reporter_name_masked: Mapped[str | None] = mapped_column(String(256))
    reporter_name_enc: Mapped[str | None] = mapped_column(Text)
    reporter_nik_masked: Mapped[str | None] = mapped_column(String(32))
    reporter_nik_enc: Mapped[str | None] = mapped_column(Text)
    reporter_nik_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reporter_phone_masked: Mapped[str | None] = mapped_column(String(32))
    reporter_phone_enc: Mapped[str | None] = mapped_column(Text)
    reporter_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extra_enc: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_due: Mapped[date] = mapped_column(Date)
    #: agency responsible (Disdukcapil, DPUTR, PDAM...) and where (Kemendagri village or
    #: district code, e.g. 32.04.12.2001 or 32.04.12), for analytics
    agency: Mapped[str | None] = mapped_column(String(64))
    area_code: Mapped[str | None] = mapped_column(String(16), index=True)

    history: Mapped[list["TicketEventRow"]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEventRow.id"
    )


class TicketEventRow(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(128))

    ticket: Mapped[TicketRow] = relationship(back_populates="history")


class HandoffRow(Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    agent: Mapped[str | None] = mapped_column(String(128))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(32))  # pending|connected|abandoned|no_agents|closed_hours|failed
    hold_s: Mapped[int | None] = mapped_column(Integer)  # seconds waited in the queue (AMI HoldTime)
    talk_s: Mapped[int | None] = mapped_column(Integer)  # seconds with the agent (AgentComplete TalkTime)
    ended_by: Mapped[str | None] = mapped_column(String(32))  # agent | caller | transfer (AgentComplete Reason)


class HandoffContextRow(Base):
    __tablename__ = "handoff_contexts"

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)  # personal data masked
    context_enc: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    remote: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------------------- scripts (issue 12)
# Every saved dialog script is a version; one per script name is live. Migration 0005.


class ScriptVersionRow(Base):
    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("script", "number", name="uq_script_versions_script_number"),
                      Index("ix_script_versions_script_id", "script", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the script's key (the file stem, e.g. "default"); versions are numbered 1, 2... per key
    script: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    #: the version's test cases (YAML, dialogs.testcases format)
    tests_text: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("script_versions.id", ondelete="SET NULL"),
                                                  index=True)
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    test_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    content_hash: Mapped[str] = mapped_column(String(64))


class ScriptLiveRow(Base):
    """The live version of each script; ``generation`` grows on every publish or rollback
    (what running ``ivr serve`` processes poll)."""

    __tablename__ = "script_live"

    script: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("script_versions.id"))
    generation: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(128))
# --------------------------------------------------------------------------- staff accounts (issue 12)
# Per-person accounts with a role, their web sessions and personal API tokens (stored as
# SHA-256 of the secret: a database leak gives no usable credential), login attempts (back-off
# across processes) and one-time setup links for the first admin. See ivr/storage/accounts.py.


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(String(256))  # argon2id; None = single sign-on only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie value
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # password | oidc | setup
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    remote: Mapped[str | None] = mapped_column(String(64))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token in a list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttemptRow(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160))  # "user:<name>" or "addr:<address>"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class SetupTokenRow(Base):
    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

# ---------------------------------------------------------------------------------------------
# Desk (issue 13): agents' phones, dispositions of handed-over calls, ticket assignment and SLA,
# dialable callback numbers and their attempts. Migration 0006.


class DeskAgentRow(Base):
    """A staff username and the Asterisk queue member that is their phone
    (interface ``PJSIP/<extension>``, member name = username)."""

    __tablename__ = "desk_agents"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    interface: Mapped[str] = mapped_column(String(128), unique=True)
    extension: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: queues the agent logs in to, comma-separated (NULL: the configured ``agent_queues``)
    queues: Mapped[str | None] = mapped_column(String(512), default=None)


class DeskDispositionRow(Base):
    """How an agent finished a handed-over call (one row per wrap-up)."""

    __tablename__ = "desk_dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    disposition: Mapped[str] = mapped_column(String(32))  # answered|ticket_filed|callback_promised|transferred|dropped
    ticket_id: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)  # personal data masked
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TicketAssignmentRow(Base):
    """Who owns a ticket, the agency's assignment queue, its SLA deadline and escalation;
    for callback requests also the dialable number (always encrypted) and when it was promised."""

    __tablename__ = "ticket_assignments"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    assign_queue: Mapped[str | None] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_number_enc: Mapped[str | None] = mapped_column(Text)
    callback_promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    callback_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackAttemptRow(Base):
    """One "call back now": the Originate sent and what came of it."""

    __tablename__ = "callback_attempts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(32))  # dialling|answered|no_answer|busy|failed|invalid|closed_hours
    reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------------------- analytics (issue 14)
# What the analytics pages and the schedulers inside `ivr serve` keep: settings staff edit
# (the agents scheduled), one row per scheduled job period (claimed by one process: the
# unique key and a lease on stale claims), and the surge alerts raised (de-duplicated by key).


class AnalyticsSettingRow(Base):
    __tablename__ = "analytics_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class AnalyticsRunRow(Base):
    __tablename__ = "analytics_runs"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_analytics_runs_job_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(32))          # daily_report | weekly_report | alerts
    period: Mapped[str] = mapped_column(String(32))       # 2026-11-30 | 2026-11-24..2026-11-30 | 2026-11-30T13
    holder: Mapped[str] = mapped_column(String(128))      # which process claimed it
    status: Mapped[str] = mapped_column(String(16))       # running | done | failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)      # files written, or the error


class AnalyticsAlertRow(Base):
    __tablename__ = "analytics_alerts"
    __table_args__ = (UniqueConstraint("kind", "key", "first_seen", name="uq_analytics_alerts_kind_key_first"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(256))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
