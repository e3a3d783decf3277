"""The kill -9 loop at full size: 20 SIGKILLs of ``dialerd serve`` over a 2,000-contact campaign
on the real lab, each followed by a restart, counted on the far end's side; with ``--nodes``,
two nodes on one database and one lab over 10,000 contacts, one SIGKILLed and the other taking
over.

    .venv/bin/python bench/faults.py [--kills 20] [--contacts 2000] [--seed N]
    .venv/bin/python bench/faults.py --nodes [--contacts 10000]

It is ``test_kill_9_loop`` of ``tests/pbx/test_faults_lab.py`` (3 kills, 200 contacts in the
test run), or ``tests/pbx/test_nodes_lab.py`` (300 contacts), at this size, run by pytest on
the lab a test session brings up, so that the bench and the test cannot drift apart; it prints
the test's count line (``kill-9 loop …``, ``two nodes, one lab …``) and fails as the test
does. The kill loop: 5.5 minutes on the 2-core lab machine (2026-12-01); the two nodes at
10,000 contacts: 21.7 minutes there at a load average of 4-32 (2026-12-01; README, "Faults").
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
    parser.add_argument("--contacts", type=int, help="default: 2000, with --nodes 10000")
    parser.add_argument("--seed", type=int, help="of the kill moments (default: from the clock)")
    parser.add_argument("--nodes", action="store_true", help="two nodes, one killed")
    args = parser.parse_args()
    if args.nodes:
        env = {**os.environ, "DIALERD_NODES_CONTACTS": str(args.contacts or 10_000)}
        test = (
            "tests/pbx/test_nodes_lab.py::test_two_nodes_on_one_lab_one_paces_the_other_takes_over"
        )
    else:
        env = {
            **os.environ,
            "DIALERD_FAULT_KILLS": str(args.kills),
            "DIALERD_FAULT_CONTACTS": str(args.contacts or 2000),
        }
        if args.seed is not None:
            env["DIALERD_FAULT_SEED"] = str(args.seed)
        test = "tests/pbx/test_faults_lab.py::test_kill_9_loop"
    run = [sys.executable, "-m", "pytest", test, "-s", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(run, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
