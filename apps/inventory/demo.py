"""Demo shop for `seed_demo`, from `fixtures/demo/`: the machines and their slots (machines.yaml), the products with
their pictures (catalogue.yaml), the suppliers and their quotes (suppliers.yaml) and the machines' monthly fees.

Everything is set up on the shop's opening day (the day before its trading history, which `experiments`' seeder
writes), through the same services staff use. Idempotent: what exists is left as it is; stock is received and loaded
only the first time.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.files import File
from django.utils import timezone

from apps.core.demo import demo_clock, demo_fixture, demo_fixtures_dir, demo_moment, demo_opening_day
from apps.core.money import TaxRate
from apps.inventory.models import Machine, Product, StockMovement, Supplier
from apps.inventory.services import (
    machine_configure,
    machine_fee_save,
    product_create,
    slot_configure,
    stock_receive,
    stock_transfer_to_slot,
    supplier_offer_save,
    supplier_save,
)

SEED_LABEL = "seed_demo"
OPENING_HOUR = 7


def seed(*, stdout, options: dict) -> None:
    today = timezone.localdate()  # before the clock goes back to the opening day
    opening_day = demo_opening_day(options)
    with demo_clock(demo_moment(opening_day, OPENING_HOUR)):
        products = seed_catalogue()
        for spec in demo_fixture("machines")["machines"]:
            machine = seed_machine(spec=spec, products=products, opening_day=opening_day)
            stdout.write(f"  machine {machine.code}: {len(spec['slots'])} slots, opened {opening_day}")
        created = seed_suppliers(products=products, today=today)
    stdout.write(f"  catalogue: {len(products)} products; procurement: {created} new supplier(s) with their offers")


def seed_catalogue() -> dict[str, Product]:
    """Products by SKU, created with their pictures and opening back-room stock the first time."""
    products = {}
    for spec in demo_fixture("catalogue")["products"]:
        product = Product.objects.filter(sku=spec["sku"]).first()
        if product is None:
            with (demo_fixtures_dir() / "pictures" / spec["picture"]).open("rb") as picture:
                product = product_create(
                    sku=spec["sku"],
                    name_ja=spec["name_ja"],
                    name_en=spec["name_en"],
                    category=spec["category"],
                    price_yen=spec["price"],
                    tax_rate=TaxRate.STANDARD if spec["category"] == Product.Category.GOODS else TaxRate.REDUCED,
                    image=File(picture, name=spec["picture"]),
                    **demo_labels(spec),
                )
        if not StockMovement.objects.filter(product=product).exists():
            stock_receive(
                product=product,
                quantity=spec["back_room"],
                unit_cost_yen=spec["unit_cost"],
                actor_label=SEED_LABEL,
                reason="初期在庫",
                **demo_lot_date(spec, received_on=timezone.localdate()),
            )
        products[product.sku] = product
    return products


def demo_labels(spec: dict) -> dict:
    """The catalogue's label data as `product_create` takes it; allergens only where the fixture has checked them."""
    labels = {"calories_kcal": spec.get("kcal"), "ingredients": spec.get("ingredients", "")}
    if "allergens" in spec:
        labels |= {"allergens": spec["allergens"], "allergens_checked": True}
    return labels


def demo_lot_date(spec: dict, *, received_on: datetime.date) -> dict:
    """The date on a delivery of a fresh product (`shelf_life_days` after `received_on`), as `stock_receive` takes
    it; {} for goods the fixture does not date."""
    if "shelf_life_days" not in spec:
        return {}
    return {
        "expires_on": received_on + datetime.timedelta(days=spec["shelf_life_days"]),
        "date_kind": spec["date_kind"],
    }


def seed_machine(*, spec: dict, products: dict[str, Product], opening_day) -> Machine:
    machine = machine_configure(code=spec["code"], name=spec["name"], location=spec["location"])
    for code, sku, capacity, load in spec["slots"]:
        slot = slot_configure(machine=machine, code=code, product=products[sku], capacity=capacity)
        if load and not slot.movements.exists():
            stock_transfer_to_slot(slot=slot, quantity=load, actor_label=SEED_LABEL)
    if not machine.fees.exists():
        # Fees are a Manager's to record; the history charges each month as it falls due.
        manager = get_user_model().objects.filter(username="manager").first()
        for fee in spec["fees"]:
            machine_fee_save(
                machine=machine,
                actor=manager,
                kind=fee["kind"],
                payee=fee["payee"],
                amount_yen=fee["amount"],
                paid_from=fee["paid_from"],
                due_day=fee["due_day"],
                active_from=opening_day,
            )
    return machine


def seed_suppliers(*, products: dict[str, Product], today: datetime.date) -> int:
    """Suppliers and their offers, the first time only (a supplier that exists keeps its offers). Quotes that run
    out (`quotes_expire_days_ago`) are valid until that many days before `today`."""
    fixture = demo_fixture("suppliers")
    created = 0
    for spec in fixture["suppliers"]:
        if Supplier.objects.filter(name=spec["name"]).exists():
            continue
        supplier = supplier_save(
            name=spec["name"],
            contact_email=spec["email"],
            lead_time_days=spec["lead_days"],
            minimum_order_yen=spec["minimum_order"],
            reliability_score=spec["reliability"],
        )
        created += 1
        expires = spec.get("quotes_expire_days_ago")
        valid_until = today - datetime.timedelta(days=expires) if expires else None
        for sku, unit_cost, pack_size, *new_product in spec["offers"]:
            supplier_offer_save(
                supplier=supplier,
                product=products[sku] if sku else None,
                new_product_description=new_product[0] if new_product else "",
                unit_cost_yen=unit_cost,
                pack_size=pack_size,
                source=fixture["quote_source"],
                valid_until=valid_until,
            )
    return created
