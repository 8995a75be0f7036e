"""Flask-WTF forms, a module per domain. Every form derives from Form."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, ValidationError
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


HONEYPOT_MESSAGE = ("This form was refused: a field that people never see was filled in, as spam robots do. "
                   "If you are a person, please send it again.")


def _must_stay_empty(form, field):
    if field.data:
        field.data = ""  # shown again empty: a person whose browser filled it can just resend
        raise ValidationError(HONEYPOT_MESSAGE)


class HoneypotForm(Form):
    """A form people write with (sign-up, profile, every compose form but a guest's answer,
    whose view redirects on any invalid form and whose writers are invited): it carries a text
    field hidden from people (by CSS, from screen readers and from the Tab key), which spam
    robots fill in like any other. Filled in, the form does not validate: the view answers
    422 with nothing written. Rendered by the `honeypot` macro of _macros/forms.html; a form
    built without it (site.js's inline reply) simply sends no such field."""

    website = StringField("Leave this field empty", validators=[_must_stay_empty],
                          render_kw={"tabindex": "-1", "autocomplete": "off"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are unique per page, and a page may hold several of these forms.
        self.website.id = self.website.label.field_id = f"{type(self).__name__.lower()}-website"


def episode_choices(episodes, blank: str | None = None) -> list[SelectChoice]:
    """Options for choosing an episode (newest first), optionally with a blank first entry."""
    choices = [SelectChoice(0, blank)] if blank else []
    return choices + [SelectChoice(e.id, f"{e.label} {e.title}".strip()) for e in episodes]


class AnchorFields:
    """Mixin for the forms that start discussion: the transcript words the post is
    anchored to (services.moments), set by a sentence's "discuss" link or, with JS, by
    selecting words. Empty: the post is about the episode as a whole."""

    anchor_revision = HiddenField()
    anchor_start = HiddenField()
    anchor_end = HiddenField()

    def anchor(self) -> tuple[str | None, str | None, str | None]:
        return self.anchor_revision.data, self.anchor_start.data, self.anchor_end.data
