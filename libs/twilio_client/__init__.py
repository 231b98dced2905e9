"""Typed httpx clients for Twilio: SMS (Messages API 2010-04-01) and email (SendGrid v3
behind the `EmailSender` interface). Each takes an injected `httpx.AsyncClient`; every
failure is a `TwilioError` that says whether a retry can help."""

from twilio_client.errors import (
    PERMANENT_CODES,
    TwilioAuthError,
    TwilioError,
    TwilioRecipientError,
    TwilioRequestError,
    TwilioSenderError,
    TwilioServerError,
    TwilioTooManyRequests,
    TwilioUnavailable,
)
from twilio_client.mail import (
    SENDGRID_BASE_URL,
    EmailReceipt,
    EmailSender,
    OutgoingEmail,
    SendGridSender,
)
from twilio_client.messages import DEFAULT_BASE_URL, TwilioMessages
from twilio_client.models import MessagePage, SentMessage, TwilioCredentials

__all__ = [
    "DEFAULT_BASE_URL",
    "PERMANENT_CODES",
    "SENDGRID_BASE_URL",
    "EmailReceipt",
    "EmailSender",
    "MessagePage",
    "OutgoingEmail",
    "SendGridSender",
    "SentMessage",
    "TwilioAuthError",
    "TwilioCredentials",
    "TwilioError",
    "TwilioMessages",
    "TwilioRecipientError",
    "TwilioRequestError",
    "TwilioSenderError",
    "TwilioServerError",
    "TwilioTooManyRequests",
    "TwilioUnavailable",
]
