"""`calibrate_sim` recovers the demand of a made-up sales history with known parameters."""

import datetime
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.errors import ValidationError
from apps.experiments.calibration import world_from_parameters
from apps.experiments.models import Calibration, Experiment, Variant
from apps.experiments.services import calibration_create, experiment_start
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import run_episode
from tests.factories import ProductFactory, SlotFactory, sold_on

pytestmark = pytest.mark.django_db

WEEKDAY_FACTORS = [1.2, 1.0, 1.0, 1.0, 1.2, 0.8, 0.8]  # Monday first; mean 1
DAYS = 140


def _history():
    """Tea: 6 a day at ¥160, elasticity 2, sold at ¥200 for the second half. Snack: 3 a day, always ¥150."""
    rng = np.random.Generator(np.random.PCG64(7))
    tea = SlotFactory(code="A1", product=ProductFactory(sku="TEA", name_ja="お茶", price_yen=160, unit_cost_yen=70))
    snack = SlotFactory(code="A2", product=ProductFactory(sku="SNACK", name_ja="おかし", price_yen=150))
    first = timezone.make_aware(datetime.datetime(2026, 3, 2, 12, 0))  # a Monday
    for offset in range(DAYS):
        at = first + datetime.timedelta(days=offset)
        weekday = WEEKDAY_FACTORS[at.weekday()]
        tea_price = 160 if offset < DAYS // 2 else 200
        for slot, rate, price in (
            (tea, 6 * weekday * np.exp(-2.0 * (tea_price / 160 - 1)), tea_price),
            (snack, 3 * weekday, 150),
        ):
            units = int(rng.poisson(rate))
            if units:
                sold_on(slot=slot, at=at, quantity=units, unit_price_yen=price)


def test_the_fit_recovers_base_demand_elasticity_and_weekdays():
    _history()
    calibration = calibration_create(name="twin")
    parameters = calibration.parameters
    tea, snack = parameters["products"]
    assert calibration.days_observed == DAYS
    assert tea["reference_price_yen"] in (160, 200)  # both prices were on sale for half the time
    assert tea["elasticity_fitted"] and tea["elasticity"] == pytest.approx(2.0, abs=0.4)
    at_160 = tea["base_demand"] * np.exp(-tea["elasticity"] * (160 / tea["reference_price_yen"] - 1))
    assert at_160 == pytest.approx(6.0, rel=0.1)
    assert not snack["elasticity_fitted"] and snack["base_demand"] == pytest.approx(3.0, rel=0.1)
    assert parameters["weekday_factors"] == pytest.approx(WEEKDAY_FACTORS, abs=0.15)


def test_the_command_stores_a_calibration_a_variant_can_run_on(
    capsys, manager_user, django_capture_on_commit_callbacks
):
    _history()
    call_command("calibrate_sim", "--json", "--name", "shop twin")
    printed = json.loads(capsys.readouterr().out)
    calibration = Calibration.objects.get(pk=printed["calibration"])
    assert calibration.name == "shop twin" and len(printed["products"]) == 2
    world = world_from_parameters(calibration.parameters)
    assert [p.name for p in world.products] == ["お茶", "おかし"]
    result = run_episode(world=world, seed=1, days=30, agent=make_agent("heuristic", world))
    assert result.series["units_sold"].sum() > 0

    experiment = Experiment.objects.create(name="twin", days=30, seed_count=1, first_seed=1)
    Variant.objects.create(experiment=experiment, name="on the twin", calibration=calibration)
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)
    run = experiment.runs.get()
    assert run.series["net_worth"] == result.series["net_worth"].tolist()  # the worker ran the twin world


def test_calibrating_an_empty_shop_says_there_is_nothing_to_fit():
    with pytest.raises(ValidationError, match="no sales"):
        calibration_create(name="empty")
    assert not Calibration.objects.exists()
