from celery import shared_task

from apps.agents.models import Agent
from apps.agents.procurement import purchase_orders_explain
from apps.agents.selectors import purchase_orders_unexplained


@shared_task(name="agents.purchase_orders_explain", ignore_result=True, acks_late=True)
def explain_purchase_orders():
    """After the morning planning run: each procurement agent on a model explains the waiting proposals."""
    for agent in Agent.objects.filter(kind=Agent.Kind.PROCUREMENT, provider=Agent.Provider.ANTHROPIC).order_by("id"):
        if agent.is_callable:
            purchase_orders_explain(agent=agent, orders=purchase_orders_unexplained())
