#!/usr/bin/env bash
# The system packages ./test.sh needs, in one place: checks them and says what is missing and the
# command that installs it; with --install (and root, or sudo without a password, and apt-get)
# installs the missing ones. Exit status 0: all present. SPML_SKIP_WEB_UI=1: no browser or npm.
#
#   libgl1, libglib2.0-0  OpenCV (video reading in the Python tests)
#   redis-server          the two-replica scaling test (tests/test_api_scaling.py)
#   docker-compose        offline validation of docker-compose.yml (no engine needed)
#   gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, python3-gi
#                         a real RTSP server (GStreamer's) for tests/test_stream_sources.py
#   xvfb, xauth           a virtual display for stream-infer's quick start (its OpenCV window)
#   chromium              the web UI's browser tests, at $CHROMIUM_PATH (default /usr/bin/chromium)
#   fonts-liberation      text in the browser tests' screenshots
#   npm                   Node.js 20.19+ with npm, for the web UI (not from apt: see below)
set -uo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
WEB_UI=1
[ "${SPML_SKIP_WEB_UI:-0}" = 1 ] && WEB_UI=0

# A shared library the dynamic linker finds; present when this cannot be told (no ldconfig: macOS).
has_library() {
  local ldconfig
  ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
  [ -x "$ldconfig" ] || return 0
  grep -q "$1" <<<"$("$ldconfig" -p 2>/dev/null)"
}

missing_packages() {
  local packages=()
  has_library 'libGL\.so\.1' || packages+=(libgl1)
  has_library 'libglib-2\.0\.so\.0' || packages+=(libglib2.0-0)
  command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
  command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
  compgen -G '/usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib' >/dev/null || packages+=(gir1.2-gst-rtsp-server-1.0)
  compgen -G '/usr/lib/*/gstreamer-1.0/libgstvideotestsrc.so' >/dev/null || packages+=(gstreamer1.0-plugins-base)
  compgen -G '/usr/lib/*/gstreamer-1.0/libgstrtp.so' >/dev/null || packages+=(gstreamer1.0-plugins-good)
  /usr/bin/python3 -c 'import gi' >/dev/null 2>&1 || packages+=(python3-gi)
  command -v xvfb-run >/dev/null 2>&1 || packages+=(xvfb)
  command -v xauth >/dev/null 2>&1 || packages+=(xauth)
  if [ "$WEB_UI" = 1 ] && [ ! -x "$CHROMIUM" ]; then
    packages+=(chromium)
    [ -d /usr/share/fonts/truetype/liberation ] || packages+=(fonts-liberation)
  fi
  echo "${packages[*]}"
}

node_problem() {
  [ "$WEB_UI" = 1 ] || return 0
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "Node.js 20.19+ with npm is not installed (https://nodejs.org/, or your package manager)"
    return 0
  fi
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    echo "Node.js $(node --version) is too old: the web UI needs 20.19 or later (https://nodejs.org/)"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

packages="$(missing_packages)"
if [ -n "$packages" ] && [ "${1:-}" = --install ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the system packages the tests need: $packages"
  # Chromium with its recommended packages (Mesa's GL drivers, fonts), as CI has always installed it.
  browser="" others=""
  for package in $packages; do
    case "$package" in chromium | fonts-liberation) browser+=" $package" ;; *) others+=" $package" ;; esac
  done
  apt() { as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
  # shellcheck disable=SC2086 # one word per package
  if apt update -qq &&
    { [ -z "$others" ] || apt install -y -qq --no-install-recommends $others >/dev/null; } &&
    { [ -z "$browser" ] || apt install -y -qq $browser >/dev/null; }; then
    packages="$(missing_packages)"
  else
    echo "could not install them (not root, and no sudo without a password)" >&2
  fi
fi

node="$(node_problem)"
[ -z "$packages" ] && [ -z "$node" ] && exit 0
{
  echo "error: ./test.sh needs what this machine does not have:"
  for package in $packages; do
    case "$package" in
    libgl1 | libglib2.0-0) echo "  - $package (OpenCV's libraries)" ;;
    redis-server) echo "  - redis-server (the API scaling test runs a real Redis)" ;;
    docker-compose) echo "  - docker-compose (validates docker-compose.yml offline; no Docker engine needed)" ;;
    gir1.2-gst-rtsp-server-1.0 | gstreamer1.0-plugins-* | python3-gi) echo "  - $package (the stream source tests run GStreamer's RTSP server)" ;;
    xvfb | xauth) echo "  - $package (a virtual display: tests/test_stream_quickstart.py opens an OpenCV window)" ;;
    chromium) echo "  - chromium at $CHROMIUM (the web UI's browser tests; another path: CHROMIUM_PATH=...)" ;;
    fonts-liberation) echo "  - fonts-liberation (text in the browser tests' screenshots)" ;;
    esac
  done
  [ -n "$node" ] && echo "  - $node"
  if [ -n "$packages" ]; then
    echo "Install the packages with:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages"
    echo "or let ./test.sh do it (as root, or with sudo): SPML_INSTALL_PREREQUISITES=1 ./test.sh"
  fi
  [ "$WEB_UI" = 1 ] && echo "Only the Python checks: SPML_SKIP_WEB_UI=1 ./test.sh (no browser, no npm)"
} >&2
exit 1
