"""Where each rule applies: the native report's fields, by object, and what the anonymizer does to each.

This table is the spec for structured fields. ``KEEP`` fields are debugging data and are never run
through free-text detectors (debug ids, addresses, function names, versions...). ``PATH`` fields only
have home and container directories generalized. ``TEXT`` fields are free text. Fields not listed
fall back to the key-name rules for free-form objects.
"""

from __future__ import annotations

KEEP, TEXT, TEXT_LIST, PATH = "keep", "text", "text_list", "path"

TOP_LEVEL: dict[str, str] = {
    "opt_in": KEEP,
    "report_id": KEEP,
    "platform": KEEP,
    "release": KEEP,
    "dist": KEEP,
    "sdk": KEEP,
    "level": KEEP,
    "logger": KEEP,
    "modules": KEEP,
    "event_id": KEEP,
    "type": KEEP,
    "environment": TEXT,
    "transaction": TEXT,
    "fingerprint": TEXT_LIST,
    "timestamp": "event_time",
    "consent": "consent",
    "app": "app",
    "os": "os",
    "device": "device",
    "exception": "exception",
    "threads": "threads",
    "images": "images",
    "breadcrumbs": "breadcrumbs",
    "user": "user",
    "tags": "free_form",
    "extra": "free_form",
    "context": "contexts",
    "contexts": "contexts",
    "apple_crash_report": "apple_crash_report",
    "request": "free_form",
    "server_name": "drop:hostname",
    "start_timestamp": "drop:time",
}

FRAME: dict[str, str] = {
    "instruction_addr": KEEP,
    "function": KEEP,
    "raw_function": KEEP,
    "symbol": KEEP,
    "module": KEEP,
    "lineno": KEEP,
    "colno": KEEP,
    "in_app": KEEP,
    "symbol_addr": KEEP,
    "image_addr": KEEP,
    "platform": KEEP,
    "addr_mode": KEEP,
    "trust": KEEP,
    "function_id": KEEP,
    "stack_start": KEEP,
    "symbolicated": KEEP,
    "lang": KEEP,
    "package": PATH,
    "filename": PATH,
    "abs_path": PATH,
    "context_line": TEXT,
    "pre_context": TEXT_LIST,
    "post_context": TEXT_LIST,
    "vars": "drop:frame_vars",
}

IMAGE: dict[str, str] = {
    "type": KEEP,
    "debug_id": KEEP,
    "code_id": KEEP,
    "uuid": KEEP,
    "image_addr": KEEP,
    "image_size": KEEP,
    "image_vmaddr": KEEP,
    "arch": KEEP,
    "cpu_type": KEEP,
    "cpu_subtype": KEEP,
    "debug_checksum": KEEP,
    "debug_status": KEEP,
    "unwind_status": KEEP,
    "features": KEEP,
    "name": KEEP,
    "code_file": PATH,
    "debug_file": PATH,
}
IMAGE_IDS = ("debug_id", "code_id", "uuid")

THREAD: dict[str, str] = {
    "id": KEEP,
    "crashed": KEEP,
    "current": KEEP,
    "main": KEEP,
    "state": KEEP,
    "held_locks": KEEP,
    "registers": KEEP,
    "name": TEXT,
    "frames": "frames",
    "stacktrace": "stacktrace",
}

STACKTRACE: dict[str, str] = {"frames": "frames", "registers": KEEP, "lang": KEEP, "snapshot": KEEP}

EXCEPTION: dict[str, str] = {
    "type": KEEP,
    "module": KEEP,
    "thread_id": KEEP,
    "value": TEXT,
    "mechanism": "mechanism",
    "frames": "frames",
    "stacktrace": "stacktrace",
    "values": "exception_list",
}

MECHANISM: dict[str, str] = {
    "type": KEEP,
    "handled": KEEP,
    "synthetic": KEEP,
    "signal": KEEP,
    "code": KEEP,
    "meta": KEEP,
    "source": KEEP,
    "is_exception_group": KEEP,
    "exception_id": KEEP,
    "parent_id": KEEP,
    "errno": KEEP,
    "description": TEXT,
    "help_link": TEXT,
    "data": "free_form",
}

BREADCRUMB: dict[str, str] = {
    "type": KEEP,
    "category": KEEP,
    "level": KEEP,
    "event_id": KEEP,
    "origin": KEEP,
    "message": TEXT,
    "data": "free_form",
    "timestamp": "breadcrumb_time",
}

APP: dict[str, str] = {
    "id": KEEP,
    "version": KEEP,
    "build": KEEP,
    "name": KEEP,
    "app_identifier": KEEP,
    "app_name": KEEP,
    "app_version": KEEP,
    "app_build": KEEP,
    "build_type": KEEP,
    "in_foreground": KEEP,
    "app_memory": KEEP,
    "type": KEEP,
    "start_type": KEEP,
    "is_split_apks": KEEP,
    "permissions": KEEP,
    "view_names": TEXT_LIST,
    "app_start_time": "app_start_time",
    "start_time": "app_start_time",
}

OS: dict[str, str] = {
    "name": KEEP,
    "version": KEEP,
    "build": KEEP,
    "rooted": KEEP,
    "type": KEEP,
    "kernel_version": TEXT,
    "raw_description": TEXT,
}

DEVICE: dict[str, str] = {
    **{
        key: KEEP
        for key in (
            "model",
            "model_id",
            "arch",
            "archs",
            "family",
            "manufacturer",
            "brand",
            "memory_size",
            "storage_size",
            "external_storage_size",
            "simulator",
            "orientation",
            "screen_resolution",
            "screen_density",
            "screen_dpi",
            "screen_width_pixels",
            "screen_height_pixels",
            "processor_count",
            "processor_frequency",
            "cpu_description",
            "device_type",
            "charging",
            "online",
            "low_memory",
            "thermal_state",
            "connection_type",
            "type",
            "supports_vibration",
            "supports_accelerometer",
            "supports_gyroscope",
            "supports_audio",
            "supports_location_service",
            "rooted",
            "jailbroken",
            "class",
        )
    },
    "free_memory": "bucket_bytes",
    "free_storage": "bucket_bytes",
    "usable_memory": "bucket_bytes",
    "external_free_storage": "bucket_bytes",
    "battery_level": "bucket_battery",
    "locale": "language",
    "timezone": "utc_offset",
    "carrier": "drop:carrier",
    "boot_time": "drop:boot_time",
    "name": "drop:device_name",
    "battery_temperature": "drop:device_gauge",
    "id": "device_install_id",
}

CULTURE: dict[str, str] = {
    "calendar": KEEP,
    "is_24_hour_format": KEEP,
    "type": KEEP,
    "locale": "language",
    "timezone": "utc_offset",
    "display_name": "drop:locale",
}

# Sentry-style named contexts with their own schema; other contexts are free-form.
CONTEXTS: dict[str, str] = {
    "device": "device",
    "os": "os",
    "app": "app",
    "culture": "culture",
    "user": "user",
    "geo": "drop:location",
}

OBJECTS: dict[str, dict[str, str]] = {
    "frame": FRAME,
    "image": IMAGE,
    "thread": THREAD,
    "stacktrace": STACKTRACE,
    "exception": EXCEPTION,
    "mechanism": MECHANISM,
    "breadcrumb": BREADCRUMB,
    "app": APP,
    "os": OS,
    "device": DEVICE,
    "culture": CULTURE,
}
