import sys

from services.engagement.app import SPEC
from services.engagement.decisions import cli
from shared.runtime import main

if sys.argv[1:2] and sys.argv[1] in cli.COMMANDS:
    sys.exit(cli.main(sys.argv[1:]))
main(SPEC)
