"""Web settings, read from the environment (``IB_*`` variables) once per app.

| variable | default | meaning |
|---|---|---|
| ``IB_DATABASE_URL`` | SQLite under ``IB_DATA_DIR`` | the store (see ``industry_brain.store.db``) |
| ``IB_COOKIE_SECURE`` | ``1`` | session cookie ``Secure`` (off only for plain-HTTP tests) |
| ``IB_SESSION_HOURS`` | ``8`` | lifetime of a signed-in session without activity |
| ``IB_LOGIN_MAX_FAILURES`` | ``5`` | failures per username+address in the window that lock the
  address for that username (a correct password still passes while the username's own count is
  below ``IB_LOGIN_USER_MAX_FAILURES``) |
| ``IB_LOGIN_ADDRESS_MAX_FAILURES`` | ``30`` | failures from one address over all usernames in
  the window that lock the address (same correct-password rule) |
| ``IB_LOGIN_USER_MAX_FAILURES`` | ``10`` | failures per username from all addresses in the window
  after which every attempt waits a backoff (password not checked) |
| ``IB_LOGIN_BACKOFF_SECONDS`` | ``2`` | first backoff; it doubles with each further failure, at
  most the window |
| ``IB_LOGIN_WINDOW_SECONDS`` | ``900`` | throttling window |
| ``IB_TRUSTED_PROXIES`` | (none) | comma-separated addresses or networks (CIDR) of reverse
  proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed; from anyone else the
  headers are ignored |
| ``IB_SECRET_KEY`` | (generated) | key signing the login form's CSRF token; default: a random
  key kept in ``IB_DATA_DIR/secret_key`` (shared by the workers) |
| ``IB_IMPORT_WAIT_SECONDS`` | ``60`` | how long an import waits for another import of the same
  SQLite store before answering 503 ``store.busy`` |
| ``IB_DEFAULT_LANG`` | ``zh`` | UI language when the visitor chose none (``zh`` or ``en``) |
| ``IB_LOG_LEVEL`` | ``INFO`` | level of the JSON request log on stderr |
| ``IB_UPLOAD_MAX_MB`` | ``50`` | largest request body (department file upload) accepted, checked
  on ``Content-Length`` and while reading |
| ``IB_TIMEZONE`` | ``Asia/Shanghai`` | time zone in which pages show stored timestamps (UTC) |
| ``IB_TODAY`` | (the real date) | the platform's "today" (ISO date) for deadlines, consents and
  codes — set only to replay a day, e.g. the demo's 2026-11-27 |
| ``IB_COCKPIT_WARM_SECONDS`` | ``60`` | ``serve``: how often each worker looks for a new import
  batch, then computes the city's and each county's cockpit in the background
  (``industry_brain.web.warmup``); ``0``: off |
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import date

from industry_brain.core import env


def trusted_proxies(raw: str) -> tuple[str, ...]:
    """``IB_TRUSTED_PROXIES``: each entry a valid address or network, else ``ValueError``."""
    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        if "/" in item:
            ipaddress.ip_network(item, strict=False)
        else:
            ipaddress.ip_address(item)
        out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    cookie_secure: bool = True
    session_hours: int = 8
    anonymous_session_minutes: int = 60
    login_max_failures: int = 5
    login_address_max_failures: int = 30
    login_user_max_failures: int = 10
    login_backoff_seconds: int = 2
    login_window_seconds: int = 900
    trusted_proxies: tuple[str, ...] = ()
    secret_key: str | None = None
    import_wait_seconds: float = 60.0
    default_lang: str = "zh"
    log_level: str = "INFO"
    upload_max_mb: int = 50
    languages: tuple[str, ...] = field(default=("zh", "en"))
    today: date | None = None
    timezone: str = "Asia/Shanghai"
    #: ``serve``: how often each worker looks for a new import to warm the cockpits
    #: (:mod:`industry_brain.web.warmup`); 0: no warm-up
    cockpit_warm_seconds: float = 0.0

    def current_date(self) -> date:
        """The platform's today: ``today`` when fixed, else the real date."""
        return self.today or date.today()

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of the environment, each checked (:mod:`industry_brain.core.env`: a
        bad value raises ``settings.invalid`` naming the variable)."""
        checked = env.gather(
            {
                "cookie_secure": lambda: env.flag("IB_COOKIE_SECURE", True),
                "session_hours": lambda: env.integer("IB_SESSION_HOURS", 8, minimum=1),
                "login_max_failures": lambda: env.integer("IB_LOGIN_MAX_FAILURES", 5, minimum=1),
                "login_address_max_failures": lambda: env.integer(
                    "IB_LOGIN_ADDRESS_MAX_FAILURES", 30, minimum=1
                ),
                "login_user_max_failures": lambda: env.integer(
                    "IB_LOGIN_USER_MAX_FAILURES", 10, minimum=1
                ),
                "login_backoff_seconds": lambda: env.integer(
                    "IB_LOGIN_BACKOFF_SECONDS", 2, minimum=0
                ),
                "login_window_seconds": lambda: env.integer(
                    "IB_LOGIN_WINDOW_SECONDS", 900, minimum=1
                ),
                "trusted_proxies": _proxies,
                "import_wait_seconds": lambda: env.number(
                    "IB_IMPORT_WAIT_SECONDS", 60.0, minimum=0
                ),
                "default_lang": lambda: env.choice("IB_DEFAULT_LANG", "zh", ("zh", "en")),
                "log_level": env.log_level,
                "upload_max_mb": lambda: env.integer("IB_UPLOAD_MAX_MB", 50, minimum=1),
                "timezone": lambda: env.zone("IB_TIMEZONE", "Asia/Shanghai"),
                "cockpit_warm_seconds": lambda: env.number(
                    "IB_COCKPIT_WARM_SECONDS", 60.0, minimum=0
                ),
                "today": lambda: env.iso_date("IB_TODAY"),
            }
        )
        return cls(
            database_url=os.environ.get("IB_DATABASE_URL") or None,
            secret_key=os.environ.get("IB_SECRET_KEY") or None,
            **checked,
        )


def _proxies() -> tuple[str, ...]:
    """``IB_TRUSTED_PROXIES`` checked (:func:`trusted_proxies`)."""
    value = env.raw("IB_TRUSTED_PROXIES") or ""
    try:
        return trusted_proxies(value)
    except ValueError:
        raise env.invalid(
            "IB_TRUSTED_PROXIES",
            value,
            "以逗号分隔的 IP 地址或网段（如 127.0.0.1,10.0.0.0/8）",
            "comma-separated IP addresses or networks (e.g. 127.0.0.1,10.0.0.0/8)",
        ) from None
