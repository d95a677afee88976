"""Demo shop for `seed_demo`: an office vending corner `HQ-1F` with 24 slots, 31 products, back-room stock and the
machine's monthly fees.

Idempotent: products and slots are created or left as they are; stock is received and loaded only the first time.
"""

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounting.postings import PaidFrom
from apps.core.money import TaxRate
from apps.inventory.models import MachineFee, Product, PurchaseOrder, StockMovement, Supplier
from apps.inventory.services import (
    machine_configure,
    machine_fee_save,
    machine_fees_charge,
    procurement_plan,
    product_create,
    purchase_create,
    purchase_order_approve,
    purchase_order_receive,
    slot_configure,
    stock_receive,
    stock_transfer_to_slot,
    supplier_offer_save,
    supplier_save,
)

DRINK, SNACK, FOOD, SPECIALTY, GOODS = (c.value for c in Product.Category)

# sku, Japanese name, English name, category, price (tax-inclusive yen), unit cost (yen), back-room stock
CATALOGUE = [
    ("D001", "緑茶 525ml", "Green tea 525ml", DRINK, 150, 68, 48),
    ("D002", "ほうじ茶 500ml", "Roasted green tea 500ml", DRINK, 150, 70, 36),
    ("D003", "ミネラルウォーター 550ml", "Mineral water 550ml", DRINK, 110, 42, 48),
    ("D004", "ブラック缶コーヒー 185g", "Black canned coffee 185g", DRINK, 130, 55, 30),
    ("D005", "カフェラテ 240ml", "Café latte 240ml", DRINK, 170, 85, 24),
    ("D006", "コーラ 500ml", "Cola 500ml", DRINK, 170, 78, 24),
    ("D007", "オレンジジュース 350ml", "Orange juice 350ml", DRINK, 150, 72, 24),
    ("D008", "スポーツドリンク 500ml", "Sports drink 500ml", DRINK, 160, 74, 24),
    ("D009", "レモン炭酸水 500ml", "Lemon sparkling water 500ml", DRINK, 130, 52, 24),
    ("D010", "エナジードリンク 250ml", "Energy drink 250ml", DRINK, 230, 125, 12),
    ("S001", "ポテトチップス うすしお", "Potato chips, lightly salted", SNACK, 160, 78, 20),
    ("S002", "ミルクチョコレート", "Milk chocolate bar", SNACK, 140, 68, 20),
    ("S003", "醤油せんべい", "Soy sauce rice crackers", SNACK, 180, 92, 15),
    ("S004", "果汁グミ ぶどう", "Grape fruit gummies", SNACK, 130, 60, 20),
    ("S005", "素焼きミックスナッツ", "Roasted mixed nuts", SNACK, 250, 135, 12),
    ("S006", "バタークッキー", "Butter cookies", SNACK, 200, 104, 12),
    ("S007", "プロテインバー", "Protein bar", SNACK, 230, 128, 12),
    ("S008", "のど飴", "Throat lozenges", SNACK, 160, 80, 10),
    ("F001", "おにぎり 鮭", "Onigiri, salmon", FOOD, 180, 102, 10),
    ("F002", "おにぎり ツナマヨ", "Onigiri, tuna mayo", FOOD, 170, 96, 10),
    ("F003", "おにぎり 梅", "Onigiri, pickled plum", FOOD, 160, 88, 8),
    ("F004", "おにぎり 昆布", "Onigiri, kelp", FOOD, 160, 88, 8),
    ("F005", "たまごサンド", "Egg sandwich", FOOD, 320, 190, 6),
    ("F006", "カップ麺 しょうゆ", "Cup noodles, soy sauce", FOOD, 230, 128, 12),
    ("F007", "バナナ", "Banana", FOOD, 100, 48, 12),
    ("X001", "宇治抹茶ラテ", "Uji matcha latte", SPECIALTY, 280, 165, 12),
    ("X002", "北海道チーズケーキ", "Hokkaido cheesecake", SPECIALTY, 380, 232, 6),
    ("X003", "クラフトチョコレート", "Craft chocolate", SPECIALTY, 450, 270, 6),
    ("G001", "マスク 5枚入り", "Face masks (5)", GOODS, 300, 150, 10),
    ("G002", "ウェットティッシュ", "Wet tissues", GOODS, 200, 98, 10),
    ("G003", "単3乾電池 2本", "AA batteries (2)", GOODS, 350, 198, 6),
]

