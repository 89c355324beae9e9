#!/bin/sh
# Make sure a headless Chromium is available for tests/report/test_report_browser.py.
# Idempotent: does nothing when `chromium` (or chromium-browser / google-chrome) is on PATH.
# As root on Debian/Ubuntu it installs the `chromium` package (retrying a flaky mirror);
# otherwise it says what to do and exits 0, so the browser test is skipped with that reason.
set -u

have_browser() {
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            echo "setup_browser: using $(command -v "$name")"
            return 0
        fi
    done
    return 1
}

have_browser && exit 0

if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup_browser: chromium not found and not root; install it with" \
             "'apt-get install -y chromium' (the browser test will be skipped)" >&2
        exit 0
    fi
else
    SUDO=""
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_browser: chromium not found and no apt-get; install Chromium by hand" >&2
    exit 0
fi

attempt=1
while [ "$attempt" -le 3 ]; do
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            chromium fonts-dejavu-core >/dev/null; then
        have_browser && exit 0
    fi
    echo "setup_browser: apt-get attempt $attempt failed; retrying" >&2
    attempt=$((attempt + 1))
    sleep $((attempt * 5))
done
echo "setup_browser: could not install chromium after 3 attempts" >&2
exit 1
