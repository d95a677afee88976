from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.inventory.demo import seed
from apps.inventory.models import Machine, Product, Slot, StockMovement
from apps.inventory.selectors import stock_integrity_problems


@pytest.mark.django_db
class TestIssueDeviceToken:
    def test_printed_token_authenticates_the_machine(self, machine, tea_slot):
        out = StringIO()
        call_command("issue_device_token", "hq-1f", stdout=out)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {out.getvalue().strip()}")

        assert client.get("/api/machines/HQ-1F/products/").status_code == 200
        machine.refresh_from_db()
        assert out.getvalue().strip() not in machine.device_token_hash

    def test_unknown_machine_is_a_clear_error(self, db):
        with pytest.raises(CommandError, match="NOPE"):
            call_command("issue_device_token", "NOPE")


@pytest.mark.django_db
class TestSeedDemo:
    def test_builds_the_office_shop_once(self):
        """This app's part of `manage.py seed_demo`, run twice."""
        seed(stdout=StringIO(), options={})
        movements = StockMovement.objects.count()
        seed(stdout=StringIO(), options={})

        machine = Machine.objects.get(code="HQ-1F")
        assert Slot.objects.filter(machine=machine).count() == 24
        assert Product.objects.count() >= 30
        assert StockMovement.objects.count() == movements
        assert all(p.price_yen >= p.unit_cost_yen * 1.1 for p in Product.objects.all())
        assert Slot.objects.filter(machine=machine, quantity__gt=0).count() > 20
        assert stock_integrity_problems() == []
