"""The invoice system (インボイス制度): the seller's registration number on every receipt (適格簡易請求書).

A registration number is "T" and 13 digits; for a company it is its corporate number (法人番号), whose first digit
is a check digit over the other 12: nine minus the remainder by 9 of the sum of those digits, each weighted 1 or 2
alternately from the rightmost (weight 1) (法人番号の指定等に関する省令 第二条; the NTA publishes the same rule for
registration numbers of individuals).
"""

import re

from django.conf import settings
from django.core import checks

REGISTRATION_NUMBER = re.compile(r"T(\d)(\d{12})")


def registration_check_digit(base: str) -> int:
    """The check digit of the 12-digit base number."""
    total = sum(int(digit) * (1 if position % 2 == 0 else 2) for position, digit in enumerate(reversed(base)))
    return 9 - total % 9


def is_valid_registration_number(value: str) -> bool:
    match = REGISTRATION_NUMBER.fullmatch(value or "")
    return bool(match) and int(match.group(1)) == registration_check_digit(match.group(2))


def invoice_issuer() -> dict:
    """The seller as receipts name it; `registration_number` is empty when the shop is not a registered issuer."""
    return {"name": settings.INVOICE_ISSUER_NAME, "registration_number": settings.INVOICE_REGISTRATION_NUMBER}


@checks.register(checks.Tags.compatibility)
def check_registration_number(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Refuse to start with a mistyped registration number: receipts carrying it would not be valid invoices."""
    value = settings.INVOICE_REGISTRATION_NUMBER
    if not value or is_valid_registration_number(value):
        return []
    return [
        checks.Error(
            f"INVOICE_REGISTRATION_NUMBER {value!r} is not T followed by 13 digits with a valid check digit.",
            id="core.E101",
        )
    ]
