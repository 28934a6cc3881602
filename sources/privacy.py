"""Student privacy: keep, pseudonymise (keyed hash) or drop personal fields, applied inside each source.

Every source lists its personal fields per table (`PERSONAL_FIELDS` in its settings) by category:
`names`, `emails`, `login_ids`, `sis_ids` and `other` (avatar URLs, pronouns, IP addresses, free
text such as grade comments and submission bodies). A policy (`[sources.<source>.privacy]`) says per
category what happens to those fields before anything is written to an extract file:

- `keep`: loaded as the LMS serves them;
- `pseudonymise`: replaced by HMAC-SHA256(hash key, "<category>:<value>") as 64 hex digits. The key
  (`[sources.privacy] hash_key`) is shared by all sources, so the same SIS id, e-mail or login hashes
  the same in Canvas, Brightspace and the SIS roster, run after run, and joins on SIS ids still work;
- `drop`: the field leaves the row and its column hint leaves the table, so the column is never
  created, not even on a first run. SIS ids cannot be dropped: they are the key the cross-LMS models
  and the enrolment audit join on, and part of the roster's primary key; pseudonymise them instead.

LMS-internal numeric ids (Canvas `user_id`, Brightspace `UserId`) are kept: they are the tables'
keys and mean nothing outside the LMS.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

logger = logging.getLogger(__name__)

KEEP = "keep"
PSEUDONYMISE = "pseudonymise"
DROP = "drop"
ACTIONS = (KEEP, PSEUDONYMISE, DROP)
_SPELLINGS = {"pseudonymize": PSEUDONYMISE, "hash": PSEUDONYMISE}

NAMES = "names"
EMAILS = "emails"
LOGIN_IDS = "login_ids"
SIS_IDS = "sis_ids"
OTHER = "other"
CATEGORIES = (NAMES, EMAILS, LOGIN_IDS, SIS_IDS, OTHER)
# e-mail addresses and login ids compare case-insensitively in both LMSs
_CASE_FOLDED = frozenset({EMAILS, LOGIN_IDS})
MIN_KEY_LENGTH = 16
KEY_SETTING = "[sources.privacy] hash_key in .dlt/secrets.toml (or SOURCES__PRIVACY__HASH_KEY)"

_naming = NamingConvention()


@configspec
class PrivacyPolicy(BaseConfiguration):
    """What happens to each category of personal field: keep, pseudonymise or drop.

    Read from `[sources.<source>.privacy]`; `hash_key` from `[sources.privacy]` in secrets.toml,
    shared by every source so one person hashes the same everywhere.
    """

    names: str = KEEP
    emails: str = KEEP
    login_ids: str = KEEP
    sis_ids: str = KEEP
    other: str = KEEP
    hash_key: TSecretStrValue | None = None  # None when unset (pseudonymise then refuses to run)


class PrivacyConfigError(ValueError):
    """A privacy setting that cannot be applied; names the setting to fix."""


class PrivacyRules:
    """A validated policy for one source: the action per category and the keyed hash."""

    def __init__(self, actions: Mapping[str, str], hash_key: str | None, source: str) -> None:
        self.source = source
        self.actions = dict(actions)
        # the key is held as bytes only, never in a message or repr
        self._key = hash_key.encode("utf-8") if hash_key else None

    def __repr__(self) -> str:
        return f"PrivacyRules({self.source}: {self.actions})"

    @property
    def keeps_everything(self) -> bool:
        """True when no category is changed (the resources are left exactly as they are)."""
        return all(action == KEEP for action in self.actions.values())

    @property
    def signature(self) -> str:
        """Changes whenever the actions or the hash key change; reveals neither the key nor a value.

        Kept beside fingerprints of loaded rows, so a changed policy makes them reload.
        """
        keyed = self.pseudonym("other", "policy-signature") if self._key else ""
        return hashlib.blake2b(f"{sorted(self.actions.items())}|{keyed}".encode(), digest_size=8).hexdigest()

    def pseudonym(self, category: str, value: Any) -> Any:
        """The keyed hash of one value (None and empty strings are left as they are)."""
        if value is None or value == "" or self._key is None:
            return value
        text = str(value).strip()
        if category in _CASE_FOLDED:
            text = text.casefold()
        return hmac.new(self._key, f"{category}:{text}".encode(), hashlib.sha256).hexdigest()


def _setting(source: str, category: str) -> str:
    return f"[sources.{source}.privacy] {category}"


def privacy_rules(policy: PrivacyPolicy | Mapping[str, Any] | None, source: str) -> PrivacyRules:
    """Check a policy and make the rules a source applies.

    Args:
        policy: the source's `privacy` argument (a PrivacyPolicy, a plain mapping, or None = keep all).
        source: the config section of the source (`canvas`, `brightspace`, `sis_roster`), named in errors.

    Returns:
        The rules to pass to `protect`.

    Raises:
        PrivacyConfigError: an unknown action or category, SIS ids set to drop, or pseudonymise
            without a hash key (or with one too short to resist guessing).
    """
    values: dict[str, Any] = dict(policy) if policy is not None else {}
    hash_key = values.pop("hash_key", None)
    unknown = sorted(set(values) - set(CATEGORIES))
    if unknown:
        raise PrivacyConfigError(
            f"unknown privacy categories {unknown} under [sources.{source}.privacy]; "
            f"the categories are {', '.join(CATEGORIES)}."
        )
    actions: dict[str, str] = {}
    for category in CATEGORIES:
        raw = str(values.get(category) or KEEP).strip().lower()
        action = _SPELLINGS.get(raw, raw)
        if action not in ACTIONS:
            raise PrivacyConfigError(
                f"{_setting(source, category)} = {raw!r} is not a privacy action; use one of {', '.join(ACTIONS)}."
            )
        actions[category] = action
    if actions[SIS_IDS] == DROP:
        raise PrivacyConfigError(
            f"{_setting(source, SIS_IDS)} = 'drop' is not allowed: SIS ids are the key the SQL models join "
            "the two LMSs and the SIS roster on. Set it to 'pseudonymise' (a keyed hash keeps the joins) "
            "or 'keep'."
        )
    hashed = [c for c, a in actions.items() if a == PSEUDONYMISE]
    if hashed:
        if not hash_key:
            raise PrivacyConfigError(
                f"{_setting(source, hashed[0])} = 'pseudonymise' needs a secret hash key: set {KEY_SETTING}. "
                "Use the same key for every source, so a person hashes the same in Canvas, Brightspace "
                "and the SIS roster."
            )
        if len(str(hash_key)) < MIN_KEY_LENGTH:
            raise PrivacyConfigError(
                f"{KEY_SETTING} is shorter than {MIN_KEY_LENGTH} characters; SIS ids are easy to guess, so "
                "only a long random key keeps the pseudonyms from being reversed "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
    return PrivacyRules(actions, str(hash_key) if hash_key else None, source)


class RowPrivacy:
    """The row map of one table: drops or hashes its personal fields, whatever their spelling.

    Field names are matched after dlt's snake_case normalisation, so Brightspace's `DisplayName`
    and a Canvas `display_name` are the same field.
    """

    def __init__(self, fields: Mapping[str, str], rules: PrivacyRules) -> None:
        self._by_column = {
            column: (category, rules.actions[category])
            for column, category in fields.items()
            if rules.actions[category] != KEEP
        }
        self._rules = rules
        self._seen: dict[str, tuple[str, str] | None] = {}

    def _plan(self, key: str) -> tuple[str, str] | None:
        try:
            return self._seen[key]
        except KeyError:
            plan = self._by_column.get(_naming.normalize_identifier(key))
            self._seen[key] = plan
            return plan

    def __call__(self, row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        changes = [(key, plan) for key in row if (plan := self._plan(key)) is not None]
        if not changes:
            return row
        out = dict(row)  # a new dict: the LMS's row may be shared (fingerprints, report caches)
        for key, (category, action) in changes:
            if action == DROP:
                del out[key]
            else:
                out[key] = self._rules.pseudonym(category, out[key])
        return out


def table_actions(fields: Mapping[str, str], rules: PrivacyRules) -> dict[str, str]:
    """column -> action for the columns of one table that are not kept."""
    return {c: rules.actions[k] for c, k in fields.items() if rules.actions[k] != KEEP}


def protect(resource: DltResource, fields: Mapping[str, str] | None, rules: PrivacyRules) -> DltResource:
    """Apply the rules to one resource: a row map, and column hints and keys without dropped fields.

    The map is added as the resource's last step, so it runs in extract before rows are written
    (fingerprints and cursors kept in state were computed on the LMS's rows, so incremental loading
    is unaffected). Add it only to resources that feed no transformer.

    Args:
        resource: a resource whose rows may hold personal fields.
        fields: its personal fields, column (snake_case) -> category; None or empty = none.
        rules: the source's rules.

    Returns:
        The same resource.
    """
    actions = table_actions(fields or {}, rules)
    if not actions:
        return resource
    resource.add_map(RowPrivacy(fields or {}, rules))
    dropped = {c for c, a in actions.items() if a == DROP}
    hashed = {c for c, a in actions.items() if a == PSEUDONYMISE}
    columns = resource.columns
    if isinstance(columns, Mapping):
        kept: dict[str, Any] = {}
        for name, hint in columns.items():
            if name in dropped:
                continue  # a complete hint would create the column even with no data
            kept[name] = {**hint, "data_type": "text"} if name in hashed else hint
        resource.apply_hints(columns={})
        resource.apply_hints(columns=kept)
    if dropped:
        key = get_columns_names_with_prop(
            resource.compute_table_schema(), "primary_key", include_incomplete=True
        )
        if dropped & set(key):
            remaining = [n for n in key if n not in dropped]
            if not remaining:
                raise PrivacyConfigError(
                    f"dropping {sorted(dropped & set(key))} would leave {resource.name} without a primary key; "
                    "set that category to 'pseudonymise' or 'keep' under "
                    f"[sources.{rules.source}.privacy]."
                )
            # rows that differed only in a dropped key column now share a key
            logger.info(
                "%s: primary key %s without the dropped %s", resource.name, remaining, sorted(dropped)
            )
            resource.apply_hints(primary_key=remaining)
    return resource


def protect_all(
    resources: list[DltResource], personal_fields: Mapping[str, Mapping[str, str]], rules: PrivacyRules
) -> list[DltResource]:
    """`protect` every resource whose table has personal fields; the others are returned untouched."""
    if rules.keeps_everything:
        return resources
    return [protect(r, personal_fields.get(r.name), rules) for r in resources]


__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "PrivacyConfigError",
    "PrivacyPolicy",
    "PrivacyRules",
    "RowPrivacy",
    "privacy_rules",
    "protect",
    "protect_all",
]
