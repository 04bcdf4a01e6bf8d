from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("sms/", views.sms, name="sms"),
    path("voice/", views.voice, name="voice"),
    path("voice/gather/", views.voice_gather, name="voice_gather"),
    path("status/", views.status, name="status"),
]
