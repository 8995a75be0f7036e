from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.forms import AnchorFields, ActionForm, HoneypotForm
from community.forms.discussion import BODY_HINT


class PaperForm(AnchorFields, HoneypotForm):
    link = StringField("Link or identifier", validators=[DataRequired("Paste a link to the paper."), Length(max=2000)], id="paper-link",
                       description="arXiv, OpenReview, DOI, ACL Anthology, PMLR, NeurIPS... or a bare id like 2005.11401.")
    # Optional where the source can tell it (services.papers.submit says when it is needed).
    title = StringField("Title (optional for arXiv, DOI and OpenReview)", validators=[Optional(), Length(max=300)],
                        id="paper-title", description="Left empty, it is filled in from arXiv, Crossref or OpenReview.")
    moment = StringField("Moment in the episode (optional)", validators=[Optional(), Length(max=8)], id="paper-moment",
                         description="Where it comes up, as mm:ss or h:mm:ss.")
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=5000)], description=BODY_HINT,
                         id="paper-note")
    # The transcript box's one text (forms.moments.MomentForm), sent here by its "Add paper"
    # button: taken as the note.
    body = TextAreaField(validators=[Optional(), Length(max=5000)], id="paper-body-from-moment")
    submit = SubmitField("Add paper", id="paper-submit")


class PaperKindForm(ActionForm):
    """A link's submitter (or a moderator) saying whether it is a paper."""
    is_paper = HiddenField(validators=[DataRequired()])
