"""Shared building blocks: identifiers, units, errors and dated parameters."""
