//! ThingsBoard's REST API over the tenant.

use crate::hub::Hub;
use axum::Router;
use std::sync::Arc;

/// The router with every route.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new().with_state(hub)
}
