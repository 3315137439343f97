//! Wiring: the platform, the MQTT listeners (TCP and WebSocket), the REST
//! API, housekeeping and shutdown.

use crate::cli::Args;
use crate::hub::{log, Hub};
use crate::platform::{Config, Limits, Platform};
use crate::server::{self, Kind};
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
pub async fn run(args: Args) -> Result<(), String> {
    let hub = Arc::new(Hub::new(Platform::new(config(&args), crate::hub::now_ms())));

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
    tick_task.abort();
    for task in tasks {
        let _ = task.await;
    }
    // In-flight RPC waits would hold graceful shutdown for their timeout.
    if tokio::time::timeout(Duration::from_secs(1), http_task)
        .await
        .is_err()
    {
        log("HTTP requests still open at shutdown were dropped");
    }
    log(&format!(
        "stopped ({} MQTT connection(s) dropped)",
        server::open_connections()
    ));
    Ok(())
}

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
