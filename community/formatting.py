"""Times, durations and counts as pages show them: a leaf (imports nothing of ours), so
that templates (views/helpers registers these as filters) and the thread renderer
(pages/threads.py) share one definition without importing each other."""

from __future__ import annotations

from datetime import datetime, timezone


def plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def sentence(text: str) -> str:
    """`text` ending in one full stop: a reason typed as "Commercial spam." is not given a
    second one by the sentence that quotes it."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    seconds = int(((now or datetime.now(timezone.utc)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def exact_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def iso_duration(seconds: int | None) -> str:
    """ISO 8601, as schema.org's timeRequired wants it: 3725 -> "PT1H2M5S"."""
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)


def duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
