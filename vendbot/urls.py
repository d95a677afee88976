from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import views as core_views

# Every app's admin module, here rather than at start-up (vendbot/admin_config.py).
admin.autodiscover()
admin.site.site_header = _("VendBot 管理")
admin.site.site_title = _("VendBot 管理")
admin.site.index_title = _("ショップ管理")

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Each app owns its full paths (e.g. "api/machines/<code>/products/"). The machines' API comes first: the
    # resolver tries patterns in order, and a purchase used to be matched against the 23 accounting pages first.
    path("", include("apps.inventory.urls")),
    path("", include("apps.accounting.urls")),
    path("", include("apps.agents.urls")),
    path("", include("apps.chats.urls")),
    path("", include("apps.dashboard.urls")),
    path("", include("apps.experiments.urls")),
]

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
