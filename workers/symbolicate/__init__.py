"""Symbolication, the pipeline's second stage: native, Java (ProGuard/R8) and JavaScript frames.

``symbolicate_report(ctx)`` is the stage; the modules hold its pure parts: ``native`` (images,
return-address adjustment, SymCache look-ups with inlines), ``java``, ``javascript``,
``apple_text`` / ``apple_report`` (Apple ``.crash`` and ``.ips`` reports), ``demangle``, ``in_app``.
"""

from workers.symbolicate.stage import refresh_symbol_index, symbolicate_report

__all__ = ["refresh_symbol_index", "symbolicate_report"]
