"""Realistic short messages, the same everywhere the benchmark stores some: over HTTP, in
the generated database and in the synthetic ChatGPT export.

Deterministic (a seeded generator), so two runs store the same text. One message in
`DERIVING_EVERY` carries a `todo:` or `note:` prefix and so derives one more event, as
a real log does; the HTTP load uses plain messages only, so that its events/s count
messages.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

DERIVING_EVERY = 50
_SUBJECTS = (
    "the plumber",
    "Anna",
    "the bank",
    "my landlord",
    "the dentist",
    "Tom",
    "the insurance",
    "the school",
    "mum",
    "the garage",
    "the accountant",
)
_VERBS = ("call", "email", "ask", "remind", "pay", "meet", "thank", "visit", "answer")
_ABOUTS = (
    "about the kitchen sink",
    "about friday",
    "about the invoice",
    "re: the trip",
    "before the weekend",
    "about the contract",
    "about the new flat",
    "tomorrow",
)


def short_text(i: int, *, plain: bool = False) -> str:
    """About 30 to 70 characters, like a note to self sent from a phone."""
    rng = random.Random(i)
    text = f"{rng.choice(_VERBS)} {rng.choice(_SUBJECTS)} {rng.choice(_ABOUTS)} ({i})"
    if plain or i % DERIVING_EVERY:
        return text
    return f"todo: {text} #home" if (i // DERIVING_EVERY) % 2 else f"note: {text}"


def message_body(i: int) -> bytes:
    return json.dumps({"text": short_text(i, plain=True)}).encode()


def batch_body(first: int, size: int) -> bytes:
    messages = [{"text": short_text(first + k, plain=True)} for k in range(size)]
    return json.dumps({"messages": messages}).encode()


def write_chatgpt_export(path: Path, messages: int, *, per_conversation: int = 20) -> None:
    """A conversations.json in the official export's shape: per conversation a chain of
    user and assistant turns; only the user's turns are imported."""
    conversations: list[dict[str, Any]] = []
    start = 1_700_000_000.0
    for c in range(0, messages, per_conversation):
        mapping: dict[str, Any] = {
            "root": {"id": "root", "message": None, "parent": None, "children": []}
        }
        parent = "root"
        for i in range(c, min(c + per_conversation, messages)):
            for role in ("user", "assistant"):
                node = f"{role[0]}-{i}-{uuid.UUID(int=i).hex[:12]}"
                text = short_text(i) if role == "user" else "Sure. " + short_text(i, plain=True)
                mapping[node] = {
                    "id": node,
                    "parent": parent,
                    "children": [],
                    "message": {
                        "id": node,
                        "author": {"role": role, "name": None, "metadata": {}},
                        "create_time": start + i * 60 + (role == "assistant"),
                        "content": {"content_type": "text", "parts": [text]},
                        "status": "finished_successfully",
                        "metadata": {},
                    },
                }
                mapping[parent]["children"].append(node)
                parent = node
        conversations.append(
            {
                "title": f"conversation {c // per_conversation}",
                "create_time": start + c * 60,
                "mapping": mapping,
                "conversation_id": str(uuid.UUID(int=c)),
            }
        )
    path.write_text(json.dumps(conversations), encoding="utf-8")
