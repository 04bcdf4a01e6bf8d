import uuid
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from twilio.request_validator import RequestValidator


class Command(BaseCommand):
    help = (
        "Send the running server a signed webhook as Twilio would: an inbound SMS (--body), or "
        "the digits pressed during a call (--digits). Try: --from +12015550123 --body STOP"
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="phone", required=True, help="The contact's number.")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--body", help="The text of an inbound SMS.")
        what.add_argument("--digits", help="Keys pressed during a call.")
        parser.add_argument("--to", default="+14155559999", help="The business's number.")
        parser.add_argument(
            "--server",
            help="The running app's address; by default PUBLIC_URL, where `make run` serves.",
        )

    def handle(self, *args, phone, body, digits, to, server, **options):
        server = server or settings.PUBLIC_URL
        if body is not None:
            path = "/webhooks/twilio/sms/"
            data = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone, "To": to, "Body": body}
        else:
            # The gather URL of a call to the business number from a number that stopped our
            # calls, which offers both digits (messaging.twiml.inbound_menu).
            path = "/webhooks/twilio/voice/gather/?" + urlencode(
                {"digit": settings.UNSUBSCRIBE_DIGIT, "resubscribe": settings.RESUBSCRIBE_DIGIT}
            )
            data = {"CallSid": f"CA{uuid.uuid4().hex}", "From": phone, "To": to,
                    "Digits": digits, "Direction": "inbound"}  # fmt: skip
        url = server.rstrip("/") + path
        signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, data)
        request = Request(
            url,
            data=urlencode(data).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with urlopen(request, timeout=10) as response:
                answer = response.read().decode()
        except HTTPError as error:
            raise CommandError(
                f"The server answered {error.code}: {error.read().decode()}"
            ) from None
        except URLError as error:
            raise CommandError(
                f"No server at {server} ({error.reason}): start it with make run, or "
                "give the address it serves with --server or PUBLIC_URL."
            ) from None
        self.stdout.write(f"Sent {data} to {url}.\nThe server answered: {answer}")
