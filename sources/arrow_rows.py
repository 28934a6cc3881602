"""Pages of dict rows as Arrow tables typed by the resource's column hints, so dlt skips its JSON normalizer.

dlt coerces every value of a dict row in Python (timestamps are parsed one by one); an Arrow table
is written to parquet as it is. For the biggest tables (Canvas submissions, Brightspace grade
values) this module turns each extracted item, a list of rows after the privacy step, into a
`pyarrow.Table` whose columns carry the types of the resource's explicit hints: numbers are
converted and ISO timestamps cast to UTC in C (pyarrow), not in Python.

Correctness comes first: an item is converted only when it holds exactly what the hints describe.
A key without a hint, a value that is not of its column's type (a number turned into text, a
nested object, a bool among doubles), a timestamp Arrow cannot read or a null in a non-nullable
column leaves the item as dict rows, so dlt's JSON normalizer handles it exactly as without this
module (new columns, `__v_text` variant columns). dlt takes dict and Arrow items from one resource.

dlt's Arrow path by default adds neither `_dlt_load_id` nor `_dlt_id`, which tables first written
by the JSON path hold (NOT NULL); `arrow_pages` turns both on (`normalize.parquet_normalizer`) so
the warehouse is the same whichever path a table saw first.

Small items stay dict rows: dlt spends a fixed time on every Arrow item, which only pays from
about 100 rows on (see `MIN_ROWS`). So a first sync's per-course items become Arrow tables while an
incremental rerun's few changed rows stay dicts. Most of that fixed time was dlt computing and
validating the resource's table schema from its hints again for every Arrow item (about 17 ms for
submissions' 36 columns; dict items reuse the first computation): `StaticHintsResource` computes it
once per set of hints and hands out copies.

Settings: `[sources] arrow_pages = false` (or `SOURCES__ARROW_PAGES=false`) switches the
conversion off; `[sources] arrow_pages_min_rows` changes `MIN_ROWS`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.configuration.providers import DictionaryProvider
from dlt.common.normalizers.naming import NamingConvention
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCase
from dlt.sources import DltResource

logger = logging.getLogger(__name__)

# dlt's `[normalize.parquet_normalizer]` settings that give Arrow items the JSON path's
# `_dlt_load_id` / `_dlt_id`
DLT_COLUMN_SETTINGS = ("add_dlt_load_id", "add_dlt_id")
UTC_MICROS = pa.timestamp("us", tz="UTC")
# Items with fewer rows stay dicts. Measured with submission rows (extract + normalize, Arrow vs
# dicts): 10-row items 31 ms slower each as Arrow, 100-row items even, 200-row items 45 ms faster.
MIN_ROWS = 200

# hint data type -> (Arrow types pyarrow may infer from the JSON values, the column's Arrow type).
# Only conversions that give the value dlt's JSON path stores are listed: int -> double is exact
# below 2**53 (pyarrow refuses larger ones), text -> timestamp / date is cast by Arrow's ISO parser.
_CONVERSIONS: dict[str, tuple[frozenset[pa.DataType], pa.DataType]] = {
    "bigint": (frozenset({pa.int64()}), pa.int64()),
    "double": (frozenset({pa.float64(), pa.int64()}), pa.float64()),
    "bool": (frozenset({pa.bool_()}), pa.bool_()),
    "text": (frozenset({pa.string()}), pa.string()),
    "timestamp": (frozenset({pa.string()}), UTC_MICROS),
    "date": (frozenset({pa.string()}), pa.date32()),
}


class Fallback(Exception):
    """The rows do not fit the hints; the message says why."""


def arrow_type(hint: Mapping[str, Any]) -> pa.DataType | None:
    """The Arrow type of a column hint, or None when this module does not convert it (json, decimal,
    naive or non-microsecond timestamps, a hint without a data type, ...)."""
    data_type = hint.get("data_type")
    if data_type not in _CONVERSIONS:
        return None
    if data_type == "timestamp" and (hint.get("timezone") is False or hint.get("precision") not in (None, 6)):
        return None
    if data_type == "bigint" and hint.get("precision") is not None:
        return None
    return _CONVERSIONS[data_type][1]


def convertible(columns: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether every column hint has an Arrow type here (tables with others keep dict rows)."""
    return bool(columns) and all(arrow_type(hint) is not None for hint in columns.values())


