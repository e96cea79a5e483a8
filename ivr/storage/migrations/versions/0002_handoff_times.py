"""hand-off times from AMI: time waited in the queue, talk time, who ended the call

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("talk_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ended_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("ended_by")
        batch_op.drop_column("talk_s")
        batch_op.drop_column("hold_s")
