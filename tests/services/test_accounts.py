"""Accounts: names that cannot pass for another account's (Unicode TR39 skeletons), role
words kept for staff, passwords that are not among the most common, one answer for a
wrong login whether or not the account exists."""

from __future__ import annotations

import pytest

from community.models import Role
from community.services import DomainError, accounts


def test_a_username_that_looks_like_another_is_refused(factories):
    factories.user("alice")
    factories.user("mallory")
    for look_alike, original in (("a1ice", "alice"), ("AIice", "alice"), ("rnallory", "mallory")):
        with pytest.raises(DomainError, match=f"too close to an existing name: {original}"):
            accounts.register(look_alike, f"{look_alike}@example.org", "a long and unusual passphrase")
    assert accounts.register("alicia", "alicia@example.org", "a long and unusual passphrase").id


def test_a_display_name_may_not_pass_for_someone_else(factories):
    factories.user("ada", display_name="Ada Lovelace")
    bob = factories.user("bob")
    assert "too close to an existing name: Ada Lovelace" in accounts.display_name_problem(bob, "Аda Lovelace")
    assert "too close to an existing name: ada" in accounts.display_name_problem(bob, "ADA")
    assert accounts.display_name_problem(bob, "Bob the Builder") is None
    assert accounts.display_name_problem(bob, "bob") is None  # one's own username is always fine


def test_role_words_are_for_staff_only(factories):
    assert "would read as a role" in accounts.username_problem("moderator_ann")
    assert accounts.username_problem("moderator_ann", Role.moderator) is None
    member = factories.user()
    assert "would read as a role" in accounts.display_name_problem(member, "Ann (admin)")


def test_passwords_are_long_and_not_common():
    assert accounts.password_problem("short") == "Use at least 10 characters."
    assert "most common" in accounts.password_problem("1234567890")
    assert accounts.password_problem("correct horse battery staple") is None


def test_a_wrong_login_says_the_same_whether_or_not_the_account_exists(factories):
    ada = factories.user("ada")
    with pytest.raises(DomainError) as wrong_password:
        accounts.authenticate("ada", "not the password at all")
    with pytest.raises(DomainError) as no_account:
        accounts.authenticate("nobody", "not the password at all")
    assert str(wrong_password.value) == str(no_account.value) == "Wrong username/email or password."
    assert accounts.authenticate("ADA@example.org", factories.PASSWORD) == ada
