"""`flask backup PATH` and `flask restore PATH --yes` (the documented restore)."""

from __future__ import annotations

from sqlalchemy import func, select

from community.extensions import db
from community.models import Post


def test_backup_and_restore_sqlite(app, database, factories, tmp_path):
    runner = app.test_cli_runner()
    if database != "sqlite":
        result = runner.invoke(args=["backup", str(tmp_path / "x.sqlite")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        password = db.engine.url.password
        assert not password or password not in result.output
        return
    episode = factories.episode(1)
    factories.comment(factories.user("ada"), episode, body="Worth keeping")
    target = tmp_path / "backups" / "community-backup.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0 and "integrity check ok" in result.output
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists already" in again.output

    # Disaster: the posts are gone. Restoring needs --yes, then brings them back.
    db.session.execute(Post.__table__.delete())
    db.session.commit()
    refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code != 0 and "--yes" in refused.output
    restored = runner.invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    db.session.remove()
    assert db.session.scalar(select(func.count(Post.id))) == 1
    assert db.session.scalar(select(Post.body_source)) == "Worth keeping"


def test_backup_on_postgresql_explains_pg_dump_without_the_password(tmp_path):
    """What a command prints ends up in terminals, logs and CI output: the database's
    address may show, its password never (the command only explains; nothing connects)."""
    from tests.conftest import make_test_app

    secret = "s3cret-Pa55-w0rd"
    url = f"postgresql+psycopg://gi:{secret}@db.internal.example:5432/community?sslmode=require"
    app = make_test_app("sqlite", tmp_path, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.dump")])
        db.engine.dispose()
    printed = result.output + (result.stdout or "") + (result.stderr or "")
    assert result.exit_code == 1 and "Traceback" not in printed, printed
    assert secret not in printed
    assert "s3cret" not in printed and "***" not in printed  # not masked in place: left out, with a note
    assert "pg_dump --format=custom" in printed
    assert "'postgresql://gi@db.internal.example:5432/community?sslmode=require'" in printed
    assert "PGPASSWORD" in printed and "~/.pgpass" in printed


def test_backup_advice_drops_a_password_given_in_the_query_string():
    from sqlalchemy.engine import make_url

    from community.services.backup import pg_dump_advice

    advice = pg_dump_advice(make_url("postgresql+psycopg:///community?host=/run/postgresql&password=hunter22secret"))
    assert "hunter22secret" not in advice and "host=%2Frun%2Fpostgresql" in advice
