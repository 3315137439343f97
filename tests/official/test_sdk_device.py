"""ThingsBoard's Python SDK (tb-mqtt-client 1.13.14), device API
(`tb_device_mqtt.TBDeviceMqttClient`, MQTT 5) as the demo device `Test Device
A1` (token A1_TEST_TOKEN), straight to the emulator's TCP port."""

import json
import queue
import threading
import time

import pytest
import requests
from tb_device_mqtt import TBDeviceMqttClient

from support import DEMO_DEVICE, DEMO_TOKEN, Rest, _recording, acked, connect_sdk, device_id, take, wait_for

DeviceClient = _recording(TBDeviceMqttClient)


@pytest.fixture
def env(start_emulator, sdk_clients):
    emu = start_emulator()
    rest = Rest(emu.http)
    dev = rest.device_by_name(DEMO_DEVICE)
    assert dev is not None, "the demo device Test Device A1 exists from the start"
    client = DeviceClient(emu.mqtt_host, emu.mqtt_port, username=DEMO_TOKEN)
    sdk_clients.append(client)
    connect_sdk(client)
    yield emu, rest, client, device_id(dev)
    for topic, payload in client.received:
        assert topic == "v1/devices/me/attributes" or topic.startswith(
            ("v1/devices/me/attributes/response/", "v1/devices/me/rpc/request/", "v1/devices/me/rpc/response/")), \
            f"the device received a message on {topic!r}: {payload!r}"


def test_device_session_limits_telemetry_and_attributes(env):
    emu, rest, client, dev = env
    assert client.max_payload_size == 52428, "maxPayloadSize 65536 from getSessionLimits -> the SDK's 80 %"
    ts = int(time.time() * 1000) - 30_000
    assert acked(client, client.send_telemetry({"temperature": 36.7, "label": "ok"})) == [0]
    assert acked(client, client.send_telemetry({"ts": ts, "values": {"humidity": 40}})) == [0]
    # "2.0" would be stored as the number 2.0 (ThingsBoard's JSON type cast): a string that stays one.
    assert acked(client, client.send_attributes({"model": "A1", "fw": "2.0-rc1", "cast": "2.5"})) == [0]

    latest = wait_for(lambda: (lambda v: v if len(v) == 3 else None)(
        rest.latest(dev, ["temperature", "label", "humidity"])), 5, "the three time series keys")
    assert latest == {"temperature": 36.7, "label": "ok", "humidity": 40}
    assert [(p["ts"], p["value"]) for p in rest.history(dev, "humidity", ts - 1, ts + 1)] == [(ts, 40)]
    assert wait_for(lambda: (lambda a: a if "fw" in a else None)(rest.attributes(dev, "CLIENT_SCOPE")), 5,
                    "client attributes") == {"model": "A1", "fw": "2.0-rc1", "cast": 2.5}


def test_device_request_attributes(env):
    emu, rest, client, dev = env
    rest.save_attributes(dev, "SHARED_SCOPE", {"target": 21, "mode": "auto"})
    assert acked(client, client.send_attributes({"model": "A1"})) == [0]
    wait_for(lambda: "model" in rest.attributes(dev, "CLIENT_SCOPE"), 5, "client attribute stored")

    answers = queue.Queue()
    callback = lambda content, error: answers.put((content, error))  # noqa: E731
    acked(client, client.request_attributes(client_keys=["model"], shared_keys=["target", "mode"], callback=callback))
    content, error = take(answers, 10, "v1/devices/me/attributes/response/<id>")
    assert error is None
    assert content == {"client": {"model": "A1"}, "shared": {"target": 21, "mode": "auto"}}

    acked(client, client.request_attributes(shared_keys=["target"], callback=callback))
    content, error = take(answers, 10, "the shared-only attribute response")
    assert content == {"shared": {"target": 21}}, "empty sections are left out"


def test_device_shared_attribute_updates(env):
    emu, rest, client, dev = env
    updates = queue.Queue()
    client.subscribe_to_all_attributes(lambda content, error: updates.put(content))
    rest.save_attributes(dev, "SHARED_SCOPE", {"target": 22})
    assert take(updates, 10, "the shared update on v1/devices/me/attributes") == {"target": 22}
    rest.save_attributes(dev, "SERVER_SCOPE", {"hidden": True})  # never pushed
    rest.delete_attributes(dev, "SHARED_SCOPE", ["target"])
    assert take(updates, 10, "the shared deletion") == {"deleted": ["target"]}
    assert updates.empty()


