"""``plainpdp bench [OPTIONS]``: the benchmark harness (``python -m benchmarks``).

The harness lives in ``benchmarks/`` of a source checkout, beside the
package; it is not installed. Options pass through unchanged (``plainpdp
bench --quick``, ``--scales 1000,10000``, ``--json FILE``; see
``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import PlainPDPError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmarks against cedarpy and casbin (source checkout only)",
        description="Run the partner-portal benchmarks (python -m benchmarks) from the source "
        "checkout this plainpdp comes from, or the current directory. Every option is "
        "passed to the harness: try --quick, or --help-bench for its options.",
        add_help=False,
        prefix_chars="+",  # every `-` option belongs to the harness
    )
    p.add_argument("options", nargs="*")
    p.set_defaults(run=run)


def _checkout() -> Path:
    here = Path(__file__).resolve().parents[2]
    for root in (Path.cwd(), here):
        if (root / "benchmarks" / "run.py").is_file():
            return root
    raise PlainPDPError(
        "the benchmarks are not installed with plainpdp; run `plainpdp bench` from a source "
        "checkout (the folder holding benchmarks/), or `python -m benchmarks` there"
    )


def run(args: argparse.Namespace) -> int:
    options = ["--help" if o == "--help-bench" else o for o in args.options]
    root = str(_checkout())
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.run import main

    return main(options)
