"""Shards of a sync: what a shard selects, how its key reads and writes, and its pipeline's name."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# shard kinds, in the order they appear in a key or a pipeline name
KINDS = ("account", "terms", "courses", "org_units")
# a pipeline name lists at most this many ids; longer lists are named by a hash of the ids
MAX_IDS_IN_NAME = 4


class ShardKeyError(ValueError):
    """A shard key could not be read."""


@dataclass(frozen=True)
class Shard:
    """A part of an institution loaded by one run: an account, terms, courses or org units (or all).

    Attributes:
        account: a Canvas (sub-)account id; its courses and those of its sub-accounts.
        terms: Canvas enrollment term ids.
        courses: Canvas course ids.
        org_units: Brightspace course offering org unit ids.
    """

    account: str | None = None
    terms: tuple[int, ...] = ()
    courses: tuple[int, ...] = ()
    org_units: tuple[int, ...] = ()

    @property
    def is_whole(self) -> bool:
        """True when nothing restricts the run."""
        return not (self.account or self.terms or self.courses or self.org_units)

    def parts(self) -> list[tuple[str, list[str]]]:
        """(kind, ids) for each restriction, in `KINDS` order."""
        values: dict[str, list[str]] = {
            "account": [self.account] if self.account else [],
            "terms": [str(i) for i in self.terms],
            "courses": [str(i) for i in self.courses],
            "org_units": [str(i) for i in self.org_units],
        }
        return [(kind, values[kind]) for kind in KINDS if values[kind]]

    @property
    def key(self) -> str:
        """The shard as text, e.g. `terms=5`, `courses=101+102`, `account=12,terms=5`; `all` when whole."""
        if self.is_whole:
            return "all"
        return ",".join(f"{kind}={'+'.join(ids)}" for kind, ids in self.parts())

    @property
    def slug(self) -> str:
        """The shard as a name part: `terms_5`, `courses_101_102`, or `courses_<hash>` for long lists."""
        names = []
        for kind, ids in self.parts():
            if len(ids) > MAX_IDS_IN_NAME:
                digest = hashlib.sha1("+".join(sorted(ids)).encode()).hexdigest()[:10]
                names.append(f"{kind}_{digest}")
            else:
                names.append("_".join([kind, *(re.sub(r"[^0-9A-Za-z]+", "_", i) for i in ids)]))
        return "__".join(names)

    @classmethod
    def parse(cls, key: str) -> Shard:
        """Read a shard key (see `key`).

        Args:
            key: e.g. `terms=5`, `account=12`, `courses=101+102`, `org_units=6606+6607`, or `all`.

        Raises:
            ShardKeyError: the key names an unknown kind or a non-numeric id.
        """
        key = key.strip()
        if key in ("", "all"):
            return cls()
        found: dict[str, Any] = {}
        for part in key.split(","):
            kind, sep, ids = part.partition("=")
            kind = kind.strip()
            if not sep or kind not in KINDS or not ids.strip():
                raise ShardKeyError(
                    f"cannot read shard {key!r}: write kind=id+id, with kind one of {', '.join(KINDS)} "
                    "(e.g. terms=5, account=12, courses=101+102), parts joined by commas"
                )
            values = [v.strip() for v in ids.split("+") if v.strip()]
            if kind == "account":
                found[kind] = values[0]
                continue
            try:
                found[kind] = tuple(int(v) for v in values)
            except ValueError:
                raise ShardKeyError(f"cannot read shard {key!r}: {kind} ids must be numbers") from None
        return cls(**found)


def shard_pipeline_name(base: str, shard: Shard) -> str:
    """The dlt pipeline name of a shard's runs: `base` for a whole run, else `base__<slug>`.

    Each shard gets its own name so that its local working dir, its load packages and its state
    (incremental cursors) in the destination's `_dlt_pipeline_state` never mix with another shard's.
    """
    return base if shard.is_whole else f"{base}__{shard.slug}"


def shard_from_args(
    account: str | None = None,
    terms: Sequence[int] | None = None,
    courses: Sequence[int] | None = None,
    org_units: Sequence[int] | None = None,
) -> Shard:
    """The shard a command line selects (`self`, the root account, is no restriction)."""
    return Shard(
        account=account if account and account != "self" else None,
        terms=tuple(terms or ()),
        courses=tuple(courses or ()),
        org_units=tuple(org_units or ()),
    )
