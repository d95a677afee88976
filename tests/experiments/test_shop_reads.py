"""The narrow reads say what the morning's view says."""

from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import Episode
from apps.experiments.sim.world import World


def test_cash_and_prices_read_alone_are_the_views_and_the_prices_a_copy():
    world = World()
    episode, agent = Episode(world, 3, 30), make_agent("elasticity", world)
    for _ in range(20):
        episode.run_day(agent)
    view = episode.api.observe()
    assert episode.api.cash_yen() == view.cash_yen
    assert episode.api.prices_yen() == view.prices_yen != world.reference_prices().tolist()
    episode.api.prices_yen()[0] = 1
    assert episode.api.prices_yen() == view.prices_yen
