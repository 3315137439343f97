//! Wiring: the platform, the MQTT connection, the HTTP server, housekeeping
//! and shutdown.

use crate::cli::Args;
use crate::hub::{log, Hub};
use crate::platform::{Config, Limits, Platform};
use crate::rest;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often expired RPCs and idle sessions are looked for.
const TICK: Duration = Duration::from_millis(250);

/// Runs the emulator until Ctrl-C or SIGTERM. Prints
/// `emulator: http listening on http://HOST:PORT` on stderr once the HTTP
/// server is bound and the broker has granted every subscription.
pub async fn run(args: Args) -> Result<(), String> {
    let config = Config {
        rpc_default_timeout_ms: args.rpc_timeout_ms,
        rpc_min_timeout_ms: args.rpc_min_timeout_ms,
        limits: Limits {
            session_inactivity_ms: args.session_inactivity_ms,
            ..Limits::default()
        },
        ..Config::default()
    };
    let hub = Arc::new(Hub::new(Platform::new(config, crate::hub::now_ms())));

    let listener = tokio::net::TcpListener::bind((args.http_host.as_str(), args.http_port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e}",
                args.http_host, args.http_port
            )
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the HTTP address: {e}"))?;

    let (stop, stopped) = watch::channel(false);
    // The MQTT listeners (TCP and WebSocket) are started here (crate::server).
    let tick_task = tokio::spawn(tick(hub.clone()));
    let mut http_stopped = stopped.clone();
    let server =
        axum::serve(listener, rest::router(hub.clone())).with_graceful_shutdown(async move {
            let _ = http_stopped.wait_for(|s| *s).await;
        });
    let http_task = tokio::spawn(async move {
        if let Err(e) = server.await {
            log(&format!("HTTP server failed: {e}"));
        }
    });

    log(&format!(
        "emulating gateway {:?}; broker {}:{}; HTTP on {address}",
        args.gateway_name, args.broker_host, args.broker_port
    ));
    let signal = shutdown_signal();
    eprintln!("emulator: http listening on http://{address}");
    signal.await;

    log("shutting down");
    let _ = stop.send(true);
    tick_task.abort();
    // In-flight RPC waits would hold graceful shutdown for their timeout.
    if tokio::time::timeout(Duration::from_secs(1), http_task)
        .await
        .is_err()
    {
        log("HTTP requests still open at shutdown were dropped");
    }
    log("stopped");
    Ok(())
}

async fn tick(hub: Arc<Hub>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        hub.apply(|p, now| {
            p.tick(now);
        });
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
