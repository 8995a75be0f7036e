from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from community.forms import AnchorFields, HoneypotForm
from community.forms.discussion import BODY_HINT
from community.services.discussion import MAX_BODY
from community.services.moments import MAX_CORRECTION


class CorrectionForm(AnchorFields, HoneypotForm):
    """A guest's correction of their own words ("I misspoke: it was 2019")."""
    correction = TextAreaField("Your correction", validators=[DataRequired("Write the correction."),
                                                              Length(max=MAX_CORRECTION)],
                               id="correction-body", description="Shown beside your words in the transcript.")
    submit = SubmitField("Add correction", id="correction-submit")


class MomentForm(AnchorFields, HoneypotForm):
    """The box on the transcript: one text, sent as a comment (views.discussion.comment), a
    question (views.questions.ask) or a paper's note with its link (views.papers.submit) by
    the button pressed; those views read it with their own forms, whose field names these are."""
    body = TextAreaField("Your comment or question", validators=[DataRequired("Write something first."),
                                                                 Length(max=MAX_BODY)],
                         description=BODY_HINT, id="moment-body")
    link = StringField("Paper link (for “Add paper”)", validators=[Length(max=2000)], id="moment-link",
                       description="arXiv, OpenReview, DOI... The text above becomes the paper's note.")
