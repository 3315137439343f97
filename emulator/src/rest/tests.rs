//! The REST API driven through the router with `oneshot` (no socket).

use super::router;
use crate::hub::{now_ms, Hub};
use crate::platform::session::{ConnectRequest, MqttVersion, SessionId};
use crate::platform::{Config, Platform};
use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    hub: Arc<Hub>,
    app: Router,
    token: String,
}

struct Reply {
    status: StatusCode,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {:?}", self.text))
    }
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("X-Authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Reply {
        status,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn login(app: &Router, user: &str, password: &str) -> Reply {
    call(
        app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await
}

async fn api() -> Api {
    let hub = Arc::new(Hub::new(Platform::new(
        Config {
            gateway_tokens: vec!["GW".into()],
            ..Config::default()
        },
        now_ms(),
    )));
    let app = router(hub.clone());
    let token = login(&app, "tenant@thingsboard.org", "tenant").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    Api { hub, app, token }
}

impl Api {
    async fn get(&self, uri: &str) -> Reply {
        call(&self.app, Method::GET, uri, Some(&self.token), None).await
    }
    async fn post(&self, uri: &str, body: Value) -> Reply {
        call(&self.app, Method::POST, uri, Some(&self.token), Some(body)).await
    }
    async fn delete(&self, uri: &str) -> Reply {
        call(&self.app, Method::DELETE, uri, Some(&self.token), None).await
    }
    async fn device_id(&self, name: &str) -> String {
        let r = self
            .get(&format!("/api/tenant/devices?deviceName={name}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["id"]["id"].as_str().unwrap().to_string()
    }
    fn connect(&self, token: &str) -> SessionId {
        self.hub.apply(|p, now| {
            p.open_session(
                ConnectRequest {
                    client_id: "c".into(),
                    username: Some(token.into()),
                    password: None,
                    version: MqttVersion::V5,
                    keep_alive: 60,
                    peer: "test".into(),
                },
                now,
            )
            .unwrap()
            .session
        })
    }
    fn publish(&self, s: SessionId, topic: &str, payload: &str) {
        self.hub
            .apply(|p, now| p.publish(s, topic, payload.as_bytes(), 1, 1, now));
    }
}

#[tokio::test]
async fn login_with_the_demo_tenant_returns_a_token_pair() {
    let a = api().await;
    let r = login(&a.app, "tenant@thingsboard.org", "tenant").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["refreshToken"].is_string());
    let user = a.get("/api/auth/user").await.json();
    assert_eq!(user["authority"], "TENANT_ADMIN");
    assert_eq!(user["email"], "tenant@thingsboard.org");
    let refreshed = call(
        &a.app,
        Method::POST,
        "/api/auth/token",
        None,
        Some(json!({"refreshToken": r.json()["refreshToken"]})),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_credentials_and_missing_tokens_get_401_in_thingsboard_shape() {
    let a = api().await;
    let r = login(&a.app, "tenant@thingsboard.org", "nope").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["message"], "Invalid username or password");
    assert_eq!(r.json()["errorCode"], 10);
    let r = call(
        &a.app,
        Method::GET,
        "/api/tenant/devices?pageSize=10&page=0",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["message"], "Authentication failed");
    assert_eq!(r.json()["status"], 401);
    let r = call(&a.app, Method::GET, "/api/device/x", Some("garbage"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&a.app, Method::GET, "/api/auth/login", None, None).await;
    assert_eq!(r.json()["message"], "Authentication method not supported");
    // A token signed by another run's secret counts as expired.
    let other = api().await;
    let r = call(
        &a.app,
        Method::GET,
        "/api/auth/user",
        Some(&other.token),
        None,
    )
    .await;
    assert_eq!(r.json()["errorCode"], 11);
}

#[tokio::test]
async fn devices_are_listed_as_page_data_and_found_by_name() {
    let a = api().await;
    let r = a.get("/api/tenant/devices?pageSize=1&page=0").await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.json();
    assert_eq!(page["totalElements"], 2);
    assert_eq!(page["totalPages"], 2);
    assert_eq!(page["hasNext"], true);
    assert_eq!(page["data"][0]["name"], "Gateway GW");
    assert_eq!(page["data"][0]["additionalInfo"]["gateway"], true);
    assert_eq!(page["data"][0]["id"]["entityType"], "DEVICE");
    let r = a
        .get("/api/tenant/devices?pageSize=10&page=0&textSearch=a1")
        .await;
    assert_eq!(r.json()["data"][0]["name"], "Test Device A1");
    let r = a.get("/api/tenant/devices?deviceName=Nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["errorCode"], 32);
    let r = a.get("/api/tenant/devices?page=0").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sysadmin_may_not_read_tenant_devices() {
    let a = api().await;
    let token = login(&a.app, "sysadmin@thingsboard.org", "sysadmin")
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &a.app,
        Method::GET,
        "/api/tenant/devices?pageSize=1&page=0",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_device_is_created_read_and_its_credentials_shown() {
    let a = api().await;
    let r = a
        .post(
            "/api/device?accessToken=PUMP_TOKEN",
            json!({"name": "Pump", "type": "pump"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = r.json();
    assert_eq!(d["version"], 1);
    assert_eq!(d["type"], "pump");
    let id = d["id"]["id"].as_str().unwrap();
    let r = a.get(&format!("/api/device/{id}")).await;
    assert_eq!(r.json()["name"], "Pump");
    let c = a.get(&format!("/api/device/{id}/credentials")).await.json();
    assert_eq!(c["credentialsType"], "ACCESS_TOKEN");
    assert_eq!(c["credentialsId"], "PUMP_TOKEN");
    let r = a.post("/api/device", json!({"name": "Pump"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["message"], "Device with such name already exists!");
    let r = a.get("/api/device/not-a-uuid").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["message"], "Invalid UUID string: not-a-uuid");
    let r = a
        .get(&format!("/api/device/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.delete(&format!("/api/device/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        a.get(&format!("/api/device/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn telemetry_and_attributes_come_back_in_thingsboard_shapes() {
    let a = api().await;
    let s = a.connect("GW");
    a.publish(
        s,
        "v1/gateway/telemetry",
        r#"{"Pump 7":[{"ts":1000,"values":{"flow":12.5}},{"ts":2000,"values":{"flow":13}}]}"#,
    );
    a.publish(s, "v1/gateway/attributes", r#"{"Pump 7":{"fw":"1.4.2"}}"#);
    let id = a.device_id("Pump%207").await;
    let base = format!("/api/plugins/telemetry/DEVICE/{id}");
    let latest = a
        .get(&format!("{base}/values/timeseries?keys=flow,none"))
        .await
        .json();
    assert_eq!(latest["flow"], json!([{"ts": 2000, "value": "13"}]));
    assert_eq!(latest["none"][0]["value"], Value::Null);
    let strict = a
        .get(&format!(
            "{base}/values/timeseries?keys=flow&startTs=0&endTs=5000&useStrictDataTypes=true"
        ))
        .await
        .json();
    assert_eq!(
        strict["flow"],
        json!([{"ts": 2000, "value": 13}, {"ts": 1000, "value": 12.5}])
    );
    let avg = a
        .get(&format!(
            "{base}/values/timeseries?keys=flow&startTs=0&endTs=5000&agg=AVG&interval=0"
        ))
        .await
        .json();
    assert_eq!(avg["flow"][0]["value"], "12.75");
    assert_eq!(
        a.get(&format!("{base}/keys/timeseries")).await.json(),
        json!(["flow"])
    );
    let attrs = a
        .get(&format!("{base}/values/attributes/CLIENT_SCOPE"))
        .await
        .json();
    assert_eq!(attrs[0]["key"], "fw");
    assert_eq!(attrs[0]["value"], "1.4.2");
    assert!(attrs[0]["lastUpdateTs"].is_u64());
    // A shared attribute is stored and pushed to the gateway.
    let r = a
        .post(&format!("{base}/SHARED_SCOPE"), json!({"sp": 42}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let effects = a.hub.apply(|p, _| p.take_effects());
    assert!(effects.is_empty(), "the hub routes effects as it applies");
    let r = a
        .post(&format!("{base}/attributes/CLIENT_SCOPE"), json!({"x": 1}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.text, "Invalid scope: CLIENT_SCOPE");
    let r = a.delete(&format!("{base}/SHARED_SCOPE?keys=sp")).await;
    assert_eq!(r.status, StatusCode::OK);
    let unknown = uuid::Uuid::new_v4();
    let r = a
        .get(&format!(
            "/api/plugins/telemetry/DEVICE/{unknown}/values/timeseries"
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.text, "Device with requested id wasn't found!");
    let r = a
        .post(
            &format!("{base}/timeseries/ANY"),
            json!({"ts": 5, "values": {"k": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_two_way_rpc_answered_by_the_gateway_returns_the_reply() {
    let a = api().await;
    let s = a.connect("GW");
    a.publish(s, "v1/gateway/connect", r#"{"device":"Pump 7"}"#);
    let id = a.device_id("Pump%207").await;
    let hub = a.hub.clone();
    let mut changes = hub.changes();
    let answer = tokio::spawn(async move {
        // Reply once the request is pushed (the RPC route applies it).
        loop {
            let sent = hub.read(|p| {
                p.rpcs_of(uuid::Uuid::parse_str(&id).unwrap())
                    .iter()
                    .any(|r| r.status == crate::platform::RpcStatus::Sent)
            });
            if sent {
                break;
            }
            changes.changed().await.unwrap();
        }
        hub.apply(|p, now| {
            p.publish(
                s,
                "v1/gateway/rpc",
                br#"{"device":"Pump 7","id":0,"data":{"ok":true}}"#,
                1,
                2,
                now,
            )
        });
    });
    let id = a.device_id("Pump%207").await;
    let r = a
        .post(
            &format!("/api/rpc/twoway/{id}"),
            json!({"method": "set", "params": {"a": 1}}),
        )
        .await;
    answer.await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"ok": true}));
}

#[tokio::test]
async fn an_rpc_to_an_offline_device_answers_504_at_expiry() {
    let a = api().await;
    let id = a.device_id("Test%20Device%20A1").await;
    // The expiry is in the past: the route expires it at once.
    let r = a
        .post(
            &format!("/api/rpc/oneway/{id}"),
            json!({"method": "m", "expirationTime": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    let r = a
        .post(
            &format!("/api/plugins/rpc/twoway/{id}"),
            json!({"method": "m", "expirationTime": 1}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "v1 says 409 for no connection"
    );
}

#[tokio::test]
async fn a_persistent_rpc_returns_its_id_and_state() {
    let a = api().await;
    let id = a.device_id("Test%20Device%20A1").await;
    let r = a
        .post(
            &format!("/api/rpc/twoway/{id}"),
            json!({"method": "m", "persistent": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let rpc_id = r.json()["rpcId"].as_str().unwrap().to_string();
    let rpc = a.get(&format!("/api/rpc/persistent/{rpc_id}")).await.json();
    assert_eq!(rpc["status"], "QUEUED");
    assert_eq!(rpc["id"]["entityType"], "RPC");
    let page = a
        .get(&format!(
            "/api/rpc/persistent/device/{id}?pageSize=10&page=0&rpcStatus=QUEUED"
        ))
        .await
        .json();
    assert_eq!(page["totalElements"], 1);
    assert_eq!(
        a.delete(&format!("/api/rpc/persistent/{rpc_id}"))
            .await
            .status,
        StatusCode::OK
    );
    let r = a.get(&format!("/api/rpc/persistent/{rpc_id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn renaming_a_device_through_the_api_notifies_its_gateway() {
    let a = api().await;
    let s = a.connect("GW");
    a.publish(s, "v1/gateway/connect", r#"{"device":"Old"}"#);
    let id = a.device_id("Old").await;
    let mut device = a.get(&format!("/api/device/{id}")).await.json();
    device["name"] = json!("New");
    let r = a.post("/api/device", device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let gw = a.device_id("Gateway%20GW").await;
    let page = a
        .get(&format!(
            "/api/rpc/persistent/device/{gw}?pageSize=10&page=0"
        ))
        .await
        .json();
    assert_eq!(
        page["data"][0]["request"]["body"]["method"],
        "gateway_device_renamed"
    );
    assert_eq!(page["data"][0]["status"], "SUCCESSFUL");
}

#[tokio::test]
async fn emulator_routes_need_no_login() {
    let a = api().await;
    let r = call(&a.app, Method::GET, "/emulator/health", None, None).await;
    assert_eq!(r.json(), json!({"ok": true}));
    let s = a.connect("GW");
    a.publish(s, "v1/gateway/connect", r#"{"device":"Pump 7"}"#);
    let sessions = call(&a.app, Method::GET, "/emulator/sessions", None, None)
        .await
        .json();
    assert_eq!(sessions[0]["deviceName"], "Gateway GW");
    assert_eq!(sessions[0]["version"], "5");
    assert_eq!(sessions[0]["subDevices"], json!(["Pump 7"]));
    let r = call(
        &a.app,
        Method::PUT,
        "/emulator/limits",
        None,
        Some(json!({"gatewayRateLimits": {"messages": "10:1,300:60"}, "maxPayloadSize": 1000})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let limits = call(&a.app, Method::GET, "/emulator/limits", None, None)
        .await
        .json();
    assert_eq!(limits["gatewayRateLimits"]["messages"], "10:1,300:60");
    assert_eq!(limits["maxPayloadSize"], 1000);
    assert_eq!(limits["maxInflightMessages"], 100);
    let r = call(
        &a.app,
        Method::PUT,
        "/emulator/limits",
        None,
        Some(json!({"deviceRateLimits": {"messages": "x"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let pump = a.device_id("Pump%207").await;
    let r = call(
        &a.app,
        Method::POST,
        &format!("/emulator/devices/{pump}/disconnect-notice"),
        None,
        Some(json!({"reason": 150})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    a.publish(s, "v1/gateway/telemetry", "[]");
    let errors = call(&a.app, Method::GET, "/emulator/errors", None, None)
        .await
        .json();
    assert!(errors[0]["connectionClosed"].as_bool().unwrap());
    let r = call(
        &a.app,
        Method::POST,
        "/emulator/sessions/999/close",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Everything a ThingsBoard script reads of a tenant, by route: the answers
/// a restart with `--state` must leave unchanged.
async fn tenant_answers(a: &Api, tokens: &str) -> Vec<(String, u16, Value)> {
    let mut uris = vec![
        "/api/auth/user".to_string(),
        "/api/tenant/devices?pageSize=100&page=0&sortProperty=name&sortOrder=ASC".to_string(),
        "/emulator/claims".to_string(),
        "/emulator/errors".to_string(),
    ];
    let devices = a
        .get("/api/tenant/devices?pageSize=100&page=0")
        .await
        .json();
    for d in devices["data"].as_array().unwrap() {
        let id = d["id"]["id"].as_str().unwrap();
        let t = format!("/api/plugins/telemetry/DEVICE/{id}");
        uris.extend([
            format!("/api/device/{id}"),
            format!("/api/device/{id}/credentials"),
            format!("/api/tenant/devices?deviceName={}", d["name"].as_str().unwrap().replace(' ', "%20")),
            format!("{t}/keys/timeseries"),
            format!("{t}/values/timeseries?keys={tokens}&startTs=0&endTs=99999999999999&limit=1000&useStrictDataTypes=true"),
            format!("{t}/values/timeseries?keys={tokens}"),
            format!("{t}/keys/attributes"),
            format!("{t}/values/attributes"),
            format!("{t}/values/attributes/CLIENT_SCOPE"),
            format!("{t}/values/attributes/SHARED_SCOPE"),
            format!("{t}/values/attributes/SERVER_SCOPE"),
            format!("/api/rpc/persistent/device/{id}?pageSize=100&page=0"),
        ]);
    }
    let mut out = Vec::new();
    for uri in uris {
        let r = a.get(&uri).await;
        let mut body = serde_json::from_str(&r.text).unwrap_or(Value::String(r.text.clone()));
        // A key with no data is answered with the time of the request.
        if let Value::Object(series) = &mut body {
            for points in series.values_mut() {
                if let Some([point]) = points.as_array_mut().map(Vec::as_mut_slice) {
                    if point["value"].is_null() {
                        point["ts"] = json!(0);
                    }
                }
            }
        }
        out.push((uri, r.status.as_u16(), body));
    }
    out
}

#[tokio::test]
async fn a_saved_tenant_loads_back_with_the_same_rest_answers_tokens_and_credentials() {
    let a = api().await;
    let gw = a.connect("GW");
    a.publish(
        gw,
        "v1/gateway/connect",
        r#"{"device":"Meter 1","type":"SMART_METER"}"#,
    );
    a.publish(
        gw,
        "v1/gateway/telemetry",
        r#"{"Meter 1":[{"ts":1000,"values":{"pulse":7,"leak":false,"battery":97.5,"note":"ok","cfg":{"a":[1]}}},
                       {"ts":2000,"values":{"pulse":"8","battery":"0.1"}}]}"#,
    );
    a.publish(gw, "v1/gateway/attributes", r#"{"Meter 1":{"fw":"1.4.2"}}"#);
    a.publish(
        gw,
        "v1/gateway/claim",
        r#"{"Meter 1":{"secretKey":"k","durationMs":60000}}"#,
    );
    a.publish(gw, "v1/gateway/telemetry", "not json"); // one journal record
    a.publish(
        gw,
        "v1/devices/me/telemetry",
        r#"{"ts":500,"values":{"cpu":3}}"#,
    );
    let meter = a.device_id("Meter%201").await;
    let base = format!("/api/plugins/telemetry/DEVICE/{meter}");
    for (scope, body) in [
        ("SHARED_SCOPE", json!({"sp": 42})),
        ("SERVER_SCOPE", json!({"zone": "B"})),
    ] {
        assert_eq!(
            a.post(&format!("{base}/{scope}"), body).await.status,
            StatusCode::OK
        );
    }
    // A device made through the API with its own token, one with MQTT basic.
    let r = a
        .post(
            "/api/device?accessToken=PUMP_TOKEN",
            json!({"name": "Pump 7", "type": "pump", "label": "north"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = a.post("/api/device", json!({"name": "Valve 2"})).await;
    let valve = r.json()["id"]["id"].as_str().unwrap().to_string();
    let mut creds = a
        .get(&format!("/api/device/{valve}/credentials"))
        .await
        .json();
    creds["credentialsType"] = json!("MQTT_BASIC");
    creds["credentialsValue"] =
        json!(r#"{"clientId":"valve-2","userName":"valve","password":"pw"}"#);
    let r = a.post("/api/device/credentials", creds).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A persistent RPC held for a device that is offline.
    let r = a
        .post(
            &format!("/api/rpc/oneway/{valve}"),
            json!({"method": "open", "params": {"pct": 30}, "persistent": true, "timeout": 600000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let keys = "pulse,leak,battery,note,cfg,cpu";
    let before = tenant_answers(&a, keys).await;
    assert!(
        before.len() > 40 && before.iter().all(|(_, s, _)| *s == 200),
        "{before:#?}"
    );
    let last_session = a.hub.read(|p| p.sessions().map(|s| s.id.0).max().unwrap());

    // Saved as the file holds it, read back into a new platform.
    let text = serde_json::to_string(&a.hub.read(|p| p.snapshot(now_ms()))).unwrap();
    let snapshot: crate::platform::Snapshot = serde_json::from_str(&text).unwrap();
    let restored = Platform::restore(
        Config {
            gateway_tokens: vec!["GW".into(), "GW2".into()],
            ..Config::default()
        },
        snapshot,
        now_ms(),
    )
    .unwrap();
    let hub = Arc::new(Hub::new(restored));
    // The login token issued before still works: same signing key.
    let b = Api {
        app: router(hub.clone()),
        hub,
        token: a.token.clone(),
    };
    let after = tenant_answers(&b, keys).await;
    // Only a device for the new --gateway token was added.
    let gw2 = b.device_id("Gateway%20GW2").await;
    let after: Vec<_> = after
        .into_iter()
        .filter(|(uri, _, _)| !uri.contains(&gw2) && !uri.contains("GW2"))
        .collect();
    let listing = |v: &[(String, u16, Value)]| {
        v[1].2["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["name"] != "Gateway GW2")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(listing(&after), listing(&before));
    for ((uri, s1, v1), (_, s2, v2)) in before
        .iter()
        .zip(&after)
        .filter(|((u, _, _), _)| !u.starts_with("/api/tenant/devices?pageSize"))
    {
        assert_eq!((s1, v1), (s2, v2), "{uri}");
    }
    assert_eq!(before.len(), after.len());

    // No session survives, and session numbers go on from the last one.
    assert_eq!(b.get("/emulator/sessions").await.json(), json!([]));
    let s = b.connect("GW");
    assert_eq!(s.0, last_session + 1);
    // The saved credentials open sessions: a token made through the API,
    // MQTT basic; and the RPC held for the valve is delivered.
    b.connect("PUMP_TOKEN");
    let valve_session = b.hub.apply(|p, now| {
        p.open_session(
            ConnectRequest {
                client_id: "valve-2".into(),
                username: Some("valve".into()),
                password: Some(b"pw".to_vec()),
                version: MqttVersion::V5,
                keep_alive: 60,
                peer: "test".into(),
            },
            now,
        )
    });
    assert!(valve_session.is_ok(), "{valve_session:?}");
    let r = b
        .get(&format!(
            "/api/rpc/persistent/device/{valve}?pageSize=10&page=0"
        ))
        .await
        .json();
    assert_eq!(r["data"][0]["status"], "QUEUED");
    b.hub.apply(|p, now| {
        p.subscribe(
            valve_session.unwrap().session,
            &[("v1/devices/me/rpc/request/+".to_string(), 1)],
            now,
        )
    });
    let r = b
        .get(&format!(
            "/api/rpc/persistent/device/{valve}?pageSize=10&page=0"
        ))
        .await
        .json();
    assert_eq!(r["data"][0]["status"], "SUCCESSFUL", "{r}");
}

#[tokio::test]
async fn a_state_of_another_format_or_that_contradicts_itself_is_refused_in_words() {
    let a = api().await;
    let good = a.hub.read(|p| p.snapshot(now_ms()));
    let refused = |change: &dyn Fn(&mut crate::platform::Snapshot)| {
        let mut s = good.clone();
        change(&mut s);
        Platform::restore(Config::default(), s, now_ms()).unwrap_err()
    };
    assert!(refused(&|s| s.format = "something else".into()).contains("\"format\""));
    assert!(refused(&|s| s.version = 99).contains("layout version 99"));
    assert!(refused(&|s| s.jwt_signing_key.clear()).contains("jwtSigningKey"));
    assert!(refused(&|s| s.users[0].authority = "ROOT".into()).contains("\"ROOT\""));
    assert!(refused(&|s| {
        let d = s.devices[0].clone();
        s.devices.push(d);
    })
    .contains("two devices have the id"));
    let e = refused(&|s| {
        let mut d = s.devices[0].clone();
        d.id = uuid::Uuid::new_v4();
        d.name = "Copy".into();
        s.devices.push(d);
    });
    assert!(
        e.contains("\"Copy\" has the access token of another device"),
        "{e}"
    );
    assert!(!e.contains("A1_TEST_TOKEN") && !e.contains("GW"), "{e}");
}
