"""ThingsBoard's IoT Gateway (thingsboard-gateway 3.8.5, its own venv) against
the emulator, with its MQTT connector subscribed to a local mosquitto where
this test plays the field devices (paho-mqtt).

Each test starts its own emulator, mosquitto and IoT Gateway (config files in
a temp dir, connected_devices.json removed). The gateway starts slowly on a
busy machine (it imports its connectors and waits for its session limits), so
the deadlines are generous.
"""

import json
import os
import queue
import shutil
import signal
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from support import Emulator, Rest, device_id, free_port, take, wait_for

VENV_IOTGW = Path(os.environ.get("VENV_IOTGW", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                 / "browser-gateway/venv-iotgw"))
GATEWAY_BIN = VENV_IOTGW / "bin/thingsboard-gateway"
MOSQUITTO = os.environ.get("BG_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TOKEN = "IOTGW_TOKEN"
GATEWAY_NAME = f"Gateway {TOKEN}"
PROFILE = "Field sensor"
SLOW = 60  # seconds: the gateway's first steps


def gateway_config(emu, mosquitto_port):
    tb_gateway = {
        "thingsboard": {
            "host": emu.mqtt_host, "port": emu.mqtt_port,
            "remoteShell": False, "remoteConfiguration": False, "latencyDebugMode": False,
            "statistics": {"enable": False, "statsSendPeriodInSeconds": 3600, "customStatsSendPeriodInSeconds": 3600},
            "deviceFiltering": {"enable": False, "filterFile": "list.json"},
            "maxPayloadSizeBytes": 8196, "minPackSendDelayMS": 50, "minPackSizeToSend": 500,
            "checkConnectorsConfigurationInSeconds": 60,
            "handleDeviceRenaming": True,
            "security": {"type": "accessToken", "accessToken": TOKEN},
            "qos": 1,
            "reportStrategy": {"type": "ON_RECEIVED"},
            "checkingDeviceActivity": {"checkDeviceInactivity": False, "inactivityTimeoutSeconds": 300,
                                       "inactivityCheckPeriodSeconds": 10},
        },
        "storage": {"type": "memory", "read_records_count": 100, "max_records_count": 100000},
        "grpc": {"enabled": False, "serverPort": 9595},
        "connectors": [{"type": "mqtt", "name": "Field MQTT", "configuration": "mqtt.json"}],
    }
    topic_name = lambda suffix: {  # noqa: E731
        "deviceNameExpressionSource": "topic", "deviceNameExpression": f"(?<=field/)(.*?)(?=/{suffix})",
        "deviceProfileExpressionSource": "constant", "deviceProfileExpression": PROFILE}
    connector = {
        "broker": {"host": "127.0.0.1", "port": mosquitto_port, "clientId": "tb-iot-gateway-field", "version": 5,
                   "maxMessageNumberPerWorker": 10, "maxNumberOfWorkers": 100, "cleanSession": True,
                   "cleanStart": True, "sessionExpiryInterval": 0, "security": {"type": "anonymous"}},
        "mapping": [
            {"topicFilter": "field/+/data", "subscriptionQos": 1,
             "converter": {"type": "json", "deviceInfo": topic_name("data"), "sendDataOnlyOnChange": False,
                           "timeout": 60000, "attributes": [],
                           "timeseries": [{"type": "double", "key": "temperature", "value": "${temp}"},
                                          {"type": "integer", "key": "counter", "value": "${n}"}]}},
            {"topicFilter": "field/+/attrs", "subscriptionQos": 1,
             "converter": {"type": "json", "deviceInfo": topic_name("attrs"), "sendDataOnlyOnChange": False,
                           "timeout": 60000, "timeseries": [],
                           "attributes": [{"type": "string", "key": "model", "value": "${model}"}]}},
        ],
        "requestsMapping": {
            "connectRequests": [{"topicFilter": "field/+/connect", "deviceInfo": topic_name("connect")}],
            "disconnectRequests": [],
            "attributeRequests": [],
            "attributeUpdates": [{"deviceNameFilter": ".*", "attributeFilter": ".*", "retain": False, "qos": 1,
                                  "topicExpression": "field/${deviceName}/attr/${attributeKey}",
                                  "valueExpression": "${attributeValue}"}],
            "serverSideRpc": [{"type": "twoWay", "deviceNameFilter": ".*", "methodFilter": "getState",
                               "requestTopicExpression": "field/${deviceName}/rpc/request/${methodName}/${requestId}",
                               "responseTopicExpression": "field/${deviceName}/rpc/response/${methodName}/${requestId}",
                               "responseTopicQoS": 1, "responseTimeout": 10000, "valueExpression": "${params}"}],
        },
    }
    console = {"class": "logging.StreamHandler", "formatter": "f", "level": 0, "stream": "ext://sys.stdout"}
    logs = {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"f": {"class": "logging.Formatter",
                             "format": "%(asctime)s |%(levelname)s| %(name)s %(module)s.%(funcName)s: %(message)s"}},
        "handlers": {"console": console},
        "loggers": {name: {"handlers": ["console"], "level": "DEBUG" if name in ("service", "tb_connection") else "INFO",
                           "propagate": False}
                    for name in ("service", "connector", "converter", "tb_connection", "storage", "extension", "database")},
        "root": {"level": "ERROR", "handlers": ["console"]},
    }
    return tb_gateway, connector, logs


