from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, ValidationError

from community import identity
from community.forms import Form, HoneypotForm
from community.services import accounts


def _password_rule(form, field):
    problem = accounts.password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class NewAccountForm(HoneypotForm):
    """What every sign-up asks (with a password here, through ORCID in forms/orcid.py): a
    username and an email address, checked by the same rules."""

    username = StringField("Username", validators=[DataRequired(), Length(max=30)], render_kw={"autocomplete": "username"},
                           description="3 to 30 letters, digits, _ or -. Shown with everything you write.")
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       render_kw={"autocomplete": "email"}, description="Only for password resets and the notifications you choose.")

    def validate_username(self, field):
        problem = accounts.username_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_email(self, field):
        problem = accounts.email_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class RegisterForm(NewAccountForm):
    password = PasswordField("Password", validators=[DataRequired(), _password_rule], render_kw={"autocomplete": "new-password"},
                             description=f"At least {accounts.PASSWORD_MIN} characters; a passphrase is best.")
    confirm = PasswordField("Confirm password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})


class LoginForm(Form):
    login = StringField("Username or email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Remember me on this device")


class ProfileForm(HoneypotForm):
    """Built with obj=the account whose profile it edits (the view does): its display name
    is checked against every other account's names."""

    display_name = StringField("Display name", validators=[Optional(), Length(max=80)],
                               filters=[lambda value: identity.clean_display_name(value) if isinstance(value, str) else value],
                               description="Shown with your @username. It may not look like another member's "
                                           "name, nor hold a role word such as moderator or admin.")
    affiliation = StringField("Affiliation", validators=[Optional(), Length(max=120)],
                              description="Lab, company or university, as you would write it on a paper.")
    bio = TextAreaField("About you", validators=[Optional(), Length(max=5000)],
                        description="Markdown, with $math$.")
    links = TextAreaField("Links", validators=[Optional(), Length(max=2000)],
                          description="One http(s) link per line: homepage, Scholar, OpenReview... (at most 5).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = kwargs.get("obj")

    def validate_display_name(self, field):
        problem = accounts.display_name_problem(self.owner, field.data or "") if self.owner is not None else None
        if problem:
            raise ValidationError(problem)


class PasswordChangeForm(Form):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX)])
    password = PasswordField("New password", validators=[DataRequired(), _password_rule])
    confirm = PasswordField("Confirm new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])


class ResetRequestForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])


class ResetForm(Form):
    password = PasswordField("New password", validators=[DataRequired(), _password_rule])
    confirm = PasswordField("Confirm new password", validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])


class DeleteAccountForm(Form):
    posts = RadioField("Your posts", choices=[
        SelectChoice("keep", "Keep my posts, shown under “[deleted user]”: threads stay as they are."),
        SelectChoice("remove", "Remove my posts: their text is gone for good; replies by others stay, "
                               "under a “deleted” marker."),
    ], validators=[InputRequired("Choose what happens to your posts.")])
    password = PasswordField("Current password", validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"},
                             description="To be sure it is you. Deleting cannot be undone.")
