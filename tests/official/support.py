"""Shared pieces of the official-client tests: the emulator process, its REST
API as a ThingsBoard script calls it, deadline waits, and the SDK clients with
a record of what they sent and received.

Nothing here sleeps to synchronise: every wait polls a condition (or blocks on
a queue) until a deadline and fails with a message that says what did not
happen.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
EMULATOR_BIN = os.environ.get("BG_EMULATOR_BIN", str(REPO / "target/debug/platform-emulator"))
TENANT = ("tenant@thingsboard.org", "tenant")
DEMO_TOKEN = "A1_TEST_TOKEN"
DEMO_DEVICE = "Test Device A1"


# ---------------------------------------------------------------- waiting

def wait_for(condition, timeout, what, interval=0.02):
    """Polls `condition()` until it returns a truthy value (returned) or the
    deadline passes (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # a REST call that is not ready yet, a KeyError...
            last_error = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def take(q: queue.Queue, timeout, what):
    """The next item of a callback queue, or an AssertionError naming `what`."""
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- emulator

READY = re.compile(r"^emulator: (mqtt|ws|http) listening on (\S+)$")


class Emulator:
    """One platform-emulator process on free loopback ports (WebSocket off).
    stdout carries the ready lines; stderr (the log) goes to a file."""

    def __init__(self, log_dir: Path, *args: str):
        self.log_path = Path(log_dir) / "emulator.log"
        self.args = [EMULATOR_BIN, "--mqtt", "127.0.0.1:0", "--ws", "off", "--http", "127.0.0.1:0", *args]
        if not os.access(EMULATOR_BIN, os.X_OK):
            raise AssertionError(f"no emulator binary at {EMULATOR_BIN} (cargo build -p platform-emulator, or set BG_EMULATOR_BIN)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.addresses = {}
        deadline = time.monotonic() + 30
        while "http" not in self.addresses:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise AssertionError(
                    f"the emulator did not print its ready lines ({' '.join(self.args)}); got {self.addresses}; "
                    f"exit code {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                continue
            m = READY.match(line.strip())
            if m:
                self.addresses[m.group(1)] = m.group(2)
        host, port = self.addresses["mqtt"].rsplit(":", 1)
        self.mqtt_host, self.mqtt_port = host, int(port)
        self.http = self.addresses["http"].rstrip("/")

    def _read_stdout(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def emulator_get(self, path):
        r = requests.get(self.http + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def sessions(self):
        return self.emulator_get("/emulator/sessions")

    def errors(self):
        return self.emulator_get("/emulator/errors")

    def stop(self):
        """SIGTERM, then the exit code (the spec: 0 on SIGINT/SIGTERM)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                self._log.close()
                return "killed after 10 s"
        self._log.close()
        return self.proc.returncode


# ---------------------------------------------------------------- REST

class Rest:
    """ThingsBoard's REST API, called as a script written for ThingsBoard calls it."""

    def __init__(self, base: str, user=TENANT):
        self.base = base
        self.s = requests.Session()
        r = self.s.post(f"{base}/api/auth/login", json={"username": user[0], "password": user[1]}, timeout=10)
        assert r.status_code == 200, f"POST /api/auth/login: {r.status_code} {r.text}"
        token = r.json()["token"]
        self.s.headers["X-Authorization"] = f"Bearer {token}"

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 30)
        return self.s.request(method, self.base + path, **kw)

    def ok(self, method, path, **kw):
        r = self.request(method, path, **kw)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    # devices
    def device_by_name(self, name):
        """The Device, or None on 404."""
        r = self.request("GET", "/api/tenant/devices", params={"deviceName": name})
        if r.status_code == 404:
            return None
        assert r.status_code == 200, f"GET /api/tenant/devices?deviceName={name}: {r.status_code} {r.text}"
        return r.json()

    def wait_device(self, name, timeout=10):
        return wait_for(lambda: self.device_by_name(name), timeout, f"device {name!r} in GET /api/tenant/devices?deviceName=")

    def device_names(self):
        page = self.ok("GET", "/api/tenant/devices", params={"pageSize": 1000, "page": 0})
        return [d["name"] for d in page["data"]]

    # telemetry
    def latest(self, device_id, keys):
        """{key: value} of the latest time series, typed (useStrictDataTypes=true);
        keys with no data are left out."""
        body = self.ok("GET", f"/api/plugins/telemetry/DEVICE/{device_id}/values/timeseries",
                       params={"keys": ",".join(keys), "useStrictDataTypes": "true"})
        return {k: v[0]["value"] for k, v in body.items() if v and v[0].get("value") is not None}

    def history(self, device_id, key, start_ts, end_ts):
        body = self.ok("GET", f"/api/plugins/telemetry/DEVICE/{device_id}/values/timeseries",
                       params={"keys": key, "startTs": start_ts, "endTs": end_ts, "useStrictDataTypes": "true"})
        return body.get(key, [])

    def attributes(self, device_id, scope):
        body = self.ok("GET", f"/api/plugins/telemetry/DEVICE/{device_id}/values/attributes/{scope}")
        return {a["key"]: a["value"] for a in body}

    def save_attributes(self, device_id, scope, values):
        return self.ok("POST", f"/api/plugins/telemetry/DEVICE/{device_id}/{scope}", json=values)

    def delete_attributes(self, device_id, scope, keys):
        return self.ok("DELETE", f"/api/plugins/telemetry/DEVICE/{device_id}/{scope}", params={"keys": ",".join(keys)})

    def rpc(self, kind, device_id, method, params, timeout_ms=10000):
        """POST /api/rpc/{kind}/{id}; the Response (the call blocks until the reply or the expiry)."""
        return self.request("POST", f"/api/rpc/{kind}/{device_id}",
                            json={"method": method, "params": params, "timeout": timeout_ms},
                            timeout=timeout_ms / 1000 + 30)


def device_id(device):
    return device["id"]["id"]


# ---------------------------------------------------------------- SDK clients

def _recording(base):
    """A subclass of an SDK client class that records every PUBLISH it sends
    and receives, and the reason code of every PUBACK, without changing what
    the SDK does."""

    class Recording(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sent = []       # (topic, payload bytes, qos)
            self.received = []   # (topic, payload bytes)
            self.pubacks = {}    # mid -> reason code (int)
            self.connacks = queue.Queue()
            self.rec_lock = threading.Lock()
            publish = self._client.publish

            def recording_publish(topic, payload=None, qos=0, retain=False, properties=None):
                info = publish(topic, payload, qos, retain, properties)
                data = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
                with self.rec_lock:
                    self.sent.append((topic, data, qos))
                return info

            self._client.publish = recording_publish

        def _on_message(self, client, userdata, message):
            with self.rec_lock:
                self.received.append((message.topic, bytes(message.payload)))
            return super()._on_message(client, userdata, message)

        def _on_publish(self, client, userdata, mid, rc=None, properties=None):
            with self.rec_lock:
                self.pubacks[mid] = getattr(rc, "value", rc)
            return super()._on_publish(client, userdata, mid, rc, properties)

        def _on_connect(self, client, userdata, flags, result_code, properties, *extra):
            self.connacks.put(getattr(result_code, "value", result_code))
            return super()._on_connect(client, userdata, flags, result_code, properties, *extra)

        def received_on(self, topic_prefix):
            with self.rec_lock:
                return [(t, p) for t, p in self.received if t.startswith(topic_prefix)]

        def own_echoes(self):
            """Received messages that are one of this client's own publishes."""
            with self.rec_lock:
                sent = {(t, p) for t, p, _ in self.sent}
                return [(t, p) for t, p in self.received if (t, p) in sent]

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


def acked(client, info, timeout=10, what="PUBACK"):
    """Waits for the PUBACK of every message of a TBPublishInfo; returns their
    reason codes (0 = success)."""
    mids = info.mid()
    mids = mids if isinstance(mids, list) else [mids]
    assert mids and all(m is not None and m > 0 for m in mids), f"{what}: the SDK did not publish ({info.rc()})"
    wait_for(lambda: all(m in client.pubacks for m in mids), timeout, f"{what} (message ids {mids})")
    return [client.pubacks[m] for m in mids]


def connect_sdk(client, timeout=15):
    """connect(), then waits for the CONNACK and for the answer to the SDK's
    getSessionLimits request (rate_limits_received)."""
    client.connect()
    rc = take(client.connacks, timeout, "CONNACK")
    assert rc == 0, f"CONNACK refused with reason code {rc}"
    wait_for(lambda: client.rate_limits_received, timeout,
             "the answer to the SDK's getSessionLimits client-side RPC (rate_limits_received)")


def json_of(payload: bytes):
    try:
        return json.loads(payload)
    except ValueError:
        return payload
