"""`flask import-feed`: idempotent, clean show notes, one-line errors that write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Episode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SHARED_FEEDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "feeds"


def run(app, source):
    return app.test_cli_runner().invoke(args=["import-feed", str(source)])


def episode_count() -> int:
    return db.session.scalar(select(func.count(Episode.id)))


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.xml")
                                           if p.name not in {"malformed.xml", "truncated.xml", "not-a-feed.xml",
                                                             "empty.xml", "whitespace-only.xml"}))
def test_every_quirk_fixture_imports_and_reimports_to_nothing(app, fixture):
    first = run(app, FIXTURES / fixture)
    assert first.exit_code == 0, first.output
    created = episode_count()
    second = run(app, FIXTURES / fixture)
    assert second.exit_code == 0
    assert "created 0, updated 0" in second.output
    assert episode_count() == created


@pytest.mark.parametrize("name", ["malformed.xml", "truncated.xml", "not-a-feed.xml", "empty.xml",
                                  "whitespace-only.xml", "page.html", "feed.json", "missing.xml"])
def test_bad_sources_give_one_line_error_and_write_nothing(app, name):
    result = run(app, FIXTURES / name)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert episode_count() == 0


def test_show_notes_are_sanitised_and_moments_link_to_the_player(app, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text("""<?xml version="1.0"?>
<rss version="2.0"><channel><title>T</title>
<item><title>Episode 3: Tricky</title><guid>g3</guid>
<enclosure url="https://cdn.example.org/3.mp3" type="audio/mpeg" length="1"/>
<description><![CDATA[<p onclick="alert(1)">At 12:34 <a href="javascript:alert(1)">x</a> <a href="https://example.org">ok</a></p>
<script>alert(1)</script><img src="http://feeds.feedburner.com/~r/x/~4/abc" height="1" width="1"/>]]></description>
</item></channel></rss>""")
    assert run(app, feed).exit_code == 0
    episode = db.session.scalar(select(Episode))
    notes = episode.show_notes_html
    assert episode.number == 3 and episode.audio_url == "https://cdn.example.org/3.mp3"
    assert "<script" not in notes and "onclick" not in notes and "javascript:" not in notes and "<img" not in notes
    assert '<a class="seek" href="?t=754#player">12:34</a>' in notes
    assert 'href="https://example.org" rel="nofollow noopener"' in notes


def test_changed_item_is_updated_not_duplicated(app, tmp_path):
    feed = tmp_path / "feed.xml"
    template = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>{title}</title><guid>same-guid</guid><pubDate>Mon, 06 Jan 2020 10:00:00 +0000</pubDate></item>
</channel></rss>"""
    feed.write_text(template.format(title="Episode 1: First title"))
    run(app, feed)
    feed.write_text(template.format(title="Episode 1: Better title"))
    result = run(app, feed)
    assert "created 0, updated 1, unchanged 0" in result.output
    assert [e.title for e in db.session.scalars(select(Episode))] == ["Episode 1: Better title"]


@pytest.mark.skipif(not SHARED_FEEDS.is_dir(), reason="../shared/data/feeds is not beside this checkout")
@pytest.mark.parametrize("name, expected", [("coding-blocks.xml", 83), ("se-radio.xml", 249)])
def test_real_feeds_import_once(app, name, expected):
    result = run(app, SHARED_FEEDS / name)
    assert result.exit_code == 0, result.output
    assert f"created {expected}, updated 0, unchanged 0, skipped 0" in result.output
    episodes = list(db.session.scalars(select(Episode)))
    assert len(episodes) == expected
    assert all(e.published_at is not None for e in episodes)
    numbered = [e.number for e in episodes if e.number is not None]
    assert len(numbered) >= expected - 10 and len(set(numbered)) == len(numbered)
    assert sum(1 for e in episodes if e.duration_seconds) >= expected - 10
    assert not any("&lt;" in e.show_notes_html[:200] or "<img" in e.show_notes_html or "<script" in e.show_notes_html
                   for e in episodes)
    again = run(app, SHARED_FEEDS / name)
    assert f"created 0, updated 0, unchanged {expected}" in again.output
