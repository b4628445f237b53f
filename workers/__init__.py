"""RQ jobs and the processing pipeline: anonymize, symbolicate, group, store."""
