"""analytics state: settings staff edit (agents scheduled), scheduled job runs claimed by one
process (unique job+period, lease on stale claims), surge alerts raised (de-duplicated)

Revision ID: 0008
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_analytics_settings")),
    )
    op.create_table(
        "analytics_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_runs")),
        sa.UniqueConstraint("job", "period", name="uq_analytics_runs_job_period"),
    )
    op.create_table(
        "analytics_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_alerts")),
        sa.UniqueConstraint("kind", "key", "first_seen", name="uq_analytics_alerts_kind_key_first"),
    )
    with op.batch_alter_table("analytics_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_alerts_first_seen"), ["first_seen"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_alerts_first_seen"))
    op.drop_table("analytics_alerts")
    op.drop_table("analytics_runs")
    op.drop_table("analytics_settings")
