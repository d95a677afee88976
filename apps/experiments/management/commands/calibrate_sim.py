import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.experiments.services import calibration_create


class Command(BaseCommand):
    help = (
        "Fit the simulator's demand (base demand and elasticity per product, weekday factors) to the sales in the "
        "database and store it as a Calibration that experiment variants can run on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="Defaults to 'twin <date>'.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the parameters as JSON.")

    def handle(self, *args, name, as_json, **options):
        calibration = calibration_create(name=name or f"twin {timezone.localdate():%Y-%m-%d}")
        parameters = calibration.parameters
        if as_json:
            self.stdout.write(json.dumps({"calibration": calibration.pk, **parameters}, ensure_ascii=False))
            return
        self.stdout.write(
            f"Calibration {calibration.pk} '{calibration.name}': {calibration.days_observed} days, "
            f"{calibration.units_observed:,} units"
        )
        self.stdout.write("weekday factors (Mon..Sun): " + ", ".join(f"{w:.2f}" for w in parameters["weekday_factors"]))
        for product in parameters["products"]:
            fitted = "fitted" if product["elasticity_fitted"] else "default"
            self.stdout.write(
                f"  {product['name']}: {product['base_demand']:.2f} units/day at ¥{product['reference_price_yen']}, "
                f"elasticity {product['elasticity']:.2f} ({fitted})"
            )
