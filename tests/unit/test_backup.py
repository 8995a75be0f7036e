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
