"""Hand-written SQL for the few paths every request runs (the purchase), where the ORM's own work per statement cost
more than the database did (docs/performance.md).

`batch` sends several statements in one round trip on PostgreSQL (Django's psycopg cursor binds parameters on the
client, so one query may carry several statements; `server_side_binding` must stay off), each one prepared once per
connection, and runs them one by one on SQLite, which is in-process anyway. `insert` builds an INSERT from a model
instance the way `Model.save` would (its defaults, `auto_now_add`, the fields' database values), so a field added to
the model is never forgotten here; as no `save` runs, `saved` sends the `post_save` signal its listeners (the live
dashboard, procurement planning) wait for.
"""

import asyncio
import datetime
import hashlib
import json
import re
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from decimal import Decimal
from functools import cache, lru_cache, wraps

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Model
from django.db.models.signals import post_save

Statement = tuple[str, Sequence]


@checks.register(checks.Tags.compatibility)
def check_client_side_binding(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return client_side_binding_errors(settings.DATABASES["default"])


def client_side_binding_errors(database: dict) -> list[checks.CheckMessage]:
    """`batch` sends several statements in one query, which PostgreSQL only takes with parameters bound on the
    client (Django's default): the server refuses to start with `server_side_binding` on."""
    postgresql = database["ENGINE"] in ("django.db.backends.postgresql", "apps.core.postgresql")
    if postgresql and database.get("OPTIONS", {}).get("server_side_binding"):
        return [
            checks.Error("OPTIONS server_side_binding must stay off: apps.core.sql.batch needs it.", id="core.E102")
        ]
    return []


def joins_transaction(function: Callable) -> Callable:
    """Run `function` in the caller's transaction when there is one, else in one of its own: like
    `transaction.atomic`, without the savepoint (two round trips) a nested block costs. Only for a function that
    refuses before it writes anything, so that a refusal leaves the caller's transaction as it was."""

    @wraps(function)
    def joined(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return function(*args, **kwargs)
        with transaction.atomic():
            return function(*args, **kwargs)

    return joined


class BatchedTransaction:
    """The batches of one transaction (`batched_transaction`)."""

    def __init__(self, *, manual: bool):
        self.manual = manual  # BEGIN and COMMIT are this object's to send
        self.open = False

    def batch(self, statements: Sequence[Statement], *, last: bool = False) -> list[list[tuple]]:
        """`batch(statements)` in the transaction; `last` commits it with them."""
        if not self.manual:
            return batch(statements)
        framed, head, tail = _framed(statements, opened=self.open, last=last)
        self.open = True
        results = batch(framed)
        self.open = not last
        return results[head : len(results) - tail]


def _framed(statements: Sequence[Statement], *, opened: bool, last: bool) -> tuple[list[Statement], int, int]:
    """`statements` with the BEGIN of a transaction not opened yet before them and the COMMIT of its last batch after
    them; and how many statements each adds (their results are not the caller's)."""
    begin = [] if opened else [("BEGIN", [])]
    commit = [("COMMIT", [])] if last else []
    return [*begin, *statements, *commit], len(begin), len(commit)


@contextmanager
def batched_transaction(*, orm: bool = False) -> Iterator[BatchedTransaction]:
    """A transaction like `transaction.atomic` (committed at the end of the block, rolled back by an exception)
    whose BEGIN travels with its first batch and whose COMMIT with the batch sent with `last=True`: two round trips
    less (the purchase's attempt). Only on PostgreSQL outside any transaction; elsewhere, and with `orm` (the block
    locks rows through the ORM, which needs Django's own transaction), it is `transaction.atomic`. Django sees no
    transaction here: the block writes through `tx.batch` only (ORM reads run in the transaction) and calls `saved`
    after the block."""
    db = transaction.get_connection()
    if orm or db.vendor != "postgresql" or db.in_atomic_block:
        with transaction.atomic():
            yield BatchedTransaction(manual=False)
        return
    tx = BatchedTransaction(manual=True)
    try:
        yield tx
    except BaseException:
        if tx.open:
            with suppress(DatabaseError), db.cursor() as cursor:  # a broken connection is closed after the request
                cursor.execute("ROLLBACK")
        raise
    if tx.open:
        tx.batch([], last=True)


def batch(statements: Sequence[Statement]) -> list[list[tuple]]:
    """Run `statements` in order, in the caller's transaction or, outside one, as a transaction of their own: all or
    nothing. Returns each one's rows ([] for one without). The first error stops the batch and is raised, as if they
    had run one by one. On PostgreSQL a batch is one query, which the server runs as one transaction when none is
    open, so a batch outside a transaction costs no BEGIN and COMMIT round trips."""
    if not statements:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            prepared = _prepared_on(cursor.cursor.connection)
            sql, preparing = _as_prepared(statements, prepared)
            try:
                cursor.execute(sql, _parameters(statements))
            except BaseException:
                # Which of the new PREPAREs ran before the error is unknown (a PREPARE outlives a rollback): their
                # statements go as they are on this connection from now on.
                prepared.update(dict.fromkeys(preparing, False))
                raise
            prepared.update(dict.fromkeys(preparing, True))
            # The results are in hand (an error was raised above): read them off psycopg's cursor itself, past
            # Django's wrapper, by status (`description` builds a column object per column for each result).
            return _each_statements(_psycopg_results(cursor.cursor), preparing, statements)
    return _one_by_one(statements)


def _parameters(statements: Sequence[Statement]) -> list:
    return [p for _sql, ps in statements for p in ps]


def _each_statements(results: list[list[tuple]], preparing: list[str], statements: Sequence[Statement]) -> list:
    """The results of `statements`, without those of the PREPAREs sent ahead of them."""
    results = results[len(preparing) :]
    if len(results) != len(statements):
        raise DatabaseError(f"batch: {len(results)} results for {len(statements)} statements")
    return results


# Each PostgreSQL connection's prepared statements: name → True when prepared, False when unknown (then the statement
# goes as it is). A connection is a psycopg object of its own for its whole life, pooled or not.
_PREPARED: "weakref.WeakKeyDictionary[object, dict[str, bool]]" = weakref.WeakKeyDictionary()
_PREPARED_MAX = 500  # per connection: far above the purchase's and the books' statements; bounds the server's memory
_PREPARABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES")


def _prepared_on(psycopg_connection) -> dict[str, bool]:
    return _PREPARED.setdefault(psycopg_connection, {})


def _as_prepared(statements: Sequence[Statement], prepared: dict[str, bool]) -> tuple[str, list[str]]:
    """The query of `statements` with each one that can be prepared run as `EXECUTE` of a statement prepared on this
    connection, and the names it prepares first (their PREPAREs open the query). PostgreSQL then parses and plans a
    statement once per connection instead of at every call: half its CPU per purchase (docs/performance.md). The
    statements' parameters stay in place: an EXECUTE takes them in the same order."""
    parts, preparing = [], []
    for sql, _params in statements:
        form = _prepared_form(sql)
        if form is None:
            parts.append(sql)
            continue
        name, prepare_sql, execute_sql = form
        if name not in prepared and name not in preparing and len(prepared) + len(preparing) < _PREPARED_MAX:
            parts.insert(len(preparing), prepare_sql)
            preparing.append(name)
        parts.append(execute_sql if prepared.get(name) or name in preparing else sql)
    return ";\n".join(parts), preparing


@lru_cache(maxsize=1024)
def _prepared_form(sql: str) -> tuple[str, str, str] | None:
    """(name, PREPARE, EXECUTE with the statement's placeholders) of `sql`, or None for a statement PREPARE does not
    take (BEGIN, COMMIT)."""
    if not sql.lstrip()[:6].upper().startswith(_PREPARABLE):
        return None
    count = 0

    def numbered(match: re.Match) -> str:
        nonlocal count
        if match.group() == "%%":  # a literal %, which the client-side binding of the whole query unescapes
            return "%%"
        count += 1
        return f"${count}"

    body = re.sub(r"%%|%s", numbered, sql)
    name = "vb_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
    arguments = "(" + ", ".join(["%s"] * count) + ")" if count else ""
    return name, f"PREPARE {name} AS {body}", f"EXECUTE {name}{arguments}"


def _psycopg_results(cursor) -> list[list[tuple]]:
    """Every result of the query `cursor` (psycopg's) last ran, in order: each one's rows, [] for one without."""
    results = []
    while True:
        # Columns mean rows to fetch (a RETURNING or a SELECT). Not `cursor.description`: it builds a Column per
        # column, 330,000 instructions a purchase (callgrind).
        results.append(cursor.fetchall() if cursor.pgresult.nfields else [])
        if not cursor.nextset():
            return results


@joins_transaction
def _one_by_one(statements: Sequence[Statement]) -> list[list[tuple]]:
    with connection.cursor() as cursor:
        results = []
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(_rows(cursor))
        return results


def _rows(cursor) -> list[tuple]:
    return cursor.fetchall() if cursor.description is not None else []


# Fields whose value `save` writes unchanged when it already is of the type given (`get_db_prep_save` only converts
# other values, a "3" for an integer say), by exact field class: a subclass may convert more.
_WRITTEN_AS_IS = {
    **dict.fromkeys((models.CharField, models.TextField), str),
    **dict.fromkeys(
        (
            models.IntegerField,
            models.SmallIntegerField,
            models.BigIntegerField,
            models.PositiveIntegerField,
            models.PositiveSmallIntegerField,
            models.PositiveBigIntegerField,
            models.AutoField,
            models.BigAutoField,
        ),
        int,
    ),
    models.BooleanField: bool,
}


def _as_is_type(field) -> type | None:
    """The type of value `field` writes unchanged (a foreign key: its target's), or None."""
    if type(field) in (models.ForeignKey, models.OneToOneField):
        field = field.target_field
    return _WRITTEN_AS_IS.get(type(field))


@cache
def _insert_sql(
    model: type[Model], rows: int, with_pk: bool, returning: str, skip_existing: str, vendor: str
) -> tuple[str, tuple, tuple[type | None, ...]]:
    """The INSERT, its fields, and for each field the type of value it writes as it is (None: always prepared)."""
    fields = tuple(field for field in model._meta.concrete_fields if with_pk or not field.primary_key)
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
    if vendor == "postgresql":
        # Every row in one JSON parameter: psycopg parses a query with over 50 parameters again at every call and
        # quotes each parameter on its own, which cost more CPU than the purchase's Python did.
        rows_sql = f"SELECT {names} FROM json_populate_recordset(NULL::{table}, %s)"  # noqa: S608
    else:
        rows_sql = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)
    sql = f"INSERT INTO {table} ({names}) {rows_sql}"
    if skip_existing:
        sql += f" ON CONFLICT ({quote(model._meta.get_field(skip_existing).column)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    return sql, fields, tuple(_as_is_type(field) for field in fields)


def _json_value(value):
    """A field's database value inside the JSON rows of a PostgreSQL insert (json.dumps calls it for the rest)."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    from psycopg.types.json import Jsonb  # only PostgreSQL inserts get here; SQLite processes never load psycopg

    if isinstance(value, Jsonb):  # a JSONField's value, nested as it is
        return value.obj
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"insert: no JSON form for {type(value).__name__}")


def insert(objs: Iterable[Model], *, returning: str = "", skip_existing: str = "") -> Statement:
    """The INSERT of `objs` (one model) with every field's value as `save` would write it; the database assigns the
    primary keys unless they are set. With `returning` (columns, e.g. "id"), one row per object comes back. With
    `skip_existing` (a unique field), an object whose value of it is already stored is not written, as
    `bulk_create(ignore_conflicts=True)` does (nor returned). The objects count as saved from here on: the statement
    runs in the caller's transaction, which a failure rolls back."""
    objs = list(objs)
    with_pk = objs[0].pk is not None
    if any((obj.pk is not None) != with_pk for obj in objs):
        raise ValueError("insert: either every object has its primary key set or none has")
    db = transaction.get_connection()  # this thread's connection itself: the fields ask it for every value
    sql, fields, as_is_types = _insert_sql(type(objs[0]), len(objs), with_pk, returning, skip_existing, db.vendor)
    rows = []
    for obj in objs:
        row = []
        for field, as_is in zip(fields, as_is_types, strict=True):
            if as_is is None:
                row.append(field.get_db_prep_save(field.pre_save(obj, True), db))
                continue
            # Preparing every value as `save` does was most of an insert's cost; a None or a value of the type such
            # a field takes comes out of it unchanged (and the field's `pre_save` only reads it).
            value = getattr(obj, field.attname)
            is_plain = value is None or (isinstance(value, str) if as_is is str else type(value) is as_is)
            row.append(value if is_plain else field.get_db_prep_save(value, db))
        rows.append(row)
        obj._state.adding = False
        obj._state.db = db.alias
    if db.vendor == "postgresql":
        names = [field.column for field in fields]
        return sql, [json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=_json_value)]
    return sql, [value for row in rows for value in row]


