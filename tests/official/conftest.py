"""Fixtures: each test starts its own emulator (free ports, WebSocket off),
logs in to its REST API as the demo tenant, and stops it at the end. SDK
clients made through `sdk_clients` are stopped at the end too, and checked
never to have received one of their own publishes (ThingsBoard is not a
broker)."""

import sys
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import Emulator, Rest  # noqa: E402


@pytest.fixture
def start_emulator(tmp_path):
    """start_emulator(*flags) -> Emulator; all are stopped at teardown, and
    each must exit with code 0 on SIGTERM."""
    started = []

    def start(*flags):
        emu = Emulator(tmp_path, *flags)
        started.append(emu)
        return emu

    yield start
    problems = []
    for emu in started:
        code = emu.stop()
        if code != 0:
            problems.append(f"the emulator exited with {code} on SIGTERM; log:\n{emu.log_tail()}")
        else:
            # Shown by pytest only when the test failed.
            print(f"--- emulator log ({emu.log_path}) ---\n{emu.log_tail(200)}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def rest_for():
    return Rest


@pytest.fixture
def sdk_clients():
    """A list to append SDK clients to: at teardown each is disconnected and
    checked for echoes of its own publishes."""
    clients = []
    yield clients
    echoes = []
    for c in clients:
        try:
            c.stop()
            c.disconnect()
        except Exception as e:  # noqa: BLE001 - teardown must reach every client
            print(f"disconnect failed: {e!r}")
        echoes += c.own_echoes()
    assert not echoes, f"a client received its own publishes (ThingsBoard never routes between clients): {echoes[:5]}"
