import re
from collections import defaultdict

import django.db.models.deletion
from django.db import migrations, models

# Receipts written before this migration name their order only in their reason, in Japanese or English:
# "発注 PO-00012 … の入荷" / "Goods received for purchase order PO-00012 …".
ORDER_IN_REASON = re.compile(r"(?:^発注 |^Goods received for purchase order )PO-(\d+) ")
ACCOUNTS_PAYABLE = "2001"


def _receipts_by_order(StockMovement):
    found = defaultdict(list)
    for movement in StockMovement.objects.filter(kind="receipt", purchase_order__isnull=True):
        match = ORDER_IN_REASON.match(movement.reason)
        if match:
            found[int(match.group(1))].append(movement)
    return found


def link_receipts_to_orders(apps, schema_editor):
    """Link an old receipt to its order only when the order's receipts add up, product by product, to what its
    lines say was received; an order that does not add up keeps its receipts unlinked (paid on the payables page)."""
    StockMovement = apps.get_model("inventory", "StockMovement")
    PurchaseOrderLine = apps.get_model("inventory", "PurchaseOrderLine")
    for order_id, movements in _receipts_by_order(StockMovement).items():
        received = defaultdict(int)
        for line in PurchaseOrderLine.objects.filter(order_id=order_id):
            received[line.product_id] += line.received_quantity
        moved = defaultdict(int)
        for movement in movements:
            moved[movement.product_id] += movement.quantity_delta
        if moved == {product: quantity for product, quantity in received.items() if quantity}:
            StockMovement.objects.filter(pk__in=[m.pk for m in movements]).update(purchase_order_id=order_id)


def _receipt_invoices(apps, order_id, receipt_type):
    """(entry, 買掛金 credited) of each receipt of the order still standing, oldest first."""
    JournalLine = apps.get_model("accounting", "JournalLine")
    StockMovement = apps.get_model("inventory", "StockMovement")
    movement_ids = [str(pk) for pk in StockMovement.objects.filter(purchase_order_id=order_id).values_list("pk", flat=True)]
    lines = JournalLine.objects.filter(
        account__code=ACCOUNTS_PAYABLE,
        credit__gt=0,
        entry__source_type=receipt_type,
        entry__source_id__in=movement_ids,
        entry__reversed_by__isnull=True,
        entry__payable_payments__isnull=True,
    ).order_by("entry__number")
    return [(line.entry, line.account_id, line.credit) for line in lines.select_related("entry")]


def link_order_payments(apps, schema_editor):
    """Before this migration an order's payment was one unlinked 買掛金 debit for everything received and not yet
    paid. Link each to the order's receipts when it covers whole receipts exactly, so the books know those are paid."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    JournalEntry = apps.get_model("accounting", "JournalEntry")
    PayablePayment = apps.get_model("accounting", "PayablePayment")
    order_type = ContentType.objects.filter(app_label="inventory", model="purchaseorder").first()
    receipt_type = ContentType.objects.filter(app_label="inventory", model="stockmovement").first()
    if order_type is None or receipt_type is None:
        return
    payments = JournalEntry.objects.filter(
        kind="supplier_payment", source_type=order_type, reversed_by__isnull=True, payments_made__isnull=True
    ).order_by("number")
    by_order = defaultdict(list)
    for payment in payments:
        debit = sum(line.debit for line in payment.lines.all() if line.debit)
        by_order[int(payment.source_id)].append((payment, debit))
    for order_id, order_payments in by_order.items():
        invoices = _receipt_invoices(apps, order_id, receipt_type)
        links = []
        for payment, amount in order_payments:
            while amount > 0 and invoices and invoices[0][2] <= amount:
                entry, account_id, credit = invoices.pop(0)
                links.append(PayablePayment(payable_entry=entry, account_id=account_id, amount_yen=credit, payment_entry=payment))
                amount -= credit
            if amount:
                links = []  # not whole receipts: leave this order's payments to the books' oldest-first rule
                break
        PayablePayment.objects.bulk_create(links)


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0018_expiry_schedule'),
        ('accounting', '0010_books_close_the_month'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='stockmovement',
            name='purchase_order',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='inventory.purchaseorder', verbose_name='発注'),
        ),
        migrations.RunPython(link_receipts_to_orders, migrations.RunPython.noop),
        migrations.RunPython(link_order_payments, migrations.RunPython.noop),
    ]
