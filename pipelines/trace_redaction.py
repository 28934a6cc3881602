"""Keep secrets out of dlt's stored trace of a failed run.

dlt pickles the trace of every run into `<pipelines_dir>/<pipeline>/trace.pickle`, and
`dlt pipeline <name> trace` prints it. A failed step stores its exception's text and traceback
there: when a foreign exception (a library's, not our clients') quotes a token, an echoed body or
a connection URL, the secret would sit on disk. `redact_trace` rewrites the stored trace (and the
one the pipeline holds in memory) with every string passed through `run_report.redact`.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

from dlt.common.storages import FileStorage
from dlt.pipeline.pipeline import Pipeline
from dlt.pipeline.trace import TRACE_FILE_NAME, load_trace

from pipelines.run_report import redact

logger = logging.getLogger(__name__)


def _redacted(value: Any) -> Any:
    """`value` with every string in it redacted; tuples, named tuples, lists and dicts are rebuilt."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return type(value)({key: _redacted(item) for key, item in value.items()}) if value else value
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    if isinstance(value, tuple):
        items = [_redacted(item) for item in value]
        return type(value)._make(items) if hasattr(value, "_make") else tuple(items)
    return value


def redact_trace(pipeline: Pipeline) -> bool:
    """Redact the pipeline's trace in memory and on disk; True when the stored trace was rewritten.

    The trace the pipeline holds in memory is the one written (a trace read back from its pickle
    cannot always be pickled again); a stored trace that cannot be rewritten is removed rather than
    left holding a secret. Either costs a warning, never the run: the run's own error is what the
    caller reports.
    """
    trace_file = Path(pipeline.working_dir) / TRACE_FILE_NAME
    try:
        trace = pipeline._last_trace or load_trace(pipeline.working_dir)
        if trace is None:
            return False
        clean = _redacted(trace)
        pipeline._last_trace = clean
        FileStorage.save_atomic(pipeline.working_dir, TRACE_FILE_NAME, pickle.dumps(clean), file_type="b")
    except Exception as exc:  # the failure being reported matters more than its trace
        trace_file.unlink(missing_ok=True)
        logger.warning("removed dlt's stored trace, which could not be redacted (%s)", type(exc).__name__)
        return False
    return True