def saved(instance: Model, *, created: bool, update_fields: Iterable[str] | None = None) -> None:
    """Tell `post_save` listeners of a row written by hand-written SQL, as `save` would have."""
    post_save.send(
        type(instance),
        instance=instance,
        created=created,
        update_fields=frozenset(update_fields) if update_fields is not None else None,
        raw=False,
        using=connection.alias,
    )


def columns(model: type[Model], alias: str = "") -> str:
    """Every column of `model` in field order (qualified by the table `alias` if given), for `from_row`."""
    quote = connection.ops.quote_name
    return ", ".join((f"{alias}." if alias else "") + quote(field.column) for field in model._meta.concrete_fields)


@cache
def _converters(model: type[Model], vendor: str, fields: tuple[str, ...] | None) -> tuple[list, list, list]:
    """For `fields` of `model` (attnames; None: all, in field order): where each value goes in field order, the
    names in that order, and the database's and the fields' value converters (SQLite's dates and booleans, JSON)
    for each value that has them, as the ORM applies them to what it selects."""
    wanted = [field.attname for field in model._meta.concrete_fields] if fields is None else list(fields)
    chosen = [field for field in model._meta.concrete_fields if field.attname in wanted]
    order = [wanted.index(field.attname) for field in chosen]
    converters = []
    for position, field in zip(order, chosen, strict=True):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((position, functions, column))
    return order, [field.attname for field in chosen], converters


