"""Signals the books send to apps above them (docs/architecture.md, the import rule)."""

from django.dispatch import Signal

# Payables were paid, in the paying transaction: `payments` are the new `PayablePayment` rows (inventory connects to
# it so that a purchase order's paid amount follows what the books paid of its supplier invoices).
payables_paid = Signal()
