"""Run the Kling sandbox server until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading

from airflow_provider_kling.sandbox.server import PROFILES, KlingSandbox

#: The key each profile accepts unless told otherwise: Kling's own API signs with it, and PyJWT warns below 32 bytes.
DEFAULT_KEYS = {"cometapi": "sandbox-key", "kling": "sandbox-secret-key-0123456789abcdef"}


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="kling-sandbox",
        description="Serve a local stand-in for Kling text-to-video: CometAPI's or Kling's own API.",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="cometapi",
        help="cometapi: CometAPI's gateway (paths under /kling, Bearer key, lookups by task_id only); "
        "kling: Kling's own API (JWT, lookups by external_task_id, list route) (default: cometapi)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to bind, 0 for any free one (default: 8787)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"cometapi: the Bearer key to accept (default: {DEFAULT_KEYS['cometapi']}); kling: the secret key tokens "
        f"are signed with, of at least 32 characters for HS256 (default: {DEFAULT_KEYS['kling']})",
    )
    parser.add_argument(
        "--access-key",
        default="sandbox-access-key",
        help="kling: the access key tokens must be issued by (default: sandbox-access-key)",
    )
    parser.add_argument("--render-seconds", type=float, default=5.0, help="how long each task renders (default: 5)")
    parser.add_argument(
        "--render-spread",
        type=float,
        default=0.0,
        help="each task renders for --render-seconds plus up to this many seconds, drawn with --seed (default: 0)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer (default: 0)")
    parser.add_argument("--video-bytes", type=int, default=None, help="size of each result video (default: ~12 KB)")
    parser.add_argument("--chaos-rate", type=float, default=0.0, help="share of API requests given a random fault")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random faults and renders (default: 0)")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="API requests a second the key may send; beyond it, HTTP 429 (1302 on kling) (default: 0, no limit)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="tasks the account renders at once; beyond it a submission gets HTTP 429, code 1303 (default: 0, none)",
    )
    parser.add_argument(
        "--units",
        default="1",
        help="what each succeeded task reports as charged (final_unit_deduction); 'none' reports nothing (default: 1)",
    )
    args = parser.parse_args(argv)
    api_key = args.api_key or DEFAULT_KEYS[args.profile]
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with KlingSandbox(
        api_key=api_key,
        render_seconds=args.render_seconds,
        render_spread=args.render_spread,
        host=args.host,
        port=args.port,
        latency=args.latency,
        video_bytes=args.video_bytes,
        chaos_rate=args.chaos_rate,
        seed=args.seed,
        profile=args.profile,
        access_key=args.access_key,
        rate_limit=args.rate_limit,
        concurrency=args.concurrency,
        units=None if args.units.lower() == "none" else args.units,
    ) as sandbox:
        print(f"Kling sandbox ({args.profile}) listening on {sandbox.url} (key: {api_key})", flush=True)
        done.wait()


if __name__ == "__main__":
    main()
