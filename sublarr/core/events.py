"""The event type of the catalog. The kernel declares no event of its own: every plugin, the
built-in domains included, adds the events it emits through the ``sublarr_events`` hook (the
providers domain ``subtitle_downloaded``, the wanted domain ``wanted_scan_complete`` ...), and
``Configuration.events`` gathers them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    description: str
    payload_keys: tuple[str, ...] = field(default_factory=tuple)
    plugin: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "description": self.description,
                "payload_keys": list(self.payload_keys), "plugin": self.plugin}
