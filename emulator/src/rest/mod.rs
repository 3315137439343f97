//! ThingsBoard's REST API over the tenant (`/api/...`, JWT login, both
//! error shapes), and the emulator's own routes (`/emulator/...`, no auth).
//! The route table is in the crate docs.

mod api;
mod auth;
mod emulator;
#[cfg(test)]
mod tests;

use crate::hub::Hub;
use crate::platform::CommandError;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    hub: Arc<Hub>,
    jwt: Arc<auth::Jwt>,
}

/// The router with every route: ThingsBoard's `/api/...` (a JWT from
/// `POST /api/auth/login` required, signed with the tenant's key, so that
/// a token outlives a restart with `--state`) and the emulator's
/// `/emulator/...`.
pub fn router(hub: Arc<Hub>) -> Router {
    let jwt = Arc::new(auth::Jwt::new(hub.read(|p| p.jwt_signing_key().to_vec())));
    let state = AppState { hub, jwt };
    let t = "/api/plugins/telemetry/{a}/{b}";
    let protected = Router::new()
        .route("/api/auth/user", get(auth::user))
        .route("/api/tenant/devices", get(api::tenant_devices))
        .route("/api/tenant/device", get(api::tenant_device))
        .route("/api/device", post(api::save_device))
        .route(
            "/api/device/{id}",
            get(api::get_device).delete(api::delete_device),
        )
        .route("/api/device/{id}/credentials", get(api::get_credentials))
        .route("/api/device/credentials", post(api::save_credentials))
        .route(&format!("{t}/keys/timeseries"), get(api::timeseries_keys))
        .route(&format!("{t}/values/timeseries"), get(api::timeseries))
        .route(&format!("{t}/keys/attributes"), get(api::attribute_keys))
        .route(
            &format!("{t}/keys/attributes/{{c}}"),
            get(api::attribute_keys),
        )
        .route(&format!("{t}/values/attributes"), get(api::attributes))
        .route(
            &format!("{t}/values/attributes/{{c}}"),
            get(api::attributes),
        )
        .route(&format!("{t}/attributes/{{c}}"), post(api::save_attributes))
        .route(
            &format!("{t}/timeseries/delete"),
            delete(api::delete_timeseries),
        )
        .route(&format!("{t}/timeseries/{{c}}"), post(api::save_timeseries))
        .route(
            &format!("{t}/timeseries/{{c}}/{{d}}"),
            post(api::save_timeseries),
        )
        .route(
            &format!("{t}/{{c}}"),
            post(api::save_attributes).delete(api::delete_attributes),
        )
        .route(
            "/api/plugins/telemetry/{a}/{b}",
            post(api::save_attributes_legacy).delete(api::delete_attributes_legacy),
        )
        .route("/api/rpc/{kind}/{id}", post(api::rpc_v2))
        .route("/api/plugins/rpc/{kind}/{id}", post(api::rpc_v1))
        .route(
            "/api/rpc/persistent/{id}",
            get(api::persistent_rpc).delete(api::delete_persistent_rpc),
        )
        .route(
            "/api/rpc/persistent/device/{id}",
            get(api::persistent_rpcs_of),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_jwt,
        ));
    Router::new()
        .route(
            "/api/auth/login",
            post(auth::login).fallback(auth::method_not_supported),
        )
        .route(
            "/api/auth/token",
            post(auth::refresh).fallback(auth::method_not_supported),
        )
        .merge(protected)
        .route("/emulator/health", get(emulator::health))
        .route("/emulator/sessions", get(emulator::sessions))
        .route(
            "/emulator/sessions/{session}/close",
            post(emulator::close_session),
        )
        .route(
            "/emulator/errors",
            get(emulator::errors).delete(emulator::clear_errors),
        )
        .route(
            "/emulator/limits",
            get(emulator::limits).put(emulator::set_limits),
        )
        .route(
            "/emulator/client-rpc/{method}",
            put(emulator::set_client_rpc).delete(emulator::remove_client_rpc),
        )
        .route("/emulator/claims", get(emulator::claims))
        .route(
            "/emulator/devices/{id}/disconnect-notice",
            post(emulator::disconnect_notice),
        )
        .fallback(not_found)
        .with_state(state)
}

impl IntoResponse for CommandError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.error_code {
            Some(error_code) => (
                code,
                Json(json!({
                    "status": self.status,
                    "message": self.message,
                    "errorCode": error_code,
                    "timestamp": crate::hub::now_ms(),
                })),
            )
                .into_response(),
            None => (
                code,
                [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
                self.message,
            )
                .into_response(),
        }
    }
}

async fn not_found() -> CommandError {
    CommandError::a(404, 32, "Not found")
}
