//! The HTTP control API, modelled on ThingsBoard's REST API. JSON in and
//! out; errors are `{"status":N,"message":"..."}`. See the crate docs for
//! the route table.

use crate::hub::{now_ms, Hub};
use crate::platform::{
    CommandError, Outgoing, RpcCall, RpcReply, RpcStatus, Scope, Target, TsQuery,
};
use axum::body::Bytes;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, Query, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Shared = State<Arc<Hub>>;
type Params = Query<HashMap<String, String>>;

/// The router with every route of the control API.
pub fn router(hub: Arc<Hub>) -> Router {
    let device = "/api/plugins/telemetry/DEVICE/{name}";
    Router::new()
        .route("/api/health", get(health))
        .route("/api/devices", get(list_devices).post(create_device))
        .route(
            "/api/devices/{name}",
            get(device_summary).delete(delete_device),
        )
        .route("/api/devices/{name}/rename", post(rename_device))
        .route(
            "/api/devices/{name}/disconnect-notice",
            post(disconnect_notice),
        )
        .route(&format!("{device}/keys/timeseries"), get(timeseries_keys))
        .route(&format!("{device}/keys/attributes"), get(attribute_keys))
        .route(
            &format!("{device}/keys/attributes/{{scope}}"),
            get(attribute_keys),
        )
        .route(&format!("{device}/values/timeseries"), get(timeseries))
        .route(&format!("{device}/values/attributes"), get(attributes))
        .route(
            &format!("{device}/values/attributes/{{scope}}"),
            get(attributes),
        )
        .route(
            &format!("{device}/attributes/{{scope}}"),
            post(save_attributes),
        )
        .route(
            &format!("{device}/{{scope}}"),
            post(save_attributes).delete(delete_attributes),
        )
        .route("/api/rpc/twoway/{name}", post(rpc_twoway))
        .route("/api/rpc/oneway/{name}", post(rpc_oneway))
        .route("/api/gateway", get(device_summary))
        .route("/api/gateway/keys/timeseries", get(timeseries_keys))
        .route("/api/gateway/keys/attributes", get(attribute_keys))
        .route("/api/gateway/keys/attributes/{scope}", get(attribute_keys))
        .route("/api/gateway/values/timeseries", get(timeseries))
        .route("/api/gateway/values/attributes", get(attributes))
        .route("/api/gateway/values/attributes/{scope}", get(attributes))
        .route("/api/gateway/attributes/{scope}", post(save_attributes))
        .route(
            "/api/gateway/{scope}",
            post(save_attributes).delete(delete_attributes),
        )
        .route("/api/gateway/rpc/twoway", post(rpc_twoway))
        .route("/api/gateway/rpc/oneway", post(rpc_oneway))
        .route(
            "/api/gateway/client-rpc/{method}",
            put(set_client_rpc).delete(remove_client_rpc),
        )
        .route("/api/gateway/session/close", post(close_session))
        .route("/api/claims", get(claims))
        .route("/api/errors", get(errors).delete(clear_errors))
        .route("/api/rpc", get(rpc_history))
        .route("/api/rpc/{seq}", get(rpc_one))
        .fallback(not_found)
        .with_state(hub)
}

// ---- plumbing ----

/// A JSON error `{"status":N,"message":"..."}` (rendered by
/// [`CommandError`]'s `IntoResponse`).
fn error(status: u16, message: impl Into<String>) -> CommandError {
    CommandError {
        status,
        message: message.into(),
    }
}

impl IntoResponse for CommandError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"status": self.status, "message": self.message});
        (code, Json(body)).into_response()
    }
}

type Result<T> = std::result::Result<T, CommandError>;

/// Splits a command's result for [`Hub::apply`]: messages to publish only
/// on success.
fn split<T>(r: Result<(T, Vec<Outgoing>)>) -> (Result<T>, Vec<Outgoing>) {
    match r {
        Ok((value, out)) => (Ok(value), out),
        Err(e) => (Err(e), Vec::new()),
    }
}

/// Path parameters: `{name}` selects a sub-device, its absence the gateway.
struct Route {
    target: Target,
    scope: Option<String>,
    other: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Route {
    type Rejection = CommandError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let mut other: HashMap<String, String> =
            match RawPathParams::from_request_parts(parts, state).await {
                Ok(params) => params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                Err(RawPathParamsRejection::MissingPathParams(_)) => HashMap::new(),
                Err(e) => return Err(error(400, e.body_text())),
            };
        let target = match other.remove("name") {
            Some(name) => Target::Device(name),
            None => Target::Gateway,
        };
        let scope = other.remove("scope");
        Ok(Route {
            target,
            scope,
            other,
        })
    }
}

impl Route {
    fn scope(&self) -> Result<Option<Scope>> {
        match &self.scope {
            None => Ok(None),
            Some(s) => Scope::parse(s).map(Some).ok_or_else(|| {
                error(
                    400,
                    format!("Invalid scope {s:?}: use CLIENT_SCOPE, SHARED_SCOPE or SERVER_SCOPE"),
                )
            }),
        }
    }
}

