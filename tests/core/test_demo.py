import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_seed_demo_says_how_long_it_took_and_stays_fast():
    call_command("seed_demo", stdout=(out := StringIO()))

    seconds = float(re.search(r"Demo data ready in (\d+\.\d) s\.", out.getvalue()).group(1))
    assert seconds < 30
