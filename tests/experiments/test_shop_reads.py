"""The narrow reads say what the morning's view and the sales summary say."""

import pytest

from apps.core.errors import ValidationError
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import Episode
from apps.experiments.sim.world import World


def _after(days: int) -> Episode:
    world = World()
    episode, agent = Episode(world, 3, 40), make_agent("elasticity", world)
    for _ in range(days):
        episode.run_day(agent)
    return episode


def test_cash_and_prices_read_alone_are_the_views_and_the_prices_a_copy():
    episode = _after(20)
    view = episode.api.observe()
    assert episode.api.cash_yen() == view.cash_yen
    assert episode.api.prices_yen() == view.prices_yen != World().reference_prices().tolist()
    episode.api.prices_yen()[0] = 1
    assert episode.api.prices_yen() == view.prices_yen


@pytest.mark.parametrize("days", [1, 2, 7, 20, 100])
def test_units_sold_is_the_sales_summarys_units(days):
    episode = _after(20)
    assert episode.api.units_sold(days=days) == episode.api.sales_summary(days=days).units


def test_units_sold_over_no_days_is_refused():
    with pytest.raises(ValidationError, match="days must be at least 1"):
        _after(2).api.units_sold(days=0)
