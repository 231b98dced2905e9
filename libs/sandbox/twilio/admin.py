"""The Twilio sandbox admin API (``/twilio/_sandbox``): set-up and inspection.

Tests and the demo read what was sent (``GET /messages``, with each message's status
history and callback URL), the callbacks posted (``GET /callbacks``) and statistics; they
change how the simulated Twilio behaves (``PATCH /settings``: failure share, latency,
status timings, callback delivery mode), seed accounts (``POST /accounts``) and change an
account's concurrency limit (``PATCH /accounts/{sid}``), and make a number fail: refused at
send time with an error code (``POST /numbers/refused``, e.g. 21610 for an unsubscribed
recipient) or accepted and ending with a carrier error (``POST /numbers/outcomes``, 30003,
30005 or 30006). ``POST /drain`` applies due status changes and waits for their callbacks.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sandbox.faults import add_fault_routes
from sandbox.twilio.accounts import Account
from sandbox.twilio.config import TwilioAccountSeed
from sandbox.twilio.errors import CARRIER_ERRORS, CATALOGUE
from sandbox.twilio.messages import Message
from sandbox.twilio.state import TwilioState


class SettingsChange(BaseModel):
    failure_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    api_latency_seconds: float | None = Field(default=None, ge=0, le=10)
    sent_after_seconds: float | None = Field(default=None, ge=0)
    final_after_seconds: float | None = Field(default=None, ge=0)
    unsent_match_date_sent: bool | None = None
    callback_mode: Literal["once", "at_least_once", "out_of_order"] | None = None
    duplicate_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    reorder_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class AccountChange(BaseModel):
    concurrency_limit: int = Field(ge=1)


class NumberRule(BaseModel):
    number: str = Field(pattern=r"^\+[1-9]\d{1,14}$")
    code: int


def _message_view(message: Message) -> dict[str, object]:
    return {
        **message.as_resource(),
        "status_callback": message.status_callback,
        "history": list(message.history),
    }


def _account_view(account: Account) -> dict[str, object]:
    return {
        "sid": account.sid,
        "api_keys": sorted(account.api_keys),
        "numbers": sorted(account.numbers),
        "messaging_services": account.messaging_services,
        "concurrency_limit": account.concurrency_limit,
        "in_flight": account.in_flight,
        "peak_in_flight": account.peak_in_flight,
        "throttled": account.throttled,
    }


def _settings_routes(router: APIRouter, state: TwilioState) -> None:
    @router.get("/settings")
    async def read_settings() -> dict[str, object]:
        return state.config.model_dump(exclude={"accounts"})

    @router.patch("/settings")
    async def change_settings(change: SettingsChange) -> dict[str, object]:
        given = change.model_dump(exclude_none=True)
        delivery = {
            key: given.pop(name)
            for name, key in [
                ("callback_mode", "mode"),
                ("duplicate_rate", "duplicate_rate"),
                ("reorder_rate", "reorder_rate"),
            ]
            if name in given
        }
        callbacks = state.config.callbacks.model_copy(update=delivery)
        state.config = state.config.model_copy(update={**given, "callbacks": callbacks})
        state.callbacks.settings = callbacks
        return state.config.model_dump(exclude={"accounts"})


def _account_routes(router: APIRouter, state: TwilioState) -> None:
    @router.get("/accounts")
    async def list_accounts() -> list[dict[str, object]]:
        return [_account_view(a) for a in state.accounts.values()]

    @router.post("/accounts", status_code=201)
    async def add_account(seed: TwilioAccountSeed) -> dict[str, object]:
        if seed.sid in state.accounts:
            raise HTTPException(409, "that account exists already")
        account = Account.from_seed(seed)
        state.add_account(account)
        return _account_view(account)

    @router.patch("/accounts/{sid}")
    async def change_account(sid: str, change: AccountChange) -> dict[str, object]:
        account = state.accounts.get(sid)
        if account is None:
            raise HTTPException(404, f"no account {sid}")
        account.concurrency_limit = change.concurrency_limit
        return _account_view(account)


def _number_routes(router: APIRouter, state: TwilioState) -> None:
    @router.get("/numbers")
    async def numbers() -> dict[str, object]:
        return {"refused": state.to_errors, "outcomes": state.carrier_outcomes}

    @router.post("/numbers/refused", status_code=201)
    async def refuse(rule: NumberRule) -> dict[str, object]:
        if rule.code not in CATALOGUE or CATALOGUE[rule.code].status != 400:
            raise HTTPException(422, f"{rule.code} is not a send-time error the sandbox knows")
        state.to_errors[rule.number] = rule.code
        return rule.model_dump()

    @router.post("/numbers/outcomes", status_code=201)
    async def outcome(rule: NumberRule) -> dict[str, object]:
        if rule.code not in CARRIER_ERRORS:
            raise HTTPException(422, f"carrier error must be one of {sorted(CARRIER_ERRORS)}")
        state.carrier_outcomes[rule.number] = rule.code
        return rule.model_dump()

    @router.delete("/numbers/{number}")
    async def forget(number: str) -> dict[str, object]:
        found = state.to_errors.pop(number, None) or state.carrier_outcomes.pop(number, None)
        if found is None:
            raise HTTPException(404, f"no rule for {number}")
        return {"number": number, "code": found}


def _inspection_routes(router: APIRouter, state: TwilioState) -> None:
    @router.get("/messages")
    async def list_messages(
        to: str | None = None, status: str | None = None
    ) -> list[dict[str, object]]:
        state.apply_due()
        return [
            _message_view(m)
            for m in state.messages.values()
            if (to is None or m.to == to) and (status is None or m.status == status)
        ]

    @router.get("/callbacks")
    async def callbacks() -> list[dict[str, object]]:
        return [a.as_dict() for a in state.callbacks.log]

    @router.get("/stats")
    async def stats() -> dict[str, object]:
        state.apply_due()
        return {
            **state.stats.as_dict(),
            "callbacks": state.callbacks.stats.as_dict(),
            "accounts": [_account_view(a) for a in state.accounts.values()],
        }

    @router.post("/drain")
    async def drain() -> dict[str, object]:
        await state.drain()
        return {"ok": True}

    @router.post("/reset")
    async def reset() -> dict[str, object]:
        state.reset()
        return {"ok": True}


def build_admin_router(state: TwilioState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    _settings_routes(router, state)
    _account_routes(router, state)
    _number_routes(router, state)
    _inspection_routes(router, state)
    add_fault_routes(router, state.faults)
    return router
