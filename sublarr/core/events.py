"""The event catalog. Built-in events are the legacy Sublarr names; plugins add theirs
through the ``sublarr_events`` hook. This module is itself a built-in plugin."""

from __future__ import annotations

from dataclasses import dataclass, field

from sublarr.core.hookspecs import hookimpl


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


BUILTIN_EVENTS: tuple[EventType, ...] = (
    EventType("subtitle_downloaded", "Subtitle Downloaded", "A subtitle was downloaded from a provider",
              ("provider_name", "language", "format", "file_path", "score", "subtitle_id")),
    EventType("translation_complete", "Translation Complete", "A subtitle translation finished",
              ("file_path", "output_path", "source_language", "target_language", "backend_name", "duration_ms")),
    EventType("translation_failed", "Translation Failed", "A subtitle translation failed",
              ("file_path", "error", "backend_name")),
    EventType("provider_search_complete", "Provider Search Complete", "A provider search returned",
              ("file_path", "provider_name", "result_count", "duration_ms")),
    EventType("provider_failed", "Provider Failed", "A provider search or download failed",
              ("provider_name", "error", "consecutive_failures")),
    EventType("wanted_scan_complete", "Wanted Scan Complete", "A library scan for wanted subtitles finished",
              ("total_items", "new_items", "removed_items", "duration_ms")),
    EventType("wanted_item_processed", "Wanted Item Processed", "A wanted item was searched or handled",
              ("item_id", "file_path", "status", "language")),
    EventType("upgrade_complete", "Upgrade Complete", "A subtitle was replaced by a better one",
              ("file_path", "old_format", "new_format", "old_score", "new_score", "provider_name")),
    EventType("batch_complete", "Batch Complete", "A batch of translations finished",
              ("total", "succeeded", "failed", "skipped")),
    EventType("webhook_received", "Webhook Received", "An incoming Sonarr/Radarr webhook was received",
              ("source", "event_type", "file_path")),
    EventType("config_updated", "Config Updated", "Settings were changed", ("keys",)),
    EventType("whisper_complete", "Whisper Complete", "A Whisper transcription finished",
              ("job_id", "file_path", "language", "segment_count", "duration_seconds")),
    EventType("whisper_failed", "Whisper Failed", "A Whisper transcription failed", ("job_id", "file_path", "error")),
    EventType("hook_executed", "Hook Executed", "A script hook or webhook ran",
              ("hook_id", "webhook_id", "event_name", "success", "exit_code", "status_code")),
    EventType("standalone_scan_complete", "Standalone Scan Complete", "A standalone folder scan finished",
              ("folder_id", "path", "series_count", "movie_count", "duration_ms")),
    EventType("standalone_file_detected", "Standalone File Detected", "A new media file appeared in a watched folder",
              ("file_path", "folder_id", "media_type")),
)


@hookimpl
def sublarr_events():
    return list(BUILTIN_EVENTS)
