"""Follow-up questions for the guests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import ModerationAction, Notification, NotificationKind, Person, Post, PostKind, Role, Vote
from tests.conftest import text_of


@pytest.fixture
def setup(factories):
    """Episode 1 with guest Kelvin Guu, whose account is linked; another episode with another guest."""
    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    other = factories.episode(2, "Sarah Jane Hong on rendering", guests=[("Sarah Jane Hong", "Latent Space")])
    kelvin = factories.user("kelvin", role=Role.guest)
    sarah = factories.user("sarah", role=Role.guest)
    for name, user in (("Kelvin Guu", kelvin), ("Sarah Jane Hong", sarah)):
        db.session.scalar(select(Person).where(Person.name == name)).user_id = user.id
    db.session.commit()
    return episode, other, kelvin, sarah


def ask(client, episode, body="How is the retriever trained without labels?"):
    return client.post(f"/episodes/{episode.slug}/questions", data={"body": body})


def the_question() -> Post:
    return db.session.scalar(select(Post).where(Post.kind == PostKind.question))


def test_ask_upvote_answer_notify_journey(app, client, factories, login, setup):
    episode, _, kelvin, _ = setup
    asker = login(factories.user("ada"), the_client=app.test_client())
    assert ask(asker, episode).status_code == 302
    question = the_question()
    voters = [login(factories.user(f"voter{i}"), the_client=app.test_client()) for i in range(2)]
    for voter in voters:
        voter.post(f"/posts/{question.id}/vote", data={"up": "1"})
    db.session.expire_all()
    assert the_question().score == 3  # the asker's own, plus two

    # The guest logs in and lands on their open questions, this one first.
    response = client.post("/auth/login", data={"login": "kelvin", "password": factories.PASSWORD})
    assert response.headers["Location"].endswith("/questions/")
    listing = text_of(client.get("/questions/"))
    assert listing.index("Open questions for you") < listing.index("How is the retriever trained")

    answer = client.post(f"/questions/{question.id}/answer", data={"body": "End to end, with retrieval as a latent variable."})
    assert answer.status_code == 302
    db.session.expire_all()
    question = the_question()
    assert question.stage == "answered" and question.answer_id is not None
    page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert "Answered" in page and "retrieval as a latent variable" in page
    assert 'title="Guest on this episode">Guest</span>' in page
    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == NotificationKind.answer)))
    assert notified == {question.author_id} | {v for v in db.session.scalars(select(Vote.user_id).where(Vote.post_id == question.id))}
    assert kelvin.id not in notified and len(notified) == 3


def test_non_guests_cannot_answer(app, factories, login, setup):
    episode, _, _, sarah = setup
    asker = login(factories.user("ada"), the_client=app.test_client())
    ask(asker, episode)
    question = the_question()
    member = login(factories.user("bob"), the_client=app.test_client())
    assert member.post(f"/questions/{question.id}/answer", data={"body": "I'll answer!"}).status_code == 403
    other_guest = login(sarah, the_client=app.test_client())
    assert other_guest.post(f"/questions/{question.id}/answer", data={"body": "Me too"}).status_code == 403
    db.session.expire_all()
    assert the_question().stage == "open" and the_question().answer_id is None


def test_decline_requires_a_reason_and_a_moderator(app, factories, login, setup):
    episode = setup[0]
    asker = login(factories.user("ada"), the_client=app.test_client())
    ask(asker, episode)
    question = the_question()
    assert asker.post(f"/questions/{question.id}/decline", data={"reason": "nope"}).status_code == 403
    moderator = login(factories.user("mod", role=Role.moderator), the_client=app.test_client())
    moderator.post(f"/questions/{question.id}/decline", data={"reason": ""})
    db.session.expire_all()
    assert the_question().stage == "open"
    moderator.post(f"/questions/{question.id}/decline", data={"reason": "Covered in the episode at 14:00"})
    db.session.expire_all()
    assert the_question().stage == "declined" and the_question().stage_note == "Covered in the episode at 14:00"
    assert "Covered in the episode at 14:00" in text_of(asker.get(f"/episodes/{episode.slug}"))
    assert db.session.scalar(select(ModerationAction.action)) == "decline_question"


def test_merge_moves_votes_and_tells_the_asker(app, factories, login, setup):
    episode = setup[0]
    first_asker = login(factories.user("ada"), the_client=app.test_client())
    ask(first_asker, episode, "Does REALM scale?")
    second_asker = login(factories.user("bob"), the_client=app.test_client())
    ask(second_asker, episode, "How does REALM scale to bigger corpora?")
    keep, duplicate = sorted(db.session.scalars(select(Post).where(Post.kind == PostKind.question)), key=lambda p: p.id)
    both = login(factories.user("cy"), the_client=app.test_client())
    both.post(f"/posts/{keep.id}/vote", data={"up": "1"})
    both.post(f"/posts/{duplicate.id}/vote", data={"up": "1"})
    moderator = login(factories.user("mod", role=Role.moderator), the_client=app.test_client())
    assert moderator.post(f"/questions/{duplicate.id}/merge", data={"into": keep.id}).status_code == 302
    db.session.expire_all()
    keep, duplicate = db.session.get(Post, keep.id), db.session.get(Post, duplicate.id)
    assert duplicate.stage == "merged" and duplicate.merged_into_id == keep.id
    assert keep.score == 3  # ada, cy (counted once), bob's vote came along
    told = db.session.scalar(select(Notification).where(Notification.kind == NotificationKind.merged))
    assert told.user_id == duplicate.author_id and told.post_id == keep.id
    assert "How does REALM scale to bigger corpora?" not in text_of(first_asker.get(f"/episodes/{episode.slug}"))


def test_on_air_answer_by_host_links_the_later_episode(app, factories, login, setup):
    episode, later, _, _ = setup
    asker = login(factories.user("ada"), the_client=app.test_client())
    ask(asker, episode)
    question = the_question()
    host = factories.user("kanjun")
    person = Person(name="Kanjun Qiu", name_key="kanjun qiu", affiliation="", links=[], user_id=host.id)
    db.session.add(person)
    db.session.commit()
    from community.services import episodes as episode_service

    episode_service.set_people(episode_service.get_by_id(later.id), [], [person])
    db.session.commit()
    host_client = login(host, the_client=app.test_client())
    response = host_client.post(f"/questions/{question.id}/on-air", data={"episode": later.id, "moment": "41:05"})
    assert response.status_code == 302
    page = asker.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert f'href="/episodes/{later.slug}?t=2465#player">41:05</a>' in page
    member = login(factories.user("bob"), the_client=app.test_client())
    assert member.post(f"/questions/{question.id}/on-air", data={"episode": later.id}).status_code == 403


def test_questions_listing_filters(client, factories, login, setup):
    episode = setup[0]
    login(factories.user("ada"))
    ask(client, episode, "An open one")
    assert "An open one" in text_of(client.get("/questions/"))
    assert "An open one" not in text_of(client.get("/questions/?state=answered"))


def test_question_apis(client, factories, login, setup):
    episode = setup[0]
    login(factories.user("ada"))
    ask(client, episode, "API question")
    data = client.get(f"/api/v1/episodes/{episode.slug}/questions").get_json()
    assert data["questions"][0]["state"] == "open" and data["questions"][0]["votes"] == 1
    assert client.get("/api/v1/questions").get_json()["questions"][0]["episode"] == episode.slug


def test_empty_question_is_refused(client, factories, login, setup):
    login(factories.user("ada"))
    response = ask(client, setup[0], "  ")
    assert response.status_code == 422 and "Write your question." in text_of(response)
    assert the_question() is None
