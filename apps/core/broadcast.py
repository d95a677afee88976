"""Announcing a committed change to open pages through a channel-layer group, from synchronous code."""

import asyncio
import logging
import os
import threading
import weakref
from contextlib import contextmanager

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer

from apps.core.logging import dependency_errors, log_dependency_failure

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
    made: a page never sees an older state after a newer one. The messages for one group that wait for the same
    turn go out together, as one message of type `BATCH_TYPE` (receivers take them apart with `unbatched`): at a busy
    moment a group costs one channel-layer send per turn, not one per message. Never raises: what it announces is
    already stored and a page that misses it catches up later; a layer that is down is logged as one line per
    interval (not a traceback per call), anything else with its traceback."""
    layer = get_channel_layer()
    if layer is None or _paused.is_set():
        return
    loop = _calling_event_loop() or _background_loop()
    loop.call_soon_threadsafe(_queue, loop, layer, group, message, what)


BATCH_TYPE = "broadcast.batch"


def unbatched(message: dict) -> list[dict]:
    """The messages a group message stands for: those of a batch (`group_send_soon`), in order, or itself."""
    return message["messages"] if message.get("type") == BATCH_TYPE else [message]


class BatchedGroupMessages:
    """For a Channels consumer in a group that `group_send_soon` sends to: each message of a batch goes to its own
    handler, in order, as if it had come alone."""

    async def broadcast_batch(self, message: dict) -> None:
        for each in message["messages"]:
            await self.dispatch(each)


ORDER_WAIT_SECONDS = 1.0
# The last send started on each loop: the next one waits for it (the loop's own tasks are only weakly referenced).
_last_send: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()
# On each loop, the send still waiting for its turn per (layer, group), with the messages it will carry.
_waiting: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def _queue(loop: asyncio.AbstractEventLoop, layer, group: str, message: dict, what: str) -> None:
    """On `loop`'s thread: add `message` to the group's send still waiting for its turn, or start a send that waits
    for the one started before it on this loop."""
    waiting = _waiting.setdefault(loop, {})
    batch = waiting.get((layer, group))
    if batch is not None:
        batch.append((message, what))
        return
    batch = waiting[(layer, group)] = [(message, what)]
    _last_send[loop] = loop.create_task(_after(_last_send.get(loop), waiting, layer, group, batch))


async def _after(previous: asyncio.Task | None, waiting: dict, layer, group: str, batch: list) -> None:
    try:
        if previous is not None:
            # Its failure is already logged; only its end matters. A layer that hangs does not queue every later send
            # behind it: after ORDER_WAIT_SECONDS this one goes anyway (order is kept while the layer answers).
            await asyncio.wait([previous], timeout=ORDER_WAIT_SECONDS)
    finally:
        del waiting[(layer, group)]  # its turn (or its loop's end): later messages wait for the next one
    if len(batch) == 1:
        message, what = batch[0]
    else:
        message = {"type": BATCH_TYPE, "messages": [message for message, _what in batch]}
        what = f"{len(batch)} messages ({', '.join(sorted({what for _message, what in batch}))})"
    await _send_logged(layer, group, message, what)


async def _send_logged(layer, group: str, message: dict, what: str) -> None:
    try:
        await layer.group_send(group, message)
    except dependency_errors() as exc:
        log_dependency_failure("channel_layer", exc, action=f"broadcast {what}")
    except Exception:
        logger.exception("Could not broadcast %s", what)


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
