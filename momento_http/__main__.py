"""Command line: `python -m momento_http` (the same as `momento-http`)."""

from momento_http._cli import main

raise SystemExit(main())
