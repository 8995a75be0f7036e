"""Flask-WTF forms, a module per domain."""

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class ActionForm(FlaskForm):
    """A button that changes state: nothing but the CSRF token."""


def episode_choices(episodes, blank: str | None = None) -> list[SelectChoice]:
    """Options for choosing an episode (newest first), optionally with a blank first entry."""
    choices = [SelectChoice(0, blank)] if blank else []
    return choices + [SelectChoice(e.id, f"{e.label} {e.title}".strip()) for e in episodes]
