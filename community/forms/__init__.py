"""Flask-WTF forms, a module per domain."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes state: nothing but the CSRF token."""
