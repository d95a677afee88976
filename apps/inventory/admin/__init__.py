"""The inventory admin, one module per desk; importing them registers their pages."""

from apps.inventory.admin import fees, fresh, payments, procurement, shop  # noqa: F401
