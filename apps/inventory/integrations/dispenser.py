"""Telling a machine to drop items. `SimulatedDispenser` is the default; a real machine driver implements `Dispenser`
and is chosen with the `DISPENSER` setting (a dotted path)."""

import random
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class Dispenser(Protocol):
    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        """Drop `quantity` items from the slot one by one; return how many actually came out before any jam."""
        ...


class SimulatedDispenser:
    """Each item jams with probability DISPENSER_JAM_RATE (default 0.0, read at each call; 1.0 jams every item)."""

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        jam_rate = settings.DISPENSER_JAM_RATE
        for dropped in range(quantity):
            if random.random() < jam_rate:
                return dropped
        return quantity


@cache
def _dispenser(path: str) -> Dispenser:
    return import_string(path)()


def dispenser() -> Dispenser:
    return _dispenser(settings.DISPENSER)
