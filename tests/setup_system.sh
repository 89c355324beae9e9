#!/bin/sh
# Make sure the system programs the tests drive are available: a headless Chromium for the
# report's browser test and a Java runtime for the Spark scoring test (PySpark needs Java 17+).
# Idempotent: installs only what is missing from PATH. As root on Debian/Ubuntu it installs
# Debian's `chromium` and `openjdk-17-jre-headless` packages (retrying a flaky mirror);
# otherwise it says what to do and exits 0, so those tests are skipped with that reason.
set -u

have_java() {
    command -v java >/dev/null 2>&1 && echo "setup_system: using $(command -v java)"
}

have_browser() {
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            echo "setup_system: using $(command -v "$name")"
            return 0
        fi
    done
    return 1
}

packages=""
have_browser || packages="chromium fonts-dejavu-core"
have_java || packages="$packages openjdk-17-jre-headless"
[ -z "$packages" ] && exit 0

if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup_system: not root; install with 'apt-get install -y $packages'" \
             "(the tests that need them will be skipped)" >&2
        exit 0
    fi
else
    SUDO=""
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_system: no apt-get; install $packages by hand" >&2
    exit 0
fi

attempt=1
while [ "$attempt" -le 3 ]; do
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            chromium fonts-dejavu-core >/dev/null; then
        packages=""
have_browser || packages="chromium fonts-dejavu-core"
have_java || packages="$packages openjdk-17-jre-headless"
[ -z "$packages" ] && exit 0
    fi
    echo "setup_system: apt-get attempt $attempt failed; retrying" >&2
    attempt=$((attempt + 1))
    sleep $((attempt * 5))
done
echo "setup_system: could not install $packages after 3 attempts" >&2
exit 1
