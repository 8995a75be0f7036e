"""Moments (issue 24): posts anchored to words of the transcript, without JS (a sentence's
"discuss" link), their chips, the clusters on the transcript, re-anchoring on a new
revision (drifted kept and shown), and a guest's correction of their own words. The
transcripts are fictional sample text."""

from __future__ import annotations

import re

from sqlalchemy import select

from community.extensions import db
from community.models import Moment, Post, PostKind
from tests.conftest import text_of
from tests.views.test_transcripts import FIXTURES, _import

FIRST_PASS = "The first pass takes about ten minutes and looks only at the figures."
THIRD_PASS = "The third pass is where you try to break the result yourself."


def _episode(app, factories, guest_user=None):
    episode = factories.episode(guests=["Sam Sample"], hosts=["Ada Example"], audio_url="https://example.org/a.mp3",
                                duration_seconds=70)
    if guest_user is not None:
        episode.guests[0].user_id = guest_user.id
        db.session.commit()
    assert _import(app, episode.slug, FIXTURES / "moments.vtt").exit_code == 0
    return episode


def _anchor_fields(client, slug: str, sentence: int) -> dict:
    """What the box opened by a sentence's "discuss" link sends along."""
    body = client.get(f"/episodes/{slug}?discuss={sentence}").get_data(as_text=True)
    box = body[body.index('id="moment-form"'):body.index("</form>", body.index('id="moment-form"'))]
    return dict(re.findall(r'name="(anchor_\w+)" data-[\w-]+ value="(\d*)"', box))


def test_a_sentences_discuss_link_opens_the_box_with_its_quote(app, client, factories, login):
    episode = _episode(app, factories)
    page = client.get(f"/episodes/{episode.slug}")
    assert f'href="/episodes/{episode.slug}?discuss=2#moment-compose"' in page.get_data(as_text=True)
    anonymous = text_of(client.get(f"/episodes/{episode.slug}?discuss=2"))
    assert f"Discuss these words “ {FIRST_PASS} ” 0:12" in anonymous and "Log in to discuss these words" in anonymous
    login(factories.user())
    assert _anchor_fields(client, episode.slug, 2) == {"anchor_revision": "1", "anchor_start": "121",
                                                         "anchor_end": str(121 + len(FIRST_PASS))}


