"""The kill -9 loop at full size: 20 SIGKILLs of ``dialerd serve`` over a 2,000-contact campaign
on the real lab, each followed by a restart, counted on the far end's side.

    .venv/bin/python bench/faults.py [--kills 20] [--contacts 2000] [--seed N]

It is ``test_kill_9_loop`` of ``tests/pbx/test_faults_lab.py`` (3 kills, 200 contacts in the
test run) at this size, run by pytest on the lab a test session brings up, so that the bench
and the test cannot drift apart; it prints the test's count line (``kill-9 loop …``) and fails
as the test does. 5.5 minutes on the 2-core lab machine (2026-12-01; README, "Faults").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, help="of the kill moments (default: from the clock)")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DIALERD_FAULT_KILLS": str(args.kills),
        "DIALERD_FAULT_CONTACTS": str(args.contacts),
    }
    if args.seed is not None:
        env["DIALERD_FAULT_SEED"] = str(args.seed)
    test = "tests/pbx/test_faults_lab.py::test_kill_9_loop"
    run = [sys.executable, "-m", "pytest", test, "-s", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(run, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
