"""The model runtime's own overhead per turn: wall time of `agent_turn_run` minus the time the (fake) Messages API
spent answering — prompt building, the SDK, streaming and parsing, the policy and tools, the decision log, the usage
ledger, Redis limits and the breaker. Target: p50 and p99 under 5 ms.

Two figures per scenario: the wall-clock overhead (which includes waiting for the database's commits and Redis), and
the CPU time of the calling thread alone (the runtime's own work, whatever the disk and the other tenants do). Then the
SQL statements of one more turn of each scenario, counted outside the timed turns, and the floor under it all: one
provider call alone (the anthropic SDK and the breaker, no turn around it) with the request a turn sends.

Runs against the loopback fake Messages API of the tests (it answers after a simulated model delay, which is not
counted) on a throwaway SQLite database and a key prefix of its own in the local Redis.

    .venv/bin/python bench/llm_overhead.py [--turns 200] [--model-delay-ms 20]
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

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 5.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--model-delay-ms", type=float, default=20.0)
    parser.add_argument(
        "--database-url", default="", help="e.g. postgres://postgres@127.0.0.1:5432/vb_llm_bench (default: SQLite file)"
    )
    args = parser.parse_args()

    database = Path(tempfile.gettempdir()) / f"vb_llm_bench_{os.getpid()}.sqlite3"
    if args.database_url:
        ensure_database(args.database_url)
    prefix = f"vendbot-bench:llm:{uuid.uuid4().hex}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vendbot.settings.base",
        DATABASE_URL=args.database_url or f"sqlite:///{database}",
        SECRET_KEY="bench-only-" + uuid.uuid4().hex,
        LLM_REDIS_PREFIX=prefix,
        LLM_DAILY_BUDGET_YEN="100000000",
        LLM_MONTHLY_BUDGET_YEN="100000000",
        LLM_CUSTOMER_MESSAGES_PER_MINUTE="1000000",
        LLM_CUSTOMER_TOKENS_PER_DAY="1000000000",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from apps.agents.prompts import system_prompt
    from apps.agents.providers.anthropic import AnthropicProvider
    from apps.agents.providers.base import ChatMessage, ProviderRequest
    from apps.agents.routing import model_for
    from apps.agents.runtime import agent_turn_run
    from apps.agents.shared_limits import shared_redis
    from apps.agents.tools.registry import ToolContext, tools_for_agent
    from tests.agents.fake_anthropic import FakeAnthropic, Reply, text, tool_use
    from tests.factories import AgentFactory, MachineFactory, ProductFactory, SlotFactory, stock_slot

    call_command("migrate", verbosity=0)
    fake = FakeAnthropic()
    settings.ANTHROPIC_API_KEY = "bench-" + uuid.uuid4().hex
    settings.ANTHROPIC_BASE_URL = fake.base_url
    try:
        machine = MachineFactory(code="BENCH-1")
        cola = ProductFactory(sku="COLA", name_ja="コーラ", price_yen=150, unit_cost_yen=70)
        stock_slot(SlotFactory(machine=machine, code="A1", product=cola, capacity=10), 10)
        # A budget no bench run reaches: every turn must reach the model.
        agent = AgentFactory(
            name="bench-shopkeeper", kind="shopkeeper", provider="anthropic", daily_token_budget=2_000_000_000
        )
        delay = args.model_delay_ms / 1000
        # As the server processes do once loaded (vendbot/asgi.py, the Celery worker): what is loaded now lives as long
        # as the process, so full collections need not walk it.
        gc.freeze()

        def model_reply(blocks, *, input_tokens=400, output_tokens=40):
            def answer(_request):
                time.sleep(delay)  # the model thinking: server time, not overhead
                return Reply(blocks, input_tokens=input_tokens, output_tokens=output_tokens)

            return answer

        def run_turn(context: ToolContext) -> None:
            outcome = agent_turn_run(
                agent=agent, context=context, history=[ChatMessage(role="user", text="コーラある？")]
            )
            if outcome.turn is None or outcome.turn.fallback_reason:
                raise SystemExit(f"turn did not reach the model: {outcome.turn and outcome.turn.fallback_reason}")

        def timed(answers: list, call) -> tuple[float, float]:
            """Script the fake server's `answers`, run `call`: (wall ms minus the server's time, CPU ms)."""
            fake.then(*answers)
            fake.busy_seconds.clear()
            started, cpu_started = time.perf_counter(), time.thread_time()
            call()
            wall, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            return (wall - sum(fake.busy_seconds)) * 1000, cpu * 1000

        def count_statements(execute, sql, params, many, context):
            if not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):  # transaction control aside
                statements.append(sql)
            return execute(sql, params, many, context)

        results, statements_per_turn = {}, {}
        for label, script in (
            ("text reply", lambda: [model_reply([text("コーラは150円です。冷えていますよ！")])]),
            (
                "tool call + reply",
                lambda: [
                    model_reply([tool_use("check_stock", {"sku": "COLA"})]),
                    model_reply([text("コーラはあと10本あります。")]),
                ],
            ),
        ):
            samples = [
                timed(
                    script(),
                    lambda turn=turn: run_turn(
                        ToolContext(agent=agent, machine=machine, conversation_id=turn + 1, channel="tablet")
                    ),
                )
                for turn in range(args.turns)
            ]
            # The first turns warm caches and connections.
            results[label] = [wall for wall, _cpu in samples[5:]]
            results[f"{label} (CPU only)"] = [cpu for _wall, cpu in samples[5:]]
            # Counted on one more turn, outside the timed ones.
            fake.then(*script())
            statements = []
            with connection.execute_wrapper(count_statements):
                run_turn(ToolContext(agent=agent, machine=machine, conversation_id=args.turns + 1, channel="tablet"))
            statements_per_turn[label] = len(statements)
        # The floor: what one model call costs the caller with no turn around it (a tool call + reply turn makes two).
        provider = AnthropicProvider(model_name=model_for(agent, budget_percent=0))
        request = ProviderRequest(
            system=system_prompt(agent, machine=machine),
            messages=[ChatMessage(role="user", text="コーラある？")],
            tools=[tool.spec() for tool in tools_for_agent(agent)],
            persona=agent.persona,
        )
        calls = [
            timed([model_reply([text("コーラは150円です。冷えていますよ！")])], lambda: provider.complete(request))
            for _call in range(args.turns)
        ]
        floor = {
            "one provider call alone": [wall for wall, _cpu in calls[5:]],
            "one provider call alone (CPU)": [cpu for _wall, cpu in calls[5:]],
        }
        print(f"runtime overhead per turn ({args.turns} turns each, model delay {args.model_delay_ms:.0f} ms excluded)")
        for label, overheads in results.items():
            p50, p99 = statistics.median(overheads), percentile(overheads, 0.99)
            verdict = "ok" if p99 < TARGET_MS else f"over the {TARGET_MS:.0f} ms target"
            print(f"  {label:29s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   ({verdict})")
        print("the floor: the SDK and the breaker, no turn around them")
        for label, overheads in floor.items():
            print(
                f"  {label:29s} p50 {statistics.median(overheads):6.2f} ms   p99 {percentile(overheads, 0.99):6.2f} ms"
            )
        print("SQL statements per turn (transaction control aside):", end="")
        print(",".join(f" {label} {count}" for label, count in statements_per_turn.items()))
    finally:
        fake.close()
        keys = list(shared_redis().scan_iter(match=f"{prefix}:*"))
        if keys:
            shared_redis().delete(*keys)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
