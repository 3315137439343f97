//! Starting the real emulator binary for a test, and talking raw MQTT bytes
//! to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token of the gateway every emulator in these tests starts with.
pub const GATEWAY_TOKEN: &str = "GW_TEST_TOKEN";

/// A running emulator; killed when dropped.
pub struct Emulator {
    child: Child,
    /// MQTT over TCP.
    pub mqtt: SocketAddr,
    /// MQTT over WebSocket.
    pub ws: SocketAddr,
    /// REST.
    pub http: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    /// Starts the binary on free ports with a gateway `GATEWAY_TOKEN` and
    /// `extra` flags, and waits for its three ready lines (in order).
    pub fn start(extra: &[&str]) -> Emulator {
        Emulator::start_on(["127.0.0.1:0"; 3], extra)
    }

    /// As [`Emulator::start`], its listeners on `[mqtt, ws, http]`.
    pub fn start_on(addresses: [&str; 3], extra: &[&str]) -> Emulator {
        let [mqtt, ws, http] = addresses;
        let mut child = Command::new(env!("CARGO_BIN_EXE_platform-emulator"))
            .args(["--mqtt", mqtt, "--ws", ws, "--http", http])
            .args(["--gateway", GATEWAY_TOKEN])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut ready = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ready.len() < 3 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => ready.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "no ready lines in time; got {ready:?}; stderr {:?}",
                        logs.lock().unwrap()
                    );
                }
            }
        }
        let addr = |line: &str, prefix: &str| -> SocketAddr {
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{line:?} should start with {prefix:?}"))
                .parse()
                .expect("an address")
        };
        Emulator {
            mqtt: addr(&ready[0], "emulator: mqtt listening on "),
            ws: addr(&ready[1], "emulator: ws listening on ws://"),
            http: addr(&ready[2], "emulator: http listening on http://"),
            child,
            logs,
        }
    }

    /// The log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until a log line satisfies `pred`.
    pub fn wait_log(&self, what: &str, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.logs().into_iter().find(|l| pred(l)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no log line {what} within {within:?}; logs: {:#?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (as `kill` does), as a service manager stops it.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, returning its status.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the emulator did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Appends an MQTT variable byte integer.
pub fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

/// A packet: first byte, remaining length, body.
pub fn packet(byte1: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![byte1];
    varint(&mut p, body.len());
    p.extend_from_slice(body);
    p
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// CONNECT at `level` (4 or 5) with a client id and a user name.
pub fn connect(level: u8, client_id: &[u8], user: &str) -> Vec<u8> {
    let mut b = Vec::new();
    string(&mut b, b"MQTT");
    b.push(level);
    b.push(0x82); // user name, clean session
    b.extend_from_slice(&60u16.to_be_bytes());
    if level == 5 {
        b.push(0);
    }
    string(&mut b, client_id);
    string(&mut b, user.as_bytes());
    packet(0x10, &b)
}

/// PUBLISH at `qos` with packet id `pkid` (ignored at QoS 0).
pub fn publish(level: u8, qos: u8, pkid: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    string(&mut b, topic.as_bytes());
    if qos > 0 {
        b.extend_from_slice(&pkid.to_be_bytes());
    }
    if level == 5 {
        b.push(0);
    }
    b.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &b)
}

/// A raw TCP connection with a read timeout.
pub fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads until `want` bytes arrived, the peer closed, or `within` passed.
/// Returns the bytes and whether the peer closed.
pub fn read_some(s: &mut TcpStream, want: usize, within: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want && Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

/// Reads until the peer closes (or `within` passes: then panics).
pub fn read_to_close(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    let (got, closed) = read_some(s, usize::MAX, within);
    assert!(
        closed,
        "the server should have closed the connection; got {got:02x?}"
    );
    got
}

/// Writes, ignoring a reset (the server may already have closed).
pub fn send(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// A minimal HTTP/1.1 request (`Connection: close`); returns status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("http connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("X-Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
