"""People on the show: merge two records of one human, link an account, and the flask
commands that do the same; every change one admin-log row (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, Appearance, AppearanceRole, Episode, Follow, Person, Role
from community.services import DomainError, PermissionDenied, episodes, people


def _person(name: str, **fields) -> Person:
    found = people.save(None, None, name=name, **fields)
    db.session.commit()
    return found


def _log_count() -> int:
    return db.session.scalar(select(func.count(AdminLogEntry.id)))


def _appearances(person: Person) -> list[tuple[int, AppearanceRole]]:
    return sorted(db.session.execute(select(Appearance.episode_id, Appearance.role)
                                     .where(Appearance.person_id == person.id)).all())


def test_merge_moves_appearances_follows_and_the_account(factories):
    fan, both_fan, guest_user = factories.user("fan"), factories.user("both_fan"), factories.user("guest_user")
    keep, other = _person("Kelvin Guu", affiliation="Google"), _person("K. Guu", links=["https://kelvin.example"])
    first = factories.episode(1, "First")
    second = factories.episode(2, "Second")
    episodes.set_people(first, [keep], [])
    episodes.set_people(second, [other], [])
    shared = factories.episode(3, "Both on it")
    episodes.set_people(shared, [keep, other], [])
    other.user_id = guest_user.id
    db.session.add_all([Follow(user_id=fan.id, person_id=other.id), Follow(user_id=both_fan.id, person_id=keep.id),
                        Follow(user_id=both_fan.id, person_id=other.id)])
    db.session.commit()
    other_id, logged = other.id, _log_count()

    people.merge(None, keep, other)
    db.session.commit()

    assert db.session.get(Person, other_id) is None
    kept = db.session.get(Person, keep.id)
    assert kept.user_id == guest_user.id and kept.links == ["https://kelvin.example"] and kept.affiliation == "Google"
    assert _appearances(kept) == [(first.id, AppearanceRole.guest), (second.id, AppearanceRole.guest),
                                  (shared.id, AppearanceRole.guest)]
    assert sorted(db.session.scalars(select(Follow.user_id).where(Follow.person_id == keep.id))) == sorted(
        [fan.id, both_fan.id])
    assert _log_count() == logged + 1
    # The account answers on the moved episode now: it is a guest of it.
    assert guest_user.id in episodes.get_by_slug(second.slug).guest_user_ids
    assert "Kelvin Guu" in db.session.get(Episode, second.id).search_text


def test_merge_refuses_two_different_accounts_and_changes_nothing(factories):
    one, two = factories.user("one"), factories.user("two")
    keep, other = _person("Sarah Hong"), _person("S. Hong")
    keep.user_id, other.user_id = one.id, two.id
    db.session.commit()
    logged = _log_count()
    with pytest.raises(DomainError, match="different accounts"):
        people.merge(None, keep, other)
    db.session.rollback()
    assert db.session.get(Person, other.id).user_id == two.id and _log_count() == logged
    with pytest.raises(DomainError, match="two different"):
        people.merge(None, keep, keep)


def test_merge_of_two_records_linked_to_the_same_account_is_fine(factories):
    """Cannot happen through link_user (one person per account), but the rule allows it."""
    keep, other = _person("Ada One"), _person("Ada Two")
    db.session.commit()
    people.merge(None, keep, other)
    db.session.commit()
    assert db.session.scalar(select(func.count(Person.id))) == 1


def test_link_user_one_person_per_account_and_one_account_per_person(factories):
    user, other_user = factories.user("kelvin"), factories.user("impostor")
    kelvin, sarah = _person("Kelvin Guu"), _person("Sarah Hong")
    assert people.link_user(None, kelvin, user) is True
    db.session.commit()
    assert people.link_user(None, kelvin, user) is False  # already so: nothing logged twice
    with pytest.raises(DomainError, match="already linked to Kelvin Guu"):
        people.link_user(None, sarah, user)
    with pytest.raises(DomainError, match="already linked to @kelvin"):
        people.link_user(None, kelvin, other_user)
    db.session.rollback()
    assert user.role == Role.member  # roles are an admin's to set
    assert people.unlink_user(None, kelvin) is True
    db.session.commit()
    assert db.session.get(Person, kelvin.id).user_id is None


def test_only_the_show_team_runs_people(factories):
    member, host = factories.user("m"), factories.user("h", role=Role.host)
    with pytest.raises(PermissionDenied):
        people.save(member, None, name="Someone")
    assert people.save(host, None, name="Someone").id


def test_commands_set_guests_publish_link_and_merge(app, factories):
    factories.user("kelvin")
    admin = factories.user("boss", role=Role.admin)
    episode = factories.episode(5, "Retrieval")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["episodes", "set-guests", episode.slug, "--guest", "Kelvin Guu", "--guest", "Ada Two",
                                 "--host", "Kanjun Qiu", "--as", "boss"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{episode.slug}: guests Kelvin Guu, Ada Two; hosts Kanjun Qiu"
    db.session.expire_all()
    assert [p.name for p in episodes.get_by_slug(episode.slug).guests] == ["Kelvin Guu", "Ada Two"]
    entry = db.session.scalar(select(AdminLogEntry).order_by(AdminLogEntry.id.desc()))
    assert entry.action == "episode.people" and entry.actor_id == admin.id

    assert runner.invoke(args=["episodes", "unpublish", episode.slug]).output.strip() == f"{episode.slug} unpublished"
    assert runner.invoke(args=["episodes", "publish", episode.slug]).output.strip() == f"{episode.slug} published"
    assert db.session.scalar(select(AdminLogEntry).order_by(AdminLogEntry.id.desc())).actor_id is None

    linked = runner.invoke(args=["people", "link-user", "kelvin guu", "kelvin"])
    assert linked.exit_code == 0 and linked.output.strip() == "Kelvin Guu is linked to kelvin"
    kelvin = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))
    ada = db.session.scalar(select(Person).where(Person.name == "Ada Two"))
    merged = runner.invoke(args=["people", "merge", str(kelvin.id), str(ada.id)])
    assert merged.exit_code == 0 and merged.output.strip() == f"merged Ada Two ({ada.id}) into Kelvin Guu ({kelvin.id})"

    for args, message in ((["episodes", "publish", "no-such-episode"], "no episode with the slug no-such-episode"),
                          (["people", "link-user", "Nobody", "kelvin"], "No person named Nobody"),
                          (["people", "link-user", "Kelvin Guu", "ghost"], "no user named ghost"),
                          (["people", "merge", str(kelvin.id), str(kelvin.id)], "Choose two different people"),
                          (["episodes", "publish", episode.slug, "--as", "ghost"], "no user named ghost")):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_flag_weights_and_threshold_come_from_the_site_settings(factories):
    from community.services import moderation, site_settings

    member = factories.user("plain")
    assert moderation.flag_weight(member) == 1.0
    site_settings.change(None, "FLAG_WEIGHT_MEMBER", "2.5")
    site_settings.change(None, "FLAG_THRESHOLD", "7")
    db.session.commit()
    assert moderation.flag_weight(member) == 2.5
    assert moderation.flag_weight(factories.user("boss", role=Role.admin)) == 7.0
    assert site_settings.change(None, "FLAG_THRESHOLD", "7") is False  # the value already: nothing logged
    with pytest.raises(PermissionDenied):
        site_settings.change(factories.user("h", role=Role.host), "FLAG_THRESHOLD", "2")
