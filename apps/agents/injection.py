"""Prompt-injection heuristics: flag customer messages that try to instruct the model, for the decision log.

Flags only inform staff; nothing here blocks. The policy holds whatever the message says, so a missed injection
costs nothing and a false flag costs nothing either.
"""

import re

_PATTERNS: dict[str, re.Pattern] = {
    "ignore_instructions": re.compile(
        r"ignore (?:all |any |the |your )?(?:previous |prior |above )?(?:instructions|rules|prompt)"
        r"|disregard (?:the |your )?(?:rules|instructions)|forget (?:your|the|all) (?:rules|instructions)"
        r"|(?:指示|ルール|設定|命令)を(?:無視|忘れ)|(?:これまで|以前|上記)の(?:指示|ルール)",
        re.I,
    ),
    "role_override": re.compile(
        r"you are now|act as (?:an? )?(?:admin|developer|system)|developer mode|jailbreak|\bDAN\b"
        r"|(?:今から|これから)(?:あなたは|君は|お前は)|管理者モード|開発者モード",
        re.I,
    ),
    "fake_system_message": re.compile(
        r"^\s*(?:system|assistant)\s*:|<\s*/?\s*(?:system|instructions?)\s*>|\[\s*system\s*\]|###\s*system"
        r"|システム(?:メッセージ|通知)\s*[:：]",
        re.I | re.M,
    ),
    "authority_claim": re.compile(
        r"(?:i am|i'm|i work (?:at|for)) (?:the )?(?:owner|manager|admin|developer|anthropic|openai)"
        r"|authori[sz]ed to override|policy (?:update|change)"
        r"|(?:店長|オーナー|管理者|開発者|社員)です|ポリシー(?:変更|更新)",
        re.I,
    ),
    "prompt_extraction": re.compile(
        r"(?:system|initial|hidden) prompt|repeat (?:the|your) (?:instructions|prompt)|print your (?:prompt|rules)"
        r"|システムプロンプト|プロンプトを(?:表示|教え|見せ)",
        re.I,
    ),
}


def injection_flags(text: str) -> list[str]:
    """The kinds of instruction-like content found in a customer's message (empty for an ordinary message)."""
    return [kind for kind, pattern in _PATTERNS.items() if pattern.search(text)]
