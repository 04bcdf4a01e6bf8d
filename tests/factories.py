import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from contacts.models import Contact


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
    """The contact behind `phone` replies START, as the SMS webhook records it."""
    from contacts import services
    from contacts.models import Channel

    return services.record_new_consent(
        phone=phone, channel=Channel.SMS, words=words, reference=f"sms:SM{uuid.uuid4().hex}"
    )


def store_old_phone(contact: Contact, phone: str) -> None:
    """Give `contact` a number that is not in canonical E.164 ("555"), as data from before the
    phone check may hold: in SQL, for every write through the ORM refuses it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET phone = %s WHERE id = %s", [phone, contact.pk])
