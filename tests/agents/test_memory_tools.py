"""The memory tools an agent keeps between turns and days: a key-value store, a scratchpad and a search of its own
notes — through `tool_call`, the policy in front as for every tool. The arena gives the same tools a memory per run."""

import pytest

from apps.agents.models import AgentMemory
from apps.agents.services import tool_call
from apps.agents.tools.registry import ToolContext
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def context(procurement_agent):
    return ToolContext(agent=procurement_agent)


def _call(context, name, **arguments):
    result = tool_call(context=context, name=name, arguments=arguments)
    assert result.ok, result.error
    return result.data


def test_a_value_is_remembered_until_replaced_or_forgotten_and_is_the_agents_own(context):
    _call(context, "memory_set", key="supplier:kanto", value="short twice; avoid")
    assert _call(context, "memory_get", key="supplier:kanto")["value"] == "short twice; avoid"
    _call(context, "memory_set", key="supplier:kanto", value="trusted again")
    assert _call(context, "memory_get")["keys"] == ["supplier:kanto"]
    other = ToolContext(agent=AgentFactory(name="別の仕入れAI", kind="procurement", persona=None))
    assert _call(other, "memory_get", key="supplier:kanto")["value"] is None
    _call(context, "memory_set", key="supplier:kanto", value="")
    assert _call(context, "memory_get")["keys"] == [] and not AgentMemory.objects.exists()


def test_the_scratchpad_appends_keeps_its_tail_and_is_out_of_the_key_values_reach(context):
    _call(context, "scratchpad_write", text="1日目: 緑茶がよく売れた", append=False)
    _call(context, "scratchpad_write", text="2日目: 関東格安問屋が6個足りない")
    assert _call(context, "scratchpad_read")["text"] == "1日目: 緑茶がよく売れた\n2日目: 関東格安問屋が6個足りない"
    _call(context, "scratchpad_write", text="x" * 2000, append=False)
    _call(context, "scratchpad_write", text="y" * 2000)
    _call(context, "scratchpad_write", text="z" * 10)
    assert len(_call(context, "scratchpad_read")["text"]) == 4000
    assert _call(context, "memory_get")["keys"] == []
    refused = tool_call(context=context, name="memory_set", arguments={"key": "_scratchpad", "value": "overwrite"})
    assert refused.rule == "invalid_arguments"


def test_notes_are_searched_newest_first_and_only_the_agents_own(context):
    _call(context, "write_note", text="丸山食品に値下げを打診")
    _call(context, "write_note", text="関東格安問屋: 納品不足")
    _call(context, "write_note", text="丸山食品: 5%引きで合意")
    found = _call(context, "search_notes", query="丸山")["notes"]
    assert [note["text"] for note in found] == ["丸山食品: 5%引きで合意", "丸山食品に値下げを打診"]
    other = ToolContext(agent=AgentFactory(name="別の仕入れAI", kind="procurement", persona=None))
    assert _call(other, "search_notes", query="丸山")["notes"] == []


def test_a_secret_is_not_kept_in_memory(context):
    # the key-shaped value is built at run time: no key-shaped literal in the code
    refused = tool_call(context=context, name="memory_set", arguments={"key": "api", "value": "sk-" + "memory" * 5})
    assert refused.rule == "secrets" and not AgentMemory.objects.exists()
