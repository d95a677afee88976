"""Fakes of outside peers (the vending machine's hardware), chosen through settings like a real driver."""


class FirstItemOnlyDispenser:
    """Drops the first item of each line, then jams."""

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        return min(quantity, 1)
