"""ids_refs_per_statement: on PostgreSQL, the references of ``ids_identifiers`` to its prefix and
template are checked once per statement instead of once per row (issue 20: bulk registration).

A foreign key checks each inserted row with its own trigger call and index probe: in a
1,000,000-row ``COPY`` the two foreign keys of ``ids_identifiers`` (``prefix_id`` →
``ids_prefixes``, ``template_id`` → ``ids_templates``) cut PostgreSQL's own insert rate from
≈ 116,000 to ≈ 44,000 rows/s (measured on this machine, same table and indexes). They are
replaced by statement-level triggers over the statement's transition tables, with the same
guarantees:

- an INSERT or UPDATE whose rows name a prefix or template that does not exist fails with
  ``foreign_key_violation`` (the referenced rows are locked ``FOR KEY SHARE``, as a foreign key
  does, so a concurrent delete waits);
- deleting a prefix deletes its identifiers (the former ``ON DELETE CASCADE``); deleting a
  template that identifiers use fails with ``foreign_key_violation``; changing the id of a
  referenced prefix or template fails likewise.

SQLite keeps its foreign keys (checked per row in process, cheaply). The models keep their
``ForeignKey`` declarations; :func:`industry_brain.store.migrate.include_object` tells
autogenerate comparisons that on PostgreSQL these two are enforced by the triggers.

Revision ID: 0024_ids_refs_per_statement
Revises: 0021_ids_compact
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_ids_refs_per_statement"
down_revision: str | None = "0021_ids_compact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFS = (("prefix_id", "ids_prefixes"), ("template_id", "ids_templates"))

CHECK = """
CREATE FUNCTION ids_identifiers_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM ids_prefixes WHERE id IN (SELECT DISTINCT prefix_id FROM new_rows)
    FOR KEY SHARE;
  PERFORM 1 FROM ids_templates WHERE id IN (SELECT DISTINCT template_id FROM new_rows)
    FOR KEY SHARE;
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT prefix_id FROM new_rows) n
             WHERE NOT EXISTS (SELECT 1 FROM ids_prefixes p WHERE p.id = n.prefix_id)) THEN
    RAISE EXCEPTION 'ids_identifiers: prefix_id refers to no row of ids_prefixes'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT template_id FROM new_rows) n
             WHERE NOT EXISTS (SELECT 1 FROM ids_templates t WHERE t.id = n.template_id)) THEN
    RAISE EXCEPTION 'ids_identifiers: template_id refers to no row of ids_templates'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$
"""

PREFIX_DELETED = """
CREATE FUNCTION ids_prefixes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM ids_identifiers WHERE prefix_id IN (SELECT id FROM old_rows);
  RETURN NULL;
END $$
"""

KEPT = """
CREATE FUNCTION ids_{table}_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN  -- (new_rows exists only here)
    IF NOT EXISTS (SELECT 1 FROM old_rows o
                   WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)) THEN
      RETURN NULL;  -- no id changed
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM ids_identifiers i WHERE i.{column} IN (SELECT id FROM old_rows)
             AND NOT EXISTS (SELECT 1 FROM ids_{table} k WHERE k.id = i.{column})) THEN
    RAISE EXCEPTION 'ids_{table}: a row still referenced by ids_identifiers.{column}'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for fk in sa.inspect(bind).get_foreign_keys("ids_identifiers"):
        if fk["referred_table"] in dict(REFS).values():
            op.drop_constraint(fk["name"], "ids_identifiers", type_="foreignkey")
    op.execute(CHECK)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER ids_identifiers_refs_{event.lower()} AFTER {event}"
            " ON ids_identifiers REFERENCING NEW TABLE AS new_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION ids_identifiers_refs()"
        )
    op.execute(PREFIX_DELETED)
    op.execute(
        "CREATE TRIGGER ids_prefixes_deleted AFTER DELETE ON ids_prefixes"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION ids_prefixes_deleted()"
    )
    for column, table in REFS:
        short = table.removeprefix("ids_")
        op.execute(KEPT.format(table=short, column=column))
        op.execute(
            f"CREATE TRIGGER ids_{short}_kept_delete AFTER DELETE ON {table}"
            " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
            f" EXECUTE FUNCTION ids_{short}_kept()"
        )
        op.execute(
            f"CREATE TRIGGER ids_{short}_kept_update AFTER UPDATE ON {table}"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
            f" EXECUTE FUNCTION ids_{short}_kept()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for _column, table in REFS:
        short = table.removeprefix("ids_")
        op.execute(f"DROP TRIGGER IF EXISTS ids_{short}_kept_delete ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS ids_{short}_kept_update ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS ids_{short}_kept()")
    op.execute("DROP TRIGGER IF EXISTS ids_prefixes_deleted ON ids_prefixes")
    op.execute("DROP FUNCTION IF EXISTS ids_prefixes_deleted()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS ids_identifiers_refs_{event} ON ids_identifiers")
    op.execute("DROP FUNCTION IF EXISTS ids_identifiers_refs()")
    op.create_foreign_key(
        op.f("fk_ids_identifiers_prefix_id_ids_prefixes"),
        "ids_identifiers",
        "ids_prefixes",
        ["prefix_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        op.f("fk_ids_identifiers_template_id_ids_templates"),
        "ids_identifiers",
        "ids_templates",
        ["template_id"],
        ["id"],
    )
