"""ThingsBoard's Python SDK (tb-mqtt-client 1.13.14), gateway API
(`tb_gateway_mqtt.TBGatewayMqttClient`, MQTT 5), straight to the emulator's
TCP port: every gateway call, each callback, and what the REST API then shows.
"""

import json
import queue
import time

import pytest
from tb_gateway_mqtt import TBGatewayMqttClient

from support import Rest, _recording, acked, connect_sdk, device_id, take, wait_for

GatewayClient = _recording(TBGatewayMqttClient)
TOKEN = "GW_SDK_TOKEN"
GATEWAY_NAME = f"Gateway {TOKEN}"
# What ThingsBoard sends a gateway session; anything else received is an echo
# or a routing mistake.
SERVER_TOPICS = ("v1/gateway/attributes", "v1/gateway/attributes/response", "v1/gateway/rpc",
                 "v1/gateway/disconnect", "v1/devices/me/attributes", "v1/devices/me/attributes/response/",
                 "v1/devices/me/rpc/request/", "v1/devices/me/rpc/response/")


@pytest.fixture
def env(start_emulator, sdk_clients):
    emu = start_emulator("--gateway", TOKEN)
    rest = Rest(emu.http)
    gw = GatewayClient(emu.mqtt_host, emu.mqtt_port, username=TOKEN)
    sdk_clients.append(gw)
    connect_sdk(gw)
    yield emu, rest, gw
    for topic, payload in gw.received:
        assert topic.startswith(SERVER_TOPICS), f"the gateway received a message on {topic!r}: {payload!r}"
        if topic == "v1/gateway/rpc":
            body = json.loads(payload)
            assert "method" in body.get("data", {}), f"a v1/gateway/rpc message that is not a request: {body}"


def connect_device(gw, rest, name, device_type="default"):
    assert acked(gw, gw.gw_connect_device(name, device_type), what=f"PUBACK of connect {name}") == [0]
    return rest.wait_device(name)


def test_gateway_session_limits_and_connect_device_with_type(env):
    emu, rest, gw = env
    # getSessionLimits answered with ThingsBoard's defaults: the SDK keeps 80 %.
    assert gw.max_payload_size == 52428, "maxPayloadSize 65536 from getSessionLimits -> the SDK's 80 %"

    dev = connect_device(gw, rest, "SDK Pump 1", "Water pump")
    assert dev["type"] == "Water pump", f"device created with the connect's type: {dev}"
    gateway = rest.device_by_name(GATEWAY_NAME)
    assert gateway is not None and gateway["additionalInfo"].get("gateway") is True, gateway
    assert dev["additionalInfo"].get("lastConnectedGateway") == device_id(gateway), dev["additionalInfo"]

    sessions = wait_for(lambda: [s for s in emu.sessions() if "SDK Pump 1" in s.get("subDevices", [])], 5,
                        "SDK Pump 1 among the gateway session's subDevices in GET /emulator/sessions")
    assert sessions[0]["gateway"] is True and sessions[0]["version"] == "5", sessions

    # A device that exists keeps its profile: connecting it again with another type changes nothing.
    assert acked(gw, gw.gw_connect_device("SDK Pump 1", "Other type")) == [0]
    assert rest.device_by_name("SDK Pump 1")["type"] == "Water pump"


