"""The Twilio simulator: Programmable Messaging (``/twilio``) and SendGrid mail (``/sendgrid``).

Built to Twilio's own description (the 2010-04-01 OpenAPI spec, the official ``twilio``
package's requests, the webhook security page), never to our client, so that tests of the
twilio-sink and the ingress's callback endpoint prove something about the real service.
"""
