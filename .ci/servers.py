"""Make sure the real servers the test suite starts exist on this machine.

Tests start their own servers (Redis for Celery) on free loopback ports, and raven-devserver's
page tests drive the system's headless Chromium through its ChromeDriver; this only installs the
Debian packages when they are missing, so that `hatch run test` works on a fresh machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# binary looked up on PATH -> the Debian package that provides it
DEBIAN_PACKAGES = {
    "redis-server": "redis-server",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def main() -> int:
    missing = [pkg for binary, pkg in DEBIAN_PACKAGES.items() if shutil.which(binary) is None]
    if not missing:
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(
            f"servers: missing {missing}; install them (tests that need them will fail)",
            file=sys.stderr,
        )
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
