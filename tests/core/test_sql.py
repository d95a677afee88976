"""apps/core/sql.py, the hand-written SQL of the purchase path: rows written and read by hand must be the rows the ORM
would write and read, on SQLite and PostgreSQL alike, and they belong to the caller's transaction."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.sql import (
    batch,
    batched_transaction,
    check_client_side_binding,
    client_side_binding_errors,
    columns,
    from_row,
    insert,
    joins_transaction,
    next_id_sql,
)
from apps.inventory.models import Product, StockLot, Supplier
from tests.factories import ProductFactory, SupplierFactory


def supplier(name: str, **fields) -> Supplier:
    """An unsaved supplier with only what has no default."""
    return Supplier(name=name, contact_email="orders@supplier.example.invalid", **fields)


def supplier_names() -> set[str]:
    return set(Supplier.objects.values_list("name", flat=True))


def stored(model, pk: int, *, leave_out: tuple[str, ...] = ("id",)) -> dict:
    """The row as the ORM reads it back, without the columns that differ by nature between two rows."""
    row = model.objects.filter(pk=pk).values().get()
    return {name: value for name, value in row.items() if name not in leave_out}


def typed_fields(instance) -> dict:
    """Every field's value with its type: 1 equals True, and an SQLite date string must not pass for a date."""
    return {
        field.attname: (getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in type(instance)._meta.concrete_fields
    }


@pytest.mark.django_db
class TestBatch:
    def test_each_statements_rows_come_back_in_order_and_none_for_a_write(self):
        earlier = SupplierFactory(name="先にある商事")

        results = batch(
            [
                insert([supplier("甲商事")], returning="id, name"),
                ("UPDATE inventory_supplier SET note = %s WHERE name = %s", ["月末締め", "甲商事"]),
                ("SELECT name, note FROM inventory_supplier ORDER BY id", []),
                ("SELECT id FROM inventory_supplier WHERE name = %s", ["無い商事"]),
            ]
        )

        new = Supplier.objects.get(name="甲商事")
        assert results == [
            [(new.pk, "甲商事")],
            [],
            [(earlier.name, ""), ("甲商事", "月末締め")],  # the update ran after the insert, before the select
            [],
        ]
        assert batch([]) == []


def prepared_statements() -> dict[str, int]:
    """This connection's statements prepared by `batch`: their names → how many times each ran."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements WHERE name LIKE 'vb\\_%%'"
        )
        return dict(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
class TestPreparedOnPostgresql:
    """PostgreSQL parses and plans each statement of a batch once per connection, not at every call."""

    def test_a_statement_runs_prepared_from_its_first_batch_on_with_the_same_results(self):
        for name in ("甲商事", "乙商事"):
            SupplierFactory(name=name)
        update = "UPDATE inventory_supplier SET note = %s WHERE name = %s"
        select = ("SELECT name, note FROM inventory_supplier WHERE name LIKE %s || '%%' ORDER BY name", ["甲"])
        before = prepared_statements()  # the connection outlives a test

        results = [batch([(update, [f"{n}回目", "甲商事"]), select])[1] for n in range(3)]

        assert results == [[("甲商事", "0回目")], [("甲商事", "1回目")], [("甲商事", "2回目")]]
        runs = [count - before.get(name, 0) for name, count in prepared_statements().items()]
        assert sorted(count for count in runs if count) == [3, 3]  # each statement prepared once, run three times

    def test_a_batch_that_fails_on_the_first_use_of_its_statements_leaves_the_connection_usable(self):
        new_statement = ("SELECT count(*) FROM inventory_supplier WHERE note = %s", ["初"])
        with pytest.raises(DatabaseError), transaction.atomic():
            batch([new_statement, ("SELECT 1 / 0", [])])

        # Whether its PREPARE ran before the error is unknown to `batch`: the statement simply runs as it is.
        assert batch([new_statement]) == [[(0,)]]
        assert batch([new_statement]) == [[(0,)]]


@pytest.mark.django_db(transaction=True)
class TestBatchInTheCallersTransaction:
    def test_a_rollback_of_the_callers_transaction_undoes_the_batch(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            batch([insert([supplier("甲商事")]), insert([supplier("乙商事")])])
            assert supplier_names() == {"甲商事", "乙商事"}
            raise RuntimeError("the caller gives up")

        assert supplier_names() == set()

    def test_an_error_in_a_later_statement_raises_and_leaves_nothing_of_the_batch(self):
        SupplierFactory(name="乙商事")

        with pytest.raises(IntegrityError), transaction.atomic():
            batch(
                [
                    insert([supplier("甲商事")]),
                    insert([supplier("乙商事")]),  # the supplier's name is unique
                    ("UPDATE inventory_supplier SET note = %s", ["走ってはいけない"]),
                ]
            )

        assert supplier_names() == {"乙商事"}
        assert Supplier.objects.get().note == ""

    def test_outside_any_transaction_a_batch_is_all_or_nothing(self):
        SupplierFactory(name="乙商事")

        with pytest.raises(IntegrityError):
            batch([insert([supplier("甲商事")]), insert([supplier("乙商事")])])

        assert supplier_names() == {"乙商事"}


def other_connection_sees(names: set[str]) -> bool:
    """Whether another connection (PostgreSQL) reads exactly `names`: what is committed."""
    with ThreadPoolExecutor(max_workers=1) as pool:

        def read():
            try:
                return supplier_names()
            finally:
                connection.close()

        return pool.submit(read).result(timeout=20) == names


@pytest.mark.django_db(transaction=True)
class TestBatchedTransaction:
    def test_its_batches_commit_together_with_the_last(self):
        with batched_transaction() as tx:
            tx.batch([insert([supplier("甲商事")])])
            assert supplier_names() == {"甲商事"}  # its own reads see it
            if connection.vendor == "postgresql":
                assert other_connection_sees(set())
            tx.batch([insert([supplier("乙商事")])], last=True)

        assert supplier_names() == {"甲商事", "乙商事"}
        if connection.vendor == "postgresql":
            assert other_connection_sees({"甲商事", "乙商事"})

    def test_an_exception_between_batches_rolls_back_and_the_connection_goes_on(self):
        with pytest.raises(Conflict), batched_transaction() as tx:
            tx.batch([insert([supplier("甲商事")])])
            raise Conflict("sold out")

        assert supplier_names() == set()
        SupplierFactory(name="乙商事")  # autocommit again, as if nothing happened
        if connection.vendor == "postgresql":
            assert other_connection_sees({"乙商事"})

    def test_a_failing_statement_rolls_back_the_earlier_batches(self):
        SupplierFactory(name="乙商事")

        with pytest.raises(IntegrityError), batched_transaction() as tx:
            tx.batch([insert([supplier("甲商事")])])
            tx.batch([insert([supplier("乙商事")])], last=True)

        assert supplier_names() == {"乙商事"}
        assert Supplier.objects.count() == 1

    def test_a_block_without_a_last_batch_commits_at_its_end(self):
        with batched_transaction() as tx:
            tx.batch([insert([supplier("甲商事")])])
            if connection.vendor == "postgresql":
                assert other_connection_sees(set())

        assert supplier_names() == {"甲商事"}
        if connection.vendor == "postgresql":
            assert other_connection_sees({"甲商事"})

    def test_with_orm_locks_it_is_djangos_transaction(self):
        with batched_transaction(orm=True) as tx:
            assert connection.in_atomic_block
            SupplierFactory(name="甲商事")
            Supplier.objects.select_for_update().get(name="甲商事")
            tx.batch([insert([supplier("乙商事")])], last=True)

        assert supplier_names() == {"甲商事", "乙商事"}


@pytest.mark.django_db
class TestInsert:
    def test_a_row_is_written_as_save_writes_it_with_defaults_and_json(self):
        allergens = ["milk", "えび", {"note": "同一工場"}]
        by_orm = Product(sku="ORM-1", name_ja="カフェラテ", category="drink", price_yen=180, allergens=allergens)
        by_orm.save()
        by_hand = Product(sku="SQL-1", name_ja="カフェラテ", category="drink", price_yen=180, allergens=allergens)

        ((by_hand_id,),) = batch([insert([by_hand], returning="id")])[0]

        assert stored(Product, by_hand_id, leave_out=("id", "sku")) == stored(
            Product, by_orm.pk, leave_out=("id", "sku")
        )
        assert stored(Product, by_hand_id)["allergens"] == allergens
        assert not by_hand._state.adding  # a later save() of the object is an update, as after Model.save

    def test_auto_now_add_and_default_values_are_applied(self):
        product = ProductFactory()
        before = timezone.now()
        by_orm = StockLot.objects.create(product=product, received_quantity=6, quantity=6)
        by_hand = StockLot(product=product, received_quantity=6, quantity=6)

        ((by_hand_id,),) = batch([insert([by_hand], returning="id")])[0]

        row = stored(StockLot, by_hand_id)
        assert before <= row.pop("created_at") <= timezone.now()
        assert row == stored(StockLot, by_orm.pk, leave_out=("id", "created_at"))
        assert row["date_kind"] == StockLot.DateKind.BEST_BEFORE and row["unit_cost_yen"] == 0

    def test_returning_id_gives_the_databases_ids_one_row_per_object(self):
        SupplierFactory()  # so that the new ids do not start at 1
        names = ["甲商事", "乙商事", "丙商事"]

        (ids,) = batch([insert([supplier(name) for name in names], returning="id")])

        assert ids == [(Supplier.objects.get(name=name).pk,) for name in names]

    def test_an_object_whose_pk_is_set_keeps_it(self):
        (ids,) = batch([insert([supplier("甲商事", pk=4242)], returning="id")])

        assert ids == [(4242,)]
        assert Supplier.objects.get(pk=4242).name == "甲商事"

    def test_skip_existing_writes_the_new_rows_and_leaves_a_stored_one_as_it_was(self):
        SupplierFactory(name="甲商事", note="先に届いた")

        (ids,) = batch(
            [insert([supplier("甲商事", note="二度目"), supplier("乙商事")], skip_existing="name", returning="id")]
        )

        assert ids == [(Supplier.objects.get(name="乙商事").pk,)]  # only the row written comes back
        assert Supplier.objects.get(name="甲商事").note == "先に届いた"
        assert supplier_names() == {"甲商事", "乙商事"}


@pytest.mark.django_db
def test_from_row_gives_the_instance_the_orm_gives():
    product = ProductFactory(allergens=["wheat", "えび"], allergens_checked=True, active=False, calories_kcal=None)
    lot = StockLot.objects.create(
        product=product,
        supplier=SupplierFactory(),
        expires_on=datetime.date(2026, 4, 30),
        date_kind=StockLot.DateKind.USE_BY,
        received_quantity=5,
        quantity=3,
    )

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns(Product)} FROM inventory_product WHERE id = %s", [product.pk])  # noqa: S608
        product_by_hand = from_row(Product, cursor.fetchone())
        # Qualified columns, as a join selects them.
        cursor.execute(
            f"SELECT {columns(StockLot, 'l')} FROM inventory_stocklot l"  # noqa: S608
            " JOIN inventory_product p ON p.id = l.product_id WHERE l.id = %s",
            [lot.pk],
        )
        lot_by_hand = from_row(StockLot, cursor.fetchone())

    assert typed_fields(product_by_hand) == typed_fields(Product.objects.get(pk=product.pk))
    assert typed_fields(lot_by_hand) == typed_fields(StockLot.objects.get(pk=lot.pk))
    assert product_by_hand.allergens == ["wheat", "えび"] and product_by_hand.active is False
    assert lot_by_hand.expires_on == datetime.date(2026, 4, 30)
    assert timezone.is_aware(lot_by_hand.created_at) and lot_by_hand.created_at == lot.created_at
    assert not lot_by_hand._state.adding


@pytest.mark.django_db
def test_next_id_sql_is_the_id_the_next_row_is_written_with():
    with transaction.atomic():
        last = SupplierFactory(name="甲商事")  # the transaction has written (SQLite reads its counter)
        (((next_id,),),) = batch([(f"SELECT {next_id_sql(Supplier)}", [])])
        batch([insert([supplier("乙商事", pk=next_id)])])
        later = SupplierFactory(name="丙商事")

    assert next_id == last.pk + 1
    assert Supplier.objects.get(pk=next_id).name == "乙商事"
    assert later.pk > next_id  # the id taken is never given again


@joins_transaction
def supplier_add(name: str, *, refuse: bool = False, fail_after_writing: bool = False) -> Supplier:
    """A service in the shape `joins_transaction` is for: it refuses before it writes."""
    if refuse:
        raise Conflict("この仕入先は登録できません。", code="refused")
    added = SupplierFactory(name=name)
    if fail_after_writing:
        raise RuntimeError("a bug after the write")
    return added


@pytest.mark.django_db(transaction=True)
class TestJoinsTransaction:
    def test_a_refusal_inside_the_callers_transaction_leaves_it_usable(self):
        with transaction.atomic():
            SupplierFactory(name="甲商事")
            with pytest.raises(Conflict):
                supplier_add("乙商事", refuse=True)
            SupplierFactory(name="丙商事")

        assert supplier_names() == {"甲商事", "丙商事"}

    def test_inside_the_callers_transaction_its_writes_are_the_callers(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            supplier_add("乙商事")
            raise RuntimeError("the caller gives up")

        assert supplier_names() == set()

    def test_outside_any_transaction_it_runs_in_its_own(self):
        assert not transaction.get_connection().in_atomic_block

        with pytest.raises(RuntimeError):
            supplier_add("乙商事", fail_after_writing=True)
        supplier_add("丙商事")

        assert supplier_names() == {"丙商事"}


def test_the_server_refuses_to_start_with_server_side_binding_on_postgresql():
    # `batch` sends several statements in one query: PostgreSQL takes that only with client-side binding.
    for engine in ("django.db.backends.postgresql", "apps.core.postgresql"):
        postgresql = {"ENGINE": engine, "NAME": "vendbot"}

        assert client_side_binding_errors({**postgresql, "OPTIONS": {"pool": {"max_size": 8}}}) == []
        assert [
            error.id for error in client_side_binding_errors({**postgresql, "OPTIONS": {"server_side_binding": True}})
        ] == ["core.E102"]
    assert check_client_side_binding() == []  # this project's own settings
