//! Wiring: the platform, the MQTT listeners (TCP and WebSocket), the REST
//! API, housekeeping and shutdown.

use crate::cli::Args;
use crate::hub::{log, Hub};
use crate::platform::{Config, Limits, Platform};
use crate::server::{self, Kind};
use crate::state;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often expired RPCs and idle sessions are looked for.
const TICK: Duration = Duration::from_millis(250);

/// The platform settings the command line asks for.
pub fn config(args: &Args) -> Config {
    Config {
        gateway_tokens: args.gateways.clone(),
        accept_any_token: args.accept_any_token,
        rpc_default_timeout_ms: args.rpc_timeout_ms,
        rpc_min_timeout_ms: args.rpc_min_timeout_ms,
        limits: Limits {
            max_payload_size: args.max_payload_size as usize,
            max_inflight_messages: args.max_inflight as usize,
            gateway_rate_limits: args.gateway_rate_limits.clone(),
            device_rate_limits: args.device_rate_limits.clone(),
            session_inactivity_ms: args.session_inactivity_ms,
        },
    }
}

/// Runs the emulator until Ctrl-C or SIGTERM. Once every listener is bound
/// it prints, on stdout and flushed, one ready line per listener, http last:
///
/// ```text
/// emulator: mqtt listening on 127.0.0.1:1883
/// emulator: ws listening on ws://127.0.0.1:9001
/// emulator: http listening on http://127.0.0.1:8081
/// ```
///
/// With `--state FILE` the tenant is read from FILE first (if it exists)
/// and written back at shutdown, once every session is closed.
pub async fn run(args: Args) -> Result<(), String> {
    let hub = Arc::new(Hub::new(tenant(&args)?));

    // Bind everything first, so a port in use fails before anything is
    // announced.
    let mqtt = match &args.mqtt {
        Some(addr) => Some(server::bind(addr).await?),
        None => None,
    };
    let ws = match &args.ws {
        Some(addr) => Some(server::bind(addr).await?),
        None => None,
    };
    let http = server::bind(&args.http).await?;
    let address = |l: &tokio::net::TcpListener| {
        l.local_addr()
            .map_err(|e| format!("cannot read a listener's address: {e}"))
    };
    let mut ready = Vec::new();
    if let Some(l) = &mqtt {
        ready.push(format!("emulator: mqtt listening on {}", address(l)?));
    }
    if let Some(l) = &ws {
        ready.push(format!("emulator: ws listening on ws://{}", address(l)?));
    }
    ready.push(format!(
        "emulator: http listening on http://{}",
        address(&http)?
    ));

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(l) = mqtt {
        tasks.push(tokio::spawn(server::accept_loop(
            hub.clone(),
            l,
            Kind::Tcp,
            stopped.clone(),
        )));
    }
    if let Some(l) = ws {
        tasks.push(tokio::spawn(server::accept_loop(
            hub.clone(),
            l,
            Kind::Ws,
            stopped.clone(),
        )));
    }
    let tick_task = tokio::spawn(tick(hub.clone()));
    let mut http_stopped = stopped.clone();
    let serve =
        axum::serve(http, crate::rest::router(hub.clone())).with_graceful_shutdown(async move {
            let _ = http_stopped.wait_for(|s| *s).await;
        });
    let http_task = tokio::spawn(async move {
        if let Err(e) = serve.await {
            log(&format!("HTTP server failed: {e}"));
        }
    });

    let signal = shutdown_signal()?;
    log(&format!(
        "gateways at start: {}; unknown tokens {}; limits: {:?}",
        args.gateways.len(),
        if args.accept_any_token {
            "create a gateway"
        } else {
            "are refused"
        },
        hub.read(|p| p.transport_limits()),
    ));
    {
        let mut out = std::io::stdout().lock();
        for line in &ready {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
    signal.await;

    log("shutting down");
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    shutdown(&hub).await;
    tick_task.abort();
    // In-flight RPC waits would hold graceful shutdown for their timeout.
    if tokio::time::timeout(Duration::from_secs(1), http_task)
        .await
        .is_err()
    {
        log("HTTP requests still open at shutdown were dropped");
    }
    if let Some(path) = &args.state {
        let started = std::time::Instant::now();
        let (snapshot, devices, points) = hub.read(|p| {
            (
                p.snapshot(crate::hub::now_ms()),
                p.devices().count(),
                data_points(p),
            )
        });
        let bytes = state::save(path, &snapshot)?;
        log(&format!(
            "state saved to {}: {devices} devices, {points} data points ({bytes} bytes, {} ms)",
            path.display(),
            started.elapsed().as_millis()
        ));
    }
    log(&format!(
        "stopped ({} MQTT connection(s) dropped)",
        server::open_connections()
    ));
    Ok(())
}

/// How long shutdown waits for the connections to write what they owe.
const DRAIN: Duration = Duration::from_secs(5);

/// The tenant to start with: read from `--state` if that file exists,
/// else a new one with the demo data. Also checks that the state file
/// can be written, so a wrong path fails now rather than at shutdown.
fn tenant(args: &Args) -> Result<Platform, String> {
    let now = crate::hub::now_ms();
    let Some(path) = &args.state else {
        return Ok(Platform::new(config(args), now));
    };
    let platform = match state::load(path)? {
        Some(snapshot) => {
            let saved = snapshot.saved_at;
            let p = Platform::restore(config(args), snapshot, now)
                .map_err(|e| format!("the state file {} cannot be used: {e}", path.display()))?;
            log(&format!(
                "state loaded from {}: {} devices, {} data points (saved {} s ago)",
                path.display(),
                p.devices().count(),
                data_points(&p),
                now.saturating_sub(saved) / 1000,
            ));
            p
        }
        None => {
            log(&format!(
                "no state file at {} yet: a new tenant, saved there at shutdown",
                path.display()
            ));
            Platform::new(config(args), now)
        }
    };
    state::check_writable(path)?;
    Ok(platform)
}

/// Telemetry data points stored, over every device and key.
fn data_points(p: &Platform) -> usize {
    p.devices()
        .map(|d| d.timeseries.values().map(Vec::len).sum::<usize>())
        .sum()
}

/// The MQTT side of a graceful shutdown, once the listeners accept no
/// more: every session is ended (MQTT 5: DISCONNECT 139, "server shutting
/// down"), none is opened from now on, and each connection gets up to
/// [`DRAIN`] to write what it owes and close. A publish the platform stored
/// has its PUBACK written before its connection's DISCONNECT, so a client
/// never has to send again what the saved tenant already holds.
async fn shutdown(hub: &Hub) {
    let mut changes = hub.changes();
    let sessions = hub.apply(|p, now| p.close_all_sessions(Some(REASON_SHUTTING_DOWN), now));
    let deadline = tokio::time::Instant::now() + DRAIN;
    while hub.attached() > 0 {
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            log(&format!(
                "{} connection(s) still open {} s after the shutdown began: dropped",
                hub.attached(),
                DRAIN.as_secs()
            ));
            break;
        }
    }
    log(&format!(
        "{sessions} MQTT session(s) closed for the shutdown"
    ));
}

/// MQTT 5 reason: server shutting down.
const REASON_SHUTTING_DOWN: u8 = 139;

async fn tick(hub: Arc<Hub>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        hub.apply(|p, now| p.tick(now));
    }
}

/// Ctrl-C, or SIGTERM on Unix. The handlers are installed when this is
/// called (not when the future is first polled), so a signal that arrives
/// right after the ready lines still ends the emulator cleanly.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
