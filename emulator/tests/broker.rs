//! End to end through a real broker: mosquitto on a free loopback port, the
//! emulator binary against it, and rumqttc playing the gateway.
//!
//! Needs `mosquitto` (/usr/sbin/mosquitto or on PATH). Without it the test
//! fails, unless `BG_SKIP_BROKER_TESTS=1` is set.

use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Kills (and reaps) a child process this test started when dropped.
struct Process {
    child: Child,
    name: &'static str,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        eprintln!("[test] stopped {}", self.name);
    }
}

fn mosquitto() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/sbin/mosquitto");
    if fixed.is_file() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("mosquitto"))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Polls `f` every 50 ms until it returns `Some`, failing after `within`.
fn wait_until<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts mosquitto with a temporary configuration; returns it and its port.
fn start_broker(binary: &PathBuf, dir: &std::path::Path) -> (Process, u16) {
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n"),
    )
    .expect("write the mosquitto config");
    let log = std::fs::File::create(dir.join("mosquitto.log")).expect("mosquitto log file");
    let child = Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start mosquitto");
    let mut broker = Process {
        child,
        name: "mosquitto",
    };
    wait_until(
        "mosquitto to accept connections",
        Duration::from_secs(10),
        || {
            if let Ok(Some(status)) = broker.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("mosquitto.log")).unwrap_or_default();
                panic!("mosquitto exited ({status}):\n{log}");
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        },
    );
    (broker, port)
}

/// Starts the emulator on a free HTTP port; returns it, its HTTP address and
/// the stream of its log lines (also echoed to the test's stderr).
fn start_emulator(broker_port: u16) -> (Process, String, std_mpsc::Receiver<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_platform-emulator"))
        .args(["--broker", &format!("127.0.0.1:{broker_port}")])
        .args(["--http", "127.0.0.1:0"])
        .args(["--rpc-min-timeout-ms", "0"])
        .args([
            "--client-id",
            &format!("tb-emulator-test-{}", std::process::id()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the emulator");
    let mut emulator = Process {
        child,
        name: "platform-emulator",
    };
    let stderr = emulator.child.stderr.take().expect("piped stderr");
    let (tx, lines) = std_mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let address = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("emulator: http listening on http://") {
                    break url.to_string();
                }
            }
            Err(_) => panic!("the emulator did not print its ready line within 20 s"),
        }
    };
    (emulator, address, lines)
}

