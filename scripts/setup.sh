#!/usr/bin/env bash
# scripts/setup.sh: installs what herald needs to build, run and test, from Debian's packages
# and the npm registry only. Idempotent: packages already present are not touched, and
# apt-get runs only when something is missing. Uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Build: compiler toolchain and libraries.
BUILD_PKGS="g++ cmake make pkg-config ccache clang libclang-rt-14-dev clang-format
  libssl-dev libsqlite3-dev nlohmann-json3-dev libtomlplusplus-dev libidn2-dev zlib1g-dev
  libcpp-httplib-dev libcli11-dev libc-ares-dev libgtest-dev libgmock-dev
  librdkafka-dev prometheus-cpp-dev"
# Real peers for the integration tests and benchmarks.
PEER_PKGS="postfix swaks libnet-ssleay-perl awscli python3-boto3 python3
  dnsmasq-base sqlite3 openssl procps python3-dkim libsisimai-perl python3-cryptography"

# Node.js and npm: any install will do (the machine image may carry its own build).
if ! command -v node >/dev/null 2>&1; then PEER_PKGS="$PEER_PKGS nodejs"; fi
if ! command -v npm >/dev/null 2>&1; then PEER_PKGS="$PEER_PKGS npm"; fi

missing=()
for p in $BUILD_PKGS $PEER_PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Postfix asks how to configure itself; herald's tests run their own instances.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# npm packages for the JavaScript clients used by the integration tests.
if [ -f tests/integration/package.json ]; then
  if [ ! -d tests/integration/node_modules ] ||
     [ tests/integration/package.json -nt tests/integration/node_modules ]; then
    echo "setup: npm install in tests/integration"
    (cd tests/integration && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    touch tests/integration/node_modules
  fi
fi
echo "setup: ok"
