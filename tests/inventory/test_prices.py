import pytest

from apps.core.errors import PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from apps.inventory.services import price_change
from tests.factories import ProductFactory


@pytest.fixture
def coffee(db):
    """¥200, cost ¥150: the floor is ¥165."""
    return ProductFactory(sku="D004", price_yen=200, unit_cost_yen=150)


@pytest.mark.django_db
class TestPriceGuard:
    def test_small_change_above_the_floor_is_kept_in_history(self, coffee, manager_user):
        change = price_change(product=coffee, new_price_yen=220, actor=manager_user)

        coffee.refresh_from_db()
        assert coffee.price_yen == 220
        assert (change.old_price_yen, change.new_price_yen, change.guard_overridden) == (200, 220, False)

    def test_price_below_cost_times_1_1_is_refused(self, coffee, manager_user):
        with pytest.raises(ValidationError) as refused:
            price_change(product=coffee, new_price_yen=164, actor=manager_user)

        assert refused.value.details["floor_yen"] == 165
        coffee.refresh_from_db()
        assert coffee.price_yen == 200

    def test_price_at_the_floor_is_allowed(self, coffee, manager_user):
        price_change(product=coffee, new_price_yen=165, actor=manager_user)

        coffee.refresh_from_db()
        assert coffee.price_yen == 165

    def test_over_30_percent_in_a_day_is_refused_even_in_steps(self, coffee, manager_user):
        price_change(product=coffee, new_price_yen=250, actor=manager_user)

        with pytest.raises(ValidationError) as refused:
            price_change(product=coffee, new_price_yen=261, actor=manager_user)

        assert refused.value.details["day_base_yen"] == 200
        coffee.refresh_from_db()
        assert coffee.price_yen == 250

    def test_manager_overrides_with_a_reason_and_it_is_audited(self, coffee, manager_user):
        change = price_change(
            product=coffee, new_price_yen=100, actor=manager_user, override=True, reason="賞味期限間近の処分"
        )

        assert change.guard_overridden
        entry = AuditEntry.objects.get(action="price.override")
        assert (entry.actor, entry.from_state, entry.to_state) == (manager_user, "200", "100")

    def test_override_without_a_reason_is_refused(self, coffee, manager_user):
        with pytest.raises(ValidationError):
            price_change(product=coffee, new_price_yen=100, actor=manager_user, override=True)

    def test_agent_cannot_override(self, coffee):
        with pytest.raises(PermissionDenied):
            price_change(product=coffee, new_price_yen=100, actor_label="agent:ミナ", override=True, reason="値下げ")

    def test_staff_cannot_change_prices(self, coffee, staff_user):
        with pytest.raises(PermissionDenied):
            price_change(product=coffee, new_price_yen=210, actor=staff_user)
