"""desk agents: the queues each agent's phone logs in to (empty: the configured agent queues)

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desk_agents") as batch:
        batch.add_column(sa.Column("queues", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desk_agents") as batch:
        batch.drop_column("queues")