def from_row(model: type[Model], row: Sequence, fields: Sequence[str] | None = None):
    """The instance of a row selected with `columns(model)`, or of `fields` only (attnames, in the row's order; the
    other fields stay deferred), with the values the ORM would give."""
    db = transaction.get_connection()
    order, names, converters = _converters(model, db.vendor, None if fields is None else tuple(fields))
    values = list(row)
    for position, functions, column in converters:
        for convert in functions:
            values[position] = convert(values[position], column, db)
    return model.from_db(db.alias, names, [values[position] for position in order])


def next_id_sql(model: type[Model]) -> str:
    """A scalar SQL expression for the primary key the next row of `model` gets, so related rows can be written in
    the same batch. PostgreSQL takes it from the table's sequence (never reused, even after a rollback); SQLite, which
    lets one writer at a time, reads it from its AUTOINCREMENT counter, so call it only once the transaction writes."""
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        return f"nextval(pg_get_serial_sequence('{table}', '{model._meta.pk.column}'))"
    return f"COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0) + 1"  # noqa: S608 (model meta)


# --- The same batches from an event loop ---------------------------------------------------------------------------
#
# A machine's purchase runs on daphne's event loop (`apps/inventory/consumers.py`). On a request thread it handed the
# GIL to the event loop and the other requests' threads at each of psycopg's calls, about ninety times a purchase,
# and the threads' wake-ups cost about as much CPU as its own work (docs/performance.md, session 17). From the event
# loop, its batches go through psycopg's async connection, from a pool of the loop's own, with `batch`'s prepared
# statements and client-side binding; errors are Django's (`django.db.IntegrityError` …), as from `batch`. psycopg
# is imported where it is used: SQLite setups and their commands never load it (0.2 s).


