"""Admin pages for closing a month: open payables paid in a batch, the month-close checklist (with the tax
settlement and undoing the latest close), and the accounting-software exports. Every write calls a service."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting import exports
from apps.accounting.closing import run_close_checks
from apps.accounting.postings import PaidFrom
from apps.accounting.selectors import ledger_state
from apps.accounting.selectors.payables import aged_payables
from apps.accounting.services.closing import month_close, period_reopen
from apps.accounting.services.consumption_tax import consumption_tax_settle
from apps.accounting.services.payables import payables_pay
from apps.core.admin_tools import service_errors_as_messages

EXPORT_LABELS = {"yayoi": "弥生会計", "freee": "freee", "moneyforward": "マネーフォワード クラウド会計"}


def _date(value, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def last_month_end() -> datetime.date:
    return timezone.localdate().replace(day=1) - datetime.timedelta(days=1)


class BooksAdminViews:
    """Mixed into the journal entry admin, which owns the accounting pages' URLs."""

    def books_urls(self):
        view = self.admin_site.admin_view
        return [
            path("payables/", view(self.payables_view), name="accounting_payables"),
            path("month-close/", view(self.month_close_view), name="accounting_month_close"),
        ]

    def _require(self, request, permission: str) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    def payables_view(self, request):
        """The aged list of open payables; ticking some and choosing bank or cash pays them in one entry."""
        self._require(request, "core.view_reports")
        if request.method == "POST":
            self._require(request, "accounting.add_journalentry")
            numbers = [int(value) for value in request.POST.getlist("entry_numbers") if value.isdigit()]
            with service_errors_as_messages(request, self):
                payment = payables_pay(
                    entry_numbers=numbers,
                    paid_from=request.POST.get("paid_from", PaidFrom.BANK),
                    date=_date(request.POST.get("date"), timezone.localdate()),
                    actor=request.user,
                )
                self.message_user(request, _("支払仕訳 #%(number)s を記帳しました。") % {"number": payment.number})
            return redirect("admin:accounting_payables")
        as_of = _date(request.GET.get("as_of"), timezone.localdate())
        context = {
            **self.admin_site.each_context(request),
            "title": _("買掛金・未払金の支払"),
            "report": aged_payables(as_of=as_of).as_dict(),
            "as_of": as_of,
            "today": timezone.localdate(),
            "can_pay": request.user.has_perm("accounting.add_journalentry"),
        }
        return TemplateResponse(request, "admin/accounting/payables.html", context)

    def month_close_view(self, request):
        """The checklist for closing through a day, the close itself, the tax settlement and undoing a close."""
        self._require(request, "accounting.close_period")
        if request.method == "POST":
            return self._month_close_post(request)
        through_date = _date(request.GET.get("through_date"), last_month_end())
        month = {"date_from": through_date.replace(day=1).isoformat(), "date_to": through_date.isoformat()}
        context = {
            **self.admin_site.each_context(request),
            "title": _("月次締め"),
            "through_date": through_date,
            "checks": run_close_checks(through_date),
            "ledger": ledger_state(),
            "can_reopen": request.user.has_perm("accounting.reopen_period"),
            "exports": [
                (
                    EXPORT_LABELS[software],
                    reverse("accounting-journal-export", args=[software]) + "?" + urlencode(month),
                )
                for software in exports.SOFTWARE
            ],
            "tax_summary_url": reverse("admin:accounting_report", args=["consumption-tax"]) + "?" + urlencode(month),
            "cash_flow_url": reverse("admin:accounting_report", args=["cash-flow"]) + "?" + urlencode(month),
        }
        return TemplateResponse(request, "admin/accounting/month_close.html", context)

    def _month_close_post(self, request):
        action = request.POST.get("action")
        through_date = _date(request.POST.get("through_date"), last_month_end())
        with service_errors_as_messages(request, self):
            if action == "close":
                confirmed = frozenset(request.POST.getlist("confirmed"))
                month_close(through_date=through_date, actor=request.user, confirmed=confirmed)
                self.message_user(request, _("%(date)s まで締めました。") % {"date": through_date})
            elif action == "settle_tax":
                entry = consumption_tax_settle(through_date=through_date, actor=request.user)
                self.message_user(
                    request, _("消費税の精算仕訳 #%(number)s を記帳しました。") % {"number": entry.number}
                )
            elif action == "reopen":
                self._require(request, "accounting.reopen_period")
                close = period_reopen(actor=request.user, reason=request.POST.get("reason", ""))
                self.message_user(request, _("%(date)s の締めを取り消しました。") % {"date": close.through_date})
            else:
                self.message_user(request, _("操作を選んでください。"), level=messages.ERROR)
        return redirect(reverse("admin:accounting_month_close") + "?" + urlencode({"through_date": through_date}))