# slot code, sku, capacity, how many to load at first seeding (a few start low so restocking has work to do)
PLANOGRAM = [
    ("A1", "D001", 12, 12), ("A2", "D002", 12, 10), ("A3", "D003", 12, 12),
    ("A4", "D004", 12, 3), ("A5", "D005", 12, 8), ("A6", "D006", 12, 12),
    ("B1", "D007", 12, 6), ("B2", "D008", 12, 12), ("B3", "D009", 12, 1),
    ("B4", "D010", 8, 8), ("B5", "X001", 8, 4), ("B6", "S007", 8, 8),
    ("C1", "S001", 10, 10), ("C2", "S002", 10, 2), ("C3", "S003", 10, 10),
    ("C4", "S004", 10, 10), ("C5", "S005", 8, 6), ("C6", "S006", 8, 8),
    ("D1", "F001", 8, 8), ("D2", "F002", 8, 4), ("D3", "F003", 8, 8),
    ("D4", "F004", 8, 0), ("D5", "F005", 6, 6), ("D6", "F006", 8, 8),
]  # fmt: skip

SEED_LABEL = "seed_demo"


def seed(*, stdout, options: dict) -> None:
    machine = machine_configure(code="HQ-1F", name="本社1F 休憩スペース", location="東京本社 1階 エレベーターホール横")
    products = {}
    for sku, name_ja, name_en, category, price, _cost, _stock in CATALOGUE:
        products[sku] = Product.objects.filter(sku=sku).first() or product_create(
            sku=sku,
            name_ja=name_ja,
            name_en=name_en,
            category=category,
            price_yen=price,
            tax_rate=TaxRate.STANDARD if category == GOODS else TaxRate.REDUCED,
        )
    for sku, *_names, _category, _price, cost, stock in CATALOGUE:
        product = products[sku]
        if not StockMovement.objects.filter(product=product).exists():
            stock_receive(
                product=product, quantity=stock, unit_cost_yen=cost, actor_label=SEED_LABEL, reason="初期在庫"
            )
    for code, sku, capacity, load in PLANOGRAM:
        slot = slot_configure(machine=machine, code=code, product=products[sku], capacity=capacity)
        if load and not slot.movements.exists():
            stock_transfer_to_slot(slot=slot, quantity=load, actor_label=SEED_LABEL)
    seed_suppliers(stdout=stdout, products=products)
    seed_fees(stdout=stdout, machine=machine)
    seed_purchase_orders(stdout=stdout, machine=machine)
    stdout.write(f"  machine {machine.code}: {len(PLANOGRAM)} slots, {len(CATALOGUE)} products")
    stdout.write("  device token for the tablet: manage.py issue_device_token HQ-1F")


# name, order e-mail, lead time (days), minimum order (yen before tax), reliability (0-100)
SUPPLIERS = [
    ("株式会社丸山食品", "hatchu@maruyama-foods.example.invalid", 2, 10_000, 92),
    ("東京ベンディング卸株式会社", "order@tokyo-vending.example.invalid", 1, 5_000, 85),
    ("関東格安問屋", "info@kanto-kakuyasu.example.invalid", 4, 0, 55),
    ("有限会社京都抹茶本舗", "eigyo@kyoto-matcha.example.invalid", 5, 8_000, 96),
]
# supplier, sku (or None and a new product's description), unit cost (yen before tax), pack size
OFFERS = [
    ("株式会社丸山食品", "D001", "", 64, 24), ("株式会社丸山食品", "D002", "", 66, 24),
    ("株式会社丸山食品", "D003", "", 38, 24), ("株式会社丸山食品", "F006", "", 120, 12),
    ("株式会社丸山食品", "S001", "", 74, 12), ("株式会社丸山食品", "S002", "", 64, 10),
    ("東京ベンディング卸株式会社", "D001", "", 67, 6), ("東京ベンディング卸株式会社", "D004", "", 52, 30),
    ("東京ベンディング卸株式会社", "D006", "", 74, 24), ("東京ベンディング卸株式会社", "D009", "", 49, 24),
    ("東京ベンディング卸株式会社", "D010", "", 118, 6), ("関東格安問屋", "D001", "", 55, 48),
    ("関東格安問屋", "D004", "", 45, 30), ("関東格安問屋", "S002", "", 55, 20),
    ("有限会社京都抹茶本舗", "X001", "", 150, 6),
    ("有限会社京都抹茶本舗", None, "抹茶オレ 250ml 紙パック（新商品）", 95, 24),
]  # fmt: skip


