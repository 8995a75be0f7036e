from wtforms import IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from community.forms import Form
from community.models import FLAG_REASON_LABELS
from community.services.moderation import ACTION_CHOICES, REASONS


class FlagForm(Form):
    # No default: a flag says what the flagger chose, never what a click-through left selected.
    reason = RadioField("Why are you flagging this?", validators=[InputRequired("Choose why you are flagging it.")],
                        choices=[SelectChoice(r.value, label) for r, label in FLAG_REASON_LABELS.items()])
    note = StringField("Note (required for Other)", validators=[Optional(), Length(max=500)], id="flag-note")
    submit = SubmitField("Flag for moderators", id="flag-submit")


# No default action or reason: a decision says what the moderator chose, never what was left selected.
CHOOSE = SelectChoice("", "Choose…")
REASON_CHOICES = [CHOOSE, *(SelectChoice(r, r) for r in REASONS)]


class ModerationActionForm(Form):
    """The queue's form and the one behind the menu on each post (the view narrows `action`
    to what applies to the post: services.moderation.applicable_actions)."""
    action = SelectField("Action", choices=[CHOOSE, *(SelectChoice(k, v) for k, v in ACTION_CHOICES.items())],
                         validators=[DataRequired("Choose an action.")])
    reason = SelectField("Reason", choices=REASON_CHOICES, validators=[DataRequired("Choose a reason.")])
    detail = StringField("Details (shown to the author and in the public log)", validators=[Optional(), Length(max=500)])
    days = IntegerField("Suspension in days", validators=[Optional(), NumberRange(min=1, max=3650)], default=7)
    submit = SubmitField("Apply")

    def full_reason(self) -> str:
        """The short reason plus the moderator's words, as the author and the log see it."""
        detail = (self.detail.data or "").strip()
        if self.reason.data == "Other":
            return detail
        return f"{self.reason.data}: {detail}" if detail else self.reason.data


class AppealForm(Form):
    text = TextAreaField("Why should the moderators look again?", validators=[DataRequired("Say briefly why."), Length(max=1000)],
                         id="appeal-text")
    submit = SubmitField("Send appeal", id="appeal-submit")


class ReviseForm(Form):
    body = TextAreaField("Your post, revised (the moderators see it again)",
                         validators=[DataRequired("Write something first."), Length(max=20000)], id="revise-body")
    submit = SubmitField("Send for review", id="revise-submit")


class BulkForm(Form):
    action = SelectField("With the selected", choices=[CHOOSE, SelectChoice("dismiss", "Dismiss flags"), SelectChoice("hide", "Hide"),
                                                       SelectChoice("remove", "Remove")],
                         validators=[DataRequired("Choose what to do with the selected posts.")], id="bulk-action")
    reason = SelectField("Reason", choices=REASON_CHOICES, validators=[DataRequired("Choose a reason.")], id="bulk-reason")
    submit = SubmitField("Apply to selected", id="bulk-submit")
