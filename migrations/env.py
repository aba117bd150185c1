"""Alembic environment. ga-intel runs migrations programmatically (`ga-intel db upgrade`);
the connection is handed in through `config.attributes["connection"]`."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
