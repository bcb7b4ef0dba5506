"""``python -m powermem.cli``: the ``powermem`` command."""

from powermem.cli.main import main

raise SystemExit(main())
