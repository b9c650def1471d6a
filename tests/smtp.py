"""A real SMTP server on loopback for tests that send email: `from tests.smtp import smtp_server  # noqa: F401`.

The fixture points the app's MAIL_SERVER/MAIL_PORT at it and yields it; `smtp_server.messages`
holds what it accepted (parsed, with the envelope), addresses in `smtp_server.refuse` get a 550, and `stop()` / `start()` take it down and
bring it back on the same port, for tests of a mail server that is away.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options):
        if address in self.server.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self):
        self.port = free_port()
        self.messages: list[Received] = []
        self.refuse: set[str] = set()  # recipients answered with a permanent 550
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for received in self.messages:
            counts[received.message_id] = counts.get(received.message_id, 0) + 1
        return counts


@pytest.fixture
def smtp_server(app):
    server = SmtpServer()
    server.start()
    app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                      MAIL_USERNAME="", MAIL_PASSWORD="")
    yield server
    server.stop()
