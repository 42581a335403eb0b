#!/bin/sh
# The momento-http command line. Set MOMENTO_API_KEY (and MOMENTO_BASE_URL for
# a local server: `momento-http local` prints both).
set -eu

momento-http set my-cache greeting "hello" --ttl 60    # from an argument
echo "from a pipe" | momento-http set my-cache piped   # ... standard input
momento-http set my-cache script --file "$0"           # ... or a file
momento-http get my-cache greeting; echo               # the value's bytes
momento-http delete my-cache greeting
momento-http get my-cache greeting || echo "a miss: exit status $?"

momento-http publish my-cache news "first"
momento-http publish my-cache news "second"
# One JSON line per message; --count stops early, Ctrl-C too. On exit it says
# how to resume.
momento-http subscribe my-cache news --sequence-number 1 --count 2
