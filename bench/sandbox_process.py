"""A sandbox in its own process, so benchmarked clients never share its interpreter lock."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import asdict, is_dataclass
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection, kind: str, kwargs: dict[str, Any]) -> None:
    if kind == "canvas":
        from sandbox.canvas import CanvasSandbox as Sandbox
    else:
        from sandbox.brightspace import BrightspaceSandbox as Sandbox
    sb = Sandbox(**kwargs).start()
    conn.send({"base_url": sb.base_url, "token": getattr(sb, "admin_token", None), "truth": sb.truth()})
    while True:
        command, args = conn.recv()
        if command == "stop":
            sb.stop()
            conn.send(None)
            return
        if command == "advance":
            changes = sb.advance(*args)
            conn.send({k: (len(v) if isinstance(v, set) else str(v)) for k, v in vars(changes).items()})
        elif command == "stats":
            stats = sb.stats
            conn.send(asdict(stats) if is_dataclass(stats) else dict(stats))
        elif command == "reset_stats":
            sb.reset_stats()
            conn.send(None)
        elif command == "truth":
            conn.send(sb.truth())
        elif command == "set_throttle":
            sb.set_throttle(*args)
            conn.send(None)
        else:
            conn.send(ValueError(f"unknown command {command}"))


class SandboxProcess:
    """Start a sandbox (`kind` "canvas" or "brightspace") in a child process and drive it."""

    def __init__(self, kind: str = "canvas", **kwargs: Any) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, kind, kwargs), daemon=True)
        self._proc.start()
        info = self._conn.recv()
        self.base_url: str = info["base_url"]
        self.token: str = info["token"]
        self.initial_truth: dict[str, int] = info["truth"]

    def call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        result = self._conn.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        try:
            self.call("stop")
        finally:
            self._proc.join(timeout=10)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
