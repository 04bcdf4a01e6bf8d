"""The three roles are Django groups holding Django permissions, created by migration
crm/0001_roles. Views check permissions, never group names."""

STAFF = "Staff"
ADMIN = "Admin"
MANAGER = "Manager"
