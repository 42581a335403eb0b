"""Command line: `python -m momento_http.local`."""

from momento_http.local._cli import main

raise SystemExit(main())
