"""The admin speaks Japanese: a Manager sees no English label anywhere on the index, the changelists and the forms.

What counts as a label (the text Django builds from our code, never from stored data): page headings, breadcrumbs
(but the object's own name), the app index's app and model names, changelist column headers, filter titles
(「… で絞り込む」 carries the field's verbose name), action names, field labels, help texts, fieldset and inline
headings and inline column headers. A label is untranslated when it holds a word in Latin letters that is not one of
the few names Japanese screens write in Latin letters too (ID, LINE, SKU, ...).
"""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import (
    AgentFactory,
    AgentTurnFactory,
    CouponFactory,
    MachineFeeFactory,
    PersonaFactory,
    PurchaseOrderFactory,
    SlotFactory,
    SupplierOfferFactory,
    sold_on,
    stock_slot,
)

# Written in Latin letters on Japanese screens as well: acronyms (any word in capitals: ID, LINE, SKU) and names.
# "line" and "conv" begin a customer's key (「例: line:<id>」, 「conv:<会話ID>」).
LATIN_NAMES = {
    "Webhook",
    "Beancount",
    "VendBot",
    "Anthropic",
    "Control",
    "Command",
    "Mac",
    "cron",
    "crontab",
    "line",
    "conv",
}
# django_celery_beat writes this one label without gettext, so no catalogue can translate it.
UNTRANSLATABLE = {"django_celery_beat.PeriodicTask: Task Name"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]*[a-z][A-Za-z_]*")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def untranslated(label: str) -> bool:
    return any(word not in LATIN_NAMES for word in LATIN_WORD.findall(label))


class AdminLabels(HTMLParser):
    """Collects (where, text) for every label of an admin page; see the module's docstring for which."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.open: list[list] = []  # [where, depth, parts] of the labels being read
        self.labels: list[tuple[str, str]] = []

    def _where(self, tag: str, attrs: dict) -> str | None:
        classes = attrs.get("class", "").split()
        inside = {t for t, _a in self.stack}
        if tag in {"h1", "h2", "h3", "label", "caption", "summary", "legend"}:
            return tag
        if tag == "div" and ("help" in classes or "breadcrumbs" in classes):
            return "help" if "help" in classes else "breadcrumbs"
        if tag == "th" and "thead" in inside:
            return "column header"
        if tag == "th" and attrs.get("scope") == "row" and self.stack[-1][1].get("class", "").startswith("model-"):
            return "model name"
        if tag == "option" and any(t == "select" and a.get("name") == "action" for t, a in self.stack):
            return "action"
        return None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "input" and self.open and self.open[-1][0] == "label":
            self.open[-1][0] = "choice"  # a checkbox's or radio button's label names a value, not a field
        where = self._where(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, attrs))
            if where:
                self.open.append([where, len(self.stack), []])

    def handle_endtag(self, tag):
        while self.stack:
            if self.open and self.open[-1][1] == len(self.stack):
                where, _depth, parts = self.open.pop()
                text = " ".join("".join(parts).split())
                if text and where != "choice":
                    self.labels.append((where, text))
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for label in self.open:
            label[2].append(data)


def labels_of(html: str, *, data: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The page's labels, without the stored values named in `data` (an object's name in its breadcrumb)."""
    parser = AdminLabels()
    parser.feed(html)
    found = []
    for where, text in parser.labels:
        if where == "breadcrumbs":
            found += [(where, crumb.strip()) for crumb in text.split("›") if crumb.strip() not in data]
        elif text not in data:
            found.append((where, text))
    return found


@pytest.fixture
def one_of_each(db):
    """One row for every model in the admin, so that each change form opens: the shop's through the factories, the
    records no factory makes with the fewest plain values their constraints allow."""
    PurchaseOrderFactory()
    SupplierOfferFactory()
    slot = stock_slot(SlotFactory(), 2, spare=1)
    sold_on(slot=slot, at=timezone.now(), quantity=1, unit_price_yen=150)
    CouponFactory()
    MachineFeeFactory()
    AgentTurnFactory(agent=AgentFactory(persona=PersonaFactory()))
    for model in admin.site._registry:
        _a_row_of(model)


def _a_row_of(model):
    """The first row of `model`, made with the first choice, a related model's first row or a small value."""
    if row := model._default_manager.first():
        return row
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.null or field.has_default() or getattr(field, "auto_now_add", False):
            continue
        if field.is_relation:
            values[field.name] = _a_row_of(field.related_model)
        elif field.choices:
            values[field.name] = field.choices[0][0]
        else:
            values[field.name] = SAMPLE[field.get_internal_type()]
    return model._default_manager.create(**values)


SAMPLE = {
    "CharField": "テスト",
    "TextField": "テスト",
    "PositiveIntegerField": 1,
    "PositiveSmallIntegerField": 1,
    "PositiveBigIntegerField": 1,
    "BigIntegerField": 1,
    "IntegerField": 1,
    "DecimalField": 1,
    "DateField": datetime.date(2026, 11, 30),
    "DateTimeField": datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC),
    "JSONField": {},
}


def test_a_manager_sees_every_admin_page_in_japanese(client, manager_user, one_of_each):
    client.force_login(manager_user)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ja")
    assert index.status_code == 200
    pages = {"管理画面トップ": labels_of(index.content.decode())}
    visited = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(_request(manager_user)):
            continue
        meta = model._meta
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert changelist.status_code == 200, meta.label
        pages[f"{meta.label} 一覧"] = labels_of(changelist.content.decode())
        visited.append(meta.label)
        obj = model_admin.get_queryset(_request(manager_user)).first()  # one_of_each made one
        form = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
        assert form.status_code == 200, meta.label
        pages[f"{meta.label} 詳細"] = labels_of(form.content.decode(), data=(str(obj),))

    english = {page: sorted({text for _where, text in labels if untranslated(text)}) for page, labels in pages.items()}
    english = {page: texts for page, texts in english.items() if texts}
    assert not english, "\n".join(f"{page}: {texts}" for page, texts in english.items())
    assert len(visited) >= 30, visited  # a Manager sees the shop, the books, the agents, chats and experiments


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_every_model_in_the_admin_has_japanese_names():
    """Also the models a Manager may not open (the periodic tasks, users) and the inlines' models, field by field."""
    shown = {model for model in admin.site._registry}
    shown |= {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    with translation.override("ja"):
        english = [
            f"{meta.label}: {name}"
            for meta in sorted((model._meta for model in shown), key=str)
            for name in [meta.app_config.verbose_name, meta.verbose_name, meta.verbose_name_plural]
            + [field.verbose_name for field in meta.get_fields() if field.concrete and not field.auto_created]
            if untranslated(str(name)) and f"{meta.label}: {name}" not in UNTRANSLATABLE
        ]
    assert not english, "\n".join(english)