def async_batches_available() -> bool:
    """Whether `async_batch` and `async_batched_transaction` work with this database (PostgreSQL only)."""
    return connection.vendor == "postgresql"


class AsyncBatchedTransaction:
    """The batches of one transaction on one connection (`async_batched_transaction`)."""

    def __init__(self, psycopg_connection):
        self.connection = psycopg_connection
        self.open = False

    async def batch(self, statements: Sequence[Statement], *, last: bool = False) -> list[list[tuple]]:
        """`statements` in the transaction, with its BEGIN on the first batch; `last` commits it with them."""
        framed, head, tail = _framed(statements, opened=self.open, last=last)
        self.open = True
        results = await _async_batch_on(self.connection, framed)
        self.open = not last
        return results[head : len(results) - tail]


@asynccontextmanager
async def async_batched_transaction() -> AsyncIterator[AsyncBatchedTransaction]:
    """`batched_transaction` for a coroutine: committed with the batch sent with `last=True` (or at the end of the
    block), rolled back by an exception, on a connection of the event loop's pool."""
    import psycopg

    async with (await _async_pool()).connection() as psycopg_connection:
        tx = AsyncBatchedTransaction(psycopg_connection)
        try:
            yield tx
        except BaseException:
            if tx.open:
                with suppress(psycopg.Error):  # a broken connection: the pool drops it
                    await psycopg_connection.execute("ROLLBACK")
            raise
        if tx.open:
            await tx.batch([], last=True)


