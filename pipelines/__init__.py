"""Runnable entry points: extraction pipelines and write-path tools."""
