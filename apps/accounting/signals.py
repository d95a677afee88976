"""Signals the books send to apps above them (docs/architecture.md, the import rule)."""

from django.dispatch import Signal

# Payables were paid, in the paying transaction: `payments` are the new `PayablePayment` rows (inventory connects to
# it so that a purchase order's paid amount follows what the books paid of its supplier invoices).
payables_paid = Signal()

# A period is about to be closed through `through_date`, in the closing transaction with the ledger row locked:
# apps that post into the books later than their events happen post what they have pending (inventory: the sales
# the bookkeeper has not booked yet).
period_closing = Signal()
