"""The two staff roles and what each may do. Groups are created by migration; their permissions are synced after
every migrate, because permissions of later apps (inventory, agents, ...) only exist once those apps have migrated."""

STAFF = "Staff"
MANAGER = "Manager"

STAFF_PERMISSIONS = [
    "inventory.approve_purchaseorder",
    "inventory.receive_purchaseorder",
    "inventory.view_purchaseorder",
    "inventory.change_purchaseorder",
    "inventory.view_supplier",
    "inventory.view_supplieroffer",
    "inventory.adjust_stock",
    "inventory.view_product",
    "inventory.view_machine",
    "inventory.view_slot",
    "inventory.view_storagestock",
    "inventory.view_stockmovement",
    # Staff see lots and their dates, and count stock (棚卸); a Manager approves what the count posts.
    "inventory.view_stocklot",
    "inventory.view_stocktake",
    "inventory.add_stocktake",
    "inventory.change_stocktake",
    "inventory.view_stocktakeline",
    "inventory.view_restocktask",
    "inventory.change_restocktask",
    "inventory.view_sale",
    "inventory.view_checkout",
    # Staff import PayPay's settlement files; everyone who keeps the shop sees payouts and the reconciliation.
    "inventory.view_providerpayout",
    "inventory.add_providerpayout",
    "inventory.view_reconciliationreport",
    "inventory.view_productrequest",
    "inventory.view_machinefee",
    "inventory.view_machinefeecharge",
    # Staff receive escalations: they see what the agents were refused and the notes they leave.
    "agents.view_guardrailviolation",
    "agents.view_escalation",
    "agents.view_agentnote",
    "agents.view_budgetalert",
    # Customer care: Staff answer, take and resolve cases (through `case_answer` and friends), see the refunds the
    # assistant gave.
    "agents.view_case",
    "agents.change_case",
    "agents.view_casereply",
    "agents.view_selfservicerefund",
    "chats.view_conversation",
    "chats.view_customer",
    "chats.view_rating",
]

MANAGER_PERMISSIONS = STAFF_PERMISSIONS + [
    # A customer's deletion request, carried out from the customer admin (it cannot be undone).
    "chats.delete_customer",
    "core.view_dashboard",
    "core.view_reports",
    "core.run_experiments",
    "core.manage_personas",
    "core.override_price_guard",
    "core.view_auditentry",
    "inventory.change_product",
    "inventory.add_product",
    "inventory.change_price",
    "inventory.approve_stocktake",
    "inventory.refund_sale",
    "inventory.add_coupon",
    "inventory.change_coupon",
    "inventory.view_coupon",
    "inventory.view_pricechange",
    "inventory.view_payment",
    "inventory.view_paymentrefund",
    "inventory.add_machine",
    "inventory.change_machine",
    "inventory.add_slot",
    "inventory.change_slot",
    "inventory.add_supplier",
    "inventory.change_supplier",
    "inventory.add_supplieroffer",
    "inventory.change_supplieroffer",
    # Machine fees are money the shop owes every month: Staff see them, Managers record and change them.
    "inventory.add_machinefee",
    "inventory.change_machinefee",
    "accounting.view_account",
    "accounting.view_journalentry",
    "accounting.add_journalentry",
    "accounting.close_period",
    "accounting.reopen_period",
    "accounting.view_manualentry",
    "accounting.add_manualentry",
    "accounting.approve_manualentry",
    "accounting.view_payablepayment",
    "accounting.view_periodclose",
    "agents.view_persona",
    "agents.add_persona",
    "agents.change_persona",
    "agents.view_agent",
    "agents.change_agent",
    "agents.view_agentturn",
    "agents.view_coupongrant",
    "agents.view_llmusage",
    "agents.add_personality",
    "agents.change_personality",
    "agents.view_personality",
    "agents.add_role",
    "agents.change_role",
    "agents.view_role",
    "agents.add_tone",
    "agents.change_tone",
    "agents.view_tone",
    "agents.add_agent",
    "dashboard.view_alert",
    "dashboard.view_dailysummary",
    "dashboard.view_weeklyreport",
    "dashboard.view_linepush",
    "experiments.view_experiment",
    "experiments.add_experiment",
    "experiments.change_experiment",
    "experiments.view_variant",
    "experiments.add_variant",
    "experiments.change_variant",
    "experiments.delete_variant",
    "experiments.view_run",
    "experiments.view_calibration",
    "experiments.view_abtest",
    "experiments.add_abtest",
    "experiments.change_abtest",
    "experiments.view_abvariant",
    "experiments.add_abvariant",
    "experiments.change_abvariant",
    "experiments.delete_abvariant",
    "experiments.view_exposure",
]

ROLE_PERMISSIONS = {STAFF: STAFF_PERMISSIONS, MANAGER: MANAGER_PERMISSIONS}


def is_manager(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.groups.filter(name=MANAGER).exists()))


def is_staff_member(user) -> bool:
    return bool(
        user and user.is_authenticated and (user.is_superuser or user.groups.filter(name__in=[STAFF, MANAGER]).exists())
    )
