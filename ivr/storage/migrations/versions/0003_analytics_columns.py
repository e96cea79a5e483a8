"""analytics: the dialog state and outcome of each turn, the service a call was about and the
state it ended in, and the
agency and area (Kemendagri code) of each ticket

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("end_state", sa.String(length=128), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("area_code", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_area_code"), ["area_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_area_code"))
        batch_op.drop_column("area_code")
        batch_op.drop_column("agency")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("end_state")
        batch_op.drop_column("service")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("state")
