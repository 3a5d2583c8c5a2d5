"""Structured logs: one JSON object per line on stderr, each with the request id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# the same variable the audit log reads, so audit entries carry the request id
from industry_brain.store.audit import request_id_var

LOGGER = "industry_brain.web"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> logging.Logger:
    """The web logger writing JSON lines to stderr (idempotent)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    if not any(getattr(h, "_ib_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._ib_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    return logger
