//! The command line (clap, derive). `platform-emulator --help` prints it.

use crate::platform::RateLimitSpecs as RateLimits;
use clap::Parser;
use std::path::PathBuf;

/// ThingsBoard for browser-gateway's development and tests: an MQTT server
/// (TCP and WebSocket, MQTT 3.1, 3.1.1 and 5) with ThingsBoard's gateway
/// rules, and ThingsBoard's REST API.
///
/// Once every listener is bound it prints one line per listener on stdout
/// ("emulator: mqtt listening on HOST:PORT", "emulator: ws listening on
/// ws://HOST:PORT", then "emulator: http listening on http://HOST:PORT").
/// Logs go to stderr. Exits 0 on SIGINT or SIGTERM (after saving the
/// tenant with --state).
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "platform-emulator", version, about, long_about)]
pub struct Args {
    /// MQTT over TCP: HOST:PORT, port 0 for a free port, or "off".
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:1883", value_parser = listen_or_off)]
    pub mqtt: Listen,

    /// MQTT over WebSocket (subprotocols mqtt, mqttv3.1 and binary; any
    /// path): HOST:PORT, port 0 for a free port, or "off".
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001", value_parser = listen_or_off)]
    pub ws: Listen,

    /// The REST API (ThingsBoard's /api/... and the emulator's own
    /// /emulator/...): HOST:PORT, port 0 for a free port.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081", value_parser = listen)]
    pub http: String,

    /// A gateway device named "Gateway TOKEN" with access token TOKEN,
    /// created at start. Repeatable.
    #[arg(long = "gateway", value_name = "TOKEN", value_parser = token)]
    pub gateways: Vec<String>,

    /// An unknown access token at CONNECT creates a gateway device
    /// "Gateway TOKEN" for it (instead of CONNACK "bad user name or
    /// password").
    #[arg(long)]
    pub accept_any_token: bool,

    /// Largest MQTT packet accepted, bytes (ThingsBoard's
    /// NETTY_MAX_PAYLOAD_SIZE); a bigger one closes the connection.
    #[arg(long, value_name = "N", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..=268_435_455))]
    pub max_payload_size: u32,

    /// Most QoS 1 publishes of a connection awaiting their PUBACK; more
    /// closes the connection.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_inflight: u32,

    /// Rate limits on all sub-device traffic of one gateway, summed, as
    /// KIND=COUNT:SECONDS[,COUNT:SECONDS...] joined by ';', KIND being
    /// messages, telemetryMessages or telemetryDataPoints. Example:
    /// 'messages=10:1,300:60;telemetryMessages=10:1;telemetryDataPoints=200:1'.
    /// Kinds left out are unlimited (the default).
    #[arg(long, value_name = "SPEC", default_value = "", hide_default_value = true, value_parser = rate_limits)]
    pub gateway_rate_limits: RateLimits,

    /// Rate limits on a device's own traffic (the gateway's
    /// v1/devices/me/*, or a plain device); same SPEC as
    /// --gateway-rate-limits.
    #[arg(long, value_name = "SPEC", default_value = "", hide_default_value = true, value_parser = rate_limits)]
    pub device_rate_limits: RateLimits,

    /// A sub-device session with no traffic for this long expires, ms;
    /// 0 = never.
    #[arg(long, value_name = "N", default_value_t = 600_000)]
    pub session_inactivity_ms: u64,

    /// Server-side RPC timeout when a call gives none, ms.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub rpc_timeout_ms: u64,

    /// Smallest server-side RPC timeout honoured, ms.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    pub rpc_min_timeout_ms: u64,

    /// Keep the tenant in FILE, as ThingsBoard keeps it in its database:
    /// devices with their ids, credentials, gateway flags, telemetry and
    /// attributes, RPCs, claims and the error journal. Read at start if it
    /// exists (an unreadable or invalid file stops the start with a
    /// message); written at SIGINT/SIGTERM, after every session is closed,
    /// through a temporary file renamed over it. Not kept: sessions and
    /// registrations, and what the flags set (limits, timeouts).
    #[arg(long, value_name = "FILE", value_parser = state_path)]
    pub state: Option<PathBuf>,
}

fn state_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("the state file needs a path".into())
    } else if s.ends_with('/') {
        Err(format!("{s:?} names a directory, not a file"))
    } else {
        Ok(PathBuf::from(s))
    }
}

/// A listener address, or `None` for "off".
pub type Listen = Option<String>;

fn listen(s: &str) -> Result<String, String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .is_empty()
    {
        return Err(format!("{s:?} has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{port:?} is not a port number (0 to 65535)"))?;
    Ok(s.to_string())
}

fn listen_or_off(s: &str) -> Result<Listen, String> {
    if s == "off" {
        Ok(None)
    } else {
        listen(s).map(Some)
    }
}

