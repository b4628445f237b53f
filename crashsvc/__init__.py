"""crashsvc: an opt-in, anonymized crash-report server. ``create_app`` lives in ``crashsvc.app``."""
