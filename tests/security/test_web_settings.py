"""Every ``IB_*`` setting the web platform reads is documented in the README (datasette's rule:
an undocumented setting is a failing test), and a bad ``IB_TRUSTED_PROXIES`` is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from industry_brain.core.errors import ValidationError
from industry_brain.web import settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_web_setting_is_documented():
    source = Path(settings.__file__).read_text("utf-8")
    body = source.split('"""', 2)[2]  # the code after the module docstring
    names = set(re.findall(r'"(IB_[A-Z_]+)"', body))
    assert {"IB_TRUSTED_PROXIES", "IB_UPLOAD_MAX_MB", "IB_LOGIN_USER_MAX_FAILURES"} <= names
    readme = (ROOT / "README.md").read_text("utf-8")
    docstring = source.split('"""', 2)[1]
    for name in sorted(names):
        assert f"`{name}`" in readme, f"README does not document {name}"
        assert f"``{name}``" in docstring, f"web/settings.py does not document {name}"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("IB_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ,::1")
    assert settings.Settings.from_env().trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    monkeypatch.setenv("IB_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValidationError) as info:  # a bilingual refusal naming the variable
        settings.Settings.from_env()
    assert info.value.location.field == "IB_TRUSTED_PROXIES" and "proxy.internal" in info.value.zh
