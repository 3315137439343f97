//! The `/api/...` handlers: devices and credentials, telemetry and
//! attributes, RPC (thingsboard-rest.md §2-§5).

use super::auth::Claims;
use super::AppState;
use crate::hub::now_ms;
use crate::platform::{CommandError, RpcCall, RpcReply, RpcStatus, Scope, TsQuery};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

type Params = Query<HashMap<String, String>>;
type PathMap = Path<HashMap<String, String>>;
type Result<T> = std::result::Result<T, CommandError>;

// ---- helpers ----

fn forbidden_a() -> CommandError {
    CommandError::a(
        403,
        20,
        "You don't have permission to perform this operation!",
    )
}

/// Device routes are the tenant administrator's (shape A 403 otherwise).
fn tenant_admin(claims: &Claims) -> Result<()> {
    if claims.is_tenant_admin() {
        Ok(())
    } else {
        Err(forbidden_a())
    }
}

fn uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| CommandError::bad_request(format!("Invalid UUID string: {text}")))
}

fn param<'a>(p: &'a HashMap<String, String>, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

fn number<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Result<Option<T>> {
    match q.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            CommandError::bad_request(format!(
                "Failed to convert value of parameter '{name}': {v}"
            ))
        }),
    }
}

fn required<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Result<T> {
    number(q, name)?.ok_or_else(|| {
        CommandError::bad_request(format!(
            "Required request parameter '{name}' is not present"
        ))
    })
}

