"""``python -m artforge`` (and ``torchrun -m artforge``) run the CLI."""

import sys

from artforge.cli import main

sys.exit(main())
