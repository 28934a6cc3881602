"""One line for a configuration a user must fix: a .dlt TOML file that does not parse, a setting of
the wrong kind, a destination setting set nowhere. The CLIs print it instead of a traceback."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from dlt.common.configuration.exceptions import ConfigFieldMissingException, LookupTrace, LookupTraces
from dlt.common.configuration.providers.toml import TomlProviderReadException

from sources.settings_errors import SettingValueError

CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    TomlProviderReadException,
    SettingValueError,
    ConfigFieldMissingException,
)
ENV_PROVIDER = "Environment Variables"


def describe_config_error(exc: BaseException) -> str | None:
    """The line for a configuration error in `exc`'s cause chain, or None when there is none."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TomlProviderReadException):
            return _unreadable_toml(seen)
        if isinstance(seen, SettingValueError):
            return str(seen)
        if isinstance(seen, ConfigFieldMissingException):
            return _missing(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _unreadable_toml(exc: TomlProviderReadException) -> str:
    """Which file does not parse, and where (the line and column Python's TOML reader gives)."""
    for path in exc.full_paths:
        if not os.path.isfile(path):
            continue
        try:
            tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as problem:
            return (
                f"{_shown(path)} is not valid TOML: {problem}. Fix that line (strings need closing quotes)."
            )
    return f"{exc.file_name} is not valid TOML: {exc}"


def _missing(exc: ConfigFieldMissingException) -> str:
    """The settings a configuration needs and where to put them (the least specific place)."""
    spec, traces = exc.spec_name, dict(exc.traces)
    # a missing part of embedded credentials: name the credentials' own fields
    while len(traces) == 1 and all(isinstance(t, LookupTraces) for t in next(iter(traces.values()))):
        nested = next(iter(traces.values()))[0]
        spec, traces = nested.spec_name, dict(nested.traces)
    places = []
    for field, field_traces in traces.items():
        env_keys = [t.key for t in field_traces if isinstance(t, LookupTrace) and t.provider == ENV_PROVIDER]
        # the longest key that is not a pipeline's own: DESTINATION__POSTGRES__CREDENTIALS__PASSWORD
        general = [k for k in env_keys if k.split("__", 1)[0].lower() in ("destination", "sources")]
        key = max(general or env_keys or [field.upper()], key=len)
        *section, name = key.lower().split("__")
        places.append(f"{name} under [{'.'.join(section)}] in .dlt/secrets.toml (or env {key})")
    what = spec.replace("Credentials", " credentials").replace("Configuration", " settings")
    hint = ""
    if spec == "PostgresCredentials" and list(traces) == ["password"]:
        hint = (
            "; a server that needs no password takes a URL without one, e.g. postgresql://user@host:5432/db"
        )
    return f"{what} lack {', '.join(traces)}: set " + "; ".join(places) + hint


def _shown(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path
