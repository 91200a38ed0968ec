"""Alembic environment: runs on the connection the caller hands over."""

from alembic import context
from sqlalchemy import create_engine

from pepyhat.store.tables import Base, in_models

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # Only for `alembic revision --autogenerate` during development.
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run_on(connection)
        return
    _run_on(connection)


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=in_models,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
