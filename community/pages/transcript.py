"""The transcript's sentences on the episode page, as HTML built in Python, as the threads
are (pages/threads.py): 2,000 sentences took ~200 ms in a Jinja loop (a third of an
uncached 500-comment page with its transcript) and take ~15 ms here. The same for every
reader, so with the page cache on they are kept per process while neither the revision
nor anything they show of its moments changed: a comment elsewhere on the page does not
render them again."""

from __future__ import annotations

import hashlib

from flask import current_app, url_for
from jinja2.filters import do_truncate
from markupsafe import Markup, escape

from community.formatting import duration
from community.pages.cache import remembered


def _at(seconds) -> str:
    return duration(int(seconds)) or "0:00"


def _sentences(on_page, page_url: str) -> str:
    moments = on_page.moments
    counts, by_segment, offsets = moments.counts, moments.by_segment, on_page.text.offsets
    level = "h4" if on_page.chapter_heads else "h3"  # a speaker's heading sits under its chapter's
    env = current_app.jinja_env
    out = []
    for index, (speaker, segments) in enumerate(on_page.paragraphs):
        first = segments[0]
        if chapter := on_page.chapter_heads.get(index):
            out.append(f'<h3 class="transcript-chapter">{escape(chapter.get("title") or "Chapter")} <a class="seek '
                       f'moment-time" href="{page_url}?t={int(chapter["start"])}#player">{_at(chapter["start"])}</a></h3>')
        out.append(f'<div class="transcript-paragraph">\n<{level} class="speaker">{escape(speaker or "Speaker")} '
                   f'<a class="seek moment-time" href="{page_url}?t={int(first.start)}#m-{first.position}">'
                   f'{_at(first.start)}</a></{level}>\n<p>')
        last = len(segments) - 1
        for n_segment, s in enumerate(segments):
            position, n = s.position, counts.get(s.position, 0)
            here = by_segment.get(position, ())
            targets = "".join(f'<span class="moment-target" id="moment-{m.id}" data-start="{m.start}" '
                              f'data-end="{m.end}"></span>' for m in here)
            at = _at(s.start)
            label = (f'{n}<span class="visually-hidden"> {"post" if n == 1 else "posts"} here, discuss this sentence at '
                     f'{at}</span>') if n else f'discuss<span class="visually-hidden"> this sentence at {at}</span>'
            out.append(f'<span class="sentence{" has-moments" if n else ""}" id="m-{position}" data-o="{offsets[position]}"'
                       f' data-t="{int(s.start)}">{targets}{escape(s.text)}</span>\n<a class="discuss'
                       f'{" has-posts" if n else ""}" rel="nofollow" href="{page_url}?discuss={position}#moment-compose">'
                       f'{label}</a>')
            for m in here:
                if m.correction:
                    out.append(f'\n<span class="correction" role="note"><strong>Correction by '
                               f'{escape(m.author.name) if m.author else "the guest"}</strong> (on “'
                               f'{escape(do_truncate(env, m.quote, 80))}”): {escape(m.correction)}</span>')
            if n_segment != last:
                out.append(" ")
        out.append("</p>\n</div>\n")
    return "".join(out)


def _shown(on_page) -> tuple:
    """Everything of the moments and people that the sentences show (the segments of a
    revision never change; names, chapters and moments do)."""
    return (tuple((position, tuple((m.id, m.start, m.end, bool(m.post_id), m.correction, m.quote,
                                    m.author.name if m.author else None) for m in found))
                  for position, found in sorted(on_page.moments.by_segment.items())),
            tuple((index, chapter.get("title"), chapter.get("start")) for index, chapter in on_page.chapter_heads.items()),
            tuple(speaker for speaker, _ in on_page.paragraphs))


def transcript_sentences(on_page, episode) -> Markup:
    """The sentences of the transcript in paragraphs under their speakers and chapters,
    each with its "discuss" link, its moments' targets and the guests' corrections."""
    page_url = url_for("episodes.show", slug=episode.slug)

    def build() -> str:
        return _sentences(on_page, page_url)

    if not current_app.config["PAGE_CACHE"]:
        return Markup(build())  # nosec B704: every value is escaped above
    shown = hashlib.blake2b(repr(_shown(on_page)).encode(), digest_size=16).hexdigest()
    key = f"transcript:{on_page.transcript.revision.id}:{page_url}:{shown}"
    return Markup(remembered(current_app, "recent_transcripts", key, build, memo_is_enough=True))  # nosec B704: as above
