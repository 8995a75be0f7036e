from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from community.forms import AnchorFields, Form, HoneypotForm
from community.services.discussion import MAX_BODY

BODY_HINT = "Markdown: *emphasis*, `code`, ```fenced blocks```, > quotes, lists, tables, and LaTeX math as $x^2$ or $$\\sum_i x_i$$."


class CommentForm(AnchorFields, HoneypotForm):
    # Ids are unique per page: the episode page holds several forms with a body.
    body = TextAreaField("Your comment", validators=[DataRequired("Write something first."), Length(max=MAX_BODY)],
                         description=BODY_HINT, id="comment-body")
    preview = SubmitField("Preview", id="preview")
    submit = SubmitField("Post comment", id="comment-submit")


class ReplyForm(CommentForm):
    submit = SubmitField("Post reply", id="reply-submit")


class EditForm(CommentForm):
    submit = SubmitField("Save changes", id="edit-submit")


class VoteForm(Form):
    up = HiddenField(default="1")
