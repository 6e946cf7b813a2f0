"""``python -m streamal``."""

from streamal.cli import main

raise SystemExit(main())
