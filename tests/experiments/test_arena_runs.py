"""Arena runs you can replay and read: the trace, the replay of any day, the stored leaderboard, its pages and the
command."""

import copy
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core.errors import ValidationError
from apps.experiments import selectors
from apps.experiments.arena.agents import ArenaHeuristic
from apps.experiments.arena.provider_agent import offline_agent
from apps.experiments.arena.run import replay_day, run_arena
from apps.experiments.arena.world import demo_world
from apps.experiments.models import ArenaLeaderboard, ArenaRun
from apps.experiments.services import arena_leaderboard_run


@pytest.fixture(scope="module")
def world():
    return demo_world()


@pytest.fixture(scope="module")
def offline_run(world):
    return run_arena(world=world, seed=7, days=90, agent=offline_agent())


def test_the_trace_holds_each_days_state_calls_with_the_policys_decision_mail_and_actions(offline_run):
    log = offline_run.trace["log"]
    assert len(log) == 90 and all({"morning", "events", "mail", "calls", "actions"} <= set(day) for day in log)
    calls = [call for day in log for call in day["calls"]]
    assert {call["policy"] for call in calls} >= {"allowed"}
    assert any(call["tool"] == "memory_get" for call in calls) and any(day["mail"] for day in log)
    assert [day["net_worth_yen"] for day in log] == offline_run.series["net_worth"]
    json.dumps(offline_run.trace, ensure_ascii=False)  # storable as it is


@pytest.mark.parametrize("day", [0, 41, 89])
def test_any_day_replays_from_the_seed_and_the_trace_to_the_same_result(world, offline_run, day):
    stored = json.loads(json.dumps(offline_run.trace))  # as it comes back from the database
    replayed = replay_day(world=world, trace=stored, day=day)
    assert replayed.matches, replayed.mismatches
    assert replayed.morning == stored["log"][day]["morning"]
    assert replayed.record["calls"] == stored["log"][day]["calls"]


def test_a_trace_that_does_not_match_the_world_is_reported_not_trusted(world, offline_run):
    tampered = copy.deepcopy(offline_run.trace)
    day = next(d for d, record in enumerate(tampered["log"]) if any(a[0] == "set_price" for a in record["actions"]))
    action = next(a for a in tampered["log"][day]["actions"] if a[0] == "set_price")
    action[1]["price_yen"] += 100  # a decision the agent did not take
    replayed = replay_day(world=world, trace=tampered, day=day + 1)
    assert not replayed.matches and replayed.mismatches
    with pytest.raises(ValidationError):
        replay_day(world=world, trace=tampered, day=90)


@pytest.fixture
def board(db):
    return arena_leaderboard_run(
        name="small",
        days=30,
        first_seed=1,
        seed_count=3,
        agents=["tenfold"],
        personas=[None],
        policies=["shop", "none"],
        workers=2,
    )


@pytest.mark.django_db
def test_the_leaderboard_ranks_every_entrant_on_the_same_seeds_with_intervals_and_stores_each_run(board):
    rows = {row["entrant"]: row for row in board.rows}
    assert set(rows) == {"heuristic / — / —", "tenfold / — / —", "offline / — / shop", "offline / — / none"}
    assert [row["mean_net_worth_yen"] for row in board.rows] == sorted(
        (r["mean_net_worth_yen"] for r in board.rows), reverse=True
    )
    for row in board.rows:
        assert row["runs"] == 3 and row["ci_low_yen"] <= row["mean_net_worth_yen"] <= row["ci_high_yen"]
        assert 0 <= row["bankruptcy_rate"] <= 1 and row["model_cost_yen"] == 0
    assert rows["offline / — / shop"]["tool_calls_per_run"] > 0 and rows["heuristic / — / —"]["tool_calls_per_run"] == 0
    assert rows["heuristic / — / —"]["waste_yen_per_run"] > 0  # the opening fresh food not sold by its date
    runs = ArenaRun.objects.filter(leaderboard=board)
    assert runs.count() == 12 and {run.seed for run in runs} == {1, 2, 3}
    heuristic = runs.get(entrant="heuristic / — / —", seed=2)
    alone = run_arena(world=demo_world(), seed=2, days=30, agent=ArenaHeuristic(), trace=False)
    assert heuristic.final_net_worth_yen == alone.final_net_worth  # a worker process gives the one-process numbers
    assert selectors.arena_run_replay(run=runs.get(entrant="offline / — / shop", seed=3), day=29).matches


