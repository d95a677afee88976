"""Money is integer yen. Prices are tax-inclusive; the consumption tax inside them is split out per rate."""

import math

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaxRate(models.IntegerChoices):
    REDUCED = 8, _("8%（軽減税率：飲食料品）")
    STANDARD = 10, _("10%（標準税率）")


def is_whole_yen(value) -> bool:
    """An amount of money as the books take it: a Python int, and not a bool (which is an int subclass)."""
    return isinstance(value, int) and not isinstance(value, bool)


def split_tax_inclusive(amount_yen: int, rate_percent: int) -> tuple[int, int]:
    """(net, tax) inside a tax-inclusive amount. Tax is rounded down, once per rate per receipt (適格請求書の端数処理)."""
    if amount_yen < 0:
        net, tax = split_tax_inclusive(-amount_yen, rate_percent)
        return -net, -tax
    tax = amount_yen * rate_percent // (100 + rate_percent)
    return amount_yen - tax, tax


def format_yen(amount_yen: int) -> str:
    return f"¥{amount_yen:,}"


def whole_yen(amount) -> int:
    """A cost in fractional yen (a model's Decimal cost from the decision log) in whole yen, rounded up so spend is
    never understated."""
    return math.ceil(amount or 0)
