"""Every write of the shop. Import from here: `from apps.inventory.services import purchase_create`."""

from apps.inventory.services.catalogue import (
    coupon_deactivate,
    coupon_issue,
    price_change,
    product_create,
    product_request_record,
    product_request_set_status,
    product_update,
)
from apps.inventory.services.customers import coupon_notes_forget, customer_data_forget, product_requests_anonymise
from apps.inventory.services.fees import machine_fee_charge_reverse, machine_fee_save, machine_fees_charge
from apps.inventory.services.machines import (
    device_token_issue,
    machine_configure,
    machine_heartbeat_record,
    restock_plan,
    restock_task_cancel,
    restock_task_complete,
    slot_configure,
)
from apps.inventory.services.procurement import (
    ProcurementPlan,
    procurement_plan,
    purchase_order_approve,
    purchase_order_cancel,
    purchase_order_pay_supplier,
    purchase_order_reasoning_set,
    purchase_order_receive,
    purchase_order_reject,
    purchase_order_submit,
    purchase_orders_paid_record,
    supplier_offer_save,
    supplier_save,
)
from apps.inventory.services.sales import (
    PurchaseOutcome,
    purchase_create,
    sale_refund,
    sale_refund_undispensed,
)
from apps.inventory.services.stock import stock_adjust, stock_receive, stock_transfer_to_slot
from apps.inventory.services.tablet_codes import tablet_pairing_code_consume, tablet_pairing_code_issue

__all__ = [
    "ProcurementPlan",
    "PurchaseOutcome",
    "coupon_deactivate",
    "coupon_notes_forget",
    "coupon_issue",
    "customer_data_forget",
    "device_token_issue",
    "machine_configure",
    "machine_fee_charge_reverse",
    "machine_fee_save",
    "machine_fees_charge",
    "machine_heartbeat_record",
    "price_change",
    "product_create",
    "product_request_record",
    "product_request_set_status",
    "product_requests_anonymise",
    "product_update",
    "procurement_plan",
    "purchase_create",
    "purchase_order_approve",
    "purchase_order_cancel",
    "purchase_order_pay_supplier",
    "purchase_order_reasoning_set",
    "purchase_order_receive",
    "purchase_order_reject",
    "purchase_order_submit",
    "purchase_orders_paid_record",
    "restock_plan",
    "restock_task_cancel",
    "restock_task_complete",
    "sale_refund",
    "sale_refund_undispensed",
    "slot_configure",
    "stock_adjust",
    "stock_receive",
    "stock_transfer_to_slot",
    "supplier_offer_save",
    "supplier_save",
    "tablet_pairing_code_consume",
    "tablet_pairing_code_issue",
]
