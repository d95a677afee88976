"""Progress of an experiment to its open pages: events go to the channel-layer group of that experiment."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def _send(experiment_id: int, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(experiment_group(experiment_id), {"type": "experiment.event", "event": event})
    except Exception:
        # The progress is in the database; a page that misses an event catches up from the next one.
        logger.exception("Could not broadcast progress of experiment %s", experiment_id)


def broadcast_on_commit(experiment_id: int, event: dict) -> None:
    transaction.on_commit(lambda: _send(experiment_id, event))
