"""Progress of an experiment to its open pages: events go to the channel-layer group of that experiment."""

from django.db import transaction

from apps.core.broadcast import group_send_soon


def experiment_group(experiment_id: int) -> str:
    return f"experiment-{experiment_id}"


def _send(experiment_id: int, event: dict) -> None:
    # The progress is in the database; a page that misses an event catches up from the next one.
    message = {"type": "experiment.event", "event": event}
    group_send_soon(experiment_group(experiment_id), message, what=f"progress of experiment {experiment_id}")


def broadcast_on_commit(experiment_id: int, event: dict) -> None:
    transaction.on_commit(lambda: _send(experiment_id, event))
