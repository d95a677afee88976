"""Announcing a committed change to open pages through a channel-layer group, from synchronous code."""

import logging
import threading
from contextlib import contextmanager

from asgiref.sync import async_to_sync
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


def group_send_logged(group: str, message: dict, *, what: str) -> None:
    """Send `message` to `group`. Never raises: what it announces is already stored and a page that misses it catches
    up later. A channel layer that is down is logged as one line per interval (not a traceback per call), anything
    else with its traceback."""
    if _paused.is_set():
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except DEPENDENCY_ERRORS as exc:
        log_dependency_failure("channel_layer", exc, action=f"broadcast {what}")
    except Exception:
        logger.exception("Could not broadcast %s", what)
