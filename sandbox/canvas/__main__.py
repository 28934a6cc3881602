"""Command line: serve a Canvas sandbox in the foreground (`python -m sandbox.canvas`)."""

from __future__ import annotations

import argparse
import logging

from ..faults import add_fault_arguments, plan_from_spec
from ..serving import interrupt_on_ctrl_c_and_term, serve_until_interrupted
from . import CanvasSandbox


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.canvas") -> int:
    """Parse arguments, start the sandbox and serve until Ctrl-C.

    Args:
        argv: Command-line arguments (default: sys.argv[1:]).
        prog: the command's name in usage lines (`lms-sandbox canvas` when started through it).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(prog=prog, description="Local Canvas LMS API simulator.")
    parser.add_argument("--size", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--throttle", choices=("off", "default", "strict"), default="default")
    parser.add_argument("--throttle-status", type=int, choices=(403, 429), default=403)
    parser.add_argument("--latency", type=float, default=0.0, help="server-side delay per request, seconds")
    parser.add_argument("--token-ttl", type=float, default=None, help="admin token lifetime, seconds")
    add_fault_arguments(parser)
    args = parser.parse_args(argv)
    try:
        plan = plan_from_spec(args.faults, args.fault_seed, args.drift)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    interrupt_on_ctrl_c_and_term()
    sandbox = CanvasSandbox(
        size=args.size,
        seed=args.seed,
        throttle=args.throttle,
        throttle_status=args.throttle_status,
        token_ttl=args.token_ttl,
        host=args.host,
        port=args.port,
        latency=args.latency,
    ).start()
    sandbox.faults = plan

    def announce() -> None:
        print(
            f"Canvas sandbox ({args.size}, seed {args.seed}, throttle {args.throttle}/{args.throttle_status})"
        )
        print(f"base URL:     {sandbox.base_url}")
        print(f"API:          {sandbox.base_url}/api/v1")
        print(f"admin token:  {sandbox.admin_token}")
        print(f"root account: {sandbox.root_account_id}")
        if plan is not None:
            print(f"faults:       {args.faults or 'none'}{' + schema drift' if args.drift else ''}")
        print("truth (rows a complete admin extract holds):")
        for table, count in sandbox.truth().items():
            print(f"  {table:<18} {count:>9,}")
        print("Ctrl-C to stop.", flush=True)

    serve_until_interrupted(sandbox, announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