@pytest.mark.django_db
def test_a_model_agent_needs_a_budget_and_a_key(settings):
    settings.ANTHROPIC_API_KEY = ""
    with pytest.raises(ValidationError, match="budget"):
        arena_leaderboard_run(
            name="x", days=5, first_seed=1, seed_count=1, agents=["llm"], personas=[None], policies=["shop"]
        )
    with pytest.raises(ValidationError, match="cannot run"):
        arena_leaderboard_run(
            name="x",
            days=5,
            first_seed=1,
            seed_count=1,
            agents=["llm"],
            personas=[None],
            policies=["shop"],
            model_budget_yen=100,
        )
    assert not ArenaLeaderboard.objects.exists()


def test_the_pages_show_the_leaderboard_and_a_run_with_its_events_and_a_replayed_day(client, manager_user, board):
    client.force_login(manager_user)
    listing = client.get(reverse("experiments:list"))
    assert "small" in listing.content.decode()
    page = client.get(reverse("experiments:arena_leaderboard", args=[board.pk])).content.decode()
    assert "offline / — / shop" in page and "95%" in page and "廃棄（1実行あたり、原価）" in page
    run = ArenaRun.objects.get(leaderboard=board, entrant="offline / — / shop", seed=1)
    response = client.get(reverse("experiments:arena_run", args=[run.pk]), {"day": 12})
    assert response.status_code == 200
    chart = response.context["chart"]
    assert len(chart["net_worth"]) == 30 and chart["events"]
    # The opening onigiri and sandwiches nobody bought were thrown away on day 3: a figure on the page.
    assert len(chart["waste"]) == 30 and chart["waste_total_yen"] == sum(chart["waste"]) > 0
    assert f"¥{chart['waste_total_yen']:,}" in response.content.decode()
    assert {event["label"] for event in chart["events"]} <= {
        "故障",
        "仕入先の廃業",
        "リコール",
        "需要の急増",
        "仕入値の高騰",
    }
    assert response.context["replayed"].matches and "記録どおりに再現しました" in response.content.decode()
    bad = client.get(reverse("experiments:arena_run", args=[run.pk]), {"day": 400})
    assert bad.status_code == 200 and bad.context["replay_error"]


def test_the_pages_are_for_managers_only(client, board, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("experiments:arena_leaderboard", args=[board.pk])).status_code == 403


@pytest.mark.django_db
def test_the_command_prints_the_leaderboard_and_replays_a_stored_day(capsys):
    call_command("arena", "--days", "20", "--seeds", "2", "--policies", "shop", "--workers", "1")
    out = capsys.readouterr().out
    assert "heuristic / — / —" in out and "offline / — / shop" in out and "leaderboard" in out
    run = ArenaRun.objects.get(entrant="offline / — / shop", seed=2)
    call_command("arena", "--replay", str(run.pk), "--day", "19", "--json")
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["matches"] and replayed["day"] == 19


@pytest.mark.django_db
def test_personas_and_policies_multiply_the_agents_that_talk_the_baselines_enter_once():
    from tests.factories import PersonaFactory

    personas = [PersonaFactory(name="ハル"), PersonaFactory(name="ソウタ")]
    board = arena_leaderboard_run(
        name="grid",
        days=10,
        first_seed=1,
        seed_count=2,
        agents=[],
        personas=personas,
        policies=["shop", "none"],
        workers=1,
    )
    assert sorted(row["entrant"] for row in board.rows) == [
        "heuristic / — / —",
        "offline / ソウタ / none",
        "offline / ソウタ / shop",
        "offline / ハル / none",
        "offline / ハル / shop",
    ]
    assert ArenaRun.objects.filter(leaderboard=board, persona__name="ハル").count() == 4
