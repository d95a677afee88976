import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.money import format_yen
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import World
from tests.terminal import TerminalOutput


def _simulate(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("simulate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _expected_net_worth(agent: str, seed: int, days: int) -> int:
    world = World()
    return run_episode(world=world, seed=seed, days=days, agent=make_agent(agent, world)).final_net_worth


@pytest.mark.parametrize("agent", ["heuristic", "elasticity", "tenfold", "one_product"])
def test_json_mode_prints_one_machine_readable_line(agent):
    out, err = _simulate("--days", "40", "--seed", "3", "--agent", agent, "--json")
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["agent"] == agent and result["seed"] == 3 and result["days"] == 40
    assert result["final_net_worth_yen"] == _expected_net_worth(agent, 3, 40)
    assert 0 < result["elapsed_seconds"] < 5
    assert err == ""  # not on a terminal: no progress bar


def test_on_a_terminal_the_days_show_as_a_progress_bar_on_stderr_and_stdout_stays_json():
    out, err = StringIO(), TerminalOutput()
    call_command("simulate", "--days", "40", "--seed", "3", "--json", stdout=out, stderr=err)

    assert "heuristic seed 3" in err.getvalue() and "40/40" in err.getvalue() and "━" in err.getvalue()
    assert json.loads(out.getvalue())["days"] == 40


def test_plain_mode_prints_the_final_net_worth_and_a_summary():
    out, _ = _simulate("--days", "30", "--seed", "2")
    assert f"Final net worth: {format_yen(_expected_net_worth('heuristic', 2, 30))}" in out
    assert "revenue" in out and "units sold" in out


def test_a_nonsense_horizon_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        _simulate("--days", "0")
