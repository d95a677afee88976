from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    from apps.core.services import roles_sync

    roles_sync()


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("システム")
    # `seed_demo` calls each app's `demo_seeder` (a dotted path) in INSTALLED_APPS order.
    demo_seeder = "apps.core.demo.seed"

    def ready(self):
        from apps.core import invoice, sql  # noqa: F401  (register their system checks)

        # After every migrate, not only the first: later apps bring the permissions the roles refer to.
        post_migrate.connect(_sync_roles, dispatch_uid="core.sync_roles")