/// A minimal HTTP/1.1 client: returns (status, body).
fn http(address: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the emulator's HTTP port");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read the response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad HTTP response: {response:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// Async wrapper: the HTTP call on a blocking thread.
async fn call(
    address: &str,
    method: &'static str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let (address, path) = (address.to_string(), path.to_string());
    tokio::task::spawn_blocking(move || http(&address, method, &path, body.as_ref()))
        .await
        .expect("HTTP thread")
}

/// The test's gateway: an MQTT 5 client whose received publishes arrive on
/// a channel as (topic, JSON).
struct Gateway {
    client: AsyncClient,
    received: mpsc::UnboundedReceiver<(String, Value)>,
}

impl Gateway {
    async fn connect(port: u16) -> Gateway {
        let mut options = MqttOptions::new(
            format!("test-gateway-{}", std::process::id()),
            "127.0.0.1",
            port,
        );
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let (tx, received) = mpsc::unbounded_channel();
        let (subscribed_tx, mut subscribed) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let topic = String::from_utf8_lossy(&p.topic).into_owned();
                        let value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        let _ = tx.send((topic, value));
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed_tx.send(());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("[test] gateway connection error: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        let filters = [
            "v1/gateway/rpc",
            "v1/gateway/attributes",
            "v1/gateway/attributes/response",
        ]
        .map(|t| {
            let mut f = Filter::new(t, QoS::AtLeastOnce);
            f.nolocal = true;
            f
        });
        client
            .subscribe_many(filters)
            .await
            .expect("queue the subscription");
        tokio::time::timeout(Duration::from_secs(10), subscribed.recv())
            .await
            .expect("the gateway's SUBACK within 10 s");
        Gateway { client, received }
    }

    async fn publish(&self, topic: &str, payload: Value) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .expect("publish");
    }

    /// The next message on `topic` (others are skipped), within 10 s.
    async fn next_on(&mut self, topic: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (t, v) = tokio::time::timeout_at(deadline, self.received.recv())
                .await
                .unwrap_or_else(|_| panic!("nothing on {topic} within 10 s"))
                .expect("gateway event loop alive");
            if t == topic {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_round_trip_through_mosquitto() {
    let Some(binary) = mosquitto() else {
        if std::env::var("BG_SKIP_BROKER_TESTS").as_deref() == Ok("1") {
            eprintln!("[test] SKIPPED: mosquitto not found and BG_SKIP_BROKER_TESTS=1");
            return;
        }
        panic!(
            "mosquitto not found (/usr/sbin/mosquitto or PATH): install it \
             (apt-get install mosquitto) or set BG_SKIP_BROKER_TESTS=1 to skip this test"
        );
    };
    let dir = std::env::temp_dir().join(format!("platform-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (_broker, port) = start_broker(&binary, &dir);
    let (mut emulator, http_addr, _log) = start_emulator(port);
    let addr = http_addr.as_str();
    assert_eq!(call(addr, "GET", "/api/health", None).await.0, 200);

    let mut gw = Gateway::connect(port).await;

    // A device connects and sends telemetry; the HTTP API shows both.
    gw.publish(
        "v1/gateway/connect",
        json!({"device": "Pump 7", "type": "Water pump"}),
    )
    .await;
    gw.publish(
        "v1/gateway/telemetry",
        json!({"Pump 7": [{"ts": 1767225600000i64, "values": {"flow": 12.5, "running": true}}]}),
    )
    .await;
    let summary = {
        let addr = addr.to_string();
        tokio::task::spawn_blocking(move || {
            wait_until("Pump 7 with its telemetry", Duration::from_secs(10), || {
                let (status, body) = http(&addr, "GET", "/api/devices/Pump%207", None);
                let v = (status == 200).then(|| json_of(&body))?;
                (v["telemetryCount"] == 2).then_some(v)
            })
        })
        .await
        .expect("poll thread")
    };
    assert_eq!(summary["type"], "Water pump");
    assert_eq!(summary["connected"], true);
    let (status, body) = call(
        addr,
        "GET",
        "/api/plugins/telemetry/DEVICE/Pump%207/values/timeseries?keys=flow,running",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body),
        json!({"flow": [{"ts": 1767225600000i64, "value": "12.5"}],
               "running": [{"ts": 1767225600000i64, "value": "true"}]})
    );

    // Two-way RPC over HTTP, answered by the gateway.
    let rpc = {
        let addr = addr.to_string();
        tokio::spawn(async move {
            call(
                &addr,
                "POST",
                "/api/rpc/twoway/Pump%207",
                Some(json!({"method": "setSpeed", "params": {"rpm": 1200}})),
            )
            .await
        })
    };
    let request = gw.next_on("v1/gateway/rpc").await;
    assert_eq!(
        request,
        json!({"device": "Pump 7", "data": {"id": 0, "method": "setSpeed", "params": {"rpm": 1200}}})
    );
    gw.publish(
        "v1/gateway/rpc",
        json!({"device": "Pump 7", "id": 0, "data": {"ok": true, "rpm": 1200}}),
    )
    .await;
    let (status, body) = rpc.await.expect("RPC task");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), json!({"ok": true, "rpm": 1200}));

    // Shared attribute push, then an attribute request answered.
    let (status, _) = call(
        addr,
        "POST",
        "/api/plugins/telemetry/DEVICE/Pump%207/attributes/SHARED_SCOPE",
        Some(json!({"setpoint": 42})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        gw.next_on("v1/gateway/attributes").await,
        json!({"device": "Pump 7", "data": {"setpoint": 42}})
    );
    gw.publish(
        "v1/gateway/attributes/request",
        json!({"id": 17, "device": "Pump 7", "client": false, "key": "setpoint"}),
    )
    .await;
    assert_eq!(
        gw.next_on("v1/gateway/attributes/response").await,
        json!({"id": 17, "device": "Pump 7", "value": 42})
    );

    // A request for a device that never connects: 409 when it expires.
    let (status, _) = call(
        addr,
        "POST",
        "/api/devices",
        Some(json!({"name": "Sleeper"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        addr,
        "POST",
        "/api/rpc/twoway/Sleeper",
        Some(json!({"method": "wake", "timeout": 300})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(json_of(&body)["status"], 409);

    let (status, body) = call(addr, "GET", "/api/errors", None).await;
    assert_eq!((status, json_of(&body)), (200, json!([])));

    // SIGTERM: a clean exit.
    let pid = emulator.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_until("the emulator to exit", Duration::from_secs(10), || {
            emulator.child.try_wait().ok().flatten()
        });
        drop(emulator);
        status
    })
    .await
    .expect("wait thread");
    assert!(status.success(), "exit status {status}");
    let _ = std::fs::remove_dir_all(&dir);
}
