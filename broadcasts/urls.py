from django.urls import path

from broadcasts import views

app_name = "broadcasts"
urlpatterns = [
    path("", views.broadcast_list, name="list"),
    path("insights/", views.insights_page, name="insights"),
    path("insights/<str:chart>.csv", views.insights_csv, name="insights_csv"),
    path("new/", views.broadcast_new, name="new"),
    path("<int:pk>/", views.broadcast_detail, name="detail"),
    path("<int:pk>/edit/", views.broadcast_edit, name="edit"),
    path("<int:pk>/progress/", views.broadcast_progress, name="progress"),
    path("<int:pk>/recipients/", views.broadcast_recipients, name="recipients"),
    path("<int:pk>/test/", views.broadcast_test, name="test"),
    path("<int:pk>/launch/", views.broadcast_launch, name="launch"),
    path("<int:pk>/cancel/", views.broadcast_cancel, name="cancel"),
    path("<int:pk>/unschedule/", views.broadcast_unschedule, name="unschedule"),
    path("<int:pk>/delete/", views.broadcast_delete, name="delete"),
]
