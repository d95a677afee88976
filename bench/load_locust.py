"""Load on the whole shop with locust: throughput and p50/p99 with one web process, then with two, and the
PostgreSQL connections they hold.

Creates `vb_load_bench` on the local PostgreSQL (kept between runs; `seed_demo --history-days 0` for the agents plus
machine BENCH-1 with one deep slot), starts the project's loopback LINE fake, one Celery worker and the web server as
production runs it (`python -m vendbot.server`), all on loopback and a Redis database of the bench's own. Then locust
(`bench/locustfile.py`, headless, 50 users for 15 s) drives browsing, purchases, tablet chat and signed LINE webhooks,
first against one web process, then spread over two. Prints requests/s and p50/p99 per kind and overall, and the
PostgreSQL connections held (sampled from pg_stat_activity every 0.5 s: the web processes', the worker's).

    .venv/bin/python bench/load_locust.py [--seconds 15] [--users 50] [--database-url postgres://.../vb_load_bench]
"""

import argparse
import csv
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from databases import ensure_database
from purchase_throughput import free_port, prepare_shop, wait_until_up, web_server_command

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPLY_TOKENS = 20_000


def with_application_name(url: str, name: str) -> str:
    """The database URL with an application_name, so pg_stat_activity tells the processes' connections apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def start(stack: ExitStack, command: list[str], env: dict) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop():
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


def start_web(stack: ExitStack, env: dict, database_url: str) -> str:
    port = free_port()
    env = {**env, "DATABASE_URL": with_application_name(database_url, "vendbot-web")}
    wait_until_up(port, start(stack, web_server_command(port), env), path="/healthz")
    return f"http://127.0.0.1:{port}"


class ConnectionSampler:
    """Counts the bench database's PostgreSQL sessions per application_name every 0.5 s while it runs."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.samples: dict[str, list[int]] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        name = self.database_url.rsplit("/", 1)[1].split("?")[0]
        with psycopg.connect(self.database_url.split("?")[0], autocommit=True) as conn:
            while not self.stopped.wait(0.5):
                rows = conn.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND application_name LIKE 'vendbot-%%' GROUP BY 1",
                    [name],
                ).fetchall()
                counts = dict(rows)
                for app in ("vendbot-web", "vendbot-worker"):
                    self.samples.setdefault(app, []).append(counts.get(app, 0))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=5)

    def summary(self, app: str) -> str:
        values = self.samples.get(app) or [0]
        return f"max {max(values)}, mean {statistics.fmean(values):.1f}"


def run_locust(hosts: list[str], env: dict, seconds: int, users: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="vb-locust-") as folder:
        prefix = os.path.join(folder, "run")
        command = [str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench" / "locustfile.py")]
        command += ["--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", prefix]
        command += ["--only-summary", "--stop-timeout", "5", "--loglevel", "ERROR", "--exit-code-on-error", "0"]
        subprocess.run(
            command,
            cwd=ROOT,
            env={**env, "LOAD_HOSTS": ",".join(hosts)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        with open(f"{prefix}_stats.csv", newline="") as stats:
            return list(csv.DictReader(stats))


def report(title: str, rows: list[dict], sampler: ConnectionSampler) -> None:
    print(f"\n{title}")
    print(f"  {'':<14} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'requests':>9} {'failed':>7}")
    for row in rows:
        name = "all" if row["Name"] == "Aggregated" else row["Name"]
        print(
            f"  {name:<14} {float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['99%']:>7}"
            f" {row['Request Count']:>9} {row['Failure Count']:>7}"
        )
    print(
        f"  PostgreSQL connections held: web processes {sampler.summary('vendbot-web')};"
        f" worker {sampler.summary('vendbot-worker')}"
    )


def prepare(database_url: str, redis_url: str) -> dict:
    """The bench database and shop; returns the environment of the servers, the worker and locust."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # A throwaway key for this run only; the bench database holds nothing worth protecting.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_DEFAULT_QUEUE": f"bench-load-{secrets.token_hex(4)}",
            "LINE_MACHINE_CODE": "BENCH-1",
            "LINE_CHANNEL_SECRET": secrets.token_hex(16),
            "LINE_CHANNEL_ACCESS_TOKEN": secrets.token_urlsafe(32),
            "LLM_CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
            "PAYMENT_TERMINAL_DB": os.path.join(tempfile.mkdtemp(prefix="vb-load-terminal-"), "terminal.sqlite3"),
        }
    )
    ensure_database(database_url)
    token = prepare_shop(units=1_000_000)
    from django.core.management import call_command

    # The agents and their personas; not the demo machines' months of trading history, which nothing here reads
    # (the load is on BENCH-1) and which took 20 of the 27 s a new bench database cost.
    call_command("seed_demo", history_days=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return {**os.environ, "LOAD_DEVICE_TOKEN": token, "LOAD_MACHINE": "BENCH-1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="per run (default 15)")
    parser.add_argument("--users", type=int, default=50, help="concurrent locust users (default 50)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vb_load_bench"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    started = time.monotonic()
    env = prepare(args.database_url, args.redis_url)

    from tests.chats.fake_line import FakeLine

    line = FakeLine().start()
    for n in range(REPLY_TOKENS):
        line.reply_token(f"load-{n}")
    env.update(LINE_API_BASE_URL=line.url, LINE_DATA_API_BASE_URL=line.url, LOAD_REPLY_TOKENS=str(REPLY_TOKENS))
    env["LOAD_LINE_SECRET"] = env["LINE_CHANNEL_SECRET"]
    worker_env = {**env, "DATABASE_URL": with_application_name(args.database_url, "vendbot-worker")}
    print(f"locust, {args.users} users, {args.seconds} s per run, {os.cpu_count()} CPUs, PostgreSQL, loopback")
    with ExitStack() as stack:
        stack.callback(line.stop)
        stack.callback(drop_queue, args.redis_url, env["CELERY_TASK_DEFAULT_QUEUE"])
        celery = [sys.executable, "-m", "celery", "-A", "vendbot", "worker", "-Q", env["CELERY_TASK_DEFAULT_QUEUE"]]
        start(
            stack, [*celery, "--concurrency", "2", "-l", "warning", "--without-gossip", "--without-mingle"], worker_env
        )
        hosts = [start_web(stack, env, args.database_url)]
        for count in (1, 2):
            if count == 2:
                hosts.append(start_web(stack, env, args.database_url))
            with ConnectionSampler(args.database_url) as sampler:
                rows = run_locust(hosts, env, args.seconds, args.users)
            report(f"{count} web process{'es' if count > 1 else ''}", rows, sampler)
    print(
        f"\nLINE replies sent by the worker: {len(line.sent('/message/reply'))}; total {time.monotonic() - started:.0f} s"
    )


def drop_queue(redis_url: str, queue: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete(queue)


if __name__ == "__main__":
    main()
