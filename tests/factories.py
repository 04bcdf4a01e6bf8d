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
