"""The demo's last check: after the approvals, Slack still shows one message per document.

Releasing the approved invoice makes a new version of it in Visma; the rules match it again
and the Slack sink updates that invoice's message in place in each channel instead of
posting it anew. So once the new version has reached Slack (a message edited), every post
is counted again: the top-level messages are still exactly the ones the rules called for,
one per expected message per channel, none shows a command twice, and the approved invoice's
message shows the later version (its metadata lists both versions' command ids) and who
approved it ("Approved by <@U...>", which the sink adds on the writer's confirmation).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlc.demo_approvals import wait_for
from mlc.stack import Expected, FlowStack, command_ids

APPROVED_BY = "Approved by <@"
NEW_VERSION_SECONDS = 120.0
"""How long the released version may take to reach Slack: a poll of the invoices (the
poller's plan may stretch the interval to keep the Visma budget), the processor, the sink."""


def _bot_posts(stack: FlowStack) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.get("/slack/_sandbox/messages?from_bot=true")
    return found


def _approved_and_updated(message: dict[str, Any]) -> bool:
    """Shows a later version in place (two versions' command ids) and who approved it."""
    text = str(message.get("text") or "")
    return (
        bool(message.get("edited_ts"))
        and len(command_ids([message])) >= 2
        and (APPROVED_BY in text)
    )


def check_documents(stack: FlowStack, expected: Expected) -> bool:
    print("\n== after the approvals ==")
    edited = wait_for(
        stack,
        lambda: [m for m in _bot_posts(stack) if _approved_and_updated(m)],
        timeout=NEW_VERSION_SECONDS,
    )
    top = [m for m in _bot_posts(stack) if not m.get("thread_ts")]
    ids = command_ids(top)
    missing = set(expected.commands) - set(ids)
    duplicates = len(ids) - len(set(ids))
    per_channel = Counter(str(m["channel_name"]) for m in top)
    wanted = Counter(expected.commands.values())
    ok = bool(edited) and not missing and not duplicates and per_channel == wanted
    if ok:
        verdict = (
            f"OK: {len(top)} top-level posts, one per expected message; "
            f"{len(edited or [])} updated in place with the released version and "
            "'Approved by', none posted twice"
        )
    else:
        extra = {c: per_channel[c] - wanted[c] for c in per_channel | wanted}
        verdict = (
            f"FAILED: {len(edited or [])} messages updated showing 'Approved by', "
            f"{len(missing)} expected missing, "
            f"{duplicates} command ids twice, top-level posts beyond the expected: {extra}"
        )
    print(f"one message per document   : {verdict}")
    return ok
