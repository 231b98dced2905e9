"""Airbase's error answers in Django REST Framework's shapes, built in one place.

INFERENCE (docs/airbase-sandbox.md): the live API shows DRF's marks (trailing slashes,
``Allow``, the ``Token`` keyword of DRF's TokenAuthentication), so its errors are taken to
be DRF's: ``{"detail": …}`` for 401/404/405/429 and ``{"<field>": ["…"]}`` for a 400. An
unknown path answers Django's plain HTML 404 page, a server error a plain HTML page.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from chassis.errors import ConnectorError

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."  # noqa: S105 - DRF's message, not a credential
NO_CREDENTIALS = "Invalid token header. No credentials provided."
SPACES_IN_TOKEN = "Invalid token header. Token string should not contain spaces."  # noqa: S105
REQUIRED = "This field is required."
NOT_A_NUMBER = "A valid number is required."
DJANGO_NOT_FOUND_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n'
    "<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n"
    "</body>\n</html>\n"
)


class AirbaseApiError(ConnectorError):
    """An error answer of the simulated Airbase: status, DRF body and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_authenticated(detail: str, *, scheme: str) -> AirbaseApiError:
    return AirbaseApiError(401, {"detail": detail}, headers={"WWW-Authenticate": scheme})


def not_found() -> AirbaseApiError:
    return AirbaseApiError(404, {"detail": "Not found."})


def invalid_page() -> AirbaseApiError:
    return AirbaseApiError(404, {"detail": "Invalid page."})


def method_not_allowed(method: str, allow: str) -> AirbaseApiError:
    return AirbaseApiError(
        405, {"detail": f'Method "{method}" not allowed.'}, headers={"Allow": allow}
    )


def field_errors(errors: dict[str, Any]) -> AirbaseApiError:
    return AirbaseApiError(400, dict(errors))


def throttled(seconds: int) -> AirbaseApiError:
    return AirbaseApiError(
        429,
        {"detail": f"Request was throttled. Expected available in {seconds} seconds."},
        headers={"Retry-After": str(seconds)},
    )


def unknown_path() -> HTMLResponse:
    return HTMLResponse(DJANGO_NOT_FOUND_PAGE, status_code=404)


def server_error_page(status: int) -> HTMLResponse:
    titles = {500: "Server Error (500)", 502: "502 Bad Gateway", 503: "503 Service Unavailable"}
    title = titles.get(status, f"Server Error ({status})")
    return HTMLResponse(f"<html><body><h1>{title}</h1></body></html>\n", status_code=status)
