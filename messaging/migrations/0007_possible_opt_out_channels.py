"""What a possible opt-out asks to stop: the SMS it came by, and calls too where its words
name them. Those still to decide are read again here, as messaging.keywords.channels_to_review
reads them today (kept here as it is now): "please stop calling me so much" holds calls too."""

import re
import unicodedata

from django.db import migrations, models

CALLS = re.compile(
    r"\b(call\w*|robocall\w*|voicemails?|voice ?mails?|phoning|ringing|llamadas?|llamar\w*"
    r"|llamen|llame|llames|buzon|voz)\b"
)


def _channels(words: str) -> str:
    text = unicodedata.normalize("NFKD", words).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = " ".join(re.findall(r"[^\W_]+", re.sub(r"['’‘`´]", "", text)))
    return "sms calls" if CALLS.search(text) else "sms"


def read_pending_again(apps, schema_editor):
    reviews = apps.get_model("messaging", "PossibleOptOut")
    for review in reviews.objects.filter(decision="pending"):
        channels = _channels(review.words)
        if channels != review.channels:
            reviews.objects.filter(pk=review.pk).update(channels=channels)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0006_messages_of_a_number"),
    ]

    operations = [
        migrations.AddField(
            model_name="possibleoptout",
            name="channels",
            field=models.CharField(
                default="sms",
                help_text="What its words ask to stop (“sms”, “calls” or both, “sms calls”).",
                max_length=20,
            ),
        ),
        migrations.RunPython(read_pending_again, migrations.RunPython.noop),
    ]
