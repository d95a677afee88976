import pytest

from apps.core.errors import ValidationError
from apps.inventory.models import ProductRequest
from apps.inventory.selectors import product_request_summary
from apps.inventory.services import product_request_record
from tests.factories import ProductFactory


@pytest.mark.django_db
class TestProductRequests:
    def test_same_customer_asking_again_is_one_request(self):
        first = product_request_record(name="コーラ ゼロ", customer_key="line:U1", note="毎日飲みたい")
        again = product_request_record(name="ｺｰﾗ　ゼロ", customer_key="line:U1", note="まだですか")

        assert again.pk == first.pk
        assert again.times_requested == 2
        assert again.note == "毎日飲みたい\nまだですか"
        assert ProductRequest.objects.count() == 1

    def test_summary_counts_distinct_requesters(self):
        product_request_record(name="コーラゼロ", customer_key="line:U1")
        product_request_record(name="コーラゼロ", customer_key="line:U1")
        product_request_record(name="コーラゼロ", customer_key="line:U2")
        product_request_record(name="コーラゼロ", channel="tablet")
        product_request_record(name="豆乳", customer_key="line:U3")

        summary = product_request_summary()

        assert [(row["name"], row["requesters"], row["times_requested"]) for row in summary] == [
            ("コーラゼロ", 3, 4),
            ("豆乳", 1, 1),
        ]

    def test_request_for_a_product_we_sell_is_matched_to_it(self):
        tea = ProductFactory(name_ja="緑茶")

        request = product_request_record(name="緑茶", customer_key="line:U1")

        assert request.product == tea

    def test_empty_name_is_refused(self):
        with pytest.raises(ValidationError):
            product_request_record(name="  ", customer_key="line:U1")
