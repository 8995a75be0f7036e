"""The job outbox in-process (TESTING runs jobs as their transaction commits), mail headers,
the one-click unsubscribe of RFC 8058, and /admin/jobs. The real worker process (SIGKILL,
retries against a refusing mail server) is tests/reliability/test_job_worker.py."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
import re
import shutil
import ssl
import subprocess
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, Job, JobStatus, NotificationKind, Role, User
from community.models.base import utcnow
from community.services import jobs, mail, notifications
from tests.views.test_smtp import Inbox, free_port

PUBLIC = "http://community.example.org"


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[0].port, "PUBLIC_URL": PUBLIC,
            "HOST_ALIASES": "localhost", "SERVER_NAME": None}


@pytest.fixture
def episode(factories):
    return factories.episode(1, "An episode")


def job_count(**where) -> int:
    return db.session.scalar(select(func.count(Job.id)).filter_by(**where))


def text_part(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()


# ---------------------------------------------------------------- a job iff its transaction committed

def test_a_rolled_back_transaction_leaves_no_job_and_sends_nothing(app, smtp):
    _, inbox = smtp
    mail.send("grace@example.org", "Never sent", "This transaction rolls back.")
    assert job_count() == 1  # written in the transaction...
    db.session.rollback()
    assert job_count() == 0  # ...and gone with it
    db.session.commit()  # a later commit of the same session hands over nothing left from before
    assert inbox.messages == []


def test_a_committed_transaction_leaves_exactly_one_job_and_one_mail(app, smtp):
    _, inbox = smtp
    mail.send("grace@example.org", "Sent once", "This one commits.")
    db.session.commit()
    [job] = db.session.scalars(select(Job)).all()
    assert (job.name, job.status, job.attempts) == ("mail.send", JobStatus.done, 1)
    assert [m["Subject"] for m in inbox.messages] == ["Sent once"]
    assert jobs.claim(job.id) is None  # done: it never runs again
    db.session.commit()
    assert len(inbox.messages) == 1


def test_a_reply_that_fails_to_save_mails_nobody(app, factories, login, episode, smtp):
    """A request that refuses after the notification would have been written: no job, no mail."""
    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob")
    top = factories.comment(bob, episode)
    browser = login(ada, the_client=app.test_client())
    assert browser.post(f"/posts/{top.id}/reply", data={"body": ""}).status_code == 422
    assert job_count() == 0 and inbox.messages == []
    assert browser.post(f"/posts/{top.id}/reply", data={"body": "A real reply."}).status_code == 302
    assert job_count(name="notifications.email", status=JobStatus.done) == 1
    assert [m["To"] for m in inbox.messages] == [bob.email]


def test_handlers_take_ids_and_unknown_names_are_refused(app):
    with pytest.raises(LookupError):
        jobs.enqueue("no.such.job", thing=1)
    assert job_count() == 0


def test_a_failing_job_is_retried_with_backoff_then_fails_for_the_console(app, smtp):
    controller, inbox = smtp
    original = inbox.handle_DATA

    async def refuse(server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        return "451 try again later"

    inbox.handle_DATA = refuse
    mail.send("grace@example.org", "Refused", "The server says later.")
    db.session.commit()
    job = db.session.scalars(select(Job)).one()
    assert job.status == JobStatus.queued and job.attempts == 1 and "try again later" in job.last_error
    seen = jobs.overview()
    assert seen.counts[JobStatus.queued] == 1 and seen.retried == 1 and seen.retrying == [job]
    first_wait = (job.run_after - job.finished_at).total_seconds()
    assert 9 <= first_wait <= 11  # the first backoff step: 10 s
    # Each later attempt waits longer (the schedule), and the last one fails for good.
    assert [jobs.backoff_seconds(n) for n in range(1, 7)] == [10, 60, 300, 1800, 3600, 3600]
    job.run_after, job.max_attempts = job.created_at, 2
    db.session.commit()
    app.extensions["jobs"].run(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.failed and job.attempts == 2
    assert jobs.overview().failed == [job] and jobs.overview().counts[JobStatus.failed] == 1
    inbox.handle_DATA = original
    assert inbox.messages == []


def test_the_relay_takes_back_lost_hand_overs_and_stale_leases_once(app):
    """What a crash leaves: a committed job never handed over (its process died after the
    commit) and jobs left running by a dead worker. The relay hands each over again once
    per lease; a stale job with no attempt left fails, with the reason."""
    now = utcnow()
    lost = Job(name="mail.send", args={}, run_after=now - timedelta(seconds=60))
    fresh = Job(name="mail.send", args={}, run_after=now)  # just committed: its hand-over is on its way
    stale = Job(name="mail.send", args={}, status=JobStatus.running, attempts=1, started_at=now - timedelta(seconds=700))
    spent = Job(name="mail.send", args={}, status=JobStatus.running, attempts=5, max_attempts=5,
                started_at=now - timedelta(seconds=700))
    alive = Job(name="mail.send", args={}, status=JobStatus.running, attempts=1, started_at=now - timedelta(seconds=5))
    db.session.add_all([lost, fresh, stale, spent, alive])
    db.session.commit()
    handed = jobs.relay(grace_seconds=30, lease_seconds=600)
    db.session.commit()
    assert sorted(job_id for job_id, _ in handed) == sorted([lost.id, stale.id])
    assert (stale.status, stale.attempts) == (JobStatus.queued, 1) and "worker stopped" in stale.last_error
    assert spent.status == JobStatus.failed and alive.status == JobStatus.running and fresh.relayed_at is None
    assert jobs.relay(grace_seconds=30, lease_seconds=600) == []  # not again before another lease has passed


# ---------------------------------------------------------------- headers

def test_every_mail_has_date_and_a_message_id_of_the_site(app, factories, smtp):
    _, inbox = smtp
    mail.send("grace@example.org", "Plain", "Hello")
    db.session.commit()
    [message] = inbox.messages
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[^<>@\s]+@community\.example\.org>", message["Message-ID"])
    assert parseaddr(message["To"])[1] == "grace@example.org"
    assert message["List-Unsubscribe"] is None  # a password reset is not a list


def test_notification_and_digest_mail_carry_one_click_unsubscribe(app, factories, login, episode, smtp):
    _, inbox = smtp
    ada = factories.user("ada")
    bob, cyd = factories.user("bob", email="bob@example.org"), factories.user("cyd", email="cyd@example.org")
    cyd.email_prefs = {"reply": "daily"}
    db.session.commit()
    for reader in (bob, cyd):
        top = factories.comment(reader, episode)
        login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "Hello $x^2$"})
    assert app.test_cli_runner().invoke(args=["notifications", "send-digests"]).exit_code == 0
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"bob@example.org", "cyd@example.org"}
    for message in by_to.values():
        raw = message.as_bytes(policy=email.policy.compat32.clone(max_line_length=0))  # as received
        unsubscribe = [line for line in raw.split(b"\n\n")[0].split(b"\n") if line.startswith(b"List-Unsubscribe")]
        assert unsubscribe and not [line for line in unsubscribe if b"=?" in line]  # not encoded (RFC 2047): clients read the URL
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsedate_to_datetime(parsed["Date"]) is not None
        assert parsed["Message-ID"].endswith("@community.example.org>")
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<http://community\.example\.org/notifications/unsubscribe/\S+>", parsed["List-Unsubscribe"])
    # A notification's header stops its kind, the same link as in its text; a digest's stops the digest.
    assert by_to["bob@example.org"]["List-Unsubscribe"].strip("<>") in text_part(by_to["bob@example.org"])
    # The header's URL, POSTed as a mail client does (no cookie, no CSRF token), unsubscribes.
    bob_url = by_to["bob@example.org"]["List-Unsubscribe"].strip("<>").removeprefix(PUBLIC)
    assert app.test_client().post(bob_url, data={"List-Unsubscribe": "One-Click"}, csrf=False).status_code == 200
    cyd_url = by_to["cyd@example.org"]["List-Unsubscribe"].strip("<>").removeprefix(PUBLIC)
    assert app.test_client().post(cyd_url, data={"List-Unsubscribe": "One-Click"}, csrf=False).status_code == 200
    db.session.expire_all()
    assert notifications.email_mode(db.session.get(User, bob.id), NotificationKind.reply) == "none"
    assert notifications.email_mode(db.session.get(User, cyd.id), NotificationKind.reply) == "none"  # the digest's kinds
    assert notifications.email_mode(db.session.get(User, cyd.id), NotificationKind.mention) == "immediately"


def test_one_click_unsubscribe_works_without_csrf_or_session_and_nothing_else_does(app, factories):
    bob = factories.user("bob")
    url = f"/notifications/unsubscribe/{notifications.unsubscribe_token(bob, NotificationKind.reply)}"
    stranger = app.test_client()

    def mode() -> str:
        db.session.expire_all()
        return notifications.email_mode(db.session.get(User, bob.id), NotificationKind.reply)

    # Without the one-click body, a POST needs the page's CSRF token, as every form does.
    for body in ({}, {"List-Unsubscribe": "yes"}, {"unsubscribe": "One-Click"}):
        response = stranger.post(url, data=body, csrf=False)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert stranger.post(url, json={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert mode() == "immediately"
    # The exemption is this route's one-click body only: other forms still want the token.
    assert stranger.post("/notifications/settings", data={"List-Unsubscribe": "One-Click", "reply": "none"},
                         csrf=False).status_code == 400
    assert stranger.post("/auth/reset", data={"List-Unsubscribe": "One-Click", "email": bob.email},
                         csrf=False).status_code == 400
    # A forged token is refused, one-click or not.
    assert stranger.post("/notifications/unsubscribe/forged", data={"List-Unsubscribe": "One-Click"},
                         csrf=False).status_code == 404
    assert mode() == "immediately"
    # The RFC 8058 POST: no cookie, no token, multipart or urlencoded.
    response = stranger.post(url, data={"List-Unsubscribe": "One-Click"}, csrf=False,
                             content_type="multipart/form-data")
    assert response.status_code == 200 and "Unsubscribed" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "session=" not in response.headers.get("Set-Cookie", "")
    assert mode() == "none"
    # The page's own button (with its CSRF token) still works too.
    assert "Unsubscribed" in app.test_client().post(url).get_data(as_text=True)


def test_without_a_mail_server_mail_is_printed_for_the_developer(app, capsys):
    app.config["MAIL_SERVER"] = None
    mail.send("grace@example.org", "Your link", "Open https://community.example.org/auth/reset/abc to go on.")
    db.session.commit()
    out = capsys.readouterr().out
    assert "To: grace@example.org" in out and "Subject: Your link" in out
    assert "https://community.example.org/auth/reset/abc" in out and "Message-ID: <" in out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the mail server's certificate")
@pytest.mark.parametrize("mode", ["MAIL_USE_TLS", "MAIL_USE_SSL"])
def test_mail_goes_over_starttls_or_smtps_and_checks_the_certificate(app, tmp_path, mode):
    """STARTTLS (the server refuses mail before it) and SMTPS, with the certificate verified
    against MAIL_CA_FILE; an untrusted certificate is a failed (retried) attempt, not a send."""
    from aiosmtpd.controller import Controller

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    tls = {"tls_context": context, "require_starttls": True} if mode == "MAIL_USE_TLS" else {"ssl_context": context}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    try:
        app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, mode: True, "MAIL_CA_FILE": None})
        mail.send("grace@example.org", "Untrusted", "The certificate is not trusted: not sent.")
        db.session.commit()
        assert inbox.messages == []
        assert "CERTIFICATE_VERIFY_FAILED" in db.session.scalars(select(Job)).one().last_error
        app.config["MAIL_CA_FILE"] = str(cert)
        mail.send("grace@example.org", "Over TLS", "Sealed.")
        db.session.commit()
        assert [m["Subject"] for m in inbox.messages] == ["Over TLS"]
    finally:
        controller.stop()


# ---------------------------------------------------------------- /admin/jobs

@pytest.fixture
def failed_job(app):
    job = Job(name="mail.send", args={"to": "grace@example.org", "subject": "Again", "text": "Retried by hand."},
              status=JobStatus.failed, attempts=6, max_attempts=6, last_error="smtplib.SMTPDataError: (554, b'no')")
    db.session.add(job)
    db.session.commit()
    return job


@pytest.mark.parametrize(("role", "expected"), [
    (None, 302), (Role.member, 403), (Role.researcher, 403), (Role.guest, 403), (Role.moderator, 403),
    (Role.host, 403), (Role.admin, 200)])
def test_who_sees_the_jobs_page(app, factories, login, role, expected, failed_job):
    browser = app.test_client() if role is None else login(factories.user(f"u_{role.value}", role=role),
                                                           the_client=app.test_client())
    response = browser.get("/admin/jobs/")
    assert response.status_code == expected
    if role is None:
        assert "/auth/login" in response.headers["Location"]
    if expected == 200:
        page = response.get_data(as_text=True)
        assert "SMTPDataError" in page and "6 of 6" in page and "Retry" in page


@pytest.mark.parametrize("role", [None, Role.member, Role.moderator, Role.host])
def test_only_admins_retry(app, factories, login, role, failed_job):
    browser = app.test_client() if role is None else login(factories.user(f"u_{role.value}", role=role),
                                                           the_client=app.test_client())
    assert browser.post(f"/admin/jobs/{failed_job.id}/retry").status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Job, failed_job.id).status == JobStatus.failed
    assert db.session.scalar(select(func.count(AdminLogEntry.id))) == 0


def test_retry_needs_the_csrf_token(app, factories, login, failed_job, smtp):
    _, inbox = smtp
    admin = login(factories.user("root", role=Role.admin), the_client=app.test_client())
    assert admin.post(f"/admin/jobs/{failed_job.id}/retry", csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.get(Job, failed_job.id).status == JobStatus.failed and inbox.messages == []


def test_an_admin_retries_a_failed_job_and_the_log_says_so(app, factories, login, failed_job, smtp):
    _, inbox = smtp
    root = factories.user("root", role=Role.admin)
    admin = login(root, the_client=app.test_client())
    response = admin.post(f"/admin/jobs/{failed_job.id}/retry", follow_redirects=True)
    assert response.status_code == 200 and f"Job {failed_job.id} is queued again." in response.get_data(as_text=True)
    db.session.expire_all()
    job = db.session.get(Job, failed_job.id)
    assert job.status == JobStatus.done and job.attempts == 7  # one more attempt, and it went through
    assert [m["Subject"] for m in inbox.messages] == ["Again"]
    [entry] = db.session.scalars(select(AdminLogEntry)).all()
    assert (entry.actor_id, entry.action, entry.target_id) == (root.id, "job.retry", str(job.id))
    # A done job cannot be retried: said, and nothing changes.
    again = admin.post(f"/admin/jobs/{failed_job.id}/retry", follow_redirects=True)
    assert "only failed jobs can be retried" in again.get_data(as_text=True)
    assert len(inbox.messages) == 1 and db.session.scalar(select(func.count(AdminLogEntry.id))) == 1
    assert "No such job." in admin.post("/admin/jobs/999999/retry", follow_redirects=True).get_data(as_text=True)
