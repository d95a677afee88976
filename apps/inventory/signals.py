"""Signals the shop sends to apps above it (docs/architecture.md, the import rule)."""

from django.dispatch import Signal

# A LINE purchase was paid: `checkout` carries the pickup code to send to the buyer (chats connects to it).
checkout_paid = Signal()
