from django.apps import AppConfig, apps
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    # post_migrate comes once per app with models (after every migrate, and after a test's flush), each after that
    # app's permissions are created; the roles name permissions of many apps, so they are synced after the last one.
    if sender is not [config for config in apps.get_app_configs() if config.models_module is not None][-1]:
        return
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
        from apps.core.sqlite import checkpoint_in_background

        post_migrate.connect(_sync_roles, dispatch_uid="core.sync_roles")
        connection_created.connect(checkpoint_in_background, dispatch_uid="core.sqlite_checkpoint")
