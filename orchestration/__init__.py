"""Dagster definitions for sharded, scheduled loads: `dagster dev -m orchestration` (extra `orchestrate`)."""

from orchestration.definitions import build_definitions

defs = build_definitions()

__all__ = ["build_definitions", "defs"]
