"""Announcing a committed change to open pages through a channel-layer group, from synchronous code."""

import asyncio
import logging
import os
import threading
import weakref
from contextlib import contextmanager

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer

from apps.core.logging import DEPENDENCY_ERRORS, log_dependency_failure

logger = logging.getLogger(__name__)
# Process-wide, not per context: a send may happen on another thread than the change it announces.
_paused = threading.Event()


@contextmanager
def broadcasts_paused():
    """Announce nothing inside: what `seed_demo` writes into the past is not news for the pages open now."""
    _paused.set()
    try:
        yield
    finally:
        _paused.clear()


def group_send_soon(group: str, message: dict, *, what: str) -> None:
    """Hand `message` for `group` to an event loop and return at once, without waiting for the channel layer (a
    request's response does not wait for its broadcast). Under daphne the loop is the server's own, the one the
    consumers receive on; elsewhere (a Celery worker, a management command, a test without a loop) it is a loop on
    a daemon thread of this process. Sends handed to one loop go out one after another, in the order they were
    made: a page never sees an older state after a newer one. Never raises: what it announces is already stored and
    a page that misses it catches up later; a layer that is down is logged as one line per interval (not a traceback
    per call), anything else with its traceback."""
    layer = get_channel_layer()
    if layer is None or _paused.is_set():
        return
    loop = _calling_event_loop() or _background_loop()
    loop.call_soon_threadsafe(_start, loop, _send_logged(layer, group, message, what))


async def _send_logged(layer, group: str, message: dict, what: str) -> None:
    try:
        await layer.group_send(group, message)
    except DEPENDENCY_ERRORS as exc:
        log_dependency_failure("channel_layer", exc, action=f"broadcast {what}")
    except Exception:
        logger.exception("Could not broadcast %s", what)


ORDER_WAIT_SECONDS = 1.0
# The last send started on each loop: the next one waits for it (the loop's own tasks are only weakly referenced).
_last_send: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()


def _start(loop: asyncio.AbstractEventLoop, coroutine) -> None:
    """On `loop`'s thread: run `coroutine` once the send started before it on this loop is done."""
    _last_send[loop] = loop.create_task(_after(_last_send.get(loop), coroutine))


async def _after(previous: asyncio.Task | None, coroutine) -> None:
    if previous is not None:
        # Its failure is already logged; only its end matters. A layer that hangs does not queue every later send
        # behind it: after ORDER_WAIT_SECONDS this one goes anyway (order is kept while the layer answers).
        await asyncio.wait([previous], timeout=ORDER_WAIT_SECONDS)
    await coroutine


def _calling_event_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose `sync_to_async` runs this thread (daphne's, for a request), if any."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


_background = {"pid": None, "loop": None}
_background_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """This process's own broadcasting loop on a daemon thread, started on first use (again after a fork)."""
    with _background_lock:
        if _background["pid"] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="broadcast-loop", daemon=True).start()
            _background.update(pid=os.getpid(), loop=loop)
        return _background["loop"]
