"""Forms of the console's transcript page (/admin/episodes/<id>/transcript)."""

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp

from community.forms import Form

KINDS = [SelectChoice("", "Detect from the file"), SelectChoice("vtt", "WebVTT (.vtt)"), SelectChoice("srt", "SRT (.srt)"),
         SelectChoice("json", "Podcasting 2.0 JSON (.json)"), SelectChoice("html", "HTML (.html)")]


class TranscriptUploadForm(Form):
    file = FileField("Transcript file", validators=[FileRequired("Choose a transcript file.")],
                     description="WebVTT with <v Speaker> tags, SRT, Podcasting 2.0 JSON or HTML; at most 1 MB.")
    kind = SelectField("Format", choices=KINDS, default="", validators=[Optional()])
    language = StringField("Language", validators=[Optional(), Length(max=35),
                                                   Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
                                                          message="A language tag such as en or en-GB.")],
                           render_kw={"placeholder": "en"})
    note = StringField("What this revision corrects", validators=[Optional(), Length(max=300)],
                       description="Shown with the revision, e.g. “fixed names in the first chapter”.")
    submit = SubmitField("Add as a new revision")


class SpeakersForm(Form):
    """One choice per speaker label of the current revision (fields named speaker-0, -1, ...,
    added by the view); the labels themselves travel as hidden fields."""
    submit = SubmitField("Save speakers")
