"""Web settings, read from the environment (``IB_*`` variables) once per app.

| variable | default | meaning |
|---|---|---|
| ``IB_DATABASE_URL`` | SQLite under ``IB_DATA_DIR`` | the store (see ``industry_brain.store.db``) |
| ``IB_COOKIE_SECURE`` | ``1`` | session cookie ``Secure`` (off only for plain-HTTP tests) |
| ``IB_SESSION_HOURS`` | ``8`` | lifetime of a signed-in session without activity |
| ``IB_LOGIN_MAX_FAILURES`` | ``5`` | failures per username+IP in the window before refusal |
| ``IB_LOGIN_WINDOW_SECONDS`` | ``900`` | throttling window |
| ``IB_DEFAULT_LANG`` | ``zh`` | UI language when the visitor chose none (``zh`` or ``en``) |
| ``IB_LOG_LEVEL`` | ``INFO`` | level of the JSON request log on stderr |
| ``IB_UPLOAD_MAX_MB`` | ``50`` | largest department file accepted by the import page |
| ``IB_TIMEZONE`` | ``Asia/Shanghai`` | time zone in which pages show stored timestamps (UTC) |
| ``IB_TODAY`` | (the real date) | the platform's "today" (ISO date) for deadlines, consents and
  codes — set only to replay a day, e.g. the demo's 2026-11-27 |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    cookie_secure: bool = True
    session_hours: int = 8
    anonymous_session_minutes: int = 60
    login_max_failures: int = 5
    login_window_seconds: int = 900
    default_lang: str = "zh"
    log_level: str = "INFO"
    upload_max_mb: int = 50
    languages: tuple[str, ...] = field(default=("zh", "en"))
    today: date | None = None
    timezone: str = "Asia/Shanghai"

    def current_date(self) -> date:
        """The platform's today: ``today`` when fixed, else the real date."""
        return self.today or date.today()

    @classmethod
    def from_env(cls) -> Settings:
        lang = os.environ.get("IB_DEFAULT_LANG", "zh")
        return cls(
            database_url=os.environ.get("IB_DATABASE_URL") or None,
            cookie_secure=_flag("IB_COOKIE_SECURE", True),
            session_hours=_int("IB_SESSION_HOURS", 8),
            login_max_failures=_int("IB_LOGIN_MAX_FAILURES", 5),
            login_window_seconds=_int("IB_LOGIN_WINDOW_SECONDS", 900),
            default_lang=lang if lang in ("zh", "en") else "zh",
            log_level=os.environ.get("IB_LOG_LEVEL", "INFO").upper(),
            upload_max_mb=_int("IB_UPLOAD_MAX_MB", 50),
            timezone=os.environ.get("IB_TIMEZONE") or "Asia/Shanghai",
            today=date.fromisoformat(os.environ["IB_TODAY"])
            if os.environ.get("IB_TODAY")
            else None,
        )
