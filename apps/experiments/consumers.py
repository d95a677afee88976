"""`/ws/experiments/<id>/`: progress of one experiment's runs, for users who may run experiments (Managers)."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.core.broadcast import BatchedGroupMessages
from apps.experiments.live import experiment_group
from apps.experiments.models import Experiment
from apps.experiments.selectors import experiment_progress

RUN_EXPERIMENTS = "core.run_experiments"
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _may_run(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(RUN_EXPERIMENTS))


@database_sync_to_async
def _progress(experiment_id: int) -> dict | None:
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    return experiment_progress(experiment=experiment) if experiment else None


class ExperimentProgressConsumer(BatchedGroupMessages, AsyncJsonWebsocketConsumer):
    group = ""

    async def connect(self):
        if not await _may_run(self.scope.get("user")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        experiment_id = self.scope["url_route"]["kwargs"]["experiment_id"]
        progress = await _progress(experiment_id)
        if progress is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = experiment_group(experiment_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "progress", "progress": progress})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def experiment_event(self, message):
        await self.send_json(message["event"])
