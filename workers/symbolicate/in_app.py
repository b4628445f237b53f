"""Which frames belong to the app: everything not matched by a system pattern below.

One commented regex per line, like a signature list: a native image whose path matches is a system
image; a Java class or a script path that matches is a platform or third-party frame. A frame whose
``in_app`` was set by the client SDK keeps the client's value.
"""

from __future__ import annotations

import re
from functools import lru_cache

SYSTEM_IMAGE_PATTERNS = [
    r"^/usr/lib/",  # Apple and Linux system libraries
    r"^/usr/lib(32|64)/",  # Linux multilib
    r"^/lib(32|64)?/",  # Linux loader and libc
    r"^/System/",  # Apple system frameworks
    r"^/Library/Apple/",  # Apple-installed libraries on macOS
    r"^/Developer/",  # Xcode / simulator support injected into the process
    r"/Library/Developer/CoreSimulator/",  # simulator runtimes
    r"^/system/",  # Android system partition (libc, libart, framework)
    r"^/apex/",  # Android APEX modules (bionic, ART runtime)
    r"^/vendor/",  # Android vendor partition
    r"^(?i:[a-z]:\\windows\\)",  # Windows system directory
    r"(^|/)libsystem_[^/]*$",  # Apple libsystem_* wherever the simulator puts them
    r"(^|/)libdyld\.dylib$",  # Apple dynamic loader
    r"(^|/)dyld$",
    r"^linux-(gate|vdso)\.so",  # Linux kernel-provided vDSO
    r"^\[vdso\]$",
]
SYSTEM_JAVA_PATTERNS = [
    r"^(java|javax|jdk|sun|kotlin|kotlinx|dalvik|libcore)\.",  # language runtime
    r"^(android|androidx|com\.android|com\.google\.android)\.",  # Android framework and support
]
THIRD_PARTY_SCRIPT_PATTERNS = [
    r"/node_modules/",  # npm dependencies bundled into the app
    r"^(native|\[native code\])$",  # engine built-ins
]

_SYSTEM_IMAGE = re.compile("|".join(f"(?:{p})" for p in SYSTEM_IMAGE_PATTERNS))
_SYSTEM_JAVA = re.compile("|".join(f"(?:{p})" for p in SYSTEM_JAVA_PATTERNS))
_THIRD_PARTY_SCRIPT = re.compile("|".join(f"(?:{p})" for p in THIRD_PARTY_SCRIPT_PATTERNS))


@lru_cache(maxsize=4096)  # called per frame; a process sees few distinct images
def is_app_image(code_file: str | None) -> bool:
    """True when a native image (by its path) is the app's own, not the OS's."""
    return bool(code_file) and not _SYSTEM_IMAGE.search(code_file)


def is_app_class(class_name: str | None) -> bool:
    """True when a Java/Kotlin class is the app's own, not the runtime's or Android's."""
    return bool(class_name) and not _SYSTEM_JAVA.search(class_name)


def is_app_script(abs_path: str | None) -> bool:
    """True when a (source-mapped) script path is the app's own code."""
    return bool(abs_path) and not _THIRD_PARTY_SCRIPT.search(abs_path)
