import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from community.models.base import UTCDateTime
from community.models.search import is_search_object

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Keep the app's loggers alive when migrations run inside a process (tests, `make run`).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def include_object(obj, name, type_, reflected, compare_to):
    """Search tables, triggers and indexes are written by hand (models/search.py)."""
    return not is_search_object(name)


def render_item(type_, obj, autogen_context):
    """Our UTCDateTime is a plain timezone-aware DateTime to the database."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_object", include_object)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    engine = get_engine()
    if engine.dialect.name == "sqlite":
        run_sqlite_migrations(engine, conf_args)
        return

    with engine.connect() as connection:
        # The app's 15 s statement timeout guards page views; a migration may rewrite a
        # big table (adding a stored column to a million posts takes a minute).
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()


def run_sqlite_migrations(app_engine, conf_args):
    """SQLite needs two things the driver does not do by itself:

    - all of a migration in one real transaction (DDL included), so a failure leaves
      the schema as it was instead of half-built;
    - foreign keys off while batch mode rebuilds a table: dropping the old copy would
      otherwise cascade-delete every row that points at it (votes, flags...). They are
      checked once the transaction is done, and turned on again.
    """
    engine = create_engine(app_engine.url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        # Runs after the app's own connect hook (which turns them on); only takes
        # effect outside a transaction, hence here.
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    @event.listens_for(engine, "begin")
    def explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            transactional_ddl=True,
            **conf_args
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.rollback()
        if problems:
            raise RuntimeError(f"foreign key violations after migrating: {problems[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
