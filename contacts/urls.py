from django.urls import path

from contacts import consent_views, views

app_name = "contacts"
urlpatterns = [
    path("", views.ContactListView.as_view(), name="list"),
    path("columns/", views.save_columns, name="columns"),
    path("count/", views.matching_count, name="count"),
    path("bulk/", views.bulk_action, name="bulk"),
    path("bulk/<int:pk>/", views.bulk_job, name="bulk_job"),
    path("bulk/<int:pk>/contacts.csv", views.export_file, name="export_file"),
    path("import/", views.import_contacts, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/columns/", views.import_columns, name="import_columns"),
    path("import/<int:pk>/apply/", views.apply_import, name="import_apply"),
    path("new/", views.new_contact, name="new"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/delete/", views.delete_contact, name="delete"),
    path("<int:pk>/subscription/", views.change_subscription, name="subscription"),
    path("<int:pk>/consent/", consent_views.record_consent, name="consent"),
    path(
        "<int:pk>/asked-to-stop/",
        consent_views.record_request_to_stop,
        name="request_to_stop",
    ),
    path("<int:pk>/evidence/", consent_views.number_evidence, name="evidence"),
    path("disclosures/", consent_views.disclosure_list, name="disclosures"),
    path("disclosures/new/", consent_views.new_disclosure, name="disclosure_new"),
    path("disclosures/<int:pk>/", consent_views.disclosure_detail, name="disclosure"),
    path("disclosures/<int:pk>/edit/", consent_views.revise_disclosure, name="disclosure_edit"),
]
