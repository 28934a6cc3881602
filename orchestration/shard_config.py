"""Which shards the Dagster definitions partition by: from dlt config, or one whole-institution shard."""

from __future__ import annotations

from collections.abc import Sequence

import dlt
from dagster import StaticPartitionsDefinition

from pipelines.shards import Shard

# `.dlt/config.toml`:  [orchestration]  canvas_shards = ["terms=5", "account=12", "courses=101+102"]
CONFIG_KEYS = {"canvas": "orchestration.canvas_shards", "brightspace": "orchestration.brightspace_shards"}
WHOLE = ["all"]


def configured_shards(lms: str) -> list[str]:
    """The shard keys configured for `lms` (`canvas` or `brightspace`), checked; `["all"]` if none."""
    try:
        keys = dlt.config.get(CONFIG_KEYS[lms])
    except Exception:  # no config provider holds the key
        keys = None
    if isinstance(keys, str):
        keys = [k for k in keys.split(";") if k.strip()]
    return shard_keys(keys or WHOLE)


def shard_keys(keys: Sequence[str]) -> list[str]:
    """Shard keys in their canonical spelling; a key that cannot be read stops with how to write it."""
    canonical = [Shard.parse(key).key for key in keys]
    if len(set(canonical)) != len(canonical):
        raise ValueError(f"shard keys repeat: {list(keys)}")
    return canonical


def shard_partitions(keys: Sequence[str]) -> StaticPartitionsDefinition:
    """A static partitions definition whose keys are the shards."""
    return StaticPartitionsDefinition(shard_keys(keys))