/// `keys=a,b` as a list.
fn keys_param(q: &HashMap<String, String>) -> Option<Vec<String>> {
    q.get("keys").map(|k| {
        k.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn number_param<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| error(400, format!("Invalid value of parameter '{name}': {v:?}"))),
    }
}

fn json_body(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| error(400, format!("Invalid JSON body: {e}")))
}

async fn not_found() -> CommandError {
    error(404, "No such route")
}

// ---- handlers ----

async fn health() -> Response {
    Json(json!({"ok": true})).into_response()
}

async fn list_devices(State(hub): Shared) -> Response {
    Json(hub.read(|p| p.devices())).into_response()
}

async fn create_device(State(hub): Shared, body: Bytes) -> Result<Response> {
    let body = json_body(&body)?;
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return Err(error(400, "Device name should be specified!"));
    };
    let device_type = body.get("type").and_then(Value::as_str);
    let summary = hub.apply(|p, now| (p.create_device(name, device_type, now), vec![]))?;
    Ok(Json(summary).into_response())
}

async fn device_summary(State(hub): Shared, route: Route) -> Result<Response> {
    let summary = hub.read(|p| p.device_summary(&route.target))?;
    Ok(Json(summary).into_response())
}

async fn delete_device(State(hub): Shared, route: Route) -> Result<Response> {
    let Target::Device(name) = route.target else {
        return Err(error(400, "The gateway cannot be deleted"));
    };
    hub.apply(|p, now| split(p.delete_device(&name, now).map(|out| ((), out))))?;
    Ok(StatusCode::OK.into_response())
}

async fn rename_device(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    let Target::Device(old) = route.target else {
        return Err(error(400, "The gateway cannot be renamed"));
    };
    let body = json_body(&body)?;
    let Some(new) = body.get("name").and_then(Value::as_str) else {
        return Err(error(400, "Body must be {\"name\": \"new name\"}"));
    };
    let summary = hub.apply(|p, now| split(p.rename_device(&old, new, now)))?;
    Ok(Json(summary).into_response())
}

async fn disconnect_notice(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    let Target::Device(name) = route.target else {
        return Err(error(400, "Notices are about sub-devices"));
    };
    let body = if body.is_empty() {
        json!({})
    } else {
        json_body(&body)?
    };
    let reason = match body.get("reason") {
        None => 150,
        Some(r) => r
            .as_u64()
            .and_then(|r| u8::try_from(r).ok())
            .ok_or_else(|| error(400, "\"reason\" must be a reason code (0-255)"))?,
    };
    hub.apply(|p, _| ((), p.disconnect_notice(&name, reason)));
    Ok(StatusCode::OK.into_response())
}

async fn timeseries_keys(State(hub): Shared, route: Route) -> Result<Response> {
    let keys = hub.read(|p| p.timeseries_keys(&route.target))?;
    Ok(Json(keys).into_response())
}

async fn attribute_keys(State(hub): Shared, route: Route) -> Result<Response> {
    let scope = route.scope()?;
    let attrs = hub.read(|p| p.attributes(&route.target, scope, None))?;
    let keys: Vec<String> = attrs.into_iter().map(|a| a.key).collect();
    Ok(Json(keys).into_response())
}

async fn timeseries(State(hub): Shared, route: Route, Query(q): Params) -> Result<Response> {
    let query = TsQuery {
        keys: keys_param(&q),
        start_ts: number_param(&q, "startTs")?,
        end_ts: number_param(&q, "endTs")?,
        limit: number_param(&q, "limit")?,
        ascending: q
            .get("orderBy")
            .is_some_and(|o| o.eq_ignore_ascii_case("ASC")),
        strict: q
            .get("useStrictDataTypes")
            .is_some_and(|s| s.eq_ignore_ascii_case("true")),
    };
    let values = hub.read(|p| p.timeseries(&route.target, &query))?;
    Ok(Json(values).into_response())
}

async fn attributes(State(hub): Shared, route: Route, Query(q): Params) -> Result<Response> {
    let scope = route.scope()?;
    let keys = keys_param(&q);
    let attrs = hub.read(|p| p.attributes(&route.target, scope, keys.as_deref()))?;
    Ok(Json(attrs).into_response())
}

async fn save_attributes(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    if route.scope()? != Some(Scope::Shared) {
        return Err(error(
            400,
            "Only SHARED_SCOPE can be written (client attributes come from the device)",
        ));
    }
    let body = json_body(&body)?;
    hub.apply(|p, now| {
        split(
            p.save_shared(&route.target, &body, now)
                .map(|out| ((), out)),
        )
    })?;
    Ok(StatusCode::OK.into_response())
}

