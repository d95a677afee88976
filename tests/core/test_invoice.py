import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apps.core.invoice import check_registration_number, is_valid_registration_number, registration_check_digit


@pytest.mark.parametrize(
    "number",
    # The Japan Federation of Certified Public Tax Accountants' Associations' number (the usual worked example) and
    # two corporate numbers quoted in public write-ups of the check-digit rule.
    ["T7010705000725", "T4011001098993", "T2120901007402"],
)
def test_published_registration_numbers_are_valid(number):
    assert is_valid_registration_number(number)


def test_the_check_digit_is_nine_minus_the_weighted_sum_modulo_nine():
    # 123456789012 from the right, weights 1, 2, 1, 2...: 2+2+0+18+8+14+6+10+4+6+2+2 = 74; 74 mod 9 = 2; 9 − 2 = 7.
    assert registration_check_digit("123456789012") == 7


@pytest.mark.parametrize(
    "number", ["T7010705000726", "7010705000725", "T701070500072", "T70107050007250", "t7010705000725", "", "TABC"]
)
def test_mistyped_numbers_are_invalid(number):
    assert not is_valid_registration_number(number)


def test_a_mistyped_setting_stops_the_start(settings):
    settings.INVOICE_REGISTRATION_NUMBER = "T7010705000726"
    assert [error.id for error in check_registration_number()] == ["core.E101"]
    with pytest.raises(SystemCheckError):
        call_command("check")
    settings.INVOICE_REGISTRATION_NUMBER = ""
    assert check_registration_number() == []
