"""Entry point for `python -m train`, `accelerate launch -m train` and `torchrun -m train`."""

import sys

from .cli import main

sys.exit(main())
