"""Notifications written by a request are emailed after its commit, never for one that rolls
back. services.notifications.notify lists the new ids in session.info["notifications_to_mail"];
the listeners here send them (services.notifications.deliver) once the transaction commits.
This module sits above the services because it reads the request (where the reader came from)."""

from __future__ import annotations

import threading

from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event

from community import config
from community.extensions import db
from community.services import notifications

PENDING = "notifications_to_mail"  # the session.info key notifications.notify fills


def init_app(app: Flask) -> None:
    """Listen on the session's commits and rollbacks. Session events belong to the session
    class, shared by every app of the process: listen once, whatever the number of apps."""
    if not event.contains(db.session, "after_commit", mail_new_notifications):
        event.listen(db.session, "after_commit", mail_new_notifications)
        event.listen(db.session, "after_rollback", forget_unsent)


def mail_new_notifications(session) -> None:
    """In a thread so a slow SMTP server never holds the request (MAIL_ASYNC=False in tests: right away)."""
    ids = session.info.pop(PENDING, None)
    if not ids or not has_app_context():
        return
    flask_app = current_app._get_current_object()
    # Links in the mail point where the reader came from (or PUBLIC_URL outside a request).
    base_url = (request.host_url if has_request_context()
                else config.public_url(flask_app.config) or "http://127.0.0.1:5000")

    def work():
        # A fresh app context: a session of its own (this one has just committed).
        with flask_app.app_context(), flask_app.test_request_context(base_url=base_url):
            notifications.deliver(ids)

    if flask_app.config["MAIL_ASYNC"]:
        threading.Thread(target=work, daemon=True, name="notification-mail").start()
    else:
        work()


def forget_unsent(session) -> None:
    session.info.pop(PENDING, None)
