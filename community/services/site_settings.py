"""Site policy an admin changes in the console without a deploy: flag threshold and
weights, pre-moderation, new-account limits, rate limits. Defaults come from app.config
(config.DEFAULTS, or a test's dict); a changed value is a row of site_settings.

Readers call `value(name)` instead of current_app.config[name]. The rows are read once
per transaction (one small query, only by requests that consult policy, which are
writes: no cached page reads a setting) and kept in the session until it commits or
rolls back."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from limits import parse_many
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from community.extensions import db
from community.models import SiteSetting, User
from community.services import DomainError, NotFound, admin_log


@dataclass(frozen=True)
class Setting:
    name: str  # the app.config key that gives the default
    kind: type  # int, float, or str for a rate limit ("5 per minute;20 per day")
    label: str
    help: str
    low: float | None = None
    high: float | None = None

    @property
    def is_rate(self) -> bool:
        return self.kind is str


SETTINGS = [
    Setting("FLAG_THRESHOLD", float, "Flag threshold",
            "A post is hidden until a moderator looks once the weights of its flags add up to this.", 0.5, 100),
    Setting("FLAG_WEIGHT_TRUSTED", float, "Flag weight: researchers, guests and hosts",
            "How much one flag by a vouched-for account counts (moderators' flags count the whole threshold).", 0, 100),
    Setting("FLAG_WEIGHT_MEMBER", float, "Flag weight: members", "How much one member's flag counts.", 0, 100),
    Setting("FLAG_WEIGHT_NEW_MEMBER", float, "Flag weight: new members",
            "How much a flag by a member younger than the days below counts.", 0, 100),
    Setting("FLAG_NEW_MEMBER_DAYS", int, "Members are new for (days), when flagging",
            "Their flags weigh less until then.", 0, 365),
    Setting("FLAG_MIN_ACCOUNT_AGE_HOURS", int, "Members may flag after (hours)",
            "Younger member accounts cannot flag.", 0, 24 * 90),
    Setting("PREMODERATION_FIRST_POSTS", int, "Pre-moderated first posts",
            "The first N posts of a member wait for a moderator before anyone sees them (0: none).", 0, 100),
    Setting("NEW_ACCOUNT_HOURS", int, "Accounts are new for (hours)",
            "New accounts post under the stricter rate limit and the link cap below.", 0, 24 * 90),
    Setting("NEW_ACCOUNT_MAX_LINKS", int, "Links per post from new members", "0 forbids links.", 0, 50),
    Setting("COMMENT_RATE_LIMIT", str, "Posting rate limit", "For example: 5 per minute"),
    Setting("COMMENT_RATE_LIMIT_NEW_ACCOUNT", str, "Posting rate limit for new accounts",
            "For example: 2 per minute;20 per day"),
    Setting("PAPER_RATE_LIMIT", str, "Paper rate limit",
            "Looser than posting: a reading list is built in a burst. For example: 30 per 10 minutes"),
    Setting("PAPER_RATE_LIMIT_NEW_ACCOUNT", str, "Paper rate limit for new accounts",
            "For example: 10 per 10 minutes;30 per day"),
    Setting("FLAG_RATE_LIMIT", str, "Flagging rate limit", "Per user, for example: 20 per hour"),
    Setting("REGISTER_RATE_LIMIT", str, "Sign-up rate limit", "Per address, for example: 10 per hour"),
]
BY_NAME = {s.name: s for s in SETTINGS}
_KEY = "community.site_settings"


def _stored() -> dict[str, object]:
    session = db.session()
    stored = session.info.get(_KEY)
    if stored is None:
        try:
            stored = dict(db.session.execute(select(SiteSetting.name, SiteSetting.value)).all())
        except OperationalError:
            # The database is down: the rate limiters still ask (even on a GET page that
            # needs no data); the configured defaults answer, and nothing is kept.
            db.session.rollback()
            return {}
        session.info[_KEY] = stored
    return stored


@event.listens_for(db.session, "after_transaction_end")
def _forget(session, transaction) -> None:
    """Another transaction may see another admin's change: read the rows again then."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def default(name: str):
    return current_app.config[name]


def value(name: str):
    """The value in force: the admin's, else the configured default."""
    setting = BY_NAME[name]
    stored = _stored()
    return setting.kind(stored[name]) if name in stored else default(name)


def current() -> list[tuple[Setting, object, bool]]:
    """Every setting with its value and whether it differs from the default (the console's table)."""
    stored = _stored()
    return [(s, value(s.name), s.name in stored and s.kind(stored[s.name]) != default(s.name)) for s in SETTINGS]


def parse(setting: Setting, text: str):
    """The typed value of what was typed, or DomainError saying what is wrong."""
    text = " ".join((text or "").split())
    if not text:
        raise DomainError(f"{setting.label}: enter a value.")
    if setting.is_rate:
        try:
            if not parse_many(text):
                raise ValueError
        except ValueError:
            raise DomainError(f"{setting.label}: write limits like “5 per minute” or “2 per minute;20 per day”.") from None
        return text
    try:
        number = setting.kind(text)
    except ValueError:
        word = "a whole number" if setting.kind is int else "a number"
        raise DomainError(f"{setting.label}: “{text}” is not {word}.") from None
    if (setting.low is not None and number < setting.low) or (setting.high is not None and number > setting.high):
        raise DomainError(f"{setting.label}: choose a value from {setting.low:g} to {setting.high:g}.")
    return number


def change(actor: User | None, name: str, text: str) -> bool:
    """Sets one setting from what was typed; logged with before and after. False when the
    value is the one in force already (nothing written, nothing logged)."""
    admin_log.require_admin(actor)
    setting = BY_NAME.get(name)
    if setting is None:
        raise NotFound(f"There is no setting called {name}.")
    new, old = parse(setting, text), value(name)
    if new == old:
        return False
    row = db.session.get(SiteSetting, name)
    if row is None:
        db.session.add(SiteSetting(name=name, value=new))
    else:
        row.value = new
    db.session.flush()
    _stored()[name] = new
    admin_log.record(actor, "setting.change", target_type="setting", target_id=name,
                     summary=f"{setting.label}: {old} → {new}", before={"value": old}, after={"value": new})
    return True
