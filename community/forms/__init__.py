"""Flask-WTF forms, a module per domain. Every form derives from Form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.fields.choices import SelectChoice

from community.text import strip_controls


def _clean_text(value):
    return strip_controls(value) if isinstance(value, str) else value


class Form(FlaskForm):
    """Text hygiene at the door: every text field (not passwords, which are kept as typed)
    loses its control characters and gets LF line ends, before any validator sees it."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            kind = unbound_field.field_class
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
                filters = [_clean_text, *unbound_field.kwargs.get("filters", ())]
                return unbound_field.bind(form=form, filters=filters, **options)
            return unbound_field.bind(form=form, **options)


class ActionForm(Form):
    """A button that changes state: nothing but the CSRF token."""


def episode_choices(episodes, blank: str | None = None) -> list[SelectChoice]:
    """Options for choosing an episode (newest first), optionally with a blank first entry."""
    choices = [SelectChoice(0, blank)] if blank else []
    return choices + [SelectChoice(e.id, f"{e.label} {e.title}".strip()) for e in episodes]