class Field:
    """The field devices: one paho client on the local mosquitto."""

    def __init__(self, port):
        self.messages = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="field-devices", protocol=mqtt.MQTTv311)
        self.client.on_message = self._on_message
        self.rpc_replies = {}  # method -> reply body (the field device answers RPC requests)
        self.rpc_requests = queue.Queue()
        connected = queue.Queue()
        self.client.on_connect = lambda c, u, f, rc, p: connected.put(rc)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert not take(connected, 10, "the field client's CONNACK from mosquitto").is_failure
        subscribed = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.put(mid)
        self.client.subscribe([("field/+/attr/#", 1), ("field/+/rpc/request/#", 1)])
        take(subscribed, 10, "the field client's SUBACK")

    def _on_message(self, client, userdata, msg):
        parts = msg.topic.split("/")
        if len(parts) >= 6 and parts[2] == "rpc" and parts[3] == "request":
            device, method, request_id = parts[1], parts[4], parts[5]
            self.rpc_requests.put((device, method, request_id, msg.payload))
            if method in self.rpc_replies:
                client.publish(f"field/{device}/rpc/response/{method}/{request_id}",
                               json.dumps(self.rpc_replies[method]), qos=1)
        else:
            self.messages.put((msg.topic, msg.payload.decode()))

    def publish(self, topic, body):
        info = self.client.publish(topic, json.dumps(body), qos=1)
        info.wait_for_publish(10)
        assert info.is_published(), f"mosquitto did not acknowledge {topic}"

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


