"""Forms of the console's feed page (/admin/feeds)."""

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from community.forms import Form


class FeedSourceForm(Form):
    url = StringField("Feed address (RSS or Atom)", validators=[DataRequired("Paste the feed's address."),
                                                                Length(max=2000)],
                      render_kw={"placeholder": "https://example.org/podcast/rss", "inputmode": "url"})
    submit = SubmitField("Add feed")
