"""An agent whose day is a plain function, for tests that need exact actions on exact days."""

from collections.abc import Callable
from dataclasses import replace

from apps.experiments.sim.episode import ShopApi
from apps.experiments.sim.world import World


class ScriptedAgent:
    name = "scripted"

    def __init__(self, script: Callable[[ShopApi], None]):
        self.script = script

    def act(self, shop: ShopApi) -> None:
        self.script(shop)


def idle(shop: ShopApi) -> None:
    """Does nothing at all: no stock, no sales, only the machine fee."""


def world_with_suppliers(**changes) -> World:
    """The default world with every supplier's terms changed alike (e.g. no outages, so an order is never refused)."""
    world = World()
    return replace(world, suppliers=tuple(replace(supplier, **changes) for supplier in world.suppliers))
