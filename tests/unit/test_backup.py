"""`flask backup PATH` and the documented restore (README: stop, copy back, start)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from community.extensions import db
from community.models import Post
from tests.conftest import make_test_app


def test_backup_and_restore_sqlite(app, database, factories, tmp_path):
    if database != "sqlite":
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.sqlite")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    episode = factories.episode(1)
    factories.comment(factories.user("ada"), episode, body="Worth keeping")
    target = tmp_path / "backups" / "community-backup.sqlite"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0 and "integrity check ok" in result.output
    again = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists already" in again.output

    # Disaster: the live database loses its posts. Restore = stop, copy the backup back, start.
    db.session.execute(Post.__table__.delete())
    db.session.commit()
    live = db.engine.url.database
    db.engine.dispose()
    for leftover in (live + "-wal", live + "-shm"):  # the old database's journal must not replay onto the copy
        Path(leftover).unlink(missing_ok=True)
    shutil.copyfile(target, live)
    restored = make_test_app("sqlite", tmp_path)
    with restored.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 1
        assert db.session.scalar(select(Post.body_source)) == "Worth keeping"
        db.engine.dispose()
