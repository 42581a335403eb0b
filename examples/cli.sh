#!/bin/sh
# The momento-http command line. Set MOMENTO_API_KEY (and BASE_URL for a local
# server).
set -eu
url="${BASE_URL:+--base-url $BASE_URL}"

momento-http set my-cache greeting "hello" --ttl 60 $url   # from an argument
echo "from a pipe" | momento-http set my-cache piped $url  # ... standard input
momento-http set my-cache script --file "$0" $url          # ... or a file
momento-http get my-cache greeting $url; echo              # the value's bytes
momento-http delete my-cache greeting $url
momento-http get my-cache greeting $url || echo "a miss: exit status $?"

momento-http publish my-cache news "first" $url
momento-http publish my-cache news "second" $url
# One JSON line per message; --count stops early, Ctrl-C too. On exit it says
# how to resume.
momento-http subscribe my-cache news --sequence-number 1 --count 2 $url
