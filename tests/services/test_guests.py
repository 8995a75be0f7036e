"""Guest suggestions: the endorsement cap (an endorsement is an upvote, so the rule runs
inside discussion.set_vote) and who moves a suggestion along."""

from __future__ import annotations

import pytest

from community.models import Role
from community.services import DomainError, PermissionDenied, discussion, guests


@pytest.fixture
def app_config():
    return {"ENDORSEMENT_CAP": 2}


def _suggestion(factories, name: str):
    return guests.suggest(factories.user(), name=name, affiliation="", links=[], why="Great work on robustness.",
                          papers=[], disclosure="neither").post


def test_the_endorsement_cap_counts_open_suggestions_only(factories):
    fan = factories.user()
    first, second, third = (_suggestion(factories, name) for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper"))
    discussion.set_vote(fan, first, up=True)
    discussion.set_vote(fan, second, up=True)
    assert discussion.set_vote(fan, second, up=True) == 1  # endorsing again is not a new endorsement
    with pytest.raises(DomainError, match="You already endorse 2 open suggestions"):
        discussion.set_vote(fan, third, up=True)
    guests.set_stage(factories.user(role=Role.moderator), first, "declined", "Not this season.")
    assert discussion.set_vote(fan, third, up=True) == 1  # a declined suggestion frees its place
    assert guests.active_endorsements(fan) == 2


def test_only_moderators_move_a_suggestion_and_a_decline_gives_a_reason(factories):
    suggestion = _suggestion(factories, "Yoshua Bengio")
    with pytest.raises(PermissionDenied, match="Only moderators"):
        guests.set_stage(factories.user(), suggestion, "contacted")
    with pytest.raises(DomainError, match="Give a reason"):
        guests.set_stage(factories.user(role=Role.moderator), suggestion, "declined")
    assert suggestion.stage == "suggested"


def test_the_same_nominee_twice_points_to_the_first_suggestion(factories):
    first = _suggestion(factories, "Ada Lovelace")
    again = guests.suggest(factories.user(), name="ada  lovelace", affiliation="", links=[], why="Also great.",
                           papers=[], disclosure="neither")
    assert again.post is None and again.duplicate.id == first.id
