"""/admin/feeds: the show's feed addresses, how their last refresh went, "refresh now".

Its own blueprint beside the console's (views/admin.py): hosts and admins run it."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from community import policy
from community.extensions import db
from community.forms import ActionForm
from community.forms.feeds import FeedSourceForm
from community.services import DomainError, feeds
from community.views.helpers import form_error, press

bp = Blueprint("admin_feeds", __name__, url_prefix="/admin/feeds")


@bp.get("/")
@policy.show_required
def index():
    return render_template("admin/feeds.html", sources=feeds.sources(), form=FeedSourceForm(formdata=None))


@bp.post("/")
@policy.show_required
def add():
    form = FeedSourceForm()
    status = 422
    if form.validate_on_submit():
        try:
            source = feeds.add_source(current_user, form.url.data)
        except DomainError as error:
            status = form_error(form.url, error)
        else:
            db.session.commit()
            flash(f"Feed added: {source.url}. “Refresh now” imports its episodes; the hourly refresh will too.",
                  "success")
            return redirect(url_for("admin_feeds.index"))
    return render_template("admin/feeds.html", sources=feeds.sources(), form=form), status


@bp.post("/<int:source_id>/refresh")
@policy.show_required
def refresh(source_id: int):
    source = feeds.get_source(source_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        feeds.refresh_now(current_user, source)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - a broken import is shown on the page, not a bare 500
        current_app.logger.exception("importing feed %s failed", source_id)
        db.session.rollback()  # nothing of the half-done import stays
        source = feeds.get_source(source_id)
        feeds.record_failure(source, f"import failed: {type(error).__name__}: {error}")
        feeds.log_refresh(current_user, source)
        db.session.commit()
    if source.last_error:
        flash(f"The refresh of {source.url} failed: {source.last_error}", "error")
    else:
        flash(f"Refreshed {source.url}: {source.last_counts.get('summary') or source.last_status}.", "success")
    return redirect(url_for("admin_feeds.index", _anchor=f"feed-{source.id}"))


@bp.post("/<int:source_id>/deactivate")
@policy.show_required
def deactivate(source_id: int):
    source = feeds.get_source(source_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return press(lambda: feeds.deactivate(current_user, source), f"Feed {source.url} will no longer be refreshed.",
                 url_for("admin_feeds.index"))
