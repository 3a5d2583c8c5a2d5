"""Department data ingest (一企一档): read messy CSV/Excel, map, normalise, validate, match
enterprises, load facts with lineage in one atomic batch."""

from industry_brain.ingest.pipeline import ImportResult, import_file

__all__ = ["ImportResult", "import_file"]
