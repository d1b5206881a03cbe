"""Start ``till headoffice serve`` from the given ``till`` on a free loopback port, wait for its
ready line, ask ``/v1/health``, stop it. Exit 0 when head office answered, 1 with the reason
(its last error line) when it did not. Standard library only: it runs in any venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path


def main(till: str, folder: str) -> int:
    env = {**os.environ, "TILL_HEADOFFICE_ADMIN_TOKEN": "ci-check-setup"}
    log = Path(folder) / "headoffice.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [till, "headoffice", "serve", "--port", "0", "--db", f"{folder}/ho.sqlite"],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                proc.wait(30)
                lines = [x for x in log.read_text().splitlines() if x.strip()]
                why = lines[-1] if lines else f"exit {proc.returncode}"
                print(f"check_setup: till headoffice serve did not start: {why}", file=sys.stderr)
                return 1
            url = json.loads(line)["url"]
            request = urllib.request.Request(
                f"{url}/v1/health", headers={"Authorization": "Bearer ci-check-setup"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                status = answer.status
            print(f"check_setup: till headoffice serve answered {status} at {url}")
            return 0 if status == 200 else 1
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