def test_device_server_side_rpc(env):
    emu, rest, client, dev = env
    seen = queue.Queue()

    def handler(request_id, content):
        seen.put((request_id, content))
        client.send_rpc_reply(request_id, {"ok": True, "method": content["method"], "params": content["params"]})

    client.set_server_side_rpc_request_handler(handler)
    r = rest.rpc("twoway", dev, "setGpio", {"pin": 7, "value": 1})
    assert r.status_code == 200, f"two-way RPC: {r.status_code} {r.text}"
    assert r.json() == {"ok": True, "method": "setGpio", "params": {"pin": 7, "value": 1}}
    request_id, content = take(seen, 1, "the RPC request")
    assert request_id.isdigit() and content == {"method": "setGpio", "params": {"pin": 7, "value": 1}}


def test_device_client_side_rpc_gets_the_platforms_answer(env):
    emu, rest, client, dev = env
    r = requests.put(f"{emu.http}/emulator/client-rpc/getCurrentTime", json={"time": 1767225600000}, timeout=10)
    assert r.status_code in (200, 204), f"PUT /emulator/client-rpc/getCurrentTime: {r.status_code} {r.text}"
    answers = queue.Queue()
    client.send_rpc_call("getCurrentTime", {}, lambda request_id, content, error: answers.put((request_id, content, error)))
    request_id, content, error = take(answers, 10, "the answer on v1/devices/me/rpc/response/<id>")
    assert error is None
    assert content == {"time": 1767225600000}, f"send_rpc_call must get the platform's answer, not its own request: {content}"

    # A second call gets its own answer too (ids on the two directions never collide).
    client.send_rpc_call("getCurrentTime", {"again": True}, lambda i, c, e: answers.put((i, c, e)))
    second_id, content, _ = take(answers, 10, "the second client-side RPC answer")
    assert content == {"time": 1767225600000} and second_id != request_id


def test_device_rpc_in_both_directions_at_once(env):
    """A client-side call and a server-side call in flight together: request
    ids on v1/devices/me/rpc/request/<n> belong to one direction each, so
    each side gets its own answer."""
    emu, rest, client, dev = env
    r = requests.put(f"{emu.http}/emulator/client-rpc/whoAmI", json={"answer": "platform"}, timeout=10)
    assert r.status_code in (200, 204), f"PUT /emulator/client-rpc/whoAmI: {r.status_code} {r.text}"
    server_calls = queue.Queue()
    answers = queue.Queue()

    def handler(request_id, content):
        server_calls.put((request_id, content))
        if content.get("method") == "whoAreYou":
            # The device's own call goes out before it answers, with the next number of its own counter.
            client.send_rpc_call("whoAmI", {}, lambda i, c, e: answers.put((i, c)))
        client.send_rpc_reply(request_id, {"answer": "device"})

    client.set_server_side_rpc_request_handler(handler)
    # Line the numbers up: server-side calls until the next server request id is the SDK's next client id
    # (ThingsBoard numbers a device's RPCs from 0; the SDK's own calls from 1, getSessionLimits first).
    next_client_id = lambda: client._TBDeviceMqttClient__device_client_rpc_number + 1  # noqa: E731
    for _ in range(5):
        assert rest.rpc("twoway", dev, "ping", {}).status_code == 200
        last_id, _ = take(server_calls, 1, "a ping request")
        if int(last_id) + 1 >= next_client_id():
            break
    result = {}
    caller = threading.Thread(target=lambda: result.setdefault("r", rest.rpc("twoway", dev, "whoAreYou", {})))
    caller.start()
    caller.join(30)
    assert "r" in result, "the REST call did not return"
    assert result["r"].status_code == 200 and result["r"].json() == {"answer": "device"}, result["r"].text
    answer_id, content = take(answers, 10, "the client-side call's answer")
    assert content == {"answer": "platform"}
    request_id, content = take(server_calls, 1, "the server-side call")
    assert content["method"] == "whoAreYou" and server_calls.empty(), "the device's own call never comes back to it"
    print(f"server request id {request_id}, the SDK's call id {answer_id}")


def test_device_claim(env):
    emu, rest, client, dev = env
    assert acked(client, client.claim("s3cret", 60_000)) == [0]
    claims = wait_for(lambda: [c for c in emu.emulator_get("/emulator/claims") if "s3cret" in json.dumps(c)], 5,
                      "the claim in GET /emulator/claims")
    assert DEMO_DEVICE in json.dumps(claims), claims


def test_device_wrong_token_is_refused(start_emulator, sdk_clients):
    emu = start_emulator()
    rest = Rest(emu.http)
    before = set(rest.device_names())
    client = DeviceClient(emu.mqtt_host, emu.mqtt_port, username="NO_SUCH_TOKEN")
    sdk_clients.append(client)
    client.connect()
    rc = take(client.connacks, 10, "the CONNACK for an unknown token")
    # MQTT 5: 134 Bad user name or password / 135 Not authorized.
    assert rc in (134, 135), f"CONNACK reason code {rc} for an unknown token"
    assert not client.is_connected()
    assert set(rest.device_names()) == before, "an unknown token creates nothing without --accept-any-token"
