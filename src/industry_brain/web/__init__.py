"""Web platform: FastAPI app (``industry_brain.web.app.create_app``), pages and JSON API.

Kept import-light: ``industry_brain.store.models`` imports ``industry_brain.web.models`` so that
Alembic sees the web tables; the app itself is imported only when served.
"""
