"""VendBot's own time per model turn: the wall time of `agent_turn_run` minus the time spent inside the anthropic
SDK's calls (sending the request, waiting for the model, reading and parsing its stream: the provider adds it up in
`metrics.MODEL_SDK_SECONDS`). What is left is ours: the agent and usage reads, routing, the prompt and the context
window, the reply filter, the policy and the tools, the usage ledger, the decision log, Redis limits and the breaker,
and waiting for the database's commits. Targets, p50: 5 ms for a text reply, 8 ms for a tool call + reply.

For each scenario it prints own time, SDK time and the total, p50 and p99, then the SQL statements of one more turn
of each, counted outside the timed turns. These are wall-clock figures: on a machine whose CPU other work shares they
rise with its load. The last column, the CPU time of the turn's thread (the SDK's included), does much less so: where
own time is far above it, the turn was waiting (for a core, the disk or Redis), not working.

Runs against the loopback fake Messages API of the tests (it answers after a simulated model delay, which is part of
the SDK time) on a throwaway SQLite database and a key prefix of its own in the local Redis.

    .venv/bin/python bench/llm_overhead.py [--turns 200] [--model-delay-ms 20] [--database-url postgres://...]
"""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

from databases import migrate_when_behind, sqlite_migrated  # the script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {"text reply": 5.0, "tool call + reply": 8.0}  # VendBot's own time per turn, p50


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        # A fresh database each run, so the shop set up below is the only one.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--model-delay-ms", type=float, default=20.0)
    parser.add_argument(
        "--database-url", default="", help="e.g. postgres://postgres@127.0.0.1:5432/vb_llm_bench (default: SQLite file)"
    )
    return parser.parse_args()


def django_setup(*, database_url: str, redis_prefix: str) -> None:
    """The product's base settings on the bench's own database, with limits and budgets no run reaches."""
    if database_url.startswith("postgres"):
        ensure_database(database_url)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vendbot.settings.base",
        DATABASE_URL=database_url,
        SECRET_KEY="bench-only-" + uuid.uuid4().hex,
        LLM_REDIS_PREFIX=redis_prefix,
        LLM_DAILY_BUDGET_YEN="100000000",
        LLM_MONTHLY_BUDGET_YEN="100000000",
        LLM_CUSTOMER_MESSAGES_PER_MINUTE="1000000",
        LLM_CUSTOMER_TOKENS_PER_DAY="1000000000",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    migrate_when_behind()


class TurnBench:
    """A shop with one product and a shopkeeper on the Anthropic provider, answered by the loopback fake server."""

    def __init__(self, *, fake, model_delay_ms: float):
        from django.conf import settings

        from tests.factories import AgentFactory, MachineFactory, ProductFactory, SlotFactory, stock_slot

        settings.ANTHROPIC_API_KEY = "bench-" + uuid.uuid4().hex
        settings.ANTHROPIC_BASE_URL = fake.base_url
        self.fake, self.delay = fake, model_delay_ms / 1000
        self.machine = MachineFactory(code="BENCH-1")
        cola = ProductFactory(sku="COLA", name_ja="コーラ", price_yen=150, unit_cost_yen=70)
        stock_slot(SlotFactory(machine=self.machine, code="A1", product=cola, capacity=10), 10)
        # A budget no bench run reaches: every turn must reach the model.
        self.agent = AgentFactory(
            name="bench-shopkeeper", kind="shopkeeper", provider="anthropic", daily_token_budget=2_000_000_000
        )

    def model_reply(self, blocks, *, input_tokens=400, output_tokens=40):
        from tests.agents.fake_anthropic import Reply

        def answer(_request):
            time.sleep(self.delay)  # the model thinking: server time, not overhead
            return Reply(blocks, input_tokens=input_tokens, output_tokens=output_tokens)

        return answer

    def scenarios(self) -> dict:
        from tests.agents.fake_anthropic import text, tool_use

        return {
            "text reply": lambda: [self.model_reply([text("コーラは150円です。冷えていますよ！")])],
            "tool call + reply": lambda: [
                self.model_reply([tool_use("check_stock", {"sku": "COLA"})]),
                self.model_reply([text("コーラはあと10本あります。")]),
            ],
        }

    def run_turn(self, conversation_id: int) -> None:
        from apps.agents.providers.base import ChatMessage
        from apps.agents.runtime import agent_turn_run
        from apps.agents.tools.registry import ToolContext

        context = ToolContext(agent=self.agent, machine=self.machine, conversation_id=conversation_id, channel="tablet")
        outcome = agent_turn_run(
            agent=self.agent, context=context, history=[ChatMessage(role="user", text="コーラある？")]
        )
        if outcome.turn is None or outcome.turn.fallback_reason:
            raise SystemExit(f"turn did not reach the model: {outcome.turn and outcome.turn.fallback_reason}")

    def timed(self, answers: list, conversation_id: int) -> tuple[float, float, float]:
        """Script the fake server's `answers`, run a turn: (total ms, ms inside the SDK's calls, CPU ms)."""
        self.fake.then(*answers)
        sdk_before = sdk_seconds()
        started, cpu_started = time.perf_counter(), time.thread_time()
        self.run_turn(conversation_id)
        total, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
        return total * 1000, (sdk_seconds() - sdk_before) * 1000, cpu * 1000

    def measure(self, script, turns: int) -> dict[str, list[float]]:
        samples = [self.timed(script(), turn + 1) for turn in range(turns)]
        samples = samples[5:]  # the first turns warm caches and connections
        return {
            "own": [total - sdk for total, sdk, _cpu in samples],
            "SDK": [sdk for _total, sdk, _cpu in samples],
            "total": [total for total, _sdk, _cpu in samples],
            "CPU": [cpu for _total, _sdk, cpu in samples],
        }

    def statements_of_one_turn(self, script, conversation_id: int) -> int:
        """SQL statements of one more turn, counted outside the timed ones (transaction control aside)."""
        from django.db import connection

        statements = []

        def count(execute, sql, params, many, context):
            if not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
                statements.append(sql)
            return execute(sql, params, many, context)

        self.fake.then(*script())
        with connection.execute_wrapper(count):
            self.run_turn(conversation_id)
        return len(statements)


