//! The emulator's own routes, `/emulator/...` (no auth): what only an
//! emulator needs.

use super::AppState;
use crate::platform::session::SessionId;
use crate::platform::{CommandError, Limits};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

type Result<T> = std::result::Result<T, CommandError>;

fn bad(message: impl Into<String>) -> CommandError {
    CommandError::bad_request(message)
}

fn optional_json(body: &Bytes) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("Invalid JSON body: {e}")))
}

/// `GET /emulator/health` → `{"ok":true}`.
pub(crate) async fn health() -> Response {
    Json(json!({"ok": true})).into_response()
}

/// `GET /emulator/sessions`.
pub(crate) async fn sessions(State(st): State<AppState>) -> Response {
    Json(st.hub.read(|p| p.session_views())).into_response()
}

/// `POST /emulator/sessions/{session}/close` `{"reason":142}?`.
pub(crate) async fn close_session(
    State(st): State<AppState>,
    Path(session): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let session: u64 = session
        .parse()
        .map_err(|_| bad(format!("{session:?} is not a session number")))?;
    let reason = match optional_json(&body)?.get("reason") {
        None | Some(Value::Null) => None,
        Some(r) => Some(
            r.as_u64()
                .and_then(|r| u8::try_from(r).ok())
                .ok_or_else(|| bad("\"reason\" must be a reason code (0-255)"))?,
        ),
    };
    if st
        .hub
        .apply(|p, now| p.force_close(SessionId(session), reason, now))
    {
        Ok(Json(json!({"closed": session})).into_response())
    } else {
        Err(CommandError::a(404, 32, format!("No session {session}")))
    }
}

/// `GET /emulator/errors`.
pub(crate) async fn errors(State(st): State<AppState>) -> Response {
    Json(st.hub.read(|p| p.errors())).into_response()
}

/// `DELETE /emulator/errors`.
pub(crate) async fn clear_errors(State(st): State<AppState>) -> Response {
    st.hub.apply(|p, _| p.clear_errors());
    StatusCode::OK.into_response()
}

/// The limits as `/emulator/limits` shows them (`null` = unlimited).
fn limits_json(l: &Limits) -> Value {
    let size = |n: usize| {
        if n == usize::MAX {
            json!(null)
        } else {
            json!(n)
        }
    };
    json!({
        "maxPayloadSize": size(l.max_payload_size),
        "maxInflightMessages": size(l.max_inflight_messages),
        "gatewayRateLimits": l.gateway_rate_limits.to_json(),
        "deviceRateLimits": l.device_rate_limits.to_json(),
        "sessionInactivityMs": l.session_inactivity_ms,
    })
}

/// `GET /emulator/limits`.
pub(crate) async fn limits(State(st): State<AppState>) -> Response {
    Json(st.hub.read(|p| limits_json(p.limits()))).into_response()
}

/// `PUT /emulator/limits`: merges the fields given.
pub(crate) async fn set_limits(State(st): State<AppState>, body: Bytes) -> Result<Response> {
    let body = optional_json(&body)?;
    let limits = st.hub.apply(|p, now| {
        let merged = p.limits().merge(&body)?;
        p.set_limits(merged, now);
        Ok::<_, String>(limits_json(p.limits()))
    });
    limits.map(|l| Json(l).into_response()).map_err(bad)
}

/// `PUT /emulator/client-rpc/{method}`: the body answers the client-side RPC.
pub(crate) async fn set_client_rpc(
    State(st): State<AppState>,
    Path(method): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let reply: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("Invalid JSON body: {e}")))?;
    st.hub
        .apply(|p, _| p.set_client_rpc_reply(&method, Some(reply)));
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /emulator/client-rpc/{method}`.
pub(crate) async fn remove_client_rpc(
    State(st): State<AppState>,
    Path(method): Path<String>,
) -> Response {
    st.hub.apply(|p, _| p.set_client_rpc_reply(&method, None));
    StatusCode::OK.into_response()
}

/// `GET /emulator/claims`.
pub(crate) async fn claims(State(st): State<AppState>) -> Response {
    Json(st.hub.read(|p| p.claims().to_vec())).into_response()
}

/// `POST /emulator/devices/{deviceId}/disconnect-notice` `{"reason":150}`.
pub(crate) async fn disconnect_notice(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let id = Uuid::parse_str(&id).map_err(|_| bad(format!("Invalid UUID string: {id}")))?;
    let reason = match optional_json(&body)?.get("reason") {
        None => 150,
        Some(r) => r
            .as_u64()
            .and_then(|r| u8::try_from(r).ok())
            .ok_or_else(|| bad("\"reason\" must be a reason code (0-255)"))?,
    };
    st.hub.apply(|p, _| p.disconnect_notice(id, reason))?;
    Ok(StatusCode::OK.into_response())
}
