from django.db import migrations

TOOL = "product_allergens"


def enable_for_agents(apps, schema_editor):
    """Every agent answering customers gets the allergen tool: without it, the assistant would have no data to answer
    allergen questions from."""
    Agent = apps.get_model("agents", "Agent")
    for agent in Agent.objects.all():
        if TOOL not in agent.enabled_tools:
            agent.enabled_tools = [*agent.enabled_tools, TOOL]
            agent.save(update_fields=["enabled_tools"])


class Migration(migrations.Migration):
    dependencies = [("agents", "0009_care_tools_enabled")]

    operations = [migrations.RunPython(enable_for_agents, migrations.RunPython.noop, elidable=True)]
