"""Alembic env: run one domain's migrations on the connection the kernel hands over."""

from alembic import context

config = context.config
attrs = config.attributes
connection = attrs["connection"]

context.configure(
    connection=connection,
    target_metadata=attrs.get("target_metadata"),
    version_table=attrs["version_table"],
    render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move, with foreign keys off
    transaction_per_migration=True,  # a crash leaves the database at one well-defined revision
    include_name=attrs.get("include_name"),
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
