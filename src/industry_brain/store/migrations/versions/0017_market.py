"""market: 智改数转 service market — providers (USCC, type, recognitions, service areas, staff,
provider users), solutions with immutable versions and officer review, the search index over the
published versions' text segmented by jieba (an inverted token table on both stores),
leads (request → contacted → contracted → delivered), ratings once per contract, and the
``provider`` role (issue 19).

Revision ID: 0017_market
Revises: 0016_identifiers
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_market"
down_revision: str | None = "0016_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_roles = sa.table("roles", sa.column("name"), sa.column("zh"), sa.column("description"))


def _ts() -> sa.Column:
    return sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        server_default=sa.text("(CURRENT_TIMESTAMP)"),
        nullable=False,
    )


def upgrade() -> None:
    bind = op.get_bind()
    if not bind.execute(sa.select(_roles.c.name).where(_roles.c.name == "provider")).first():
        op.execute(
            _roles.insert().values(
                name="provider",
                zh="服务商",
                description="a 智改数转 service provider: manages its own solutions and leads",
            )
        )

    op.create_table(
        "market_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=True),
        sa.Column("intro", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_providers")),
        sa.UniqueConstraint("uscc", name=op.f("uq_market_providers_uscc")),
    )

    op.create_table(
        "market_recognitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["market_providers.id"],
            name=op.f("fk_market_recognitions_provider_id_market_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_recognitions")),
    )
    with op.batch_alter_table("market_recognitions", schema=None) as batch_op:
        batch_op.create_index("ix_market_recognitions_provider", ["provider_id"], unique=False)

    op.create_table(
        "market_provider_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_market_provider_users_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["market_providers.id"],
            name=op.f("fk_market_provider_users_provider_id_market_providers"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_market_provider_users")),
    )

    op.create_table(
        "market_solutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts(),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["market_providers.id"],
            name=op.f("fk_market_solutions_provider_id_market_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_solutions")),
        sa.UniqueConstraint("code", name=op.f("uq_market_solutions_code")),
    )
    with op.batch_alter_table("market_solutions", schema=None) as batch_op:
        batch_op.create_index("ix_market_solutions_provider", ["provider_id"], unique=False)
        batch_op.create_index("ix_market_solutions_status", ["status"], unique=False)

    op.create_table(
        "market_solution_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("subdomains", sa.JSON(), nullable=False),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("sizes", sa.JSON(), nullable=False),
        sa.Column("price_min", sa.Float(), nullable=False),
        sa.Column("price_max", sa.Float(), nullable=False),
        sa.Column("delivery_days", sa.Integer(), nullable=False),
        sa.Column("cases", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts(),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["market_solutions.id"],
            name=op.f("fk_market_solution_versions_solution_id_market_solutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_solution_versions")),
        sa.UniqueConstraint(
            "solution_id", "version", name=op.f("uq_market_solution_versions_solution_id")
        ),
    )
    with op.batch_alter_table("market_solution_versions", schema=None) as batch_op:
        batch_op.create_index("ix_market_solution_versions_review", ["review_status"], unique=False)

    op.create_table(
        "market_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=True),
        sa.Column("solution_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        _ts(),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_market_leads_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["market_providers.id"],
            name=op.f("fk_market_leads_provider_id_market_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["market_solutions.id"],
            name=op.f("fk_market_leads_solution_id_market_solutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_leads")),
    )
    with op.batch_alter_table("market_leads", schema=None) as batch_op:
        batch_op.create_index("ix_market_leads_provider", ["provider_id", "status"], unique=False)
        batch_op.create_index("ix_market_leads_enterprise", ["enterprise_id"], unique=False)

    op.create_table(
        "market_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_by", sa.String(length=64), nullable=False),
        _ts(),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["market_leads.id"], name=op.f("fk_market_ratings_lead_id_market_leads")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["market_providers.id"],
            name=op.f("fk_market_ratings_provider_id_market_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_ratings")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_market_ratings_lead_id")),
    )
    with op.batch_alter_table("market_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_market_ratings_provider", ["provider_id"], unique=False)

    # the full-text index: the published versions' text segmented by jieba, one row per
    # (token, solution) with the token's count, searched by exact token (no LIKE)
    op.create_table(
        "market_search_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["market_solutions.id"],
            name=op.f("fk_market_search_tokens_solution_id_market_solutions"),
        ),
        sa.PrimaryKeyConstraint("token", "solution_id", name=op.f("pk_market_search_tokens")),
    )
    with op.batch_alter_table("market_search_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_market_search_tokens_solution", ["solution_id"], unique=False)


def downgrade() -> None:
    op.drop_table("market_search_tokens")
    op.drop_table("market_ratings")
    op.drop_table("market_leads")
    op.drop_table("market_solution_versions")
    op.drop_table("market_solutions")
    op.drop_table("market_provider_users")
    op.drop_table("market_recognitions")
    op.drop_table("market_providers")
    op.execute(_roles.delete().where(_roles.c.name == "provider"))
