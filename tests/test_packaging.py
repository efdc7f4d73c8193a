"""The built wheel works outside the checkout: compile, parse and serve one webhook turn
(.ci/package_check.py, with the dev venv's site-packages providing the dependencies)."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_wheel_installed_outside_the_checkout_compiles_parses_and_serves():
    script = os.path.join(ROOT, ".ci", "package_check.py")
    site = sysconfig.get_paths()["purelib"]
    proc = subprocess.run([sys.executable, script, "--deps-from", site], capture_output=True,
                          text=True, timeout=240, cwd="/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "parse: intent inform" in proc.stdout
    assert "serve: the webhook answered 'Hi, welcome" in proc.stdout
    assert proc.stdout.strip().endswith("package check: ok")