async def async_batch(statements: Sequence[Statement]) -> list[list[tuple]]:
    """`batch` for a coroutine, outside any transaction: one query, which PostgreSQL runs as one transaction."""
    async with (await _async_pool()).connection() as psycopg_connection:
        return await _async_batch_on(psycopg_connection, statements)


async def _async_batch_on(psycopg_connection, statements: Sequence[Statement]) -> list[list[tuple]]:
    prepared = _prepared_on(psycopg_connection)
    sql, preparing = _as_prepared(statements, prepared)
    cursor = psycopg_connection.cursor()
    try:
        with connection.wrap_database_errors:  # Django's exception for each of psycopg's, as from `batch`
            await cursor.execute(sql, _parameters(statements))
    except BaseException:
        prepared.update(dict.fromkeys(preparing, False))  # as in `batch`
        raise
    prepared.update(dict.fromkeys(preparing, True))
    results = []
    while True:
        results.append(await cursor.fetchall() if cursor.pgresult.nfields else [])
        if not cursor.nextset():
            return _each_statements(results, preparing, statements)


# Each event loop's pool (daphne has one loop for its life; a test's loop ends with the test: `async_pools_close`).
_ASYNC_POOLS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()
_ASYNC_POOL_DEFAULTS = {"min_size": 1, "max_size": 8, "timeout": 10.0}  # when Django's own pool is off


async def _async_pool():
    loop = asyncio.get_running_loop()
    pool = _ASYNC_POOLS.get(loop)
    if pool is None:
        pool = _new_async_pool()
        await pool.open()
        if _ASYNC_POOLS.setdefault(loop, pool) is not pool:  # another coroutine of this loop made one meanwhile
            await pool.close()
            pool = _ASYNC_POOLS[loop]
    return pool


def _new_async_pool():
    """Connections as Django makes them (its parameters and adapters, the time zone it sets), in autocommit, with
    client-side binding (a batch is one query: see `batch`), sized like Django's pool (DB_POOL_MIN_SIZE …)."""
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    from apps.core.postgresql.base import check_idle_async_connection

    params = {**connection.get_connection_params(), "cursor_factory": psycopg.AsyncClientCursor, "autocommit": True}
    time_zone = connection.timezone_name

    async def configure(psycopg_connection) -> None:
        if time_zone and psycopg_connection.info.parameter_status("TimeZone") != time_zone:
            await psycopg_connection.execute(connection.ops.set_time_zone_sql(), [time_zone])

    sizes = settings.DATABASES["default"].get("OPTIONS", {}).get("pool") or _ASYNC_POOL_DEFAULTS
    return AsyncConnectionPool(
        kwargs=params, configure=configure, check=check_idle_async_connection, open=False, name="async", **sizes
    )


async def async_pools_close() -> None:
    """Close the running event loop's pool, if it has one (a test's loop, before it ends)."""
    pool = _ASYNC_POOLS.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
