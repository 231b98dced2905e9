"""The public Messages routes, answering as api.twilio.com does under ``/2010-04-01``.

``POST .../Messages.json`` (form-encoded ``To``, ``From`` or ``MessagingServiceSid``,
``Body``, ``StatusCallback``) answers 201 with the Message; ``GET .../Messages.json`` is the
filtered, paged list; ``GET .../Messages/{Sid}.json`` one message or 20404. The account's
own resources are read-only: ``GET /Accounts/{Sid}.json`` and ``GET
.../IncomingPhoneNumbers.json`` (``account_resources``); Messaging Services too, as
messaging.twilio.com/v1 serves them (``messaging_services``). Every failure,
unknown paths included, is Twilio's ``{code, message, more_info, status}`` body, never a
framework's ``{"detail": ...}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.faults import relative_path
from sandbox.twilio.account_resources import account_resource, numbers_page
from sandbox.twilio.errors import TwilioApiError
from sandbox.twilio.listing import BadListQuery, ListQuery, render_page
from sandbox.twilio.messaging_services import (
    caller_account,
    service_numbers_page,
    service_resource,
)
from sandbox.twilio.state import SendRequest, TwilioState

ROOT = "/2010-04-01/Accounts/{account_sid}"


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": 20001,
            "message": message,
            "more_info": "https://www.twilio.com/docs/errors/20001",
            "status": 400,
        },
        status_code=400,
    )


def _not_found(request: Request) -> TwilioApiError:
    return TwilioApiError(20404, f"The requested resource {relative_path(request)} was not found")


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    try:
        form = parse_qs(raw.decode(), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise BadListQuery("The request body is not UTF-8") from exc
    return {k: v[0] for k, v in form.items()}


def _answering(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except TwilioApiError as exc:
            return exc.response()
        except BadListQuery as exc:
            return _bad_request(str(exc))

    return route


def build_api_router(state: TwilioState) -> APIRouter:
    router = APIRouter()

    async def create(request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        async with state.call(account_sid, request.headers.get("authorization")) as account:
            form = await _form(request)
            message = state.create_message(
                account,
                SendRequest(
                    to=form.get("To", "").strip(),
                    from_=form.get("From", "").strip() or None,
                    messaging_service_sid=form.get("MessagingServiceSid") or None,
                    body=form.get("Body", ""),
                    status_callback=form.get("StatusCallback") or None,
                ),
            )
            return JSONResponse(message.as_resource(), status_code=201)

    async def read_list(request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        async with state.call(account_sid, request.headers.get("authorization")) as account:
            query = ListQuery.parse(
                account.sid, dict(request.query_params), max_page_size=state.config.max_page_size
            )
            unsent = state.config.unsent_match_date_sent
            matching = [
                m
                for m in reversed(state.by_account[account.sid])
                if query.matches(m, unsent_match_date_sent=unsent)
            ]
            return JSONResponse(render_page(query, matching))

    async def fetch(request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        async with state.call(account_sid, request.headers.get("authorization")) as account:
            message = state.messages.get(request.path_params["sid"])
            if message is None or message.account_sid != account.sid:
                raise _not_found(request)
            return JSONResponse(message.as_resource())

    async def fetch_account(request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        async with state.call(account_sid, request.headers.get("authorization")) as account:
            return JSONResponse(account_resource(account, created=state.started_at))

    async def list_numbers(request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        async with state.call(account_sid, request.headers.get("authorization")) as account:
            page = numbers_page(
                account,
                dict(request.query_params),
                created=state.started_at,
                max_page_size=state.config.max_page_size,
            )
            return JSONResponse(page)

    def messaging(
        render: Callable[..., dict[str, object]],
    ) -> Callable[[Request], Awaitable[Response]]:
        """A Messaging API read: no account SID in its URL, the caller's credentials name it."""

        async def read(request: Request) -> Response:
            header = request.headers.get("authorization")
            account = caller_account(state.accounts, header)
            async with state.call(account.sid, header):
                sid = request.path_params["sid"]
                return JSONResponse(render(account, sid, created=state.started_at))

        return read

    async def unknown(request: Request) -> Response:
        raise _not_found(request)

    router.add_api_route(f"{ROOT}/Messages.json", _answering(create), methods=["POST"])
    router.add_api_route(f"{ROOT}/Messages.json", _answering(read_list), methods=["GET"])
    router.add_api_route(f"{ROOT}/Messages/{{sid}}.json", _answering(fetch), methods=["GET"])
    router.add_api_route(f"{ROOT}.json", _answering(fetch_account), methods=["GET"])
    router.add_api_route(
        f"{ROOT}/IncomingPhoneNumbers.json", _answering(list_numbers), methods=["GET"]
    )
    router.add_api_route(
        "/v1/Services/{sid}", _answering(messaging(service_resource)), methods=["GET"]
    )
    router.add_api_route(
        "/v1/Services/{sid}/PhoneNumbers",
        _answering(messaging(service_numbers_page)),
        methods=["GET"],
    )
    router.add_api_route(
        "/{path:path}", _answering(unknown), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]
    )
    return router
