from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from community import identity
from community.forms.accounts import NewAccountForm
from community.models import Role, User
from community.services import accounts


class OrcidAccountForm(NewAccountForm):
    """The short sign-up after an unknown iD signed in with ORCID: no password (ORCID is
    the way in), the rest as any sign-up."""

    display_name = StringField("Display name", validators=[Optional(), Length(max=80)],
                               filters=[lambda value: identity.clean_display_name(value) if isinstance(value, str) else value],
                               description="Shown with your @username; you can change it later.")

    def validate_display_name(self, field):
        # Checked as for an account that does not exist yet: against every other name.
        problem = accounts.display_name_problem(User(role=Role.member), field.data or "")
        if problem:
            raise ValidationError(problem)