def test_gateway_telemetry_and_attributes(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 2", "Water pump")
    ts = int(time.time() * 1000) - 60_000

    assert acked(gw, gw.gw_send_telemetry("SDK Pump 2", {"ts": ts, "values": {"flow": 12.5, "running": True}})) == [0]
    assert acked(gw, gw.gw_send_telemetry("SDK Pump 2", {"pressure": 3.1, "mode": "auto"})) == [0]
    assert acked(gw, gw.gw_send_attributes("SDK Pump 2", {"firmware": "1.4.2", "serial": "P7-0042"})) == [0]

    latest = wait_for(lambda: (lambda v: v if len(v) == 4 else None)(
        rest.latest(device_id(dev), ["flow", "running", "pressure", "mode"])), 5, "the four time series keys")
    assert latest == {"flow": 12.5, "running": True, "pressure": 3.1, "mode": "auto"}
    history = rest.history(device_id(dev), "flow", ts - 1, ts + 1)
    assert [(p["ts"], p["value"]) for p in history] == [(ts, 12.5)], history

    client = wait_for(lambda: (lambda a: a if "serial" in a else None)(rest.attributes(device_id(dev), "CLIENT_SCOPE")),
                      5, "client attributes")
    assert client == {"firmware": "1.4.2", "serial": "P7-0042"}
    assert rest.attributes(device_id(dev), "SHARED_SCOPE") == {}, "a device never writes shared attributes"

    # Telemetry for a device never connected creates it, with type "default".
    assert acked(gw, gw.gw_send_telemetry("SDK Implicit", {"level": 1})) == [0]
    assert rest.wait_device("SDK Implicit")["type"] == "default"


def test_gateway_attribute_requests(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 3")
    rest.save_attributes(device_id(dev), "SHARED_SCOPE", {"setpoint": 42, "schedule": "eco"})
    assert acked(gw, gw.gw_send_attributes("SDK Pump 3", {"firmware": "1.4.2", "serial": "P7-0043"})) == [0]
    wait_for(lambda: "serial" in rest.attributes(device_id(dev), "CLIENT_SCOPE"), 5, "client attributes stored")

    answers = queue.Queue()

    def callback(content, error):
        answers.put((content, error))

    def ask(request, keys):
        acked(gw, request("SDK Pump 3", keys, callback), what=f"PUBACK of the attribute request {keys}")
        content, error = take(answers, 10, f"v1/gateway/attributes/response for {keys}")
        assert error is None, error
        assert content["device"] == "SDK Pump 3" and isinstance(content["id"], int), content
        return {k: v for k, v in content.items() if k not in ("id", "device")}

    assert ask(gw.gw_request_shared_attributes, ["setpoint"]) == {"value": 42}
    assert ask(gw.gw_request_shared_attributes, ["setpoint", "schedule"]) == {"values": {"setpoint": 42, "schedule": "eco"}}
    assert ask(gw.gw_request_client_attributes, ["firmware"]) == {"value": "1.4.2"}
    assert ask(gw.gw_request_client_attributes, ["firmware", "serial"]) == {"values": {"firmware": "1.4.2", "serial": "P7-0043"}}
    # One scope per request: a client key asked as shared is not found.
    assert ask(gw.gw_request_shared_attributes, ["firmware"]) == {}
    assert ask(gw.gw_request_shared_attributes, ["setpoint", "nothing"]) == {"values": {"setpoint": 42}}


def test_gateway_shared_attribute_updates(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 4")
    updates = queue.Queue()
    assert gw.gw_subscribe_to_all_attributes(updates.put)

    rest.save_attributes(device_id(dev), "SHARED_SCOPE", {"setpoint": 7, "schedule": {"on": "06:00"}})
    assert take(updates, 10, "the shared update on v1/gateway/attributes") == \
        {"device": "SDK Pump 4", "data": {"setpoint": 7, "schedule": {"on": "06:00"}}}

    # Server-scope changes are never pushed: the next message is the next shared change.
    rest.save_attributes(device_id(dev), "SERVER_SCOPE", {"secret": 1})
    rest.delete_attributes(device_id(dev), "SHARED_SCOPE", ["schedule"])
    assert take(updates, 10, "the shared deletion on v1/gateway/attributes") == \
        {"device": "SDK Pump 4", "data": {"deleted": ["schedule"]}}
    assert updates.empty()


def test_gateway_server_side_rpc(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 5")
    requests_seen = queue.Queue()

    def handler(client, content):
        requests_seen.put(content)
        data = content["data"]
        client.gw_send_rpc_reply(content["device"], data["id"], {"ok": True, "method": data["method"], "params": data["params"]})

    gw.gw_set_server_side_rpc_request_handler(handler)

    r = rest.rpc("twoway", device_id(dev), "setSpeed", {"rpm": 1200})
    assert r.status_code == 200, f"two-way RPC: {r.status_code} {r.text}"
    assert r.json() == {"ok": True, "method": "setSpeed", "params": {"rpm": 1200}}
    first = take(requests_seen, 1, "the RPC request")
    assert first["device"] == "SDK Pump 5" and first["data"]["method"] == "setSpeed"
    assert first["data"]["params"] == {"rpm": 1200} and isinstance(first["data"]["id"], int), first

    r = rest.rpc("twoway", device_id(dev), "getState", None)
    assert r.status_code == 200 and r.json()["method"] == "getState", f"{r.status_code} {r.text}"
    second = take(requests_seen, 1, "the second RPC request")
    assert second["data"]["id"] != first["data"]["id"], "request ids of one device differ"

    # One-way: 200 once delivered; the SDK's (stale) reply is dropped quietly.
    r = rest.rpc("oneway", device_id(dev), "blink", {"times": 2})
    assert r.status_code == 200, f"one-way RPC: {r.status_code} {r.text}"
    assert take(requests_seen, 5, "the one-way request")["data"]["method"] == "blink"


def test_gateway_claim(env):
    emu, rest, gw = env
    connect_device(gw, rest, "SDK Pump 6")
    assert acked(gw, gw.gw_claim("SDK Pump 6", "abc123", 60_000)) == [0]
    claims = wait_for(lambda: [c for c in emu.emulator_get("/emulator/claims") if "SDK Pump 6" in json.dumps(c)], 5,
                      "the claim in GET /emulator/claims")
    assert "abc123" in json.dumps(claims), claims


def test_gateway_disconnect_device(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 7")
    seen = queue.Queue()
    gw.gw_set_server_side_rpc_request_handler(lambda client, content: seen.put(content))
    wait_for(lambda: any("SDK Pump 7" in s.get("subDevices", []) for s in emu.sessions()), 5, "SDK Pump 7 registered")

    assert acked(gw, gw.gw_disconnect_device("SDK Pump 7")) == [0]
    wait_for(lambda: not any("SDK Pump 7" in s.get("subDevices", []) for s in emu.sessions()), 5,
             "SDK Pump 7 gone from the gateway session's subDevices")
    # No session for the device: the request waits for one until it expires (504) and is never sent.
    r = rest.rpc("twoway", device_id(dev), "setSpeed", {"rpm": 1}, timeout_ms=5000)
    assert r.status_code == 504, f"two-way RPC to a disconnected device: {r.status_code} {r.text}"
    assert seen.empty(), f"an RPC reached a disconnected device: {seen.get()}"
    # The device itself stays.
    assert rest.device_by_name("SDK Pump 7") is not None


def test_gateway_rename_and_delete_notices(env):
    emu, rest, gw = env
    dev = connect_device(gw, rest, "SDK Pump 8")
    notices = queue.Queue()
    # Device-level RPC to the gateway itself (v1/devices/me/rpc/request/<id>).
    gw.set_server_side_rpc_request_handler(lambda request_id, content: notices.put(content))

    # Rename as a ThingsBoard user does: GET, change the name, POST (additionalInfo keeps lastConnectedGateway).
    current = rest.ok("GET", f"/api/device/{device_id(dev)}")
    current["name"] = "SDK Pump 8b"
    saved = rest.ok("POST", "/api/device", json=current)
    assert saved["name"] == "SDK Pump 8b" and saved["id"] == dev["id"]
    assert take(notices, 10, "gateway_device_renamed on v1/devices/me/rpc/request/<id>") == \
        {"method": "gateway_device_renamed", "params": {"SDK Pump 8": "SDK Pump 8b"}}

    r = rest.request("DELETE", f"/api/device/{device_id(dev)}")
    assert r.status_code == 200, f"DELETE /api/device: {r.status_code} {r.text}"
    assert take(notices, 10, "gateway_device_deleted on v1/devices/me/rpc/request/<id>") == \
        {"method": "gateway_device_deleted", "params": "SDK Pump 8b"}
    assert rest.device_by_name("SDK Pump 8b") is None
