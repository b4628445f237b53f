"""The edge: reading, checking and queueing crash reports (native JSON API and Sentry envelopes)."""
