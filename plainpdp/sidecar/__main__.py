"""``python -m plainpdp.sidecar [flags]``: the same as ``plainpdp serve``."""

import argparse
import sys

from ..cli import serve
from ..cli.render import print_error
from ..errors import PlainPDPError


def main() -> int:
    parser = argparse.ArgumentParser(prog="plainpdp serve")
    serve.add_arguments(parser)
    args = parser.parse_args()
    try:
        return serve.run(args)
    except PlainPDPError as err:
        print_error(err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
