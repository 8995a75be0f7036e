from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.forms import HoneypotForm
from community.forms.discussion import BODY_HINT


class PaperForm(HoneypotForm):
    link = StringField("Link or identifier", validators=[DataRequired("Paste a link to the paper."), Length(max=2000)], id="paper-link",
                       description="arXiv, OpenReview, DOI, ACL Anthology, PMLR, NeurIPS... or a bare id like 2005.11401.")
    title = StringField("Title", validators=[DataRequired("Give the paper's title."), Length(max=300)],
                        id="paper-title")
    moment = StringField("Moment in the episode (optional)", validators=[Optional(), Length(max=8)], id="paper-moment",
                         description="Where it comes up, as mm:ss or h:mm:ss.")
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=5000)], description=BODY_HINT,
                         id="paper-note")
    submit = SubmitField("Add paper", id="paper-submit")