def sdk_seconds() -> float:
    """The SDK-time counter, read from the counter alone: the registry's look-up by name runs every collector, the
    dashboard's among them with its database queries (a second and more of every run)."""
    from apps.agents.metrics import MODEL_SDK_SECONDS

    (metric,) = MODEL_SDK_SECONDS.collect()
    return next(sample.value for sample in metric.samples if sample.name.endswith("_total"))


def report(results: dict, statements_per_turn: dict, *, turns: int, database_name: str, model_delay_ms: float) -> None:
    print(
        f"VendBot's own time per turn = total - time inside the SDK's calls ({turns} turns each, "
        f"{database_name}, model delay {model_delay_ms:.0f} ms inside the SDK time)"
    )
    headings = ("own p50", "own p99", "SDK p50", "SDK p99", "total p50", "total p99", "CPU p50")
    print(f"  {'':19s}" + "".join(f"{heading:>{11 if 'total' in heading else 9}s}" for heading in headings))
    for label, figures in results.items():
        columns = "".join(
            f"{statistics.median(figures[part]):9.2f}{percentile(figures[part], 0.99):9.2f}" for part in ("own", "SDK")
        )
        total = f"{statistics.median(figures['total']):11.2f}{percentile(figures['total'], 0.99):11.2f}"
        total += f"{statistics.median(figures['CPU']):9.2f}"
        own_p50, target = statistics.median(figures["own"]), TARGETS_MS[label]
        verdict = "ok" if own_p50 <= target else f"{own_p50 - target:.2f} ms over"
        print(f"  {label:19s}{columns}{total}   ms   (own p50 target {target:.0f} ms: {verdict})")
    print("SQL statements per turn (transaction control aside):", end="")
    print(",".join(f" {label} {count}" for label, count in statements_per_turn.items()))


def main() -> None:
    args = parse_args()
    database = Path(tempfile.gettempdir()) / f"vb_llm_bench_{os.getpid()}.sqlite3"
    if not args.database_url:
        sqlite_migrated(database)
    prefix = f"vendbot-bench:llm:{uuid.uuid4().hex}"
    django_setup(database_url=args.database_url or f"sqlite:///{database}", redis_prefix=prefix)
    from apps.agents.shared_limits import shared_redis
    from tests.agents.fake_anthropic import FakeAnthropic

    fake = FakeAnthropic()
    try:
        bench = TurnBench(fake=fake, model_delay_ms=args.model_delay_ms)
        # As the server processes do once loaded (vendbot/asgi.py, the Celery worker): what is loaded now lives as long
        # as the process, so full collections need not walk it.
        gc.freeze()
        results, statements_per_turn = {}, {}
        for label, script in bench.scenarios().items():
            results[label] = bench.measure(script, args.turns)
            statements_per_turn[label] = bench.statements_of_one_turn(script, args.turns + 1)
        report(
            results,
            statements_per_turn,
            turns=args.turns,
            database_name="PostgreSQL" if args.database_url else "SQLite",
            model_delay_ms=args.model_delay_ms,
        )
    finally:
        fake.close()
        keys = list(shared_redis().scan_iter(match=f"{prefix}:*"))
        if keys:
            shared_redis().delete(*keys)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
