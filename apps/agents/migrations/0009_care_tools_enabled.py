"""Shopkeepers already installed get the customer-care tools (new agents get every tool of their kind)."""

from django.db import migrations

CARE_TOOLS = ["open_case", "refund_undispensed"]


def enable(apps, schema_editor):
    Agent = apps.get_model("agents", "Agent")
    for agent in Agent.objects.filter(kind="shopkeeper"):
        agent.enabled_tools = list(dict.fromkeys([*agent.enabled_tools, *CARE_TOOLS]))
        agent.save(update_fields=["enabled_tools"])


def disable(apps, schema_editor):
    Agent = apps.get_model("agents", "Agent")
    for agent in Agent.objects.filter(kind="shopkeeper"):
        agent.enabled_tools = [name for name in agent.enabled_tools if name not in CARE_TOOLS]
        agent.save(update_fields=["enabled_tools"])


class Migration(migrations.Migration):
    dependencies = [("agents", "0008_care_cases")]

    operations = [migrations.RunPython(enable, disable, elidable=True)]
