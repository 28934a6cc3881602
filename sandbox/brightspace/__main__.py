"""Command line: serve a Brightspace sandbox in the foreground."""

from __future__ import annotations

from ..serving import parse_sandbox_args, sandbox_parser, serve_until_interrupted
from .institution import SIZES
from .simulator import BrightspaceSandbox


def main(argv: list[str] | None = None, prog: str = "python -m sandbox.brightspace") -> int:
    """Start a sandbox, print how to reach it, and serve until interrupted; returns the exit code."""
    parser = sandbox_parser(prog, __doc__ or "", sizes=sorted(SIZES), seed=11, port=8901)
    parser.add_argument("--ttl", type=float, default=3600.0, help="access token lifetime in seconds")
    parser.add_argument("--job-step", type=float, default=0.2, help="seconds per export job status")
    args, plan = parse_sandbox_args(parser, argv)

    sandbox = BrightspaceSandbox(
        size=args.size,
        seed=args.seed,
        throttle=args.throttle,
        access_token_ttl=args.ttl,
        job_step_seconds=args.job_step,
        host=args.host,
        port=args.port,
        latency=args.latency,
    ).start()
    sandbox.faults = plan

    def announce() -> None:
        print(f"base url:      {sandbox.base_url}")
        print(f"token url:     {sandbox.token_url}")
        print(f"client id:     {sandbox.client_id}")
        print(f"client secret: {sandbox.client_secret}")
        print(f"refresh token: {sandbox.initial_refresh_token}")
        if plan is not None:
            print(f"faults:        {args.faults or 'none'}{' + schema drift' if args.drift else ''}")
        print("truth counts:")
        for table, count in sandbox.truth().items():
            print(f"  {table:<26} {count}")
        print("serving; press Ctrl-C to stop", flush=True)

    serve_until_interrupted(sandbox, announce)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
