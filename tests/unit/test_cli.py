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
