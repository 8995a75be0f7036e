"""Password reset mail over a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import re
import socket

import pytest

from community.services import accounts


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_config(smtp):
    controller, _ = smtp
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port}


def test_reset_mail_arrives_and_its_link_works(client, factories, smtp):
    _, inbox = smtp
    factories.user("grace", email="grace@example.org")
    assert client.post("/auth/reset", data={"email": "GRACE@example.org"}).status_code == 302
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "grace@example.org"
    assert "Reset your GI Community password" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://localhost(/auth/reset/\S+)", body).group(1)
    new = "a long and unusual passphrase"
    assert client.post(link, data={"password": new, "confirm": new}).status_code == 302
    assert accounts.authenticate("grace", new).username == "grace"
