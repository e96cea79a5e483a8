"""scripts: every saved dialog script as a version, and the live version of each script

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("script", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("tests_text", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("test_result", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["script_versions.id"],
                                name=op.f("fk_script_versions_parent_id_script_versions"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_versions")),
        sa.UniqueConstraint("script", "number", name="uq_script_versions_script_number"),
    )
    with op.batch_alter_table("script_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_versions_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_script_versions_script_id", ["script", "id"], unique=False)
    op.create_table(
        "script_live",
        sa.Column("script", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["script_versions.id"],
                                name=op.f("fk_script_live_version_id_script_versions")),
        sa.PrimaryKeyConstraint("script", name=op.f("pk_script_live")),
    )


def downgrade() -> None:
    op.drop_table("script_live")
    with op.batch_alter_table("script_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_script_versions_script_id")
        batch_op.drop_index(batch_op.f("ix_script_versions_parent_id"))
    op.drop_table("script_versions")
