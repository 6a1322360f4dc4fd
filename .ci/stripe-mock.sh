#!/usr/bin/env bash
# stripe-mock for `make test` (the sync stripe tests start it themselves, on a free port).
# Messages go to stderr.
#
#   stripe-mock.sh   installs github.com/stripe/stripe-mock at the pinned version into the
#                    project's bin/ (go install, through the Go module proxy) unless it is there;
#                    prints its path on stdout, then "required" when it is installed or we are
#                    root (CI: the tests must run: STRIPE_MOCK_REQUIRED=1), "optional" otherwise
#                    (without it they skip, saying so).
set -euo pipefail
cd "$(dirname "$0")/.."

version=v0.203.0
bin="$PWD/bin/stripe-mock"
say() { echo "stripe-mock.sh: $*" >&2; }

stamp="$PWD/bin/.stripe-mock-version" # its -version says "master": the stamp says which it is
if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
  say "installing github.com/stripe/stripe-mock@$version into bin/"
  if GOBIN="$PWD/bin" go install "github.com/stripe/stripe-mock@$version" >&2; then
    echo "$version" >"$stamp"
  else
    say "could not install stripe-mock: the sync stripe tests will skip unless we are root"
  fi
fi
echo "$bin"
if [ -x "$bin" ] || [ "$(id -u)" = 0 ]; then echo required; else echo optional; fi
