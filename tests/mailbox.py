"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd, in a thread of its own): it keeps
every mail it is given, parsed, and can be told to refuse some (451) to test retries."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["Inbox", "local_inbox"]


@dataclass
class Inbox:
    """What the local SMTP server took; `refuse` makes it answer 451 to that many mails."""

    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append(parsed)
        return "250 OK"

    def wait_sync(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block (a thread-using test) until `count` mails are in."""
        deadline = time.monotonic() + timeout
        while len(self.mails) < count:
            assert time.monotonic() < deadline, f"expected {count} mails, got {len(self.mails)}"
            time.sleep(0.02)
        return self.mails


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_inbox() -> Iterator[Inbox]:
    box = Inbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
