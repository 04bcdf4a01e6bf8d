from django.urls import path

from messaging import pages, views

app_name = "messaging"
urlpatterns = [
    path("webhooks/twilio/sms/", views.sms, name="sms"),
    path("webhooks/twilio/voice/", views.voice, name="voice"),
    path("webhooks/twilio/voice/gather/", views.voice_gather, name="voice_gather"),
    path("webhooks/twilio/status/", views.status, name="status"),
    path("messaging/possible-opt-outs/", pages.possible_opt_outs, name="possible_opt_outs"),
    path("messaging/possible-opt-outs/<int:pk>/", pages.decide_possible_opt_out, name="decide"),
    path(
        "messaging/possible-opt-outs/<int:pk>/reopen/",
        pages.reopen_possible_opt_out,
        name="reopen",
    ),
    path("messaging/reply-phrases/", pages.reply_phrases, name="reply_phrases"),
    path("messaging/reply-phrases/<int:pk>/", pages.reply_phrase, name="reply_phrase"),
    path(
        "messaging/reply-phrases/<int:pk>/replies/<int:event_pk>/review/",
        pages.review_again,
        name="review_again",
    ),
    path(
        "messaging/reply-phrases/<int:pk>/delete/",
        pages.delete_reply_phrase,
        name="delete_reply_phrase",
    ),
    path("messaging/outbox/", pages.outbox, name="outbox"),
]
