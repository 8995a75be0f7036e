from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from community import identity
from community.forms import HoneypotForm
from community.models import Role, User
from community.services import accounts


class OrcidAccountForm(HoneypotForm):
    """The short sign-up after an unknown iD signed in with ORCID: no password (ORCID is
    the way in), the rest as any sign-up."""

    username = StringField("Username", validators=[DataRequired(), Length(max=30)], render_kw={"autocomplete": "username"},
                           description="3 to 30 letters, digits, _ or -. Shown with everything you write.")
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       render_kw={"autocomplete": "email"},
                       description="Only for password resets and the notifications you choose.")
    display_name = StringField("Display name", validators=[Optional(), Length(max=80)],
                               filters=[lambda value: identity.clean_display_name(value) if isinstance(value, str) else value],
                               description="Shown with your @username; you can change it later.")

    def validate_username(self, field):
        problem = accounts.username_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_email(self, field):
        problem = accounts.email_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_display_name(self, field):
        # Checked as for an account that does not exist yet: against every other name.
        problem = accounts.display_name_problem(User(role=Role.member), field.data or "")
        if problem:
            raise ValidationError(problem)
