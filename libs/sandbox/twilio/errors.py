"""Twilio's error answers: the code, its HTTP status and the body every client parses.

Twilio answers a failed REST call with ``{"code", "message", "more_info", "status"}``
where ``more_info`` links the code's page, and the official SDK turns that body into a
``TwilioRestException`` carrying ``code`` and ``status``. The catalogue holds the codes the
sandbox gives, with the status and wording Twilio's error dictionary gives them; carrier
errors (300xx) never come back from a REST call, only on a message's ``error_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import JSONResponse

from chassis.errors import ConnectorError


@dataclass(frozen=True)
class ErrorCode:
    code: int
    status: int
    message: str


CATALOGUE: dict[int, ErrorCode] = {
    e.code: e
    for e in [
        ErrorCode(20003, 401, "Authenticate"),
        ErrorCode(20404, 404, "The requested resource was not found"),
        ErrorCode(20429, 429, "Too Many Requests"),
        ErrorCode(20500, 500, "Internal Server Error"),
        ErrorCode(20503, 503, "Service Unavailable"),
        ErrorCode(21211, 400, "Invalid 'To' Phone Number"),
        ErrorCode(21212, 400, "Invalid 'From' Phone Number"),
        ErrorCode(
            21408, 400, "Permission to send an SMS has not been enabled for the region indicated"
        ),
        ErrorCode(21602, 400, "Message body is required."),
        ErrorCode(21603, 400, "A 'From' or 'MessagingServiceSid' parameter is required"),
        ErrorCode(21604, 400, "A 'To' phone number is required."),
        ErrorCode(
            21606,
            400,
            "The 'From' phone number provided is not a valid message-capable Twilio phone"
            " number for this destination.",
        ),
        ErrorCode(21610, 400, "Attempt to send to unsubscribed recipient"),
        ErrorCode(21611, 400, "This 'From' number has exceeded the maximum number of queued"),
        ErrorCode(21612, 400, "The 'To' phone number is not currently reachable"),
        ErrorCode(21614, 400, "'To' number is not a valid mobile number"),
        ErrorCode(21617, 400, "The concatenated message body exceeds the 1600 character limit"),
        ErrorCode(21659, 400, "'From' is not a Twilio phone number or Short Code country mismatch"),
        ErrorCode(21701, 400, "The Messaging Service does not exist"),
    ]
}

CARRIER_ERRORS: dict[int, tuple[str, str]] = {
    30003: ("undelivered", "Unreachable destination handset"),
    30005: ("undelivered", "Unknown destination handset"),
    30006: ("failed", "Landline or unreachable carrier"),
}
"""Carrier error code to the final status it gives a message and Twilio's wording."""


class TwilioApiError(ConnectorError):
    """An error answer the simulated Twilio gives; the status says whether a retry helps."""

    def __init__(self, code: int, message: str | None = None) -> None:
        known = CATALOGUE[code]
        super().__init__(message or known.message)
        self.code = code
        self.status = known.status
        self.message = message or known.message

    def body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)
