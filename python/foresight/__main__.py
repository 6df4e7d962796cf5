"""python -m foresight ...: the `foresight` command (see foresight.cli)."""
import sys

from .cli import main

sys.exit(main())
