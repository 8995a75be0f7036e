from wtforms.fields.choices import SelectChoice
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.forms import Form, HoneypotForm
from community.forms.discussion import BODY_HINT
from community.services.guests import DISCLOSURES, STAGES


class SuggestionForm(HoneypotForm):
    name = StringField("Nominee's name", validators=[DataRequired("Who should come on the show? Give their name."), Length(max=200)])
    affiliation = StringField("Affiliation", validators=[Optional(), Length(max=200)])
    links = TextAreaField("Links", validators=[Optional(), Length(max=2000)],
                          description="One per line: homepage, Google Scholar, OpenReview, ORCID (at most 5).")
    why = TextAreaField("Why they would be a great guest", validators=[DataRequired("Tell us why."), Length(max=10000)],
                        description=BODY_HINT)
    papers = TextAreaField("Their papers (optional)", validators=[Optional(), Length(max=3000)],
                           description="Up to 5 links or ids (arXiv, DOI, OpenReview...), one per line.")
    disclosure = RadioField("How do you know the nominee?", choices=[SelectChoice(key, label) for key, label in DISCLOSURES.items()],
                            validators=[DataRequired("Say how you know the nominee.")])
    submit = SubmitField("Suggest this guest", id="suggest-submit")


class StageForm(Form):
    stage = SelectField("Status", choices=[SelectChoice(s, s.capitalize()) for s in STAGES])
    note = StringField("Note (required when declining)", validators=[Optional(), Length(max=500)])
    episode = SelectField("Recorded as episode", coerce=int, validators=[Optional()])
    submit = SubmitField("Update status", id="stage-submit")