async fn delete_attributes(State(hub): Shared, route: Route, Query(q): Params) -> Result<Response> {
    let Some(scope) = route.scope()? else {
        return Err(error(400, "Scope required"));
    };
    let keys = keys_param(&q).unwrap_or_default();
    hub.apply(|p, _| {
        split(
            p.delete_attributes(&route.target, scope, &keys)
                .map(|out| ((), out)),
        )
    })?;
    Ok(StatusCode::OK.into_response())
}

async fn rpc_twoway(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    rpc(hub, route.target, body, false).await
}

async fn rpc_oneway(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    rpc(hub, route.target, body, true).await
}

/// Makes the request, then waits until it is answered (two-way), published
/// (one-way), or expired.
async fn rpc(hub: Arc<Hub>, target: Target, body: Bytes, oneway: bool) -> Result<Response> {
    let body = json_body(&body)?;
    let Some(method) = body.get("method").and_then(Value::as_str) else {
        return Err(error(400, "Method should be specified!"));
    };
    let timeout_ms = match body.get("timeout") {
        None | Some(Value::Null) => None,
        Some(t) => Some(
            t.as_u64()
                .ok_or_else(|| error(400, "\"timeout\" must be a number of milliseconds"))?,
        ),
    };
    let call = RpcCall {
        method: method.to_string(),
        params: body.get("params").cloned().unwrap_or(Value::Null),
        oneway,
        timeout_ms,
    };
    let mut changes = hub.changes();
    let seq = hub.apply(|p, now| split(p.send_rpc(&target, call, now)))?;
    loop {
        let Some((status, reply, expiration, rpc_id)) = hub.read(|p| {
            p.rpc(seq)
                .map(|r| (r.status, r.reply.clone(), r.expiration_time, r.rpc_id))
        }) else {
            return Err(error(500, "The request was dropped from the history"));
        };
        match status {
            RpcStatus::Successful => {
                return Ok(match reply {
                    Some(RpcReply::Json(v)) => Json(v).into_response(),
                    Some(RpcReply::NotJson(text)) => error(
                        406,
                        format!("The device replied with non-JSON text: {text:?}"),
                    )
                    .into_response(),
                    None => StatusCode::OK.into_response(),
                })
            }
            RpcStatus::Sent if oneway => return Ok(StatusCode::OK.into_response()),
            RpcStatus::Timeout => {
                return Err(error(
                    408,
                    format!("Timeout: the request (id {rpc_id}) was delivered but not answered"),
                ))
            }
            RpcStatus::Expired => {
                return Err(error(
                    409,
                    "Device was not connected before the request expired (no active connection)",
                ))
            }
            RpcStatus::Deleted => {
                return Err(error(
                    404,
                    "The device was deleted while the request was pending",
                ))
            }
            RpcStatus::Queued | RpcStatus::Sent => {}
        }
        let remaining = expiration.saturating_sub(now_ms());
        if remaining == 0 {
            hub.apply(|p, now| (p.expire(now), vec![]));
            continue;
        }
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(remaining)) => {}
        }
    }
}

async fn set_client_rpc(State(hub): Shared, route: Route, body: Bytes) -> Result<Response> {
    let method = route.other.get("method").cloned().unwrap_or_default();
    let reply = json_body(&body)?;
    hub.apply(|p, _| {
        p.set_client_rpc_reply(&method, Some(reply));
        ((), vec![])
    });
    Ok(StatusCode::OK.into_response())
}

async fn remove_client_rpc(State(hub): Shared, route: Route) -> Response {
    let method = route.other.get("method").cloned().unwrap_or_default();
    hub.apply(|p, _| {
        p.set_client_rpc_reply(&method, None);
        ((), vec![])
    });
    StatusCode::OK.into_response()
}

async fn close_session(State(hub): Shared) -> Response {
    let n = hub.apply(|p, now| (p.close_gateway_session(now, "requested over HTTP"), vec![]));
    Json(json!({"deregistered": n})).into_response()
}

async fn claims(State(hub): Shared) -> Response {
    Json(hub.read(|p| p.claims().to_vec())).into_response()
}

async fn errors(State(hub): Shared) -> Response {
    Json(hub.read(|p| p.errors())).into_response()
}

async fn clear_errors(State(hub): Shared) -> Response {
    hub.apply(|p, _| {
        p.clear_errors();
        ((), vec![])
    });
    StatusCode::OK.into_response()
}

async fn rpc_history(State(hub): Shared) -> Response {
    Json(hub.read(|p| p.rpc_history())).into_response()
}

async fn rpc_one(State(hub): Shared, route: Route) -> Result<Response> {
    let seq: u64 = route
        .other
        .get("seq")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| error(400, "RPC handle must be a number"))?;
    let view = hub.read(|p| p.rpc(seq).map(|r| r.view(&p.config().gateway_name)));
    view.map(|v| Json(v).into_response())
        .ok_or_else(|| error(404, format!("No RPC #{seq}")))
}
