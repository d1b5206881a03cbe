"""The README's demo as a person runs it: the real `till demo` in a real terminal (tmux, 80x24),
its local head office started beside it, signed in and a member looked up by typing. The status
line says online, and the member's balance is the one head office sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TILL = str(Path(sys.executable).with_name("till"))


class Terminal:
    """One tmux server of our own (its own socket), one window of a fixed size."""

    def __init__(self, tmp: Path, command: list[str], env: dict[str, str]) -> None:
        self.socket = f"till-demo-{os.getpid()}-{time.monotonic_ns()}"
        self.env = env
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "demo", *command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def wait_for(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.25)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{shown}")

    def type(self, text: str) -> None:
        """Key by key with a person's gaps (a burst would be taken for a wedge scanner)."""
        for char in text:
            self.tmux("send-keys", "-t", "demo", "-l", char)
            time.sleep(0.08)
        self.tmux("send-keys", "-t", "demo", "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, check=False)


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILL_")}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path), TERM="xterm-256color", LANG="C.UTF-8")
    env.update(TILL_LANGUAGE="en")
    return env


@pytest.fixture
def demo(tmp_path: Path, terminal_env: dict[str, str]) -> Iterator[Terminal]:
    term = Terminal(tmp_path, [TILL, "demo"], terminal_env)
    yield term
    term.close()


def test_the_readme_demo_starts_its_head_office_and_serves_a_member(demo: Terminal) -> None:
    shown = demo.wait_for("● online")  # the demo's head office answered the first sync
    assert "Cashier id" in shown and "did not start" not in shown
    demo.type("anna")
    demo.type("1234")
    demo.wait_for("cashier Anna")
    demo.type("400000000002")  # Eleni's card, typed
    shown = demo.wait_for("Eleni")
    assert "Points available: 1,200" in shown  # her opening balance, from head office
