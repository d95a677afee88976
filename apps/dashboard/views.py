from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.dashboard.consumers import VIEW_DASHBOARD
from apps.dashboard.selectors import dashboard_snapshot, fresh_food_report


@never_cache
@login_required
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def dashboard(request):
    """The Manager dashboard: the page draws today's snapshot, then `/ws/dashboard/` keeps it current."""
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "snapshot": dashboard_snapshot(),
            "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
            # Weekly and monthly figures: drawn with the page, not pushed with the live snapshot.
            "fresh": fresh_food_report(today=timezone.localdate()),
        },
    )
