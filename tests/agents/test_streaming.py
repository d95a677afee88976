"""`agent_turn_stream`: filtered pieces of the reply as they arrive, then one `TurnDone` with the whole reply."""

from asgiref.sync import async_to_sync

from apps.agents.models import AgentTurn
from apps.agents.providers.base import ChatMessage
from apps.agents.runtime import TextDelta, TurnDone, agent_turn_run, agent_turn_stream


def collect(agent, context, text):
    async def consume():
        return [
            event
            async for event in agent_turn_stream(
                agent=agent, context=context, history=[ChatMessage(role="user", text=text)]
            )
        ]

    return async_to_sync(consume)()


def test_the_offline_reply_streams_and_ends_with_the_whole_reply(shopkeeper, context):
    events = collect(shopkeeper, context, "おすすめは？")

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert isinstance(events[-1], TurnDone) and sum(isinstance(event, TurnDone) for event in events) == 1
    outcome = events[-1].outcome
    assert deltas and "".join(deltas) == outcome.text
    assert outcome.answered and outcome.actions
    turn = AgentTurn.objects.get()
    assert turn.time_to_first_token_ms is not None and turn.time_to_first_token_ms <= turn.latency_ms
    assert len(turn.prompt_hash) == 16


def test_streamed_and_sync_turns_answer_alike(shopkeeper, context):
    streamed = collect(shopkeeper, context, "おすすめは？")[-1].outcome
    sync = agent_turn_run(agent=shopkeeper, context=context, history=[ChatMessage(role="user", text="おすすめは？")])

    assert streamed.text == sync.text
    assert streamed.actions == sync.actions


def test_a_paused_agents_notice_is_streamed_too(shopkeeper, context):
    shopkeeper.status = shopkeeper.Status.MAINTENANCE
    shopkeeper.save()

    events = collect(shopkeeper, context, "こんにちは")

    assert [type(event) for event in events] == [TextDelta, TurnDone]
    assert events[0].text == events[1].outcome.text and not events[1].outcome.answered
