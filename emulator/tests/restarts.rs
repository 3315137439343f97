//! Restarts through the real binary with `--state FILE`: SIGTERM closes the
//! sessions (MQTT 5 DISCONNECT 139 after the PUBACKs owed), saves the
//! tenant and exits 0; a new process on the same ports binds at once and
//! serves the same tenant; a state file it cannot use stops it with a
//! message and a non-zero status.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("emulator-restarts-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn login(addr: std::net::SocketAddr) -> String {
    let (status, body) = http(
        addr,
        "POST",
        "/api/auth/login",
        None,
        r#"{"username":"tenant@thingsboard.org","password":"tenant"}"#,
    );
    assert_eq!(status, 200, "{body}");
    json(&body)["token"].as_str().unwrap().to_string()
}

/// What the REST API shows of the meter the gateway registered.
fn meter(addr: std::net::SocketAddr, jwt: &str) -> (Value, Value, Value) {
    let get = |path: &str| {
        let (status, body) = http(addr, "GET", path, Some(jwt), "");
        assert_eq!(status, 200, "GET {path}: {body}");
        json(&body)
    };
    let device = get("/api/tenant/devices?deviceName=Meter-1");
    let id = device["id"]["id"].as_str().unwrap().to_string();
    let series = get(&format!(
        "/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=pulseCounter&startTs=0&endTs=99999999999999&limit=100"
    ));
    let attributes = get(&format!(
        "/api/plugins/telemetry/DEVICE/{id}/values/attributes"
    ));
    (device, series, attributes)
}

