"""The web server's TCP connections (vendbot/server.py's `SendAtOnceServer`): a write reaches the peer at once, and
what the socket cannot take yet still arrives, in order, once the reactor gets to it. Run on a real socket pair and
a Twisted reactor of the test's own (never installed, never run: the test turns it by hand)."""

import socket

from twisted.internet.protocol import Protocol
from twisted.internet.selectreactor import SelectReactor

from vendbot.server import SendAtOnceServer

SMALL_BUFFER = 4096


def connection() -> tuple[SendAtOnceServer, socket.socket, SelectReactor]:
    server_side, peer = socket.socketpair()
    server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    reactor = SelectReactor()
    transport = SendAtOnceServer(server_side, Protocol(), ("127.0.0.1", 1), None, 1, reactor)
    return transport, peer, reactor


def read_available(peer: socket.socket) -> bytes:
    peer.setblocking(False)
    received = b""
    while True:
        try:
            chunk = peer.recv(65536)
        except BlockingIOError:
            return received
        received += chunk


def test_a_write_reaches_the_peer_without_waiting_for_the_reactor():
    transport, peer, reactor = connection()

    transport.write(b'{"type": "sale"}')

    assert read_available(peer) == b'{"type": "sale"}'
    assert transport not in reactor.getWriters()  # nothing left for the reactor to do


def test_what_the_socket_cannot_take_yet_arrives_later_in_order_behind_which_later_writes_wait():
    transport, peer, reactor = connection()
    big = bytes(range(256)) * 4096  # 1 MiB, far more than both buffers hold

    transport.write(big)
    transport.write(b"after")  # queued behind the rest of `big`, not sent ahead of it

    assert transport in reactor.getWriters()
    received = read_available(peer)
    while transport in reactor.getWriters():
        reactor.doIteration(0.1)
        received += read_available(peer)
    assert received == big + b"after"


def test_a_write_to_a_peer_that_is_gone_is_reported_as_a_lost_connection_not_raised():
    transport, peer, reactor = connection()
    lost = []
    transport.protocol.connectionLost = lost.append
    peer.close()

    transport.write(b"first")  # may still be accepted by the kernel
    transport.write(b"second")
    while transport in reactor.getWriters():
        reactor.doIteration(0.1)

    assert lost and not transport.connected
