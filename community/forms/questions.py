from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from community.forms import AnchorFields, Form, HoneypotForm
from community.forms.discussion import BODY_HINT
from community.services.discussion import MAX_BODY


class QuestionForm(AnchorFields, HoneypotForm):
    body = TextAreaField("Your question for the guests", validators=[DataRequired("Write your question."), Length(max=MAX_BODY)],
                         description=BODY_HINT, id="question-body")
    submit = SubmitField("Ask the guests", id="question-submit")


class AnswerForm(Form):
    body = TextAreaField("Your answer", validators=[DataRequired("Write your answer."), Length(max=MAX_BODY)],
                         description=BODY_HINT, id="answer-body")
    submit = SubmitField("Post answer", id="answer-submit")


class DeclineForm(Form):
    reason = StringField("Reason for declining", validators=[DataRequired("Give a reason: the asker will see it."), Length(max=500)])
    submit = SubmitField("Decline question", id="decline-submit")


class MergeForm(Form):
    into = IntegerField("Merge into question number", validators=[DataRequired(), NumberRange(min=1)])
    submit = SubmitField("Merge duplicate", id="merge-submit")


class OnAirForm(Form):
    episode = SelectField("Answered in episode", coerce=int)
    moment = StringField("At moment (optional)", validators=[Optional(), Length(max=8)], description="mm:ss or h:mm:ss")
    submit = SubmitField("Mark answered on air", id="on-air-submit")
