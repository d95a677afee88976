"""How long a whole `manage.py simulate --days 365` process takes, start-up included, beside its floors.

    .venv/bin/python bench/startup.py [--runs 7]

Each run starts fresh processes, interleaved so that a busy moment of the machine hits every row alike:

- `python -c "import django"`: the bare interpreter and Django's package, the floor of any Django command;
- the sim-only episode: a script that imports only `apps.experiments.sim` (and NumPy) and runs the same 365-day
  episode, the fastest this episode can start and finish in a fresh process;
- `manage.py check`: every app loaded and the system checks (which import every URLconf and view);
- `manage.py simulate --days 365`: the command, Django's start-up included. Target: at most 1.0 s.

It prints the best and the median wall time of each, the children's CPU time beside them (on a shared machine the wall
clock also counts other people's work), and whether `python -X importtime manage.py check` shows any of the heavy SDKs
that must load only where they are used (anthropic, linebot, scipy). The processes write their bytecode caches as a
developer's do (PYTHONDONTWRITEBYTECODE is dropped for them, and one warm-up run of each comes first): without the
cache, every project module is compiled again on every start.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
TARGET_SECONDS = 1.0
HEAVY = ("anthropic", "linebot", "scipy")
SIM_ONLY = (
    "from apps.experiments.sim.agents import make_agent\n"
    "from apps.experiments.sim.episode import run_episode\n"
    "from apps.experiments.sim.world import World\n"
    "world = World()\n"
    "print(run_episode(world=world, seed=1, days=365, agent=make_agent('heuristic', world)).final_net_worth)\n"
)
COMMANDS = {
    'python -c "import django"': [PYTHON, "-c", "import django"],
    "sim-only episode (no Django)": [PYTHON, "-c", SIM_ONLY],
    "manage.py check": [PYTHON, "manage.py", "check"],
    "manage.py simulate --days 365": [PYTHON, "manage.py", "simulate", "--days", "365"],
}


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("DEBUG", "1")  # a development start: no SECRET_KEY needed
    env["PYTHONPATH"] = str(ROOT)
    return env


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the child's CPU seconds (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _heavy_in_importtime(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    return [name for name in HEAVY if name in imported]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = _environment()
    for command in COMMANDS.values():  # warm-up: bytecode caches written, files in the page cache
        _timed(command, env)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            wall, cpu = _timed(command, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.runs} interleaved runs each")
    for name in COMMANDS:
        print(
            f"{name:32} wall best {min(walls[name]):.3f} s, median {statistics.median(walls[name]):.3f} s; "
            f"CPU best {min(cpus[name]):.3f} s, median {statistics.median(cpus[name]):.3f} s"
        )
    simulate = statistics.median(walls["manage.py simulate --days 365"])
    print(
        f"simulate, whole process: median {simulate:.3f} s; target <= {TARGET_SECONDS} s: "
        f"{'met' if simulate <= TARGET_SECONDS else 'MISSED'} (best {min(walls['manage.py simulate --days 365']):.3f} s)"
    )
    heavy = _heavy_in_importtime(env)
    print(f"python -X importtime manage.py check imports {', '.join(heavy) if heavy else 'none'} of {', '.join(HEAVY)}")
    return 1 if heavy else 0


if __name__ == "__main__":
    sys.exit(main())
