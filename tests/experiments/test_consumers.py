"""`/ws/experiments/<id>/`: only users who may run experiments (Managers), and progress reaches them."""

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from apps.experiments.models import Experiment, Run, Variant
from apps.experiments.services import run_execute
from vendbot.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def socket_for(user, experiment_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/experiments/{experiment_id}/")
    communicator.scope["user"] = user
    return communicator


@database_sync_to_async
def _experiment_with_a_queued_run() -> tuple[int, int]:
    experiment = Experiment.objects.create(name="ws", days=20, seed_count=1, status=Experiment.Status.RUNNING)
    variant = Variant.objects.create(experiment=experiment, name="heuristic")
    run = Run.objects.create(experiment=experiment, variant=variant, seed=1)
    return experiment.pk, run.pk


async def test_anonymous_visitors_and_staff_are_refused(staff_user):
    experiment_id, _run = await _experiment_with_a_queued_run()
    for user in (AnonymousUser(), staff_user):
        connected, code = await socket_for(user, experiment_id).connect()
        assert not connected and code == 4403


async def test_an_unknown_experiment_is_refused(manager_user):
    connected, code = await socket_for(manager_user, 999_999).connect()
    assert not connected and code == 4404


async def test_a_manager_sees_the_progress_and_the_finish_of_a_run(manager_user):
    experiment_id, run_id = await _experiment_with_a_queued_run()
    socket = socket_for(manager_user, experiment_id)
    connected, _ = await socket.connect()
    assert connected
    first = await socket.receive_json_from()
    assert first["type"] == "progress" and first["progress"]["runs"][0]["status"] == "queued"

    await database_sync_to_async(run_execute)(run_id=run_id)
    events = []
    while not (events and events[-1].get("type") == "experiment"):
        events.append(await socket.receive_json_from(timeout=5))
    progress = [e["days_done"] for e in events if e["type"] == "run" and e["status"] == "running"]
    assert progress == sorted(progress) and progress[0] > 0
    finished = next(e for e in events if e["type"] == "run" and e["status"] == "finished")
    assert finished["days_done"] == 20 and isinstance(finished["final_net_worth_yen"], int)
    assert events[-1]["status"] == "finished"
    await socket.disconnect()
