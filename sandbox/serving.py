"""Run a WSGI app on loopback in a background thread (cheroot: HTTP/1.1 keep-alive, thread pool)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from cheroot import wsgi

from .faults import FaultMiddleware, FaultPlan, add_fault_arguments, plan_from_spec


class ServerThread:
    """Serve `app` on `host:port` (port 0 picks a free one) until `stop()`.

    cheroot keeps connections alive, as a real LMS does, and sends header names exactly as the
    app wrote them (hosted Canvas sends lower-case names).
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self._server = wsgi.Server((host, port), app, numthreads=threads, request_queue_size=64)
        self._server.prepare()  # binds now, so the port is known before start()
        self._thread = threading.Thread(target=self._server.serve, name="sandbox-http", daemon=True)

    @property
    def host(self) -> str:
        return str(self._server.bind_addr[0])

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=5)


def interrupt_on_ctrl_c_and_term() -> None:
    """Make Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt in the main thread, for a foreground CLI.

    A shell starts a background job with SIGINT ignored, and Python then leaves it ignored; the
    sandbox CLIs say "Ctrl-C to stop", so they take both signals whatever they inherited.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


_S = TypeVar("_S", bound="ServedSandbox")


class ServedSandbox:
    """Stop and context-manager plumbing shared by the sandboxes; subclasses set `_server` in start()."""

    _server: ServerThread | None = None
    _faults: FaultMiddleware  # wraps the WSGI app; subclasses build it in __init__

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force (None: no faults); setting one restarts its request count.

        A "revoke" fault revokes tokens the way that LMS does (Canvas: the token gets 401;
        Brightspace: live access tokens die and the client refreshes); `fail_next` keeps working
        beside a plan where a sandbox has it.
        """
        return self._faults.plan

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._faults.plan = plan

    def faults_injected(self) -> dict[str, int]:
        """Faults applied since the plan was set, by kind."""
        injector = self._faults.injector
        return injector.counts() if injector else {}

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_interrupted(sandbox: ServedSandbox, announce: Callable[[], None]) -> None:
    """Run `announce` (it prints how to reach the sandbox) and serve until Ctrl-C or SIGTERM.

    Whenever the interrupt comes, announcing included, the server stops: its worker threads would
    otherwise keep the process alive. Call `interrupt_on_ctrl_c_and_term` before starting it.
    """
    try:
        announce()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def sandbox_parser(
    prog: str, description: str, *, sizes: list[str], seed: int, port: int
) -> argparse.ArgumentParser:
    """A sandbox command line's parser with the options every sandbox takes; add your own, then
    call `parse_sandbox_args`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--size", choices=sizes, default="small")
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--throttle", choices=("off", "default", "strict"), default="default")
    parser.add_argument("--latency", type=float, default=0.0, help="server-side delay per request, seconds")
    return parser


def parse_sandbox_args(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> tuple[argparse.Namespace, FaultPlan | None]:
    """Parse a sandbox command line (the fault options added last), log to stderr and take Ctrl-C.

    Returns:
        The options and the fault plan they ask for (None: no faults). A bad `--faults` ends the
        program with one usage error line.
    """
    add_fault_arguments(parser)
    args = parser.parse_args(argv)
    try:
        plan = plan_from_spec(args.faults, args.fault_seed, args.drift)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    interrupt_on_ctrl_c_and_term()
    return args, plan
