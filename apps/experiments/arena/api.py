"""`ArenaApi`: the arena shop as an agent sees it — reads that return plain data in the tools' terms (SKUs, slot
codes) and actions. Every action is written down with what it answered (`ArenaApi.actions`), so a run can be
replayed from its seed and these records alone (`replay.py`).
"""

from collections.abc import Callable

from apps.core.errors import ApplicationError, NotFound, ValidationError

from .mail import Mailroom
from .shop import ArenaShop


def _recorded(method: Callable) -> Callable:
    """Write the action and its answer (or the refusal's message) into the day's record."""

    def action(self: "ArenaApi", **arguments):
        try:
            answer = method(self, **arguments)
        except ApplicationError as exc:
            self.actions.append((method.__name__, arguments, {"error": exc.message}))
            raise
        self.actions.append((method.__name__, arguments, answer))
        return answer

    action.__name__ = method.__name__
    action.__doc__ = method.__doc__
    return action


class ArenaApi:
    def __init__(self, shop: ArenaShop, mail: Mailroom):
        self.shop = shop
        self.mail = mail
        self.world = shop.world
        self.actions: list[tuple[str, dict, dict]] = []
        self._slot_index = {code: slot for slot, (code, *_rest) in enumerate(self.world.slots)}
        self._prices_day, self._prices = -1, {}

    # Look-ups ------------------------------------------------------------------------------------------------------

    def product(self, sku) -> int:
        product = self.world.sku_index(sku)
        if product is None:
            raise NotFound(f"商品 {sku} は扱っていません。", details={"sku": sku})
        return product

    def slot(self, code) -> int:
        slot = self._slot_index.get(code) if isinstance(code, str) else None
        if slot is None:
            raise NotFound(f"スロット {code} はありません。", details={"slot": code})
        return slot

    def supplier(self, number) -> int:
        if type(number) is not int or not 0 <= number < len(self.world.suppliers):
            raise NotFound(f"仕入先 {number} はありません（0〜{len(self.world.suppliers) - 1}）。")
        return number

    # Reads ---------------------------------------------------------------------------------------------------------

    def trusted(self) -> list[bool]:
        """A supplier is trusted until it brings less than was ordered, charges more than agreed, or closes."""
        return [r.units_received >= r.units_due and not r.extra_fees_yen and not r.closed for r in self.shop.suppliers]

    def supplier_quotes(self) -> list[dict]:
        shop = self.shop
        quotes = []
        for number, terms in enumerate(self.world.suppliers):
            record = shop.suppliers[number]
            quotes.append(
                {
                    "supplier": number,
                    "name": terms.name,
                    "open": shop.supplier_open(number),
                    "email_only": terms.email_only,
                    "lead_days": terms.lead_days,
                    "minimum_order_yen": terms.minimum_order_yen,
                    "units_due": record.units_due,
                    "units_received": record.units_received,
                    "extra_fees_yen": record.extra_fees_yen,
                    "closed": record.closed,
                }
            )
        return quotes

    def list_prices(self, product: int) -> dict[int, int]:
        """Supplier -> today's list price for a product, listed suppliers only (worked out once a day: agents ask
        for every product several times a morning)."""
        shop = self.shop
        if self._prices_day != shop.day:
            self._prices_day, self._prices = shop.day, {}
        prices = self._prices.get(product)
        if prices is None:
            prices = self._prices[product] = {}
            for number, terms in enumerate(self.world.suppliers):
                if not terms.email_only and (price := shop.unit_price(number, product)) is not None:
                    prices[number] = price
        return dict(prices)

    # Actions -------------------------------------------------------------------------------------------------------

    @_recorded
    def set_price(self, *, sku: str, price_yen: int) -> dict:
        old = self.shop.set_price(product=self.product(sku), price_yen=price_yen)
        return {"sku": sku, "old_price_yen": old, "new_price_yen": price_yen}

    @_recorded
    def restock_slot(self, *, slot: str, quantity: int) -> dict:
        self.shop.restock_slot(slot=self.slot(slot), quantity=quantity)
        return {"slot": slot, "moved": quantity}

    @_recorded
    def assign_slot(self, *, slot: str, sku: str) -> dict:
        self.shop.assign_slot(slot=self.slot(slot), product=self.product(sku))
        return {"slot": slot, "sku": sku}

    @_recorded
    def collect_cash(self) -> dict:
        return {"collected_yen": self.shop.collect_cash()}

    @_recorded
    def order(self, *, supplier: int, lines: list[list]) -> dict:
        """Order from a supplier's price list (several products at once), paid now."""
        shop = self.shop
        supplier = self.supplier(supplier)
        if self.world.suppliers[supplier].email_only:
            raise ValidationError(f"{self.world.suppliers[supplier].name} has no price list; write to it instead.")
        booked = [(self.product(sku), quantity) for sku, quantity in lines]
        prices = {product: shop.unit_price(supplier, product) for product, _quantity in booked}
        total = shop.order_check(supplier=supplier, lines=booked, unit_prices=prices)
        day = min(shop.day, shop.scenario.days - 1)
        transit = shop.book_order(
            supplier=supplier,
            lines=booked,
            unit_prices=prices,
            ship_permille=shop.scenario.base.ship_permille[day][supplier],
            fee_permille=self.world.suppliers[supplier].hidden_fee_permille,
            lost=False,
        )
        return {"supplier": supplier, "total_yen": total, "arrival_day": transit.arrival_day}

    @_recorded
    def email_supplier(self, *, supplier: int, sku: str, quantity: int, text: str, target_unit_price_yen=None) -> dict:
        return self.mail.send(
            supplier=self.supplier(supplier),
            product=self.product(sku),
            quantity=quantity,
            text=text,
            target_unit_price_yen=target_unit_price_yen,
        )

    @_recorded
    def accept_offer(self, *, offer_id: str, quantity: int) -> dict:
        return self.mail.accept(offer_id=offer_id, quantity=quantity)