class RowsToArrow:
    """A resource step: one item (a list of dict rows) -> a `pa.Table` typed by `columns`, or the
    item unchanged when it does not fit them (see the module docstring).

    The table holds every hinted column in the hints' order (nulls where no row has the key), so a
    table first created from Arrow items gets the columns in the order the JSON path gives them.

    Attributes:
        converted: items turned into Arrow tables.
        kept: items left as dict rows because they did not fit (smaller items are not counted).
    """

    def __init__(
        self,
        resource_name: str,
        columns: Mapping[str, Mapping[str, Any]],
        naming: NamingConvention | None = None,
        min_rows: int = MIN_ROWS,
    ) -> None:
        """The step for one resource.

        Args:
            resource_name: names the resource in log messages.
            columns: the resource's column hints (normalised names), all `convertible`.
            naming: how row keys become column names; dlt's default snake_case.
            min_rows: items with fewer rows stay dicts.

        Raises:
            ValueError: a hint has no Arrow type here.
        """
        if not convertible(columns):
            raise ValueError(f"{resource_name}: column hints without an Arrow type here: {dict(columns)}")
        self.resource_name = resource_name
        self.hints = {name: dict(hint) for name, hint in columns.items()}
        self.schema = pa.schema(
            pa.field(name, arrow_type(hint), nullable=hint.get("nullable", True))
            for name, hint in columns.items()
        )
        self.naming = naming or SnakeCase()
        self.min_rows = max(min_rows, 1)
        self._names: dict[str, str] = {}  # row key -> normalised column name
        self._reasons: set[str] = set()
        self.converted = 0
        self.kept = 0

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if not isinstance(item, list) or len(item) < self.min_rows:
            return item
        if not all(isinstance(row, dict) for row in item):
            return item
        try:
            table = self.to_table(item)
        except Fallback as why:
            self.kept += 1
            reason = str(why)
            if reason not in self._reasons:  # once per reason: a drift repeats on every page
                self._reasons.add(reason)
                logger.info("%s: rows loaded as dicts (JSON normalizer): %s", self.resource_name, reason)
            return item
        self.converted += 1
        return table

    def _name(self, key: str) -> str:
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = self.naming.normalize_identifier(key)
        return name

    def to_table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """The rows as an Arrow table with the hints' column names, types and order.

        Raises:
            Fallback: a key has no hint, a value does not convert to its column's type, or a
                non-nullable column holds a null.
        """
        keys: dict[str, str] = {}  # column name -> row key
        for key in set().union(*rows):
            name = self._name(key)
            if name not in self.hints:
                raise Fallback(f"key {key!r} has no column hint")
            if name in keys:
                raise Fallback(f"keys {key!r} and {keys[name]!r} normalise to the same column")
            keys[name] = key
        arrays = []
        for field in self.schema:
            key = keys.get(field.name)
            if key is None:
                if not field.nullable:
                    raise Fallback(f"{field.name!r} is missing but not nullable")
                arrays.append(pa.nulls(len(rows), type=field.type))
            else:
                arrays.append(self._convert(field, [row.get(key) for row in rows]))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _convert(self, field: pa.Field, values: list[Any]) -> pa.Array:
        """One column's values as `field`'s type, or Fallback."""
        name, data_type = field.name, self.hints[field.name]["data_type"]
        try:
            # pyarrow infers the values' type in C; mixed ints and text or a too big int fail here
            inferred = pa.array(values)
        except (pa.ArrowException, OverflowError, UnicodeError) as exc:
            raise Fallback(f"{name!r} holds values of mixed or unsupported types ({exc})") from None
        if inferred.null_count == len(inferred):
            return pa.nulls(len(inferred), type=field.type)
        if inferred.null_count and not field.nullable:
            raise Fallback(f"{name!r} holds nulls but is not nullable")
        if inferred.type not in _CONVERSIONS[data_type][0]:
            raise Fallback(f"{name!r} holds {inferred.type}, not {data_type}")
        if inferred.type == pa.float64() and any(type(v) is bool for v in values):
            # pyarrow reads True among floats as 1.0; dlt keeps a bool out of a double column
            raise Fallback(f"{name!r} holds bools among numbers")
        if inferred.type == field.type:
            return inferred
        try:
            return pc.cast(inferred, field.type)
        except pa.ArrowException as exc:
            raise Fallback(f"{name!r} does not convert to {data_type} ({exc})") from None


