from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from community.forms import Form


class AccountAddressForm(Form):
    new_email = EmailField("New address", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       render_kw={"autocomplete": "email"},
                       description="We mail it a link; it replaces your current address once you open the link.")


class InstitutionalAddressForm(Form):
    institutional_email = EmailField("Institutional address",
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       description="Your university's or research lab's address, e.g. ada@cs.stanford.edu. "
                                   "Opening the link we mail it verifies your affiliation for a year.")


class ResearchDomainForm(Form):
    domain = StringField("Domain", validators=[DataRequired(), Length(max=253)],
                         description="The lab's mail domain, e.g. deepmind.com: its subdomains count too.")
    name = StringField("Organisation", validators=[Optional(), Length(max=120)])


class ResearcherForm(Form):
    note = StringField("Note", validators=[Optional(), Length(max=200, message="Say why in 200 characters or fewer.")],
                       description="Why, in a few words: shown in the admin log.")
