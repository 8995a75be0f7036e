"""Outgoing mail, always through the job queue: send() writes a "mail.send" job in the
caller's transaction (the caller commits), so a mail leaves if and only if the change that
caused it committed, a slow mail server never holds a request, and a refusal is retried.

SMTP via MAIL_SERVER (MAIL_USE_SSL for SMTPS, MAIL_USE_TLS for STARTTLS); without it the
mail is printed on standard output, where the person running `make run` reads it.

The standard library's email package, not Flask-Mailman: what we need beyond it is four
headers (Date, Message-ID, List-Unsubscribe, List-Unsubscribe-Post) and two connection
options, a few lines each; Flask-Mailman would bring Django's mail API and connection
classes for the same result, and its delivery would still have to be wrapped in a job.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask import current_app

from community import config as settings
from community.models.base import utcnow
from community.services import jobs


class _Stdout(logging.StreamHandler):
    """Whatever sys.stdout is at the time of writing (a test's capture, a terminal)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


# Mail without a server goes to the terminal, readable, once (not also as a log line);
# under TESTING the record propagates too, where tests read links from the log capture.
printed = logging.getLogger("community.mail")
printed.setLevel(logging.INFO)
if not printed.handlers:
    printed.addHandler(_Stdout())


# Long headers (a List-Unsubscribe URL with its token) stay plain ASCII on one line (up to
# RFC 5322's 998 characters): folded, the default policy would encode the URL (RFC 2047),
# and mail clients would not find it.
HEADERS_UNFOLDED = policy.default.clone(max_line_length=998)


def mail_domain() -> str:
    """The site's host name: Message-IDs say which site made them."""
    address = settings.public_url(current_app.config)
    return (urlsplit(address).hostname if address else None) or "localhost"


def new_message_id() -> str:
    return make_msgid(domain=mail_domain())


def send(to: str, subject: str, text: str, html: str | None = None, *, headers: dict[str, str] | None = None) -> None:
    """Queue a mail in the current transaction (it leaves after the commit). Its Message-ID
    is fixed now: a retry sends the same message, which receivers can recognise."""
    jobs.enqueue("mail.send", to=to, subject=subject, text=text, html=html,
                 headers={"Message-ID": new_message_id(), **(headers or {})})


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to the URL."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@jobs.handler("mail.send", max_attempts=6)
def deliver(to: str, subject: str, text: str, html: str | None = None, headers: dict[str, str] | None = None) -> None:
    """Send one mail now (jobs call this; everything else calls send())."""
    config = current_app.config
    message = EmailMessage(policy=HEADERS_UNFOLDED)
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    headers = dict(headers or {})
    message["Message-ID"] = headers.pop("Message-ID", None) or new_message_id()
    for name, value in headers.items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if not config.get("MAIL_SERVER"):
        printed.propagate = current_app.testing
        shown = "\n".join(f"{name}: {message[name]}" for name in (
            "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe") if message[name])
        printed.info("----- mail (no MAIL_SERVER set, so printed here) -----\n%s\n\n%s\n----- end of mail -----",
                     shown, text.rstrip())
        return
    timeout = config.get("MAIL_TIMEOUT", 10)
    if config.get("MAIL_USE_SSL"):
        connection = smtplib.SMTP_SSL(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout,
                                      context=ssl.create_default_context(cafile=config.get("MAIL_CA_FILE")))
    else:
        connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    with connection as smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context(cafile=config.get("MAIL_CA_FILE")))
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
