"""Fakes of outside peers (the vending machine's hardware, the payment terminal), chosen through settings like a real
driver."""

from apps.inventory.integrations.payments import SimulatedTerminal


class FirstItemOnlyDispenser:
    """Drops the first item of each line, then jams."""

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        return min(quantity, 1)


class ProcessDied(BaseException):
    """What a test sees when the shop's process "dies": nothing of ours runs after it (not even `except Exception`)."""


class TerminalThenCrash(SimulatedTerminal):
    """The terminal captures the charge; the shop's process dies before it hears the answer."""

    def charge(self, **request):
        super().charge(**request)
        raise ProcessDied


class UnreachableTerminal(SimulatedTerminal):
    """The terminal's network is down: the connection is refused; nothing is charged or refunded."""

    def charge(self, **request):
        raise ConnectionRefusedError(111, "Connection refused")

    def refund(self, **request):
        raise ConnectionRefusedError(111, "Connection refused")


class DispenseThenCrash:
    """The machine is told to drop the items; the shop's process dies before it hears what came out, so the sale
    stays recorded with nothing dispensed and nothing refunded."""

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        raise ProcessDied


class CountingDispenser:
    """Drops everything and remembers each command it was sent (machine, slot, quantity), across threads."""

    commands: list[tuple[str, str, int]] = []

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        self.commands.append((machine_code, slot_code, quantity))
        return quantity
