"""Errors of the carbon service (bilingual, with stable codes) and their HTTP statuses."""

from __future__ import annotations

from industry_brain.core.errors import IBError


class CarbonError(IBError):
    """A carbon request that cannot be carried out (no result, bad input, no key...)."""


class CodeInvalid(IBError):
    """A 碳效码 payload that is malformed, forged, tampered with or expired."""


class Unauthorized(IBError):
    """No or an unknown/revoked API token (HTTP 401)."""


class AccessDenied(IBError):
    """The caller may not see this (no consent, consent revoked or expired; HTTP 403)."""
