"""Canvas write-back: SIS CSV format and imports, enrollment sync, and the writer they share."""
