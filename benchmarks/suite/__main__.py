"""``python -m benchmarks.suite``: see ``benchmarks/suite/runner.py``."""

from benchmarks.suite.runner import main

raise SystemExit(main())