def seed_suppliers(*, stdout, products: dict) -> None:
    """Suppliers and their offers, the first time only (a supplier that exists keeps its offers)."""
    created = {}
    for name, email, lead_days, minimum, reliability in SUPPLIERS:
        if not Supplier.objects.filter(name=name).exists():
            created[name] = supplier_save(
                name=name,
                contact_email=email,
                lead_time_days=lead_days,
                minimum_order_yen=minimum,
                reliability_score=reliability,
            )
    for supplier_name, sku, description, unit_cost, pack_size in OFFERS:
        if supplier_name in created:
            supplier_offer_save(
                supplier=created[supplier_name],
                product=products[sku] if sku else None,
                new_product_description=description,
                unit_cost_yen=unit_cost,
                pack_size=pack_size,
                source="2026年11月 見積書",
            )
    stdout.write(f"  procurement: {len(created)} new supplier(s) with their offers")


# kind, payee, monthly amount (tax-inclusive yen), paid from, due day (31 = month end)
FEES = [
    (MachineFee.Kind.LOCATION_RENT, "東京本社 総務部（設置場所）", 5_500, PaidFrom.BANK, 31),
    (MachineFee.Kind.CONNECTIVITY, "IoT回線（SIM 1回線）", 1_078, PaidFrom.PAYABLE, 27),
    (MachineFee.Kind.PAYMENT_TERMINAL, "キャッシュレス決済端末レンタル", 3_300, PaidFrom.BANK, 10),
]


def seed_fees(*, stdout, machine) -> None:
    """The machine's fees from the first day of last month, the first time only, then every month due charged (a
    rerun charges nothing new), so the demo books show rent and the other fees."""
    if not machine.fees.exists():
        start = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        for kind, payee, amount, paid_from, due_day in FEES:
            machine_fee_save(
                machine=machine,
                kind=kind,
                payee=payee,
                amount_yen=amount,
                paid_from=paid_from,
                due_day=due_day,
                active_from=start,
            )
    charges = machine_fees_charge(through=timezone.localdate())
    stdout.write(f"  machine fees: {machine.fees.count()} contract(s), {len(charges)} month(s) charged now")


# slot, units to top up from the back room first, units sold (one by one) this week so the planner has demand to
# cover: each slot is left with one unit and the small back-room stock no longer covers lead time + 10 days.
PROCUREMENT_SALES = [("B4", 0, 7), ("B5", 4, 7), ("D6", 0, 7)]
# Of the planner's proposals, the manager approves the one to this supplier and staff receive part of it.
PARTLY_DELIVERED = ("株式会社丸山食品", 5)
TOP_UP_REASON = "デモ: 今週の補充"


def seed_purchase_orders(*, stdout, machine) -> None:
    """The first time only: a week's sales of a few products, the procurement agent's plan (pending orders with its
    reasoning), and one of them approved by the manager and partially received. The sales go through the payment
    gateway, so this runs outside any transaction (`seed_demo` has none): their idempotency keys make a rerun after
    a failure replay them instead of selling again."""
    if PurchaseOrder.objects.exists():
        return
    for code, top_up, sold in PROCUREMENT_SALES:
        slot = machine.slots.get(code=code)
        if top_up and not slot.movements.filter(reason=TOP_UP_REASON).exists():
            stock_transfer_to_slot(slot=slot, quantity=top_up, actor_label=SEED_LABEL, reason=TOP_UP_REASON)
        for n in range(sold):
            purchase_create(
                machine=machine,
                items=[{"slot": code, "quantity": 1}],
                coupon_code=None,
                payment_method="cash",
                idempotency_key=f"seed-demo-{code}-{n}",
                channel="tablet",
            )
    orders = procurement_plan().orders
    # core's seeder (earlier in INSTALLED_APPS) made the demo manager; run alone, this seeder leaves every order pending.
    manager = get_user_model().objects.filter(username="manager").first()
    if manager is None:
        stdout.write(f"  procurement: {len(orders)} order(s) proposed by the planner")
        return
    supplier_name, units = PARTLY_DELIVERED
    order = next(order for order in orders if order.supplier.name == supplier_name)
    order = purchase_order_approve(order=order, actor=manager, reason="デモ: 承認済み")
    line = order.lines.first()
    purchase_order_receive(order=order, delivered={line.pk: units}, actor=manager, note="デモ: 一部入荷")
    stdout.write(f"  procurement: {len(orders)} order(s) proposed by the planner, {order} partially received")
