"""One arena run, day by day, with its trace; and the replay of any day from the seed and the trace.

A day: the morning (`ArenaShop.morning`: events, fresh food past its date thrown away, card settlement, deliveries;
the mail room's answers), the agent, the night (`ArenaShop.night`). The trace keeps, per day, the morning's state
(with the units thrown away per SKU and their cost), the events, the mail that came, every tool call with the
policy's decision (agents on a provider), the model's words, and every action on the shop with what it answered. The actions and the seed are all a replay needs: `replay_day` runs the world again, feeding the
recorded actions instead of the agent, checks each answer and each evening's net worth against the trace, and returns
the day asked for as the agent saw it.
"""

import gzip
import json
import time
from dataclasses import dataclass, field, replace

from apps.core.errors import ApplicationError, ValidationError

from .api import ArenaApi
from .events import draw_arena
from .mail import Mailroom
from .shop import SERIES_NAMES, ArenaShop
from .world import ArenaWorld


@dataclass
class ArenaResult:
    seed: int
    days: int
    agent: str
    policy: str
    bankrupt_day: int | None
    series: dict[str, list[int]]
    events: list[dict]
    agent_summary: dict
    elapsed_seconds: float
    trace: dict | None = None
    packed: bytes = b""  # the trace, packed by `pack` (then `trace` is None)

    def packed_trace(self) -> bytes:
        """The trace as gzip'd JSON, as it is stored (b"" without one)."""
        if self.trace is None:
            return self.packed
        return gzip.compress(json.dumps(self.trace, ensure_ascii=False).encode(), compresslevel=5)

    def pack(self) -> "ArenaResult":
        """The same result with its trace packed, cheaper to send between processes."""
        packed = self.packed_trace()
        return replace(self, trace=None, packed=packed) if packed else self

    @property
    def final_net_worth(self) -> int:
        return self.series["net_worth"][-1]


@dataclass
class Arena:
    world: ArenaWorld
    seed: int
    days: int
    days_log: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if self.days < 1:
            raise ValidationError("A run needs at least one day.", details={"days": self.days})
        self.shop = ArenaShop(self.world, draw_arena(self.world, self.seed, self.days))
        self.mail = Mailroom(self.shop, self.seed)
        self.api = ArenaApi(self.shop, self.mail)

    def morning(self) -> tuple[list, list, dict]:
        shop = self.shop
        events = [event.as_dict() for event in shop.morning()]
        mail = self.mail.morning()
        state = {
            "cash_yen": shop.cash,
            "coin_box_yen": shop.coin_box,
            "net_worth_yen": shop.net_worth(),
            "stock_units": sum(shop.slot_units) + sum(shop.back),
            "broken": shop.scenario.broken[shop.day],
            "waste_yen": shop.series["waste"][shop.day],
            "spoiled": {
                self.world.products[product].sku: units for product, units in enumerate(shop.spoiled_today) if units
            },
        }
        return events, mail, state

    def run_day(self, agent, *, record: bool) -> None:
        events, mail, state = self.morning()
        first_action = len(self.api.actions)
        first_call = len(agent.toolbox.calls) if getattr(agent, "toolbox", None) else 0
        agent.act(self.api, events=events, mail=mail)
        self.shop.night()
        if record:
            toolbox = getattr(agent, "toolbox", None)
            transcript = getattr(agent, "transcript", None)
            self.days_log.append(
                {
                    "day": self.shop.day,
                    "morning": state,
                    "events": events,
                    "mail": mail,
                    "actions": [list(action) for action in self.api.actions[first_action:]],
                    "calls": toolbox.calls[first_call:] if toolbox else [],
                    "model": transcript[:] if transcript else [],
                    "net_worth_yen": self.shop.series["net_worth"][self.shop.day],
                }
            )
            if transcript:
                transcript.clear()
        self.shop.day += 1

    def bankrupt(self) -> bool:
        return self.shop.bankrupt_day >= 0


def run_arena(
    *, world: ArenaWorld, seed: int, days: int, agent, policy: str = "shop", trace: bool = True
) -> ArenaResult:
    """Run `agent` for `days` on this seed; `trace=False` keeps only the series (the leaderboard's fast path)."""
    started = time.perf_counter()
    arena = Arena(world, seed, days)
    while arena.shop.day < days:
        arena.run_day(agent, record=trace)
        if arena.bankrupt():
            arena.shop.freeze_rest()
    shop = arena.shop
    summary = agent.summary() if hasattr(agent, "summary") else {"tool_calls": 0, "refusals": {}, "model_cost_yen": 0.0}
    result = ArenaResult(
        seed=seed,
        days=days,
        agent=agent.name,
        policy=policy,
        bankrupt_day=shop.bankrupt_day if arena.bankrupt() else None,
        series={name: shop.series[name] for name in SERIES_NAMES},
        events=[event.as_dict() for event in shop.scenario.events],
        agent_summary=summary,
        elapsed_seconds=time.perf_counter() - started,
    )
    if trace:
        result.trace = {"seed": seed, "days": days, "agent": agent.name, "policy": policy, "log": arena.days_log}
    return result


def _plain(value):
    """As JSON would store it (tuples become lists), so a fresh trace and a stored one compare alike."""
    return json.loads(json.dumps(value, ensure_ascii=False))


class Replayer:
    """Stands in for the agent: performs the day's recorded actions and says whether each answered as recorded."""

    name = "replay"

    def __init__(self, log: list[dict]):
        self.log = log
        self.mismatches: list[dict] = []

    def act(self, api: ArenaApi, *, events: list, mail: list) -> None:
        day = api.shop.day
        for name, arguments, recorded in self.log[day]["actions"]:
            try:
                answer = getattr(api, name)(**arguments)
            except ApplicationError as exc:
                answer = {"error": exc.message}
            if _plain(answer) != _plain(recorded):
                self.mismatches.append({"day": day, "action": name, "recorded": recorded, "replayed": answer})


@dataclass
class ReplayedDay:
    day: int
    morning: dict  # the state before the agent acted, as replayed
    record: dict  # the trace's record of that day: events, mail, calls and policy decisions, model words, actions
    matches: bool  # every action answered as recorded and every evening's net worth agreed, up to this day
    mismatches: list[dict]


def replay_day(*, world: ArenaWorld, trace: dict, day: int) -> ReplayedDay:
    """Run the world from the trace's seed up to `day`, the recorded actions standing in for the agent."""
    log = trace["log"]
    if not 0 <= day < len(log):
        raise ValidationError(f"The trace has days 0 to {len(log) - 1}.", details={"day": day})
    arena = Arena(world, trace["seed"], trace["days"])
    replayer = Replayer(log)
    for current in range(day + 1):
        events, mail, state = arena.morning()
        replayer.act(arena.api, events=events, mail=mail)
        arena.shop.night()
        if arena.shop.series["net_worth"][current] != log[current]["net_worth_yen"]:
            replayer.mismatches.append(
                {
                    "day": current,
                    "net_worth_recorded": log[current]["net_worth_yen"],
                    "replayed": arena.shop.series["net_worth"][current],
                }
            )
        arena.shop.day += 1
        if current == day:
            morning = state
    return ReplayedDay(
        day=day, morning=morning, record=log[day], matches=not replayer.mismatches, mismatches=replayer.mismatches
    )
