"""desk: agents' phones, dispositions, ticket assignment/SLA, dialable callbacks and attempts

Revision ID: 0006
Revises: 0004 (assigned 0003; chained after W1's 0004 once merged)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_agents",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("interface", sa.String(length=128), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_desk_agents")),
        sa.UniqueConstraint("interface", name=op.f("uq_desk_agents_interface")),
    )
    op.create_table(
        "desk_dispositions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_desk_dispositions_call_id_calls"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_dispositions")),
    )
    op.create_index(op.f("ix_desk_dispositions_call_id"), "desk_dispositions", ["call_id"], unique=False)
    op.create_index(op.f("ix_desk_dispositions_agent"), "desk_dispositions", ["agent"], unique=False)
    op.create_index(op.f("ix_desk_dispositions_at"), "desk_dispositions", ["at"], unique=False)
    op.create_table(
        "ticket_assignments",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("assign_queue", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_number_enc", sa.Text(), nullable=True),
        sa.Column("callback_promised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_assignments_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_assignments")),
    )
    op.create_index(op.f("ix_ticket_assignments_assign_queue"), "ticket_assignments", ["assign_queue"], unique=False)
    op.create_index(op.f("ix_ticket_assignments_owner"), "ticket_assignments", ["owner"], unique=False)
    op.create_index(op.f("ix_ticket_assignments_sla_due_at"), "ticket_assignments", ["sla_due_at"], unique=False)
    op.create_index(op.f("ix_ticket_assignments_callback_promised_at"), "ticket_assignments",
                    ["callback_promised_at"], unique=False)
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_callback_attempts_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    op.create_index(op.f("ix_callback_attempts_ticket_id"), "callback_attempts", ["ticket_id"], unique=False)
    op.create_index(op.f("ix_callback_attempts_at"), "callback_attempts", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("callback_attempts")
    op.drop_table("ticket_assignments")
    op.drop_table("desk_dispositions")
    op.drop_table("desk_agents")
