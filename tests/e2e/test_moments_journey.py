"""Moments in a real browser (issue 24), with and without JavaScript: a reader selects a
sentence of the transcript (without JS: follows its "discuss" link) and asks the guest
about it; the question shows the quote; its chip seeks the player to that second (with
JS: the audio's currentTime; without: the link's t=); the guest answers from the inbox.
Screenshots of the episode with its transcript and moments at 360 and 1280 px, light and
dark, go to tests/artifacts/screenshots/moments-*.png; axe finds nothing serious.

The transcript is fictional sample text (tests/fixtures/transcripts/moments.vtt)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import Person, Role
from tests import feed_server
from tests.e2e.conftest import log_in
from tests.e2e.scenario import ARTIFACTS, axe_script, describe_violations, run_axe  # noqa: F401 (a fixture)
from tests.views.test_transcripts import FIXTURES

SCREENSHOTS = ARTIFACTS / "screenshots"
FIRST_PASS = "The first pass takes about ten minutes and looks only at the figures."


@pytest.fixture
def audio_server():
    state, stop = feed_server.start()
    yield state
    stop()


@pytest.fixture
def episode(data, audio_server, live_app):
    from community.services import transcripts

    made = data.episode(24, "Reading papers, a sample conversation", guests=[("Sam Sample", "Sample Lab")],
                        hosts=["Ada Example"], audio_url=f"{audio_server.base}/audio/ep24.wav", duration_seconds=30,
                        summary="A fictional episode for the moments tests.")
    sam = data.user("samsample", role=Role.guest)
    db.session.scalar(select(Person).where(Person.name == "Sam Sample")).user_id = sam.id
    transcripts.add_revision(None, made, (FIXTURES / "moments.vtt").read_bytes(), "vtt")
    db.session.commit()
    data.user("reader")
    return made.slug


def _select_sentence(page, position: int) -> None:
    """Select a sentence's words as a reader's mouse would, and let site.js see it."""
    page.evaluate("""position => {
        const sentence = document.getElementById('m-' + position);
        const text = Array.from(sentence.childNodes).find(n => n.nodeType === 3);
        const range = document.createRange();
        range.setStart(text, 0); range.setEnd(text, text.length);
        const selection = window.getSelection();
        selection.removeAllRanges(); selection.addRange(range);
        sentence.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
    }""", position)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_ask_the_guest_about_a_sentence_then_the_chip_seeks_and_the_guest_answers(new_page, episode, js):
    reader = new_page(js=js)
    log_in(reader, "reader")
    reader.goto(f"/episodes/{episode}")
    if js:
        _select_sentence(reader, 2)
    else:
        reader.locator("#m-2 + a.discuss").click()
    box = reader.locator("#moment-compose")
    expect(box).to_be_visible()
    expect(box.locator("[data-moment-quote]")).to_have_text(FIRST_PASS)
    box.get_by_label("Your comment or question").fill("Why only the figures on the first pass?")
    box.get_by_role("button", name="Ask the guests").click()

    question = reader.locator(".question-entry", has_text="only the figures")
    chip = question.locator(".moment-chip a")
    expect(chip).to_contain_text(FIRST_PASS)
    expect(chip).to_contain_text("0:12")
    assert "t=12" in chip.get_attribute("href")
    if js:
        chip.click()
        reader.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) === 12")
        # The transcript follows the player, and a click on a sentence seeks there.
        expect(reader.locator("#m-2")).to_have_attribute("aria-current", "true")
        said_at = int(reader.locator("#m-3").get_attribute("data-t"))  # within the 30 s sample audio
        reader.locator("#m-3").click()
        reader.wait_for_function(f"() => Math.round(document.querySelector('#player audio').currentTime) === {said_at}")
        expect(reader.locator("#m-3")).to_have_attribute("aria-current", "true")
        expect(reader.locator("#m-2")).not_to_have_attribute("aria-current", "true")
    else:
        chip.click()
        assert "t=12" in reader.url
        expect(reader.locator("#player audio")).to_have_attribute("src", f"{reader.locator('#player audio').get_attribute('src').split('#')[0]}#t=12")

    # The moment's permalink starts the audio there and highlights the words.
    moment_page = new_page(js=js)
    moment_page.goto(chip.get_attribute("href"))
    expect(moment_page.locator("#player audio")).to_have_attribute("data-start", "12")
    if js:
        expect(moment_page.locator("mark.moment-words")).to_have_text(FIRST_PASS)
    else:
        assert moment_page.evaluate("() => document.querySelector('#m-2:has(:target)') !== null")

    guest = new_page(js=js)
    log_in(guest, "samsample")
    mine = guest.locator(".for-you")
    expect(mine.locator(".question-row").first).to_contain_text("only the figures")
    mine.get_by_role("link", name="#24 Reading papers, a sample conversation").first.click()
    entry = guest.locator(".question-entry", has_text="only the figures")
    expect(entry.locator(".moment-chip")).to_contain_text(FIRST_PASS)
    entry.locator(".answer-form > summary").click()
    entry.get_by_label("Your answer").fill("Figures show the claim faster than the prose does.")
    entry.get_by_role("button", name="Post answer").click()
    expect(guest.locator(".question-entry", has_text="only the figures").locator(".answer")).to_contain_text(
        "faster than the prose")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_axe_of_the_episode_with_its_transcript_and_moments(new_page, episode, axe_script, scheme):
    writer = new_page()
    log_in(writer, "reader")
    for position, words in ((2, "Ten minutes seems short."), (2, "Figures first, agreed."), (4, "Which code?")):
        writer.goto(f"/episodes/{episode}?discuss={position}#moment-compose")
        writer.locator("#moment-compose").get_by_label("Your comment or question").fill(words)
        writer.locator("#moment-compose").get_by_role("button", name="Post comment").click()
    guest = new_page()
    log_in(guest, "samsample")
    guest.goto(f"/episodes/{episode}?discuss=4#moment-compose")
    guest.get_by_label("Your correction").fill("I misspoke: we checked the code in 2019.")
    guest.get_by_role("button", name="Add correction").click()
    expect(guest.locator(".correction")).to_contain_text("2019")

    for width, height in ((360, 740), (1280, 900)):
        page = new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
        page.goto(f"/episodes/{episode}")
        expect(page.locator(".density-strip svg")).to_be_visible()
        expect(page.locator("a.discuss.has-posts").first).to_contain_text("2")
        page.screenshot(path=SCREENSHOTS / f"moments-{width}-{scheme}.png", full_page=True)
        results = run_axe(page, axe_script)
        blocking = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert not blocking, describe_violations(blocking)
