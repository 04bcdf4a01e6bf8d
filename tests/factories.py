import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from contacts.models import Channel, Contact


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name")
    # Valid, distinct US numbers in E.164: +1 415 2xx xxxx.
    phone = factory.Sequence(lambda n: f"+1415{2000000 + n}")
    email = factory.LazyAttribute(lambda c: f"{c.name.split()[0].lower()}@example.com")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if extracted:
            user.groups.add(Group.objects.get(name=extracted))
        user.save()


def reply_start(phone: str, words: str = "START") -> int:
    """The contact behind `phone` replies START, as the SMS webhook stores and processes it."""
    return opt_in(phone, Channel.SMS, words)


def opt_in(phone: str, channel: str, words: str) -> int:
    """The contact's own opt-in, as the webhooks store the event and then process it: an SMS
    (`words` its text) or on a call from the number, the digit offered ("pressed 1")."""
    from contacts import services
    from messaging.models import InboundEvent

    sid = uuid.uuid4().hex
    if channel == Channel.SMS:
        key, kind, payload = f"sms:SM{sid}", "sms", {"From": phone, "Body": words}
    else:
        digit = words.removeprefix("pressed ")
        key, kind = f"digits:CA{sid}:{digit}", "digits"
        payload = {"From": phone, "Digits": digit, "Direction": "inbound",
                   "url_resubscribe": digit}  # fmt: skip
    InboundEvent.store(key=key, kind=kind, payload=payload, phone=phone)
    return services.record_new_consent(phone=phone, channel=channel, words=words, reference=key)


def store_old_phone(contact: Contact, phone: str) -> None:
    """Give `contact` a number that is not in canonical E.164 ("555"), as data from before the
    phone check may hold: in SQL, for every write through the ORM refuses it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET phone = %s WHERE id = %s", [phone, contact.pk])
