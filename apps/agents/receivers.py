"""A new `Persona.traits_version` whenever what a persona's traits put in the prompt may have changed: a trait linked
or unlinked (from either side), a trait edited (its fragment, or its name, which orders the fragments) or deleted,
and any save of the persona itself (a form that read the persona before a trait changed must not write the old
version back). The prompt cache (`apps.agents.prompts`) keys a persona's fragments on it. Changes that bypass the
models' signals (a queryset `update()` of traits, rows written straight into the link tables) are not seen: nothing
in the shop makes them."""

import uuid

from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save

from apps.agents.models import Persona, Personality, Role, Tone


def _bump(personas) -> uuid.UUID:
    version = uuid.uuid4()
    personas.update(traits_version=version)
    return version


def persona_saving(sender, instance, **kwargs):
    instance.traits_version = uuid.uuid4()


def trait_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # persona.<traits>.add/remove/set/clear
        instance.traits_version = _bump(Persona.objects.filter(pk=instance.pk))
    elif action == "pre_clear":  # trait.personas.clear(): the personas it is about to leave
        _bump(instance.personas.all())
    else:
        _bump(Persona.objects.filter(pk__in=pk_set))


def trait_changed(sender, instance, **kwargs):
    _bump(instance.personas.all())  # before a delete, while the links still stand


def connect() -> None:
    pre_save.connect(persona_saving, sender=Persona, dispatch_uid="agents.persona_saving")
    links = {Personality: Persona.personalities.through, Role: Persona.roles.through, Tone: Persona.tones.through}
    for trait, through in links.items():
        name = trait.__name__
        m2m_changed.connect(trait_links_changed, sender=through, dispatch_uid=f"agents.trait_links_changed.{name}")
        post_save.connect(trait_changed, sender=trait, dispatch_uid=f"agents.trait_saved.{name}")
        pre_delete.connect(trait_changed, sender=trait, dispatch_uid=f"agents.trait_deleted.{name}")
