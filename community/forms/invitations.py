from wtforms import EmailField, SelectField, SubmitField
from wtforms.validators import Email, Length, Optional

from community.forms import Form


class InvitationForm(Form):
    person = SelectField("Invite", coerce=int, description="The person on the show the account will stand for.")
    email = EmailField("Email (optional)", validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
                       description="If you give one, the link is mailed there. Either way it is shown once, to copy.")
    submit = SubmitField("Create invitation")
