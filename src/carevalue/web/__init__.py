"""The web application: dashboards over a run's published snapshot, for every role.

Views read (a snapshot, the app's own database); ``actions`` writes, inside a transaction,
with an audit event. Permissions are checked one way: ``permissions.has_permission``.
"""