/// Connects as the gateway over MQTT 5 (CONNACK success expected).
fn gateway(addr: std::net::SocketAddr) -> std::net::TcpStream {
    let mut s = raw(addr);
    send(&mut s, &connect(5, b"gw", GATEWAY_TOKEN));
    let (got, _) = read_some(&mut s, 5, WAIT);
    assert_eq!(got[..4], [0x20, 3, 0, 0], "CONNACK success: {got:02x?}");
    s
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sigterm_saves_the_tenant_and_a_restart_on_the_same_ports_serves_it() {
    let dir = temp_dir("same-ports");
    let state = dir.join("tenant.json");
    let state_arg = state.to_str().unwrap();
    let mut first = Emulator::start(&["--state", state_arg]);
    assert!(
        first.logs().iter().any(|l| l.contains("no state file at")),
        "{:#?}",
        first.logs()
    );
    let ports = [first.mqtt, first.ws, first.http].map(|a| a.to_string());

    let mut gw = gateway(first.mqtt);
    for (pkid, value) in [(1u16, 10), (2, 11), (3, 12)] {
        let body = format!(
            r#"{{"Meter-1":[{{"ts":{},"values":{{"pulseCounter":{value}}}}}]}}"#,
            1_700_000_000_000i64 + value
        );
        send(
            &mut gw,
            &publish(5, 1, pkid, "v1/gateway/telemetry", body.as_bytes()),
        );
    }
    send(
        &mut gw,
        &publish(
            5,
            1,
            4,
            "v1/gateway/attributes",
            br#"{"Meter-1":{"fw":"2.1"}}"#,
        ),
    );
    let (acks, _) = read_some(&mut gw, 16, WAIT);
    assert_eq!(
        acks,
        [0x40, 2, 0, 1, 0x40, 2, 0, 2, 0x40, 2, 0, 3, 0x40, 2, 0, 4]
    );
    let jwt = login(first.http);
    let id = meter(first.http, &jwt).0["id"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (scope, body) in [
        ("SHARED_SCOPE", r#"{"setpoint":42}"#),
        ("SERVER_SCOPE", r#"{"zone":"B"}"#),
    ] {
        let (status, text) = http(
            first.http,
            "POST",
            &format!("/api/plugins/telemetry/DEVICE/{id}/{scope}"),
            Some(&jwt),
            body,
        );
        assert_eq!(status, 200, "{text}");
    }
    // The shared attribute was pushed to the gateway.
    let (push, _) = read_some(&mut gw, 1, WAIT);
    assert_eq!(push.first(), Some(&0x32), "a QoS 1 push: {push:02x?}");
    let before = meter(first.http, &jwt);
    assert_eq!(before.1["pulseCounter"].as_array().unwrap().len(), 3);

    // SIGTERM: the gateway is told "server shutting down", then closed.
    first.terminate();
    let bye = read_to_close(&mut gw, WAIT);
    assert!(
        bye.ends_with(&[0xe0, 2, 139, 0]),
        "DISCONNECT 139 last: {bye:02x?}"
    );
    let status = first.wait_exit(WAIT);
    assert!(status.success(), "exit status {status:?}");
    let logs = first.logs().join("\n");
    assert!(
        logs.contains("1 MQTT session(s) closed for the shutdown"),
        "{logs}"
    );
    assert!(
        logs.contains(": 3 devices, 3 data points ("),
        "state saved: {logs}"
    );
    assert!(!logs.contains(GATEWAY_TOKEN), "a token in the log: {logs}");
    assert!(!logs.contains("panicked"), "{logs}");
    assert_eq!(files_in(&dir), ["tenant.json"], "no temporary file left");
    drop(gw);

    // At once, on the same ports: the connections the first process closed
    // first are in TIME_WAIT on those ports.
    let second = Emulator::start_on([&ports[0], &ports[1], &ports[2]], &["--state", state_arg]);
    assert_eq!(
        [second.mqtt, second.ws, second.http].map(|a| a.to_string()),
        ports
    );
    let logs = second.logs().join("\n");
    assert!(
        logs.contains("state loaded from") && logs.contains(": 3 devices, 3 data points (saved"),
        "{logs}"
    );
    // The login token of the first run still works, and the meter is the same.
    assert_eq!(meter(second.http, &jwt), before);
    let attributes = &before.2;
    for key in ["fw", "setpoint", "zone"] {
        assert!(
            attributes
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["key"] == key),
            "{key} in {attributes}"
        );
    }
    // The gateway's token is still its own (not a second gateway device),
    // and session numbers go on.
    let _gw = gateway(second.mqtt);
    let (status, body) = http(second.http, "GET", "/emulator/sessions", None, "");
    assert_eq!(status, 200);
    let sessions = json(&body);
    assert_eq!(
        sessions[0]["deviceName"],
        format!("Gateway {GATEWAY_TOKEN}")
    );
    assert_eq!(sessions[0]["session"], 2, "{sessions}");
    let (_, body) = http(
        second.http,
        "GET",
        "/api/tenant/devices?pageSize=100&page=0",
        Some(&jwt),
        "",
    );
    assert_eq!(json(&body)["totalElements"], 3, "A1, the gateway, Meter-1");
    drop(second);
    let _ = fs::remove_dir_all(&dir);
}

/// Runs the binary with `args` until it exits (within 20 s).
fn run_to_exit(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_platform-emulator"))
        .args([
            "--mqtt",
            "127.0.0.1:0",
            "--ws",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the emulator binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator kept running with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_state_file_it_cannot_use_stops_the_start_with_a_message() {
    let dir = temp_dir("corrupt");
    let state = dir.join("tenant.json");
    let state_arg = state.to_str().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "cut short",
            br#"{"format":"platform-emulator state","version":1,"devi"#,
            "is not a readable emulator state (EOF while parsing",
        ),
        (
            "not text",
            &[0xff, 0xfe, 0, 1],
            "is not a readable emulator state",
        ),
        (
            "another format",
            br#"{"format":"something","version":1,"savedAt":0,"tenantId":"13814000-1dd2-11b2-8080-808080808080","jwtSigningKey":[],"users":[],"devices":[],"tokenNames":[],"lastSession":0,"rpcs":[],"claims":[],"errors":[],"lastErrorSeq":0}"#,
            "cannot be used: \"format\" is \"something\"",
        ),
    ];
    for (what, bytes, says) in cases {
        fs::write(&state, bytes).unwrap();
        let (code, stdout, stderr) = run_to_exit(&["--state", state_arg]);
        assert_eq!(code, Some(1), "{what}: {stderr}");
        assert!(stderr.contains(says), "{what}: {stderr}");
        assert!(
            stderr.contains(state_arg),
            "{what} names the file: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert_eq!(stdout, "", "{what}: nothing listens");
        assert_eq!(
            fs::read(&state).unwrap(),
            bytes,
            "{what}: the file is left as it was"
        );
    }
    // A directory that does not exist: refused at start, not at shutdown.
    let (code, _, stderr) =
        run_to_exit(&["--state", dir.join("none/tenant.json").to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("could not be written"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}
