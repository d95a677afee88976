import pytest

from apps.core.errors import Conflict
from apps.experiments.sim.episode import Episode, run_episode
from apps.experiments.sim.world import World
from tests.experiments.scripted import ScriptedAgent, idle


def test_a_shop_that_cannot_pay_the_fee_for_ten_days_goes_bankrupt():
    world = World(starting_cash_yen=10_000, daily_fee_yen=1_500)
    result = run_episode(world=world, seed=1, days=60, agent=ScriptedAgent(idle))
    # Six fees are paid (¥9,000), leaving ¥1,000; days 6 to 15 go unpaid and day 15 is the tenth.
    assert result.series["machine_fees"][:6].tolist() == [1_500] * 6
    assert result.bankrupt_day == 15
    assert result.series["cash"][5] == 1_000


def test_after_bankruptcy_nothing_moves_and_every_action_is_refused():
    world = World(starting_cash_yen=3_000)
    episode = Episode(world, 2, 40)
    while not episode.bankrupt:
        episode.run_day(ScriptedAgent(idle))
    with pytest.raises(Conflict, match="bankrupt"):
        episode.api.set_price(product=0, price_yen=100)
    with pytest.raises(Conflict, match="bankrupt"):
        episode.api.order(supplier=1, product=0, quantity=6)

    result = run_episode(world=world, seed=2, days=40, agent=ScriptedAgent(idle))
    after = slice(result.bankrupt_day + 1, None)
    assert (result.series["cash"][after] == result.series["cash"][result.bankrupt_day]).all()
    assert not result.series["machine_fees"][after].any()
    assert not result.series["revenue"][after].any()
