"""Settings resolved through dlt's configuration, with errors a user can act on: one line naming
the file (or environment variable), the section and the setting to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import dlt
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException
from dlt.common.configuration.specs import BaseConfiguration

Spec = TypeVar("Spec", bound=BaseConfiguration)


class SettingValueError(ValueError):
    """A configured value is of the wrong kind; the message names where it is set."""


def resolve_settings(spec: Spec, sections: tuple[str, ...], given: dict[str, Any]) -> Spec:
    """`spec` resolved under `sections`: `given` values (None ones left out) over dlt's config,
    secrets and environment.

    Raises:
        ConfigFieldMissingException: a required setting is set nowhere.
        SettingValueError: a setting's value is not of its type (names where it is set).
    """
    explicit = {k: v for k, v in given.items() if v is not None}
    try:
        return resolve_configuration(spec, sections=sections, explicit_value=explicit)
    except ConfigValueCannotBeCoercedException as exc:
        kind = getattr(exc.hint, "__name__", str(exc.hint))
        where = setting_location(exc.field_name, sections)
        article = "an" if kind[:1] in "aeiou" else "a"
        raise SettingValueError(
            f"{exc.field_name} = {exc.field_value!r} {where} must be {article} {kind}"
        ) from None


def setting_location(name: str, sections: tuple[str, ...]) -> str:
    """Where dlt finds setting `name` of `[a.b]`: `in [a.b] of .dlt/config.toml`, or the variable."""
    table = ".".join(sections)
    for provider in dlt.config.config_providers:
        try:
            value, key = provider.get_value(name, Any, None, *sections)
        except Exception:  # a provider that cannot be read has no value here
            continue
        if value is None:
            continue
        if provider.name == "Environment Variables":
            return f"in environment variable {key}"
        paths = [Path(p) for p in getattr(provider, "_toml_paths", [])]
        found = next((p for p in paths if p.is_file()), None)
        return f"in [{table}] of {_shown(found) if found else provider.name}"
    return f"in [{table}]"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