class StaticHintsResource(DltResource):
    """A resource whose table schema, computed from static hints, is computed once, not per item.

    dlt's Arrow extractor asks the resource for its table schema for every Arrow item, and dlt
    builds it from the hints and validates it against its `TTableSchema` type each time (about
    17 ms for 36 columns, evaluating type annotations in Python). With static hints (no callables,
    no table variants, no incremental) the answer is the same for every item: it is kept with the
    hints object it came from, and a copy is returned. Every change of hints (`apply_hints`) gives
    the resource a new hints object, so a stale schema is never returned; dynamic hints and items
    with metadata (table variants, the `rejects` routing) take dlt's path unchanged. Clones keep
    the class (dlt clones with `self.__class__`).
    """

    def compute_table_schema(self, item: Any = None, meta: Any = None) -> Any:
        hints = self._hints
        if (
            meta is not None
            or not hints
            or self._table_name_hint_fun is not None
            or self._table_has_other_dynamic_hints
            or "incremental" in hints
        ):
            return super().compute_table_schema(item, meta)
        memo = self.__dict__.get("_static_schema")
        if memo is None or memo[0] is not hints:
            memo = (hints, super().compute_table_schema(item, meta))
            self.__dict__["_static_schema"] = memo
        return copy.deepcopy(memo[1])


def static_hints(resource: DltResource) -> DltResource:
    """Make `resource` compute its table schema once per set of hints (`StaticHintsResource`)."""
    if type(resource) is DltResource:
        resource.__class__ = StaticHintsResource
    return resource


class DltColumnDefaults(DictionaryProvider):
    """dlt settings that make the Arrow path add `_dlt_load_id` and `_dlt_id` as the JSON path does:
    a configuration provider consulted after all others, so any explicit setting (environment,
    .dlt/config.toml) still wins."""

    NAME: ClassVar[str] = "lms-elt Arrow column defaults"

    def __init__(self) -> None:
        super().__init__()
        self._config_doc = {"normalize": {"parquet_normalizer": dict.fromkeys(DLT_COLUMN_SETTINGS, True)}}


def keep_dlt_columns() -> None:
    """Make dlt add `_dlt_load_id` and `_dlt_id` to Arrow items as it does to dict rows.

    A default in dlt's own configuration (not the environment, which child processes and every
    other reader would inherit), because the project's `.dlt/config.toml` is not read from every
    working directory (tests and benchmarks run in temporary ones). Registered once per dlt run
    context.
    """
    if DltColumnDefaults.NAME not in {provider.name for provider in dlt.config.config_providers}:
        dlt.config.register_provider(DltColumnDefaults())


def arrow_pages(
    resources: list[DltResource], tables: Collection[str], min_rows: int | None = None
) -> list[DltResource]:
    """Append a `RowsToArrow` step to the resources named in `tables` (all others untouched).

    Call it last, after `protect_all`: the step reads each resource's column hints as the privacy
    step left them (dropped columns gone, pseudonymised ones text) and sees rows as they are loaded.

    Args:
        resources: a source's resources.
        tables: names of the resources whose items become Arrow tables.
        min_rows: items with fewer rows stay dicts; default `[sources] arrow_pages_min_rows`, else
            `MIN_ROWS`.

    Returns:
        The same resources.
    """
    if dlt.config.get("sources.arrow_pages", bool) is False:
        return resources
    if min_rows is None:
        min_rows = dlt.config.get("sources.arrow_pages_min_rows", int) or MIN_ROWS
    for resource in resources:
        if resource.name not in tables:
            continue
        columns = resource.columns
        if not isinstance(columns, Mapping) or not convertible(columns):
            logger.warning("%s: column hints without an Arrow type, rows stay dicts", resource.name)
            continue
        resource.add_step(RowsToArrow(resource.name, columns, min_rows=min_rows))
        static_hints(resource)
        keep_dlt_columns()
    return resources


__all__ = [
    "DLT_COLUMN_SETTINGS",
    "DltColumnDefaults",
    "MIN_ROWS",
    "Fallback",
    "RowsToArrow",
    "StaticHintsResource",
    "arrow_pages",
    "arrow_type",
    "convertible",
    "keep_dlt_columns",
    "static_hints",
]
