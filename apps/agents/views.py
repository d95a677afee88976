"""The persona preview page (Managers): a form that runs one preview turn and shows the transcript."""

import json

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from apps.agents.limits import MAX_CHAT_MESSAGE_LENGTH
from apps.agents.models import Agent, Persona
from apps.agents.preview import persona_preview_turn
from apps.agents.providers.base import ChatMessage

MANAGE_PERSONAS = "core.manage_personas"
# Earlier exchanges of a preview come back from the page; only this many are kept.
_PREVIEW_HISTORY_MESSAGES = 20


class PreviewForm(forms.Form):
    message = forms.CharField(label=_("メッセージ"), max_length=MAX_CHAT_MESSAGE_LENGTH)
    kind = forms.ChoiceField(label=_("役割"), choices=Agent.Kind.choices, initial=Agent.Kind.SHOPKEEPER)
    provider = forms.ChoiceField(
        label=_("プロバイダー"), choices=Agent.Provider.choices, initial=Agent.Provider.OFFLINE
    )
    transcript = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_transcript(self) -> list[dict]:
        raw = self.cleaned_data["transcript"] or "[]"
        try:
            entries = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(_("会話の記録が壊れています。最初からやり直してください。")) from None
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and e.get("role") in ("user", "assistant") and isinstance(e.get("text"), str)
            for e in entries
        ):
            raise forms.ValidationError(_("会話の記録が壊れています。最初からやり直してください。"))
        return [{"role": e["role"], "text": e["text"][:MAX_CHAT_MESSAGE_LENGTH]} for e in entries][
            -_PREVIEW_HISTORY_MESSAGES:
        ]


@never_cache
@login_required
@permission_required(MANAGE_PERSONAS, raise_exception=True)
def persona_preview(request, persona_id: int):
    persona = get_object_or_404(Persona, pk=persona_id)
    form = PreviewForm(request.POST or None)
    transcript: list[dict] = []
    turn = None
    if request.method == "POST" and form.is_valid():
        transcript = form.cleaned_data["transcript"] + [{"role": "user", "text": form.cleaned_data["message"]}]
        turn = persona_preview_turn(
            persona=persona,
            kind=form.cleaned_data["kind"],
            provider=form.cleaned_data["provider"],
            history=[ChatMessage(role=entry["role"], text=entry["text"]) for entry in transcript],
        )
        transcript.append({"role": "assistant", "text": turn.text})
        form = PreviewForm(
            initial={
                "kind": form.cleaned_data["kind"],
                "provider": form.cleaned_data["provider"],
                "transcript": json.dumps(transcript, ensure_ascii=False),
            }
        )
    status = 400 if request.method == "POST" and turn is None else 200
    return render(
        request,
        "agents/persona_preview.html",
        {"persona": persona, "form": form, "transcript": transcript, "turn": turn},
        status=status,
    )
