"""Command line: serve a Canvas Data 2 (DAP Query API) sandbox in the foreground
(`python -m sandbox.canvas_data2`)."""

from __future__ import annotations

from ..serving import parse_sandbox_args, sandbox_parser, serve_until_interrupted
from . import CanvasData2Sandbox
from .auth import DEFAULT_LIMITS


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.canvas_data2") -> int:
    """Parse arguments, start the sandbox and serve until Ctrl-C.

    Args:
        argv: Command-line arguments (default: sys.argv[1:]).
        prog: the command's name in usage lines (`lms-sandbox canvas-data2` when started through it).

    Returns:
        The process exit code.
    """
    parser = sandbox_parser(
        prog,
        "Local Canvas Data 2 (DAP Query API) over the Canvas sandbox's institution.",
        sizes=["small", "medium", "large"],
        seed=7,
        port=8902,
    )
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--job-polls", type=int, default=2, help="job polls before a job completes")
    args, plan = parse_sandbox_args(parser, argv)
    sandbox = CanvasData2Sandbox(
        size=args.size,
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        job_polls=args.job_polls,
        # --throttle off lifts the per-route limits (section 10's are the default)
        limits={route: 1_000_000 for route in DEFAULT_LIMITS} if args.throttle == "off" else None,
        host=args.host,
        port=args.port,
    ).start()
    sandbox.faults = plan

    def announce() -> None:
        print(f"Canvas Data 2 sandbox ({args.size}, seed {args.seed})")
        print(f"DAP_API_URL:       {sandbox.base_url}")
        print(f"DAP_CLIENT_ID:     {args.client_id}")
        print("DAP_CLIENT_SECRET: (the --client-secret value)")
        print("tables (live rows):")
        for (namespace, name), table in sorted(sandbox.tables.items()):
            print(f"  {namespace + '.' + name:<28} {sandbox.lake.live_count(table):>9,}")
        print("Ctrl-C to stop.", flush=True)

    serve_until_interrupted(sandbox, announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
