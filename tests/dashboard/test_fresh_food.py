"""Waste by product and week and shrinkage per machine and month on the dashboard; the expiry and shrinkage alerts."""

import datetime
import uuid

import pytest
from django.utils import timezone

from apps.dashboard.models import Alert
from apps.dashboard.selectors import shrinkage_by_machine_month, waste_by_product_week
from apps.dashboard.services import alerts_evaluate
from apps.inventory.models import StockLot
from apps.inventory.services import purchase_create, stock_receive, stock_transfer_to_slot
from apps.inventory.services.expiry import expired_stock_write_off
from apps.inventory.services.stocktake import stocktake_approve, stocktake_count, stocktake_start
from tests.factories import MachineFactory, ProductFactory, SlotFactory

TODAY = timezone.localdate()


@pytest.fixture
def onigiri_slot(db):
    machine = MachineFactory(code="HQ-1F")
    onigiri = ProductFactory(sku="F001", name_ja="鮭おにぎり", category="food", price_yen=160, unit_cost_yen=80)
    return SlotFactory(machine=machine, code="B1", product=onigiri, capacity=10)


def receive(slot, quantity, expires_on):
    stock_receive(product=slot.product, quantity=quantity, unit_cost_yen=80, expires_on=expires_on, date_kind="use_by")


@pytest.mark.django_db
def test_waste_is_listed_by_product_and_week(onigiri_slot):
    receive(onigiri_slot, 3, TODAY)
    StockLot.objects.update(expires_on=TODAY - datetime.timedelta(days=1))
    expired_stock_write_off()

    waste = waste_by_product_week(today=TODAY)

    assert waste["weeks"][-1] == TODAY - datetime.timedelta(days=TODAY.weekday())
    (row,) = waste["rows"]
    assert (row["name"], row["units"][-1], sum(row["units"]), row["value_yen"]) == ("鮭おにぎり", 3, 3, 240)


@pytest.mark.django_db
def test_shrinkage_rate_per_machine_and_month_and_its_alert(onigiri_slot, staff_user, manager_user, client, settings):
    settings.SHRINKAGE_ALERT_PERCENT = 10.0
    receive(onigiri_slot, 10, None)
    stock_transfer_to_slot(slot=onigiri_slot, quantity=10)
    for _ in range(5):
        purchase_create(
            machine=onigiri_slot.machine,
            items=[{"slot": "B1", "quantity": 1}],
            coupon_code=None,
            payment_method="cash",
            idempotency_key=uuid.uuid4().hex,
            channel="tablet",
        )
    stocktake = stocktake_start(machine=onigiri_slot.machine, actor=staff_user)
    stocktake_count(line=stocktake.lines.get(), counted_quantity=4, reason="不明", actor=staff_user)
    stocktake_approve(stocktake=stocktake, actor=manager_user)

    (row,) = shrinkage_by_machine_month(today=TODAY)
    assert (row["place"], row["loss_yen"], row["cogs_yen"], row["rate_percent"]) == ("HQ-1F", 80, 400, 20.0)

    alerts_evaluate()
    alert = Alert.objects.get(kind=Alert.Kind.SHRINKAGE)
    assert alert.subject == "HQ-1F" and "20.0%" in alert.message and alert.state == Alert.State.FIRING

    client.force_login(manager_user)
    page = client.get("/dashboard/").content.decode()
    assert "棚卸減耗率" in page and "20.0%" in page


@pytest.mark.django_db
def test_lots_expiring_today_or_tomorrow_raise_an_alert_per_machine(onigiri_slot):
    receive(onigiri_slot, 3, TODAY)
    receive(onigiri_slot, 2, TODAY + datetime.timedelta(days=1))
    stock_transfer_to_slot(slot=onigiri_slot, quantity=4)

    alerts_evaluate()

    by_subject = {alert.subject: alert for alert in Alert.objects.filter(kind=Alert.Kind.EXPIRY_SOON)}
    assert set(by_subject) == {"HQ-1F", "倉庫"}
    machine_alert = by_subject["HQ-1F"]
    assert machine_alert.severity == Alert.Severity.CRITICAL and machine_alert.state == Alert.State.FIRING
    assert "本日期限: 鮭おにぎり×3（B1" in machine_alert.message
    assert "明日期限: 鮭おにぎり×1（B1" in machine_alert.message
