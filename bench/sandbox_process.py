"""A sandbox in its own process, so benchmarked clients never share its interpreter lock."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import asdict, is_dataclass
from multiprocessing.connection import Connection
from typing import Any


def _counts(changes: Any) -> dict[str, Any]:
    return {k: (len(v) if isinstance(v, set) else str(v)) for k, v in vars(changes).items()}


def _change_submissions(sb: Any, fraction: float) -> dict[str, Any]:
    """Change `fraction` of a Canvas sandbox's served submissions (see `change_submissions`)."""
    from sandbox.canvas.advance import change_submissions

    inst = sb.institution
    with inst.lock:
        return _counts(change_submissions(inst, fraction, inst.steps_taken + 1))


def _cd2_truth(sb: Any) -> dict[str, int]:
    """Live rows per table of a Canvas Data 2 sandbox."""
    return {name: sb.lake.live_count(table) for (_, name), table in sb.tables.items()}


def _hello(kind: str, sb: Any) -> dict[str, Any]:
    if kind == "canvas-data2":
        truth = _cd2_truth(sb)
        return {
            "base_url": sb.base_url,
            "truth": truth,
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
        }
    info: dict[str, Any] = {"base_url": sb.base_url, "truth": sb.truth()}
    if kind == "canvas":
        info["token"] = sb.admin_token
    else:
        info.update(
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            refresh_token=sb.initial_refresh_token,
            token_url=sb.token_url,
        )
    return info


def _serve(conn: Connection, kind: str, kwargs: dict[str, Any]) -> None:
    if kind == "canvas":
        from sandbox.canvas import CanvasSandbox as Sandbox
    elif kind == "canvas-data2":
        from sandbox.canvas_data2 import CanvasData2Sandbox as Sandbox
    else:
        from sandbox.brightspace import BrightspaceSandbox as Sandbox
    sb = Sandbox(**kwargs).start()
    conn.send(_hello(kind, sb))
    while True:
        command, args = conn.recv()
        if command == "stop":
            sb.stop()
            getattr(sb, "close", lambda: None)()  # the CD2 sandbox's object files
            conn.send(None)
            return
        try:
            conn.send(_dispatch(sb, command, args))
        except Exception as exc:  # the caller re-raises it
            conn.send(exc)


def _dispatch(sb: Any, command: str, args: tuple[Any, ...]) -> Any:
    if command == "advance":
        return _counts(sb.advance(*args))
    if command == "change_submissions":
        return _change_submissions(sb, *args)
    if command == "stats":
        stats = sb.stats
        return asdict(stats) if is_dataclass(stats) else dict(stats)
    if command == "reset_stats":
        return sb.reset_stats()
    if command == "truth":
        return _cd2_truth(sb) if hasattr(sb, "lake") else sb.truth()
    if command == "set_throttle":
        return sb.set_throttle(*args)
    if command == "issue_refresh_token":
        return sb.issue_refresh_token()
    raise ValueError(f"unknown sandbox command {command!r}")


class SandboxProcess:
    """Start a sandbox (`kind` "canvas", "brightspace" or "canvas-data2") in a child process and drive it.

    `info` holds what a client needs: `base_url` and `token` (Canvas) or `client_id`,
    `client_secret`, `refresh_token` and `token_url` (Brightspace), plus the initial `truth`.
    """

    def __init__(self, kind: str = "canvas", **kwargs: Any) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, kind, kwargs), daemon=True)
        self._proc.start()
        self.info: dict[str, Any] = self._conn.recv()
        self.base_url: str = self.info["base_url"]
        self.token: str | None = self.info.get("token")
        self.initial_truth: dict[str, int] = self.info["truth"]

    def call(self, command: str, *args: Any) -> Any:
        """Run a command in the sandbox process and return its result (errors are re-raised here)."""
        self._conn.send((command, args))
        result = self._conn.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        """Stop the server and wait for the process to end."""
        try:
            self.call("stop")
        finally:
            self._proc.join(timeout=10)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
