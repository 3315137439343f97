//! Command-line arguments (hand-rolled: a handful of `--flag value` options).

/// Usage text for `--help` and errors.
pub const USAGE: &str = "\
usage: platform-emulator [options]

Plays ThingsBoard's side of the gateway MQTT contract through a broker.

options (also accepted as --name=value):
  --broker HOST:PORT             broker to connect to           [127.0.0.1:1883]
  --http HOST:PORT               control API address (port 0: any free port)
                                                                [127.0.0.1:8080]
  --rpc-timeout-ms N             RPC timeout when a call gives none    [10000]
  --rpc-min-timeout-ms N         smallest RPC timeout honoured          [5000]
  --client-id ID                 MQTT client id                  [tb-emulator]
  --gateway-name NAME            name of the gateway device          [gateway]
  --session-inactivity-ms N      idle sub-device sessions expire after N ms;
                                 0 disables                           [600000]
  --state-topic TOPIC|none       retained \"1\"/\"0\" connection state, like a
                                 bridge's notification_topic  [tb-bridge/state]
  -h, --help                     this text
  -V, --version                  the version";

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Broker host.
    pub broker_host: String,
    /// Broker port.
    pub broker_port: u16,
    /// HTTP listen host.
    pub http_host: String,
    /// HTTP listen port (0: any free port).
    pub http_port: u16,
    /// Default RPC timeout, ms.
    pub rpc_timeout_ms: u64,
    /// Minimum RPC timeout, ms.
    pub rpc_min_timeout_ms: u64,
    /// MQTT client id.
    pub client_id: String,
    /// Name of the gateway device.
    pub gateway_name: String,
    /// Sub-device session inactivity timeout, ms (0: never).
    pub session_inactivity_ms: u64,
    /// Connection-state topic, if any.
    pub state_topic: Option<String>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            broker_host: "127.0.0.1".into(),
            broker_port: 1883,
            http_host: "127.0.0.1".into(),
            http_port: 8080,
            rpc_timeout_ms: 10_000,
            rpc_min_timeout_ms: 5_000,
            client_id: "tb-emulator".into(),
            gateway_name: "gateway".into(),
            session_inactivity_ms: 600_000,
            state_topic: Some("tb-bridge/state".into()),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run with these options.
    Run(Args),
    /// Print [`USAGE`].
    Help,
    /// Print the version.
    Version,
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--broker" => (parsed.broker_host, parsed.broker_port) = host_port(&value()?)?,
            "--http" => (parsed.http_host, parsed.http_port) = host_port(&value()?)?,
            "--rpc-timeout-ms" => parsed.rpc_timeout_ms = number(&flag, &value()?)?,
            "--rpc-min-timeout-ms" => parsed.rpc_min_timeout_ms = number(&flag, &value()?)?,
            "--session-inactivity-ms" => parsed.session_inactivity_ms = number(&flag, &value()?)?,
            "--client-id" => parsed.client_id = non_empty(&flag, value()?)?,
            "--gateway-name" => parsed.gateway_name = non_empty(&flag, value()?)?,
            "--state-topic" => {
                let topic = value()?;
                parsed.state_topic = match topic.as_str() {
                    "" | "none" => None,
                    _ => Some(topic),
                };
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Command::Run(parsed))
}

/// `HOST:PORT`; an IPv6 host goes in brackets (`[::1]:1883`).
fn host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{s:?} has no host"));
    }
    let port = port
        .parse()
        .map_err(|_| format!("{s:?}: {port:?} is not a port number"))?;
    Ok((host.to_string(), port))
}

fn number(flag: &str, s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("{flag}: {s:?} is not a whole number"))
}

fn non_empty(flag: &str, s: String) -> Result<String, String> {
    if s.is_empty() {
        Err(format!("{flag} cannot be empty"))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Command::Run(Args::default())));
    }

    #[test]
    fn every_option() {
        let Ok(Command::Run(a)) = run(&[
            "--broker",
            "localhost:1884",
            "--http=0.0.0.0:0",
            "--rpc-timeout-ms",
            "2000",
            "--rpc-min-timeout-ms=0",
            "--client-id",
            "x",
            "--gateway-name",
            "GW 1",
            "--session-inactivity-ms",
            "0",
            "--state-topic",
            "none",
        ]) else {
            panic!("should parse");
        };
        assert_eq!((a.broker_host.as_str(), a.broker_port), ("localhost", 1884));
        assert_eq!((a.http_host.as_str(), a.http_port), ("0.0.0.0", 0));
        assert_eq!((a.rpc_timeout_ms, a.rpc_min_timeout_ms), (2000, 0));
        assert_eq!(
            (a.client_id.as_str(), a.gateway_name.as_str()),
            ("x", "GW 1")
        );
        assert_eq!(a.session_inactivity_ms, 0);
        assert_eq!(a.state_topic, None);
        let Ok(Command::Run(a)) = run(&["--broker", "[::1]:1883"]) else {
            panic!()
        };
        assert_eq!(a.broker_host, "::1");
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
        assert!(run(&["--broker"]).is_err());
        assert!(run(&["--broker", "nohost"]).is_err());
        assert!(run(&["--http", "h:99999"]).is_err());
        assert!(run(&["--rpc-timeout-ms", "soon"]).is_err());
        assert!(run(&["--what"]).is_err());
    }
}
