"""``python -m tritlens.cli``: the same as the ``tritlens`` command."""

from tritlens.cli import main

raise SystemExit(main())
