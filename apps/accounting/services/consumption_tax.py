"""The consumption-tax settlement at the end of a tax period: 仮受消費税 − 仮払消費税 → 未払消費税."""

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.selectors.consumption_tax import unsettled_tax
from apps.accounting.services import LineSpec, journal_entry_post, signed_line
from apps.core.errors import Conflict, PermissionDenied
from apps.core.roles import is_manager
from apps.core.services import audit_record


@transaction.atomic
def consumption_tax_settle(*, through_date: datetime.date, actor) -> JournalEntry:
    """Post the settlement dated `through_date`: every 仮受消費税 and 仮払消費税 balance through it cleared (per
    rate), the difference credited to 未払消費税 (tax to pay) or debited to 未収還付消費税 (a refund due).

    Refuses (403) anyone but a Manager; (409) nothing to settle and a date in a closed period."""
    if not is_manager(actor):
        raise PermissionDenied(_("消費税の精算はマネージャーが行います。"))
    balances = unsettled_tax(through=through_date)
    lines: list[LineSpec] = []
    for account in (chart.TAX_RECEIVED, chart.TAX_PAID):
        for rate, balance in sorted(balances[account].items(), key=lambda item: item[0] or 0):
            lines += signed_line(account, -balance, tax_rate=rate)
    if not lines:
        raise Conflict(
            _("%(date)s までに精算する消費税はありません。") % {"date": through_date}, code="nothing_to_settle"
        )
    # The lines so far move every balance to zero; what is left over is what the shop owes (or is owed).
    due = sum(line.debit - line.credit for line in lines)
    lines += signed_line(chart.TAX_PAYABLE if due > 0 else chart.TAX_REFUNDABLE, -due)
    entry = journal_entry_post(
        date=through_date,
        memo=_("消費税の精算（%(date)s まで）") % {"date": through_date},
        lines=lines,
        kind=EntryKind.TAX_SETTLEMENT,
        created_by=actor,
    )
    audit_record(target=entry, action="consumption_tax.settle", actor=actor, data={"tax_payable_yen": due})
    return entry
