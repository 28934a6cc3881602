"""Command line: serve a Canvas sandbox in the foreground (`python -m sandbox.canvas`)."""

from __future__ import annotations

from ..serving import parse_sandbox_args, sandbox_parser, serve_until_interrupted
from . import CanvasSandbox


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.canvas") -> int:
    """Parse arguments, start the sandbox and serve until Ctrl-C.

    Args:
        argv: Command-line arguments (default: sys.argv[1:]).
        prog: the command's name in usage lines (`lms-sandbox canvas` when started through it).

    Returns:
        The process exit code.
    """
    parser = sandbox_parser(
        prog, "Local Canvas LMS API simulator.", sizes=["small", "medium", "large"], seed=7, port=8900
    )
    parser.add_argument("--throttle-status", type=int, choices=(403, 429), default=403)
    parser.add_argument("--token-ttl", type=float, default=None, help="admin token lifetime, seconds")
    args, plan = parse_sandbox_args(parser, argv)
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
