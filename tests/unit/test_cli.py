from sqlalchemy import select

from community.extensions import db
from community.models import Role, User
from community.services import accounts


def test_users_create_with_password_option(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "modmin", "--email", "mod@example.org", "--role", "moderator",
        "--password", "a long and unusual passphrase"])
    assert result.exit_code == 0, result.output
    assert "created modmin (moderator)" in result.output
    user = accounts.authenticate("modmin", "a long and unusual passphrase")
    assert user.role == Role.moderator


def test_users_create_prompts_for_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "prompted", "--email", "p@example.org"],
        input="a long and unusual passphrase\na long and unusual passphrase\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.username == "prompted")).role == Role.member


def test_users_create_refuses_weak_password_and_taken_name(app, factories):
    factories.user("taken")
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "weakling", "--email", "w@example.org", "--password", "basketball"])
    taken = runner.invoke(args=["users", "create", "TAKEN", "--email", "t@example.org", "--password", "a long and unusual passphrase"])
    assert weak.exit_code != 0 and "most common" in weak.output
    assert taken.exit_code != 0 and "taken" in taken.output
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_users_set_role(app, factories):
    factories.user("grace")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-role", "grace", "researcher"])
    assert result.exit_code == 0 and "grace is now researcher" in result.output
    db.session.expire_all()
    assert accounts.find_by_username("grace").role == Role.researcher
    assert runner.invoke(args=["users", "set-role", "nobody", "admin"]).exit_code != 0
    assert runner.invoke(args=["users", "set-role", "grace", "emperor"]).exit_code != 0


def _flask(tmp_path, *args, **env):
    """The `flask` command as a newcomer runs it from a fresh clone: no settings but these."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    clean = {k: v for k, v in os.environ.items() if k not in (
        "SECRET_KEY", "PUBLIC_URL", "SERVER_NAME", "FLASK_DEBUG", "DATABASE_URL", "REDIS_URL", "INSTANCE_PATH")}
    clean.update(INSTANCE_PATH=str(tmp_path / "instance"), DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite'}", **env)
    flask = Path(sys.executable).with_name("flask")
    return subprocess.run([str(flask), "--app", "community", *args], env=clean, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_a_missing_setting_is_one_clear_line_not_a_traceback(tmp_path):
    result = _flask(tmp_path, "users", "create", "ada", "--email", "ada@example.org")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: SECRET_KEY is not set. Set it in the environment, e.g. export SECRET_KEY=$(python3 -c 'import secrets; "
        "print(secrets.token_hex(32))') (or FLASK_DEBUG=1 on a development machine)"]
    missing_address = _flask(tmp_path, "users", "--help", SECRET_KEY="a-secret")
    assert missing_address.returncode == 1 and "Traceback" not in missing_address.stderr
    assert "PUBLIC_URL is not set" in missing_address.stderr


def test_in_development_commands_work_with_an_instance_secret(tmp_path):
    assert _flask(tmp_path, "db", "upgrade", FLASK_DEBUG="1").returncode == 0
    secret = tmp_path / "instance" / "secret_key"
    first = secret.read_text()
    assert len(first) == 64 and secret.stat().st_mode & 0o777 == 0o600
    created = _flask(tmp_path, "users", "create", "ada", "--email", "ada@example.org",
                     "--password", "a long and unusual passphrase", FLASK_DEBUG="1")
    assert created.returncode == 0, created.stderr
    assert secret.read_text() == first  # made once, then kept
