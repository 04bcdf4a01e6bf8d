from django import forms

from contacts.models import Channel, Contact


class SubscriptionForm(forms.Form):
    channel = forms.TypedChoiceField(choices=Channel.choices, coerce=Channel)
    action = forms.ChoiceField(
        choices=[("unsubscribe", "Unsubscribe"), ("resubscribe", "Resubscribe")]
    )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "phone", "email", "status", "tags"]
        widgets = {"tags": forms.CheckboxSelectMultiple}
        help_texts = {"phone": "Any common format; stored as +14155550123."}
