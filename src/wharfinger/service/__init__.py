"""The governance service: rescans, notifications, KPIs (edge)."""