def test_a_question_on_a_sentence_shows_its_quote_and_a_chip_that_seeks_there(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    fields = _anchor_fields(client, episode.slug, 2)
    response = client.post(f"/episodes/{episode.slug}/questions", data={"body": "Why only the figures?", **fields})
    assert response.status_code == 302
    question = db.session.scalar(select(Post).where(Post.kind == PostKind.question))
    moment = db.session.scalar(select(Moment))
    assert (moment.post_id, moment.quote, moment.time_start, moment.revision) == (question.id, FIRST_PASS, 12.0, 1)
    body = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    chip = f'href="/episodes/{episode.slug}?t=12#moment-{moment.id}"'
    assert chip in body and f"<q>{FIRST_PASS}</q>" in body
    assert f'id="moment-{moment.id}"' in body  # the permalink's target, inside the sentence
    assert 'class="discuss has-posts"' in body and "1 post here" in text_of(client.get(f"/episodes/{episode.slug}"))
    assert '<rect class="density-bar"' in body  # the strip along the player, drawn without JS
    permalink = client.get(f"/posts/{question.id}").get_data(as_text=True)
    assert chip in permalink and FIRST_PASS in permalink
    # The thread filtered to that moment: the sentence's box lists what was said there.
    assert "Why only the figures?" in text_of(client.get(f"/episodes/{episode.slug}?discuss=2"))


def test_a_comment_on_selected_words_anchors_exactly_those(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    fields = _anchor_fields(client, episode.slug, 2)
    start = int(fields["anchor_start"]) + FIRST_PASS.index("ten minutes")
    response = client.post(f"/episodes/{episode.slug}/comments", data={
        "body": "Ten is optimistic.", "anchor_revision": "1", "anchor_start": str(start),
        "anchor_end": str(start + len("ten minutes"))})
    assert response.status_code == 302
    assert db.session.scalar(select(Moment.quote)) == "ten minutes"


def test_a_bad_selection_is_refused_with_the_text_kept_and_nothing_written(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    response = client.post(f"/episodes/{episode.slug}/questions", data={
        "body": "My careful question.", "anchor_revision": "1", "anchor_start": "600", "anchor_end": "700"})
    assert response.status_code == 422
    assert "select the words again" in text_of(response) and "My careful question." in text_of(response)
    assert db.session.scalar(select(Post.id)) is None and db.session.scalar(select(Moment.id)) is None


def test_a_new_revision_moves_anchors_and_keeps_the_lost_one_as_drifted(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    for sentence, body in ((2, "On the figures."), (4, "On the equations."), (5, "On breaking it.")):
        fields = _anchor_fields(client, episode.slug, sentence)
        assert client.post(f"/episodes/{episode.slug}/comments", data={"body": body, **fields}).status_code == 302
    assert _import(app, episode.slug, FIXTURES / "moments-revised.vtt").exit_code == 0
    db.session.expire_all()  # the command changed the rows in its own session
    rows = {m.quote: m for m in db.session.scalars(select(Moment))}
    assert len(rows) == 3  # none lost
    figures = rows[FIRST_PASS]
    assert (figures.revision, figures.time_start, figures.drifted) == (2, 42.0, False)  # shifted by the 30 s break
    equations = next(m for q, m in rows.items() if q.startswith("The second pass"))
    assert equations.drifted is False and equations.time_start == 61.0  # "every" fixed to "each": found again
    assert rows[THIRD_PASS].drifted is True  # re-worded entirely
    page = client.get(f"/episodes/{episode.slug}")
    text = text_of(page)
    assert "Drifted moments" in text and f"drifted “{THIRD_PASS}”" in text
    assert f'href="/episodes/{episode.slug}?t=42#moment-{figures.id}"' in page.get_data(as_text=True)
    assert "On breaking it." in text  # the post itself is still in the thread, its chip says drifted
    assert re.search(r'class="moment-chip is-drifted".*?drifted</span>', page.get_data(as_text=True), re.S)


def test_a_guest_corrects_their_own_words_and_only_their_own(app, client, factories, login):
    guest = factories.user("samsample")
    episode = _episode(app, factories, guest_user=guest)
    login(guest)
    fields = _anchor_fields(client, episode.slug, 4)
    response = client.post(f"/episodes/{episode.slug}/corrections",
                           data={"correction": "I misspoke: it was 2019.", **fields})
    assert response.status_code == 302
    text = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "Correction by samsample" in text and "I misspoke: it was 2019." in text
    assert "Corrections by the guests" in text
    host_words = _anchor_fields(client, episode.slug, 3)  # "And the second pass?" is the host's
    refused = client.post(f"/episodes/{episode.slug}/corrections", data={"correction": "Not mine.", **host_words})
    assert refused.status_code == 403 and "only your own words" in text_of(refused)
    assert "Not mine." in refused.get_data(as_text=True)  # what the guest typed comes back
    other = factories.user()
    client.post("/auth/logout")
    login(other)
    assert client.post(f"/episodes/{episode.slug}/corrections",
                       data={"correction": "Impostor.", **fields}).status_code == 403
    assert db.session.scalar(select(Moment.correction).where(Moment.correction == "Impostor.")) is None


def test_a_paper_linked_from_the_box_is_anchored_and_the_text_is_its_note(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    fields = _anchor_fields(client, episode.slug, 4)
    response = client.post(f"/episodes/{episode.slug}/papers", data={
        "link": "2005.11401", "body": "Where the code check comes from.", **fields})
    assert response.status_code == 302
    moment = db.session.scalar(select(Moment))
    assert moment.quote.startswith("The second pass checks every equation") and moment.time_start == 31.0
    body = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    entry = body[body.index('class="paper-entry"'):]
    assert f'href="/episodes/{episode.slug}?t=31#moment-{moment.id}"' in entry[:2000]
    assert "Where the code check comes from." in entry[:3000]


def test_a_refused_paper_from_the_box_comes_back_in_the_box_with_its_words(app, client, factories, login):
    episode = _episode(app, factories)
    login(factories.user())
    fields = _anchor_fields(client, episode.slug, 4)
    response = client.post(f"/episodes/{episode.slug}/papers", data={"link": "", "body": "My careful note.", **fields})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    box = body[body.index('id="moment-compose"'):body.index('class="transcript-body"')]
    assert "My careful note." in box and "The second pass checks every equation" in box
    assert db.session.scalar(select(Moment.id)) is None


def test_the_discussed_moment_goes_out_as_a_soundbite_and_a_web_annotation(app, client, factories, login):
    """The exports (API soundbites, the Atom feed, Web Annotation JSON-LD) read real anchors."""
    episode = _episode(app, factories)
    login(factories.user())
    fields = _anchor_fields(client, episode.slug, 2)
    assert client.post(f"/episodes/{episode.slug}/questions",
                       data={"body": "Why only the figures?", **fields}).status_code == 302
    question = db.session.scalar(select(Post).where(Post.kind == PostKind.question))
    bites = client.get(f"/api/v1/episodes/{episode.slug}").get_json()["soundbites"]
    atom = client.get("/feeds/episodes.atom").get_data(as_text=True)
    assert "<podcast:soundbite" in atom and "startTime=\"12" in atom
    assert len(bites) == 1 and bites[0]["start_time"] == 12.0 and FIRST_PASS[:40] in bites[0]["title"]
    annotations = client.get(f"/episodes/{episode.slug}/annotations.jsonld").get_json()
    [item] = annotations["items"] if "items" in annotations else annotations["first"]["items"]
    assert item["motivation"] == "questioning" and item["id"].endswith(f"/posts/{question.id}")
    assert item["target"][0]["selector"][0] == {"type": "TextQuoteSelector", "exact": FIRST_PASS,
                                                "prefix": item["target"][0]["selector"][0]["prefix"],
                                                "suffix": item["target"][0]["selector"][0]["suffix"]}
    assert item["target"][1]["selector"]["value"].startswith("t=12")


def test_chapters_head_their_sections_of_the_transcript(app, client, factories):
    """A chapter starting inside one speaker's run splits it: the heading sits where the chapter begins."""
    episode = _episode(app, factories)
    episode.chapters = [{"start": 0.0, "title": "Hello"}, {"start": 45.0, "title": "Breaking results"}]
    db.session.commit()
    body = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    transcript = body[body.index('id="transcript"'):]
    hello, breaking = transcript.index(">Hello <"), transcript.index(">Breaking results <")
    assert hello < transcript.index("The second pass checks") < breaking < transcript.index(THIRD_PASS)
    assert f'<h4 class="speaker">Sam Sample' in transcript[breaking:transcript.index(THIRD_PASS)]
    assert f'href="/episodes/{episode.slug}?t=45#player"' in transcript


def test_the_transcripts_sentences_follow_what_they_show(app, client, factories, login):
    """The sentences are kept between renderings (pages/transcript.py): a count, a name or a
    removed post they show is on the next page all the same."""
    guest = factories.user("samsample")
    episode = _episode(app, factories, guest_user=guest)
    login(guest)
    fields = _anchor_fields(client, episode.slug, 4)
    assert client.post(f"/episodes/{episode.slug}/corrections",
                       data={"correction": "It was 2019.", **fields}).status_code == 302
    client.post("/auth/logout")
    assert "Correction by samsample" in text_of(client.get(f"/episodes/{episode.slug}"))
    guest.display_name = "Sam Sample-Jones"
    db.session.commit()
    assert "Correction by Sam Sample-Jones" in text_of(client.get(f"/episodes/{episode.slug}"))

    reader = factories.user()
    login(reader)
    fields = _anchor_fields(client, episode.slug, 2)
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": "Only the figures?", **fields}).status_code == 302
    comment = db.session.scalar(select(Post).where(Post.body_source == "Only the figures?"))
    client.post("/auth/logout")
    assert "1 post here" in text_of(client.get(f"/episodes/{episode.slug}"))
    login(reader)
    assert client.post(f"/posts/{comment.id}/delete").status_code in (302, 303)
    client.post("/auth/logout")
    page = client.get(f"/episodes/{episode.slug}")
    assert "1 post here" not in text_of(page) and 'class="discuss has-posts"' not in page.get_data(as_text=True)
