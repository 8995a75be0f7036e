"""Forms of the operator console (/admin). Each turns what was typed into the values a
service takes (lists, seconds, dates), or says beside the field what is wrong."""

from __future__ import annotations

from datetime import datetime, time, timezone

from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, URL

from community.forms import Form
from community.markup import timestamp_seconds
from community.models import Role
from community.services.moderation import SUSPENSIONS

HTTP_URL = URL(require_tld=False, message="Give a full address starting with https:// or http://.")


def lines(text: str | None) -> list[str]:
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


def _http_only(form, field):
    if field.data and not field.data.lower().startswith(("https://", "http://")):
        raise ValidationError("Give a full address starting with https:// or http://.")


class EpisodeForm(Form):
    title = StringField("Title", validators=[DataRequired("Every episode needs a title."), Length(max=500)])
    number = IntegerField("Number", validators=[Optional(), NumberRange(min=0, max=100_000)],
                          description="Number and date decide the order of episodes.")
    published_on = DateField("Date", validators=[Optional()], description="The day it came out (UTC).")
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=5000)], render_kw={"rows": 3})
    show_notes = TextAreaField(
        "Show notes (Markdown)", validators=[Optional(), Length(max=50_000)], render_kw={"rows": 12},
        description="Moments such as 12:34 or 1:02:03 become links that play the episode from there. "
                    "Left empty, notes imported from the feed stay as they are.")
    audio_url = StringField("Audio URL", validators=[Optional(), Length(max=2000), _http_only])
    duration = StringField("Duration", validators=[Optional(), Length(max=12)], description="1:02:03, 45:10 or seconds")
    image_url = StringField("Image URL", validators=[Optional(), Length(max=2000), _http_only])
    listen_links = TextAreaField(
        "Listen links", validators=[Optional(), Length(max=5000)], render_kw={"rows": 4},
        description="One per line: the label, a | and the address, e.g. Spotify | https://open.spotify.com/episode/...")
    submit = SubmitField("Save episode")

    def validate_duration(self, field):
        text = (field.data or "").strip()
        if text and not text.isdigit() and timestamp_seconds(text) is None:
            raise ValidationError("Write it as 1:02:03, 45:10 or a number of seconds.")

    def validate_listen_links(self, field):
        for line in lines(field.data):
            label, _, url = (part.strip() for part in line.partition("|"))
            if not label or not url.lower().startswith(("https://", "http://")):
                raise ValidationError(f"“{line}”: write a label, a | and an address starting with https://.")

    def values(self) -> dict:
        """What services.episodes.save takes."""
        duration = (self.duration.data or "").strip()
        day = self.published_on.data
        return {
            "title": self.title.data, "number": self.number.data,
            "published_at": datetime.combine(day, time(12), tzinfo=timezone.utc) if day else None,
            "summary": (self.summary.data or "").strip(), "show_notes_source": self.show_notes.data or "",
            "audio_url": (self.audio_url.data or "").strip() or None,
            "duration_seconds": (int(duration) if duration.isdigit() else timestamp_seconds(duration)) if duration else None,
            "image_url": (self.image_url.data or "").strip() or None,
            "listen_links": [{"label": label.strip(), "url": url.strip()}
                             for label, _, url in (line.partition("|") for line in lines(self.listen_links.data))],
        }

    def fill(self, episode) -> None:
        """The form as the episode is now (GET)."""
        self.title.data, self.number.data = episode.title, episode.number
        self.published_on.data = episode.published_at.date() if episode.published_at else None
        self.summary.data, self.show_notes.data = episode.summary, episode.show_notes_source or ""
        self.audio_url.data, self.image_url.data = episode.audio_url or "", episode.image_url or ""
        seconds = episode.duration_seconds
        self.duration.data = "" if seconds is None else (
            f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600
            else f"{seconds // 60}:{seconds % 60:02d}")
        self.listen_links.data = "\n".join(f"{link['label']} | {link['url']}" for link in episode.listen_links or [])


class AppearancesForm(Form):
    guests = TextAreaField("Guests", validators=[Optional(), Length(max=5000)], render_kw={"rows": 3},
                           description="One name per line, in the order they are introduced.")
    hosts = TextAreaField("Hosts", validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    cohosts = TextAreaField("Co-hosts", validators=[Optional(), Length(max=5000)], render_kw={"rows": 2})
    submit = SubmitField("Save who was on it")

    def fill(self, episode) -> None:
        self.guests.data = "\n".join(p.name for p in episode.guests)
        self.hosts.data = "\n".join(p.name for p in episode.hosts)
        self.cohosts.data = "\n".join(a.person.name for a in episode.appearances if a.role.value == "cohost")


class PersonForm(Form):
    name = StringField("Name", validators=[DataRequired("Every person needs a name."), Length(max=200)])
    affiliation = StringField("Affiliation", validators=[Optional(), Length(max=300)])
    links = TextAreaField("Links", validators=[Optional(), Length(max=5000)], render_kw={"rows": 3},
                          description="One address per line (homepage, Scholar, X...).")
    image_url = StringField("Image URL", validators=[Optional(), Length(max=2000), _http_only])
    submit = SubmitField("Save person")

    def validate_links(self, field):
        for line in lines(field.data):
            if not line.lower().startswith(("https://", "http://")) or " " in line:
                raise ValidationError(f"“{line}” is not an address starting with https://.")

    def values(self) -> dict:
        return {"name": self.name.data, "affiliation": self.affiliation.data or "", "links": lines(self.links.data),
                "image_url": (self.image_url.data or "").strip() or None}

    def fill(self, person) -> None:
        self.name.data, self.affiliation.data = person.name, person.affiliation
        self.links.data, self.image_url.data = "\n".join(person.links or []), person.image_url or ""


class MergeForm(Form):
    other = IntegerField("Number of the other record", validators=[DataRequired("Give the other person's number.")],
                         description="Its episodes, followers and account move here; the other record goes.")
    submit = SubmitField("Merge into this person")


class LinkUserForm(Form):
    username = StringField("Username", validators=[DataRequired("Give the account's username."), Length(max=40)])
    submit = SubmitField("Link account")


class RoleForm(Form):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value) for r in Role])
    submit = SubmitField("Set role")


class SuspensionForm(Form):
    action = SelectField("Action", choices=[SelectChoice(a, label) for a, label in
                                            zip(SUSPENSIONS, ("Suspend", "Ban", "Lift the suspension"), strict=True)])
    reason = StringField("Reason (the account and the public moderation log see it)",
                         validators=[DataRequired("Every action needs a reason."), Length(max=500)])
    days = IntegerField("Days (for a suspension)", validators=[Optional(), NumberRange(min=1, max=3650)], default=7)
    submit = SubmitField("Apply")


class SettingForm(Form):
    value = StringField("Value", validators=[DataRequired("Enter a value."), Length(max=200)])
    submit = SubmitField("Save")
