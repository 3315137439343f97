//! Login and JWTs as ThingsBoard issues them (HS512; access tokens for
//! 9000 s, refresh tokens for 604800 s), and the check on every protected
//! route: `X-Authorization: Bearer <jwt>` (or `Authorization: Bearer`).

use super::AppState;
use crate::hub::now_ms;
use crate::platform::{CommandError, User, NULL_UUID};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

const ACCESS_SECONDS: u64 = 9000;
const REFRESH_SECONDS: u64 = 604_800;

/// The signing key: the tenant's ([`crate::platform::Platform::jwt_signing_key`]),
/// random for a new tenant, kept across restarts in a state file.
pub(crate) struct Jwt {
    secret: Vec<u8>,
}

/// The claims of ThingsBoard's tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Claims {
    /// The user's e-mail.
    pub sub: String,
    /// The user's id.
    pub user_id: String,
    /// `[authority]`, or `["REFRESH_TOKEN"]`.
    pub scopes: Vec<String>,
    /// Tenant id.
    pub tenant_id: String,
    /// Customer id (NULL_UUID).
    pub customer_id: String,
    /// `thingsboard.io`.
    pub iss: String,
    /// Issued at, epoch seconds.
    pub iat: u64,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

impl Claims {
    /// Whether the user is the tenant administrator.
    pub fn is_tenant_admin(&self) -> bool {
        self.scopes.iter().any(|s| s == "TENANT_ADMIN")
    }
}

impl Jwt {
    /// Signs and checks with `secret`.
    pub fn new(secret: Vec<u8>) -> Jwt {
        Jwt { secret }
    }

    fn sign(&self, claims: &Claims) -> String {
        encode(
            &Header::new(Algorithm::HS512),
            claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .expect("HS512 signing cannot fail")
    }

    /// The `{"token","refreshToken"}` pair for a user.
    fn pair(&self, user: &User, tenant: Uuid) -> Value {
        let now = now_ms() / 1000;
        let tenant_id = if user.authority == "SYS_ADMIN" {
            NULL_UUID
        } else {
            tenant
        };
        let access = Claims {
            sub: user.email.clone(),
            user_id: user.id.to_string(),
            scopes: vec![user.authority.to_string()],
            tenant_id: tenant_id.to_string(),
            customer_id: NULL_UUID.to_string(),
            iss: "thingsboard.io".into(),
            iat: now,
            exp: now + ACCESS_SECONDS,
        };
        let refresh = Claims {
            scopes: vec!["REFRESH_TOKEN".into()],
            exp: now + REFRESH_SECONDS,
            ..access.clone()
        };
        json!({"token": self.sign(&access), "refreshToken": self.sign(&refresh)})
    }

    /// Checks a token: `Err` is the 401 to answer.
    fn verify(&self, token: &str) -> Result<Claims, CommandError> {
        let mut validation = Validation::new(Algorithm::HS512);
        validation.leeway = 0;
        decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature
                | jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    CommandError::a(401, 11, "Token has expired")
                }
                _ => invalid_credentials(),
            })
    }
}

fn authentication_failed() -> CommandError {
    CommandError::a(401, 10, "Authentication failed")
}

fn invalid_credentials() -> CommandError {
    CommandError::a(401, 10, "Invalid username or password")
}

/// `GET` on the login or token routes.
pub(crate) async fn method_not_supported() -> CommandError {
    CommandError::a(401, 10, "Authentication method not supported")
}

/// `POST /api/auth/login` `{"username","password"}` → `{"token","refreshToken"}`.
pub(crate) async fn login(
    State(st): State<AppState>,
    body: Bytes,
) -> Result<Response, CommandError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| authentication_failed())?;
    let (Some(username), Some(password)) = (
        body.get("username").and_then(Value::as_str),
        body.get("password").and_then(Value::as_str),
    ) else {
        return Err(authentication_failed());
    };
    let found = st.hub.read(|p| {
        p.users()
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(username) && u.password == password)
            .cloned()
            .map(|u| (u, p.tenant_id()))
    });
    let Some((user, tenant)) = found else {
        crate::hub::log(&format!(
            "REST login refused for {username:?} (invalid username or password)"
        ));
        return Err(invalid_credentials());
    };
    Ok(Json(st.jwt.pair(&user, tenant)).into_response())
}

/// `POST /api/auth/token` `{"refreshToken"}` → a new pair.
pub(crate) async fn refresh(
    State(st): State<AppState>,
    body: Bytes,
) -> Result<Response, CommandError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| authentication_failed())?;
    let token = body
        .get("refreshToken")
        .and_then(Value::as_str)
        .ok_or_else(authentication_failed)?;
    let claims = st.jwt.verify(token)?;
    if !claims.scopes.iter().any(|s| s == "REFRESH_TOKEN") {
        return Err(invalid_credentials());
    }
    let found = st.hub.read(|p| {
        p.users()
            .iter()
            .find(|u| u.id.to_string() == claims.user_id)
            .cloned()
            .map(|u| (u, p.tenant_id()))
    });
    let (user, tenant) = found.ok_or_else(invalid_credentials)?;
    Ok(Json(st.jwt.pair(&user, tenant)).into_response())
}

/// `GET /api/auth/user`: the logged-in user.
pub(crate) async fn user(
    State(st): State<AppState>,
    Extension(claims): Extension<Claims>,
) -> Result<Response, CommandError> {
    let user = st
        .hub
        .read(|p| {
            p.users()
                .iter()
                .find(|u| u.id.to_string() == claims.user_id)
                .cloned()
        })
        .ok_or_else(invalid_credentials)?;
    Ok(Json(json!({
        "id": {"entityType": "USER", "id": user.id},
        "createdTime": user.created_time,
        "additionalInfo": {},
        "tenantId": {"entityType": "TENANT", "id": claims.tenant_id},
        "customerId": {"entityType": "CUSTOMER", "id": NULL_UUID},
        "email": user.email,
        "authority": user.authority,
        "firstName": null,
        "lastName": null,
        "phone": null,
        "version": 1,
        "name": user.email,
    }))
    .into_response())
}

/// The check on every protected route: a valid access token, whose claims
/// are handed to the handler.
pub(crate) async fn require_jwt(
    State(st): State<AppState>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let headers = request.headers();
    let value = headers
        .get("x-authorization")
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok());
    let Some(value) = value else {
        return authentication_failed().into_response();
    };
    let Some(token) = value.strip_prefix("Bearer ") else {
        return authentication_failed().into_response();
    };
    match st.jwt.verify(token.trim()) {
        Ok(claims) if !claims.scopes.iter().any(|s| s == "REFRESH_TOKEN") => {
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Ok(_) => invalid_credentials().into_response(),
        Err(e) => e.into_response(),
    }
}