class IotGateway:
    def __init__(self, tmp, emu, mosquitto_port):
        self.dir = tmp / "gateway-config"
        self.dir.mkdir()
        tb_gateway, connector, logs = gateway_config(emu, mosquitto_port)
        (self.dir / "tb_gateway.json").write_text(json.dumps(tb_gateway, indent=2))
        (self.dir / "mqtt.json").write_text(json.dumps(connector, indent=2))
        (self.dir / "logs.json").write_text(json.dumps(logs, indent=2))
        (self.dir / "connected_devices.json").unlink(missing_ok=True)
        self.log_path = tmp / "iot-gateway.log"
        # The connectors log to files of their own there (field_mqtt_connector.log...).
        self.logs_dir = tmp / "gateway-logs"
        self.logs_dir.mkdir()
        self._log = open(self.log_path, "wb")
        env = dict(os.environ, TB_GW_CONFIG_DIR=str(self.dir), TB_GW_LOGS_PATH=str(self.logs_dir),
                   PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([str(GATEWAY_BIN)], cwd=tmp, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self):
        """The service log (stdout) followed by the connectors' log files."""
        parts = [self.log_path.read_text("utf-8", "replace")]
        for f in sorted(self.logs_dir.glob("*.log")):
            parts.append(f"--- {f.name} ---\n" + f.read_text("utf-8", "replace"))
        return "\n".join(parts)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def iot(tmp_path_factory):
    if not GATEWAY_BIN.exists():
        pytest.fail(f"no IoT Gateway at {GATEWAY_BIN}: run scripts/setup")
    tmp = tmp_path_factory.mktemp("iotgw")
    stack = []
    try:
        port = free_port()
        (tmp / "mosquitto.conf").write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
        mosq_log = open(tmp / "mosquitto.log", "wb")
        mosq = subprocess.Popen([MOSQUITTO, "-c", str(tmp / "mosquitto.conf")], stdout=mosq_log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        stack.append(lambda: (mosq.terminate(), mosq.wait(10), mosq_log.close()))
        import socket
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 10,
                 f"mosquitto on port {port}")

        emu = Emulator(tmp, "--gateway", TOKEN)
        stack.append(emu.stop)
        rest = Rest(emu.http)
        field = Field(port)
        stack.append(field.stop)
        gw = IotGateway(tmp, emu, port)
        stack.append(gw.stop)
        try:
            wait_for(lambda: [s for s in emu.sessions() if s.get("deviceName") == GATEWAY_NAME], SLOW,
                     "the IoT Gateway's session in GET /emulator/sessions")
            # Its MQTT connector is subscribed once mosquitto shows its client: wait for its log line.
            wait_for(lambda: "subscription success to topic field/+/connect" in gw.log(), SLOW,
                     "the IoT Gateway's MQTT connector subscribed on mosquitto (its log line)")
            # Its attribute and RPC callbacks are in place only once it says "Gateway started." (a shared
            # update that arrives earlier is dropped by the gateway itself, as with ThingsBoard).
            wait_for(lambda: "Gateway started." in gw.log(), SLOW, "the IoT Gateway's \"Gateway started.\" log line")
        except AssertionError:
            print(gw.log()[-20000:])
            raise
        yield {"emu": emu, "rest": rest, "field": field, "gw": gw, "gateway": rest.device_by_name(GATEWAY_NAME)}
        log = gw.log()
        # The symptoms of hearing its own publishes through a broker (issue 7): errors on its own RPC replies,
        # its own getSessionLimits request coming back, anything of its own on a v1/gateway/ topic.
        assert "KeyError: 'method'" not in log and "has no attribute 'get'" not in log, log[-20000:]
        echoes = [line for line in log.splitlines() if "Unexpected message from topic" in line
                  and ("getSessionLimits" in line or "'v1/gateway/" in line)]
        assert not echoes, f"the IoT Gateway heard its own publishes: {echoes[:3]}"
        assert "Service configuration was successfully retrieved and applied" in log, \
            "the IoT Gateway never got the answer to its getSessionLimits request"
    finally:
        for stop in reversed(stack):
            try:
                stop()
            except Exception as e:  # noqa: BLE001
                print(f"teardown: {e!r}")
        print("--- IoT Gateway log (tail) ---")
        for f in [tmp / "iot-gateway.log", *sorted((tmp / "gateway-logs").glob("*.log"))]:
            try:
                print(f"--- {f.name} ---\n" + f.read_text("utf-8", "replace")[-20000:])
            except OSError:
                pass
        print("--- emulator log (tail) ---")
        try:
            print("\n".join((tmp / "emulator.log").read_text("utf-8", "replace").splitlines()[-200:]))
        except OSError:
            pass


def wait_latest(rest, dev_id, keys, timeout=SLOW):
    return wait_for(lambda: (lambda v: v if set(keys) <= set(v) else None)(rest.latest(dev_id, keys)), timeout,
                    f"time series {keys}")


def test_iot_gateway_connect_request(iot):
    rest, field = iot["rest"], iot["field"]
    field.publish("field/IotSensor1/connect", {})
    dev = rest.wait_device("IotSensor1", SLOW)
    assert dev["type"] == PROFILE, dev
    assert dev["additionalInfo"].get("lastConnectedGateway") == device_id(iot["gateway"]), dev["additionalInfo"]
    wait_for(lambda: any("IotSensor1" in s.get("subDevices", []) for s in iot["emu"].sessions()), SLOW,
             "IotSensor1 registered in the gateway session")


def test_iot_gateway_telemetry_from_first_data_message(iot):
    rest, field = iot["rest"], iot["field"]
    field.publish("field/IotSensor2/data", {"temp": 21.5, "n": 1})
    dev = rest.wait_device("IotSensor2", SLOW)
    assert dev["type"] == PROFILE, dev
    assert wait_latest(rest, device_id(dev), ["temperature", "counter"]) == {"temperature": 21.5, "counter": 1}


def test_iot_gateway_attributes(iot):
    rest, field = iot["rest"], iot["field"]
    field.publish("field/IotSensor2/attrs", {"model": "FS-100"})
    dev = rest.wait_device("IotSensor2", SLOW)
    assert wait_for(lambda: rest.attributes(device_id(dev), "CLIENT_SCOPE").get("model"), SLOW,
                    "client attribute model") == "FS-100"


def test_iot_gateway_shared_attribute_update_reaches_the_field(iot):
    rest, field = iot["rest"], iot["field"]
    field.publish("field/IotSensor1/connect", {})
    dev = rest.wait_device("IotSensor1", SLOW)
    wait_for(lambda: any("IotSensor1" in s.get("subDevices", []) for s in iot["emu"].sessions()), SLOW,
             "IotSensor1 registered in the gateway session")
    rest.save_attributes(device_id(dev), "SHARED_SCOPE", {"interval": 30})
    deadline = time.monotonic() + SLOW
    while True:
        topic, payload = take(field.messages, max(0.1, deadline - time.monotonic()),
                              "the shared attribute on field/IotSensor1/attr/interval")
        if topic == "field/IotSensor1/attr/interval":
            assert payload == "30"
            break


def test_iot_gateway_two_way_rpc_answered_by_the_field_device(iot):
    rest, field = iot["rest"], iot["field"]
    field.rpc_replies["getState"] = {"state": "on", "level": 3}
    field.publish("field/IotSensor1/connect", {})
    dev = rest.wait_device("IotSensor1", SLOW)
    r = rest.rpc("twoway", device_id(dev), "getState", {"verbose": True}, timeout_ms=20000)
    # The IoT Gateway sends this reply on v1/gateway/rpc at QoS 0. ThingsBoard processes it all the same (and
    # answers with PUBACK id 0xFFFF code 128 plus, under MQTT 5, a reason-129 notice on v1/gateway/disconnect):
    # what a ThingsBoard user sees is the REST caller getting the reply.
    assert r.status_code == 200, f"two-way RPC through the IoT Gateway: {r.status_code} {r.text}"
    assert r.json() == {"state": "on", "level": 3}
    device, method, request_id, payload = take(field.rpc_requests, 1, "the request on the field topic")
    assert (device, method) == ("IotSensor1", "getState") and json.loads(payload) == {"verbose": True}
    # What the platform did with that QoS 0 reply, as ThingsBoard (contract section 4): processed, recorded,
    # and the MQTT 5 session told with a reason-129 notice on v1/gateway/disconnect (which the SDK only logs).
    errors = wait_for(lambda: [e for e in iot["emu"].errors() if e["topic"] == "v1/gateway/rpc"], 10,
                      "the QoS 0 v1/gateway/rpc reply in GET /emulator/errors")
    assert not any(e["connectionClosed"] for e in errors), errors
    wait_for(lambda: 'Device "IotSensor1" disconnected with reason 129' in iot["gw"].log(), 10,
             "the reason-129 notice in the IoT Gateway's log")


def test_iot_gateway_answers_its_own_rpc(iot):
    rest = iot["rest"]
    r = rest.rpc("twoway", device_id(iot["gateway"]), "gateway_ping", {}, timeout_ms=20000)
    assert r.status_code == 200, f"gateway_ping: {r.status_code} {r.text}"
    body = r.json()
    body = json.loads(body) if isinstance(body, str) else body
    assert body.get("resp") == "pong", body


def test_iot_gateway_follows_a_rename(iot):
    rest, field, gw = iot["rest"], iot["field"], iot["gw"]
    field.publish("field/IotSensor3/data", {"temp": 10.0, "n": 1})
    dev = rest.wait_device("IotSensor3", SLOW)
    wait_latest(rest, device_id(dev), ["counter"])

    # Rename as a ThingsBoard user does: GET the device, change the name, POST it back.
    current = rest.ok("GET", f"/api/device/{device_id(dev)}")
    current["name"] = "IotSensor3 renamed"
    saved = rest.ok("POST", "/api/device", json=current)
    assert saved["name"] == "IotSensor3 renamed" and device_id(saved) == device_id(dev)
    wait_for(lambda: "Received renamed gateway device notification" in gw.log(), SLOW,
             "the IoT Gateway's log line for the gateway_device_renamed RPC")

    field.publish("field/IotSensor3/data", {"temp": 11.0, "n": 2})
    assert wait_for(lambda: rest.latest(device_id(dev), ["counter"]).get("counter") == 2, SLOW,
                    "counter 2 on the renamed device")
    assert rest.device_by_name("IotSensor3") is None, "the old name was recreated after the rename"
    assert rest.device_by_name("IotSensor3 renamed")["id"] == dev["id"]
