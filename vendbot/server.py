"""daphne with a graceful stop: `python -m vendbot.server [daphne's options] vendbot.asgi:application`.

Plain daphne, on SIGTERM, cancels every request still running and drops every socket. This one drains instead
(SIGTERM or SIGINT):

1. it stops accepting connections and `/readyz` answers 503 (`draining`), so a load balancer sends no more;
2. every open WebSocket is closed with code 1012 (*Service Restart*); the tablet, dashboard and experiments pages
   reconnect at once on that code, and the balancer puts them on another process;
3. the HTTP requests already running finish and get their answers, for at most `SHUTDOWN_DRAIN_SECONDS`;
4. then the server stops as daphne does (exit status 0). A second signal, or the drain time running out, stops it at
   once with status 1; a purchase cut off that way is settled by the reconciler, as after a crash.

Kubernetes' `terminationGracePeriodSeconds` must be longer than the preStop sleep plus `SHUTDOWN_DRAIN_SECONDS`.

Its requests also skip Twisted's form parsing, which daphne leaves on and never reads (`BodyAsIsRequest`), and its
TCP connections send a write at once when nothing is queued (`SendAtOnceServer`).
"""

import logging
import os
import signal
import sys
import time

from daphne import http_protocol
from daphne.cli import CommandLineInterface
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor, tcp

logger = logging.getLogger("vendbot.server")

# RFC 6455's registry: 1012 Service Restart ("the service is restarted; a client may reconnect").
SERVICE_RESTART = 1012
DRAIN_POLL_SECONDS = 0.1


class BodyAsIsRequest(WebRequest):
    """daphne's request with Twisted's form parsing off. daphne hands the body to the application as it came (Django
    parses forms itself), yet left Twisted parsing it too: the Content-Type of every POST went through the email
    package (0.41 M instructions, 6 % of a purchase's CPU; docs/performance.md), a form was parsed twice, and a
    malformed multipart body got Twisted's bare 400 and a dropped connection instead of the application's answer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "parsePOSTFormSubmission": False})


class SendAtOnceServer(tcp.Server):
    """Twisted's TCP server connection, sending a write straight away when nothing is queued before it. Twisted queues
    every write and sends it on the reactor's next turn, and on the asyncio reactor that costs an epoll registration,
    a callback and an unregistration per write: a sale sent to 500 dashboard sockets spent about 60 % of its CPU on
    them (docs/performance.md). What the socket does not take at once (a full send buffer, a slow reader) is queued
    as before, behind which every later write waits; so is a write after an error, for Twisted's own write to report
    the lost connection. TLS connections keep Twisted's path (daphne serves plain TCP behind the ingress)."""

    def write(self, data: bytes) -> None:
        if data and self._may_send_now():
            sent = self.writeSomeData(data)
            if isinstance(sent, int):  # else the connection is lost: Twisted's write below reports it
                data = data[sent:]
        super().write(data)

    def _may_send_now(self) -> bool:
        queued = self.dataBuffer or self._tempDataBuffer
        return self.connected and not (self.TLS or self._writeDisconnected or queued)


class GracefulServer(Server):
    def __init__(self, *args, **kwargs):
        # Our own SIGTERM/SIGINT handlers replace Twisted's (which stop the reactor at once).
        super().__init__(*args, **{**kwargs, "signal_handlers": False})
        self.ports = []
        self.draining = False

    def run(self):
        # daphne's HTTP factory gives each connection the request class its module names.
        http_protocol.WebRequest = BodyAsIsRequest
        # Twisted's TCP port makes each connection of the class it names.
        tcp.Port.transport = SendAtOnceServer
        reactor.callWhenRunning(self.install_signal_handlers)
        super().run()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum, frame) -> None:
        reactor.callFromThread(self.drain, signal.Signals(signum).name)

    def listen_success(self, port):
        self.ports.append(port)
        super().listen_success(port)

    def drain(self, reason: str) -> None:
        if self.draining:
            logger.info("second %s: stopping now", reason)
            exit_now()
        from django.conf import settings

        from apps.core.health import mark_draining

        self.draining = True
        mark_draining()
        for port in self.ports:
            port.stopListening()
        sockets = [p for p in self.connections if isinstance(p, WebSocketProtocol) and p.state == p.STATE_OPEN]
        for protocol in sockets:
            protocol.sendCloseFrame(code=SERVICE_RESTART, reasonUtf8=b"server restarting")
        logger.info(
            "%s: draining %d request(s), closed %d socket(s) with %d",
            reason,
            len(self.requests_running()),
            len(sockets),
            SERVICE_RESTART,
        )
        self.wait_for_requests(time.monotonic() + settings.SHUTDOWN_DRAIN_SECONDS)

    def requests_running(self) -> list:
        return [
            p for p, details in self.connections.items() if isinstance(p, WebRequest) and "disconnected" not in details
        ]

    def wait_for_requests(self, deadline: float) -> None:
        running = self.requests_running()
        if running and time.monotonic() < deadline:
            reactor.callLater(DRAIN_POLL_SECONDS, self.wait_for_requests, deadline)
            return
        if running:
            logger.warning("drain time over: stopping with %d request(s) still running", len(running))
            exit_now()
        logger.info("drained: every request answered, stopping")
        self.stop()


class GracefulCommandLine(CommandLineInterface):
    server_class = GracefulServer


def exit_now() -> None:
    """Stop with requests still running: daphne's own stop would wait for their threads (a cancelled request's
    thread runs on), so leave at once, status 1. A purchase cut off is settled by the reconciler, as after a crash."""
    logging.shutdown()
    os._exit(1)


def main() -> None:
    GracefulCommandLine().run(sys.argv[1:])


if __name__ == "__main__":
    main()
