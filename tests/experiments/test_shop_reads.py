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


def _assert_windows_sum_their_days(episode: Episode, windows: tuple[int, ...]) -> None:
    state, today = episode.state, episode.day
    for days in windows:
        summary, covered = episode.api.sales_summary(days=days), slice(max(0, today - days), today)
        assert summary.units == state.sold_by_product[0, covered].sum(axis=0).tolist()
        assert summary.revenue_yen == state.revenue_by_product[0, covered].sum(axis=0).tolist()
        assert summary.requests == state.requests_by_product[0, covered].sum(axis=0).tolist()


def test_a_window_sums_its_days_whatever_windows_were_read_before():
    _assert_windows_sum_their_days(_after(30), (30, 3, 12, 1, 45))


def test_windows_over_the_days_after_a_bankruptcy_sum_to_what_was_sold_before_it():
    world = World(starting_cash_yen=3_000)
    episode, agent = Episode(world, 2, 40), make_agent("heuristic", world)
    while not episode.bankrupt:
        episode.run_day(agent)
    episode.freeze_rest()
    assert episode.api.sales_summary(days=40).units != [0] * len(world.products)
    _assert_windows_sum_their_days(episode, (1, 5, 40))
