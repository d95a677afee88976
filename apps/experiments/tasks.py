"""One task per run, so the runs of an experiment spread over the workers."""

from celery import shared_task

from apps.experiments import services

# A long LLM run may take many minutes; the simulator's baselines finish a year in well under a second.
RUN_TIME_LIMITS = {"soft_time_limit": 3 * 3600, "time_limit": 3 * 3600 + 60}


@shared_task(name="experiments.run_execute", ignore_result=True, acks_late=True, **RUN_TIME_LIMITS)
def run_execute(run_id: int) -> None:
    services.run_execute(run_id=run_id)
