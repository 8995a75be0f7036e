"""Fixtures shared by the view tests."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from tests.views.test_smtp import Inbox, free_port


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (aiosmtpd): (controller, inbox of received mail)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
