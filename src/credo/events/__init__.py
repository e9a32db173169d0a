"""Event schemas: what partners may report about a consenting consumer (PRODUCT.md §4)."""

from credo.events.schemas import (
    EVENT_MODELS,
    EVENT_TYPES,
    EventBase,
    event_adapter,
    event_to_record,
    parse_event,
)

__all__ = ["EVENT_MODELS", "EVENT_TYPES", "EventBase", "event_adapter", "event_to_record", "parse_event"]
