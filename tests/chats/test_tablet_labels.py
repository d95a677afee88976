"""The tablet's product card shows the label: allergens (or that they are not recorded), calories, ingredients."""

import pytest

from apps.inventory.models import Product
from apps.inventory.tablet_pairing import PAIRING_COOKIE


@pytest.mark.django_db
def test_the_product_card_shows_allergens_calories_and_ingredients_or_that_none_are_recorded(
    client, shop, paired_cookie
):
    Product.objects.filter(sku="COLA").update(
        allergens=[], allergens_checked=True, calories_kcal=140, ingredients="糖類、炭酸、香料"
    )
    Product.objects.exclude(sku="COLA").update(allergens=["乳"], allergens_checked=False)  # not checked yet
    client.cookies[PAIRING_COOKIE] = paired_cookie

    page = client.get("/tablet/HQ-1F/").content.decode()

    assert "アレルゲン: 表示対象なし / 140kcal" in page
    assert "原材料: 糖類、炭酸、香料" in page
    assert "アレルゲン: 未登録" in page  # an unchecked list is never shown as if it were complete
    assert "アレルゲン: 乳" not in page