fn keys_param(q: &HashMap<String, String>) -> Option<Vec<String>> {
    q.get("keys").map(|k| {
        k.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn json_body(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body).map_err(|_| CommandError::bad_request("Invalid request body"))
}

/// `{"data":[..],"totalPages","totalElements","hasNext"}` of one page.
fn page_data(items: Vec<Value>, q: &HashMap<String, String>) -> Result<Value> {
    let page_size: usize = required(q, "pageSize")?;
    let page: usize = required(q, "page")?;
    if page_size == 0 {
        return Err(CommandError::bad_request(
            "Page size must be greater than 0",
        ));
    }
    let total = items.len();
    let data: Vec<Value> = items
        .into_iter()
        .skip(page * page_size)
        .take(page_size)
        .collect();
    let total_pages = total.div_ceil(page_size);
    Ok(json!({
        "data": data,
        "totalPages": total_pages,
        "totalElements": total,
        "hasNext": (page + 1) < total_pages,
    }))
}

/// The device of a telemetry route `{entityType}/{entityId}`: only `DEVICE`.
fn telemetry_entity(p: &HashMap<String, String>, claims: &Claims) -> Result<Uuid> {
    let entity_type = param(p, "a");
    if entity_type != "DEVICE" {
        return Err(CommandError::bad_request(format!(
            "Unsupported entity type: {entity_type}"
        )));
    }
    let id = uuid(param(p, "b"))?;
    if !claims.is_tenant_admin() {
        return Err(CommandError::b(
            403,
            "You don't have permission to perform this operation!",
        ));
    }
    Ok(id)
}

fn scope(text: &str) -> Result<Scope> {
    Scope::parse(text).ok_or_else(|| CommandError::bad_request(format!("Invalid scope: {text}")))
}

// ---- devices ----

/// `GET /api/tenant/devices?pageSize&page[&type&textSearch&sortProperty&sortOrder]`,
/// or `?deviceName=` for one device.
pub(crate) async fn tenant_devices(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Query(q): Params,
) -> Result<Response> {
    tenant_admin(&claims)?;
    if let Some(name) = q.get("deviceName") {
        return device_by_name(&st, name);
    }
    let search = q.get("textSearch").map(|s| s.to_lowercase());
    let wanted_type = q.get("type").filter(|t| !t.is_empty()).cloned();
    let mut devices: Vec<Value> = st.hub.read(|p| {
        p.devices()
            .filter(|d| wanted_type.as_ref().is_none_or(|t| *t == d.device_type))
            .filter(|d| {
                search.as_ref().is_none_or(|s| {
                    d.name.to_lowercase().contains(s)
                        || d.label
                            .as_ref()
                            .is_some_and(|l| l.to_lowercase().contains(s))
                })
            })
            .map(|d| p.device_json(d))
            .collect()
    });
    let property = q.get("sortProperty").map(String::as_str).unwrap_or("name");
    devices.sort_by(|a, b| {
        let (x, y) = (&a[property], &b[property]);
        match (x.as_u64(), y.as_u64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.to_string().cmp(&y.to_string()),
        }
    });
    if q.get("sortOrder")
        .is_some_and(|o| o.eq_ignore_ascii_case("DESC"))
    {
        devices.reverse();
    }
    Ok(Json(page_data(devices, &q)?).into_response())
}

/// `GET /api/tenant/device?deviceName=`.
pub(crate) async fn tenant_device(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Query(q): Params,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let name = q.get("deviceName").ok_or_else(|| {
        CommandError::bad_request("Required request parameter 'deviceName' is not present")
    })?;
    device_by_name(&st, name)
}

fn device_by_name(st: &AppState, name: &str) -> Result<Response> {
    st.hub
        .read(|p| p.device_by_name(name).map(|d| p.device_json(d)))
        .map(|d| Json(d).into_response())
        .ok_or_else(|| CommandError::a(404, 32, "Requested item wasn't found!"))
}

/// `GET /api/device/{id}`.
pub(crate) async fn get_device(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    let device = st
        .hub
        .read(|p| p.require_device(id).map(|d| p.device_json(d)))?;
    Ok(Json(device).into_response())
}

/// `POST /api/device[?accessToken=]`: create or replace.
pub(crate) async fn save_device(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Query(q): Params,
    body: Bytes,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let body = json_body(&body)?;
    let token = q.get("accessToken").cloned();
    let saved = st
        .hub
        .apply(|p, now| p.save_device(&body, token.as_deref(), now))?;
    Ok(Json(saved).into_response())
}

/// `DELETE /api/device/{id}`.
pub(crate) async fn delete_device(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    st.hub.apply(|p, now| p.delete_device(id, now))?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/device/{id}/credentials`.
pub(crate) async fn get_credentials(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    let c = st
        .hub
        .read(|p| p.require_device(id).map(|d| p.credentials_json(d)))?;
    Ok(Json(c).into_response())
}

/// `POST /api/device/credentials`.
pub(crate) async fn save_credentials(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    body: Bytes,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let body = json_body(&body)?;
    let c = st.hub.apply(|p, now| p.save_credentials(&body, now))?;
    Ok(Json(c).into_response())
}

// ---- telemetry ----

/// `GET {E}/keys/timeseries`.
pub(crate) async fn timeseries_keys(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let keys = st.hub.read(|pl| {
        pl.device(id)
            .map(|d| d.timeseries.keys().cloned().collect::<Vec<_>>())
    });
    keys.map(|k| Json(k).into_response())
        .ok_or_else(|| CommandError::b(404, "Device with requested id wasn't found!"))
}

/// `GET {E}/values/timeseries`: latest, or `startTs`..`endTs` with
/// `limit`, `agg`, `interval`, `orderBy`, `useStrictDataTypes`.
pub(crate) async fn timeseries(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    Query(q): Params,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let query = TsQuery {
        keys: keys_param(&q),
        start_ts: number(&q, "startTs")?,
        end_ts: number(&q, "endTs")?,
        limit: number(&q, "limit")?,
        ascending: q
            .get("orderBy")
            .is_some_and(|o| o.eq_ignore_ascii_case("ASC")),
        strict: q
            .get("useStrictDataTypes")
            .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        agg: q.get("agg").map(|a| a.to_uppercase()),
        interval: number(&q, "interval")?,
    };
    if let Some(agg) = &query.agg {
        if !["NONE", "MIN", "MAX", "AVG", "SUM", "COUNT"].contains(&agg.as_str()) {
            return Err(CommandError::bad_request(format!(
                "Invalid aggregation: {agg}"
            )));
        }
    }
    let values = st.hub.read(|pl| pl.timeseries(id, &query, now_ms()))?;
    Ok(Json(values).into_response())
}

/// `GET {E}/keys/attributes[/{scope}]`.
pub(crate) async fn attribute_keys(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let scope = p.get("c").map(|s| scope(s)).transpose()?;
    let attrs = st.hub.read(|pl| pl.attributes(id, scope, None))?;
    let keys: Vec<String> = attrs.into_iter().map(|a| a.key).collect();
    Ok(Json(keys).into_response())
}

/// `GET {E}/values/attributes[/{scope}]?keys=`.
pub(crate) async fn attributes(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    Query(q): Params,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let scope = p.get("c").map(|s| scope(s)).transpose()?;
    let keys = keys_param(&q);
    let attrs = st
        .hub
        .read(|pl| pl.attributes(id, scope, keys.as_deref()))?;
    Ok(Json(attrs).into_response())
}

/// `POST {E}/{scope}` and `POST {E}/attributes/{scope}`.
pub(crate) async fn save_attributes(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    body: Bytes,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let scope = scope(param(&p, "c"))?;
    save_attributes_of(&st, id, scope, &body)
}

fn save_attributes_of(st: &AppState, id: Uuid, scope: Scope, body: &Bytes) -> Result<Response> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| CommandError::b(400, "Invalid JSON"))?;
    st.hub
        .apply(|p, now| p.save_attributes(id, scope, &body, now))?;
    Ok(StatusCode::OK.into_response())
}

/// Legacy `POST /api/plugins/telemetry/{deviceId}/{scope}`.
pub(crate) async fn save_attributes_legacy(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    body: Bytes,
) -> Result<Response> {
    let id = uuid(param(&p, "a"))?;
    let scope = scope(param(&p, "b"))?;
    if !claims.is_tenant_admin() {
        return Err(CommandError::b(
            403,
            "You don't have permission to perform this operation!",
        ));
    }
    save_attributes_of(&st, id, scope, &body)
}

/// `DELETE {E}/{scope}?keys=`.
pub(crate) async fn delete_attributes(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    Query(q): Params,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let scope = scope(param(&p, "c"))?;
    delete_attributes_of(&st, id, scope, &q)
}

fn delete_attributes_of(
    st: &AppState,
    id: Uuid,
    scope: Scope,
    q: &HashMap<String, String>,
) -> Result<Response> {
    let keys = keys_param(q).ok_or_else(|| {
        CommandError::bad_request("Required request parameter 'keys' is not present")
    })?;
    st.hub.apply(|p, _| p.delete_attributes(id, scope, &keys))?;
    Ok(StatusCode::OK.into_response())
}

/// Legacy `DELETE /api/plugins/telemetry/{deviceId}/{scope}?keys=`.
pub(crate) async fn delete_attributes_legacy(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    Query(q): Params,
) -> Result<Response> {
    let id = uuid(param(&p, "a"))?;
    let scope = scope(param(&p, "b"))?;
    if !claims.is_tenant_admin() {
        return Err(CommandError::b(
            403,
            "You don't have permission to perform this operation!",
        ));
    }
    delete_attributes_of(&st, id, scope, &q)
}

/// `POST {E}/timeseries/{scope}[/{ttl}]`.
pub(crate) async fn save_timeseries(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    body: Bytes,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|_| CommandError::b(400, "Invalid JSON"))?;
    st.hub.apply(|pl, now| pl.save_timeseries(id, &body, now))?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE {E}/timeseries/delete?keys=[&deleteAllDataForKeys&startTs&endTs]`.
pub(crate) async fn delete_timeseries(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(p): PathMap,
    Query(q): Params,
) -> Result<Response> {
    let id = telemetry_entity(&p, &claims)?;
    let keys = keys_param(&q).ok_or_else(|| {
        CommandError::bad_request("Required request parameter 'keys' is not present")
    })?;
    let all = q
        .get("deleteAllDataForKeys")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let start = number(&q, "startTs")?.unwrap_or(0);
    let end = number(&q, "endTs")?.unwrap_or(i64::MAX);
    if !all && (!q.contains_key("startTs") || !q.contains_key("endTs")) {
        return Err(CommandError::b(
            400,
            "When deleteAllDataForKeys is false, start and end timestamp values shouldn't be empty",
        ));
    }
    st.hub
        .apply(|pl, _| pl.delete_timeseries(id, &keys, all, start, end))?;
    Ok(StatusCode::OK.into_response())
}

// ---- RPC ----

/// `POST /api/rpc/{oneway|twoway}/{deviceId}`: 504 on timeout or no connection.
pub(crate) async fn rpc_v2(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    rpc(st, claims, kind, id, body, true).await
}

/// `POST /api/plugins/rpc/{oneway|twoway}/{deviceId}`: 408 on timeout, 409
/// with no connection.
pub(crate) async fn rpc_v1(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    rpc(st, claims, kind, id, body, false).await
}

async fn rpc(
    st: AppState,
    claims: Claims,
    kind: String,
    id: String,
    body: Bytes,
    v2: bool,
) -> Result<Response> {
    let oneway = match kind.as_str() {
        "oneway" => true,
        "twoway" => false,
        _ => return Err(CommandError::a(404, 32, "Not found")),
    };
    let id = uuid(&id)?;
    if !claims.is_tenant_admin() {
        return Err(CommandError::b(
            403,
            "You don't have permission to perform this operation!",
        ));
    }
    let body = json_body(&body)?;
    let Some(method) = body.get("method").and_then(Value::as_str) else {
        return Err(CommandError::bad_request("Method should be specified!"));
    };
    let call = RpcCall {
        method: method.to_string(),
        params: body.get("params").cloned().unwrap_or(Value::Null),
        oneway,
        timeout_ms: body.get("timeout").and_then(Value::as_u64),
        expiration_time: body.get("expirationTime").and_then(Value::as_u64),
        persistent: body
            .get("persistent")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        retries: body.get("retries").cloned(),
        additional_info: body.get("additionalInfo").cloned(),
    };
    let persistent = call.persistent;
    let mut changes = st.hub.changes();
    let rpc_id = st.hub.apply(|p, now| p.send_rpc(id, call, now))?;
    if persistent {
        return Ok(Json(json!({"rpcId": rpc_id})).into_response());
    }
    loop {
        let Some((status, reply, expiration)) = st.hub.read(|p| {
            p.rpc(rpc_id)
                .map(|r| (r.status, r.reply.clone(), r.expiration_time))
        }) else {
            return Err(CommandError::b(500, ""));
        };
        match status {
            RpcStatus::Successful => {
                return Ok(match reply {
                    Some(RpcReply::Json(v)) => Json(v).into_response(),
                    Some(RpcReply::NotJson(text)) if text.is_empty() => {
                        StatusCode::OK.into_response()
                    }
                    Some(RpcReply::NotJson(_)) => StatusCode::NOT_ACCEPTABLE.into_response(),
                    None => StatusCode::OK.into_response(),
                })
            }
            RpcStatus::Timeout => {
                return Ok(if v2 {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::REQUEST_TIMEOUT
                }
                .into_response())
            }
            RpcStatus::Expired => {
                return Ok(if v2 {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::CONFLICT
                }
                .into_response())
            }
            RpcStatus::Failed => {
                return Err(CommandError::b(
                    404,
                    "Device with requested id wasn't found!",
                ))
            }
            RpcStatus::Queued | RpcStatus::Sent | RpcStatus::Delivered => {}
        }
        let remaining = expiration.saturating_sub(now_ms());
        if remaining == 0 {
            st.hub.apply(|p, now| p.expire(now));
            continue;
        }
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(remaining)) => {}
        }
    }
}

/// `GET /api/rpc/persistent/{rpcId}`.
pub(crate) async fn persistent_rpc(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    st.hub
        .read(|p| p.rpc(id).map(|r| r.to_json(p.tenant_id())))
        .map(|v| Json(v).into_response())
        .ok_or_else(|| CommandError::a(404, 32, format!("Rpc with id [{id}] is not found")))
}

/// `DELETE /api/rpc/persistent/{rpcId}`.
pub(crate) async fn delete_persistent_rpc(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    if st.hub.apply(|p, _| p.delete_rpc(id)) {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(CommandError::a(
            404,
            32,
            format!("Rpc with id [{id}] is not found"),
        ))
    }
}

/// `GET /api/rpc/persistent/device/{deviceId}?pageSize&page[&rpcStatus]`.
pub(crate) async fn persistent_rpcs_of(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    tenant_admin(&claims)?;
    let id = uuid(&id)?;
    let status = match q.get("rpcStatus").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            RpcStatus::parse(s)
                .ok_or_else(|| CommandError::bad_request(format!("Invalid rpcStatus: {s}")))?,
        ),
    };
    let items = st.hub.read(|p| {
        p.require_device(id).map(|_| {
            p.rpcs_of(id)
                .into_iter()
                .filter(|r| status.is_none_or(|s| r.status == s))
                .map(|r| r.to_json(p.tenant_id()))
                .collect::<Vec<_>>()
        })
    })?;
    Ok(Json(page_data(items, &q)?).into_response())
}
