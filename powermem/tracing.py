"""Optional OpenTelemetry spans; the only module that imports ``opentelemetry``.

Without ``opentelemetry-api`` installed every span is a do-nothing object. With the API but
no SDK configured by the application, the API's own no-op tracer is used. powermem never
configures an exporter: spans go only where the application's SDK sends them.

Attributes are counts, names of models and operations, and token counts; never message text,
memory text, filters or secrets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

try:
    from opentelemetry import trace as _otel

    ENABLED = True
except ImportError:  # the otel extra is not installed
    ENABLED = False

__all__ = ["ENABLED", "AttributeValue", "Span", "span"]

AttributeValue = str | bool | int | float


class Span(Protocol):
    def set_attribute(self, key: str, value: AttributeValue) -> object: ...


class _NoSpan:
    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return None


_NO_SPAN = _NoSpan()


@contextmanager
def span(name: str, attributes: Mapping[str, AttributeValue] | None = None) -> Iterator[Span]:
    """A span around the block, child of the current one; errors mark it failed and propagate."""
    if not ENABLED:
        yield _NO_SPAN
        return
    tracer = _otel.get_tracer("powermem")
    with tracer.start_as_current_span(name, attributes=dict(attributes or {})) as current:
        yield current