fn token(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("a gateway token cannot be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// Parses ThingsBoard's rate-limit string `COUNT:SECONDS[,COUNT:SECONDS...]`
/// into its canonical form (no spaces).
pub fn rate_limit(s: &str) -> Result<String, String> {
    let mut windows = Vec::new();
    for window in s.split(',') {
        let window = window.trim();
        let (count, secs) = window
            .split_once(':')
            .ok_or_else(|| format!("{window:?} is not COUNT:SECONDS"))?;
        let count: u64 = count
            .trim()
            .parse()
            .map_err(|_| format!("in {window:?}: {count:?} is not a positive whole number"))?;
        let secs: u64 = secs.trim().parse().map_err(|_| {
            format!("in {window:?}: {secs:?} is not a positive whole number of seconds")
        })?;
        if count == 0 || secs == 0 {
            return Err(format!(
                "in {window:?}: count and seconds must be at least 1"
            ));
        }
        windows.push(format!("{count}:{secs}"));
    }
    Ok(windows.join(","))
}

/// Parses `KIND=LIMITS;KIND=LIMITS...` (see `--gateway-rate-limits`).
pub fn rate_limits(s: &str) -> Result<RateLimits, String> {
    let mut limits = RateLimits::default();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not KIND=COUNT:SECONDS[,...]"))?;
        let slot = match kind.trim() {
            "messages" => &mut limits.messages,
            "telemetryMessages" => &mut limits.telemetry_messages,
            "telemetryDataPoints" => &mut limits.telemetry_data_points,
            other => {
                return Err(format!(
                    "unknown kind {other:?} (messages, telemetryMessages or telemetryDataPoints)"
                ))
            }
        };
        if slot.is_some() {
            return Err(format!("{:?} is given twice", kind.trim()));
        }
        *slot = Some(rate_limit(value)?);
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("platform-emulator").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.mqtt.as_deref(), Some("127.0.0.1:1883"));
        assert_eq!(a.ws.as_deref(), Some("127.0.0.1:9001"));
        assert_eq!(a.http, "127.0.0.1:8081");
        assert!(a.gateways.is_empty() && !a.accept_any_token);
        assert_eq!((a.max_payload_size, a.max_inflight), (65_536, 100));
        assert_eq!(a.gateway_rate_limits, RateLimits::default());
        assert_eq!(a.device_rate_limits, RateLimits::default());
        assert_eq!(a.state, None);
        assert_eq!(
            (
                a.session_inactivity_ms,
                a.rpc_timeout_ms,
                a.rpc_min_timeout_ms
            ),
            (600_000, 10_000, 5_000)
        );
    }

    #[test]
    fn every_flag() {
        let a = parse(&[
            "--mqtt",
            "0.0.0.0:0",
            "--ws=off",
            "--http",
            "[::1]:0",
            "--gateway",
            "GW1",
            "--gateway",
            "GW2",
            "--accept-any-token",
            "--max-payload-size",
            "1024",
            "--max-inflight",
            "5",
            "--gateway-rate-limits",
            "messages=10:1, 300:60;telemetryMessages=10:1;telemetryDataPoints=200:1",
            "--device-rate-limits",
            "telemetryDataPoints=5:1",
            "--session-inactivity-ms",
            "0",
            "--rpc-timeout-ms",
            "2000",
            "--rpc-min-timeout-ms",
            "0",
            "--state",
            "/var/lib/emulator/tenant.json",
        ])
        .unwrap();
        assert_eq!(a.mqtt.as_deref(), Some("0.0.0.0:0"));
        assert_eq!(a.ws, None);
        assert_eq!(a.http, "[::1]:0");
        assert_eq!(a.gateways, ["GW1", "GW2"]);
        assert!(a.accept_any_token);
        assert_eq!((a.max_payload_size, a.max_inflight), (1024, 5));
        assert_eq!(
            a.gateway_rate_limits,
            RateLimits {
                messages: Some("10:1,300:60".into()),
                telemetry_messages: Some("10:1".into()),
                telemetry_data_points: Some("200:1".into()),
            }
        );
        assert_eq!(
            a.device_rate_limits.telemetry_data_points.as_deref(),
            Some("5:1")
        );
        assert_eq!(a.session_inactivity_ms, 0);
        assert_eq!(
            a.state.as_deref(),
            Some(std::path::Path::new("/var/lib/emulator/tenant.json"))
        );
    }

    #[test]
    fn errors() {
        for bad in [
            &["--mqtt", "nohost"][..],
            &["--mqtt", ":1883"],
            &["--ws", "h:99999"],
            &["--http", "off"],
            &["--gateway", ""],
            &["--max-payload-size", "0"],
            &["--max-inflight", "many"],
            &["--gateway-rate-limits", "messages=10"],
            &["--gateway-rate-limits", "messages=0:1"],
            &["--gateway-rate-limits", "bytes=10:1"],
            &["--gateway-rate-limits", "messages=1:1;messages=2:1"],
            &["--device-rate-limits", "messages"],
            &["--state", ""],
            &["--state", "/tmp/"],
            &["--state"],
            &["--what"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        let e = rate_limits("telemetry=1:1").unwrap_err();
        assert!(e.contains("telemetryMessages"), "{e}");
        assert_eq!(rate_limit("20:1,600:60"), Ok("20:1,600:60".into()));
    }
}
