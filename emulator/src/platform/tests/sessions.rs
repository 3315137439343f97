//! Credentials, sessions, takeover, subscriptions, expiry (contract §1, §2, §11).

use super::*;
use crate::platform::session::{ConnectRefusal, Effect};
use crate::platform::{Attach, Credentials, Limits};
use serde_json::json;

#[test]
fn demo_data_holds_test_device_a1_which_is_not_a_gateway() {
    let p = platform();
    let d = p.device_by_name("Test Device A1").unwrap();
    assert!(!d.is_gateway());
    assert_eq!(
        d.credentials,
        Credentials::AccessToken("A1_TEST_TOKEN".into())
    );
    let gw = p.device_by_name("Gateway GW_TOKEN").unwrap();
    assert!(gw.is_gateway());
    assert_eq!(d.version, 1);
}

#[test]
fn a_token_never_reaches_the_log_in_clear_not_even_in_a_gateway_name() {
    let mut p = Platform::new(
        Config {
            accept_any_token: true,
            ..Config::default()
        },
        T0,
    );
    let opened = p
        .open_session(request("SECRET-TOKEN-42", MqttVersion::V5), T0)
        .unwrap();
    assert_eq!(opened.device_name, "Gateway SECRET-TOKEN-42");
    let log = p.take_log();
    assert!(!log.is_empty());
    assert!(log.iter().any(|l| l.contains("Gateway SE***")), "{log:?}");
    assert!(
        log.iter().all(|l| !l.contains("SECRET-TOKEN-42")),
        "{log:?}"
    );
}

#[test]
fn an_unknown_token_is_refused_with_bad_credentials() {
    let mut p = platform();
    let err = p
        .open_session(request("NOPE", MqttVersion::V5), T0)
        .unwrap_err();
    assert_eq!(err, ConnectRefusal::BadCredentials);
    assert_eq!(err.code(MqttVersion::V5), 134);
    assert_eq!(err.code(MqttVersion::V311), 5);
    assert_eq!(p.errors().len(), 1);
    assert!(p.errors()[0].action.contains("134"));
    assert!(p.device_by_name("Gateway NOPE").is_none());
}

#[test]
fn accept_any_token_creates_a_gateway_named_after_the_token() {
    let mut p = Platform::new(
        Config {
            accept_any_token: true,
            ..Config::default()
        },
        T0,
    );
    let opened = p
        .open_session(request("NEW1", MqttVersion::V311), T0)
        .unwrap();
    assert_eq!(opened.device_name, "Gateway NEW1");
    assert!(opened.gateway);
    // The same token again is the same device.
    let again = p
        .open_session(request("NEW1", MqttVersion::V311), T0)
        .unwrap();
    assert_eq!(again.device_name, "Gateway NEW1");
    assert_eq!(
        p.devices()
            .filter(|d| d.name.starts_with("Gateway"))
            .count(),
        1
    );
}

#[test]
fn mqtt_basic_credentials_match_client_id_user_name_and_password() {
    let mut p = platform();
    let id = id_of(&p, "Test Device A1");
    p.save_credentials(
        &json!({"deviceId": {"id": id.to_string()}, "credentialsType": "MQTT_BASIC",
                "credentialsValue": "{\"clientId\":\"c1\",\"userName\":\"u1\",\"password\":\"pw\"}"}),
        T0,
    )
    .unwrap();
    let mut req = request("u1", MqttVersion::V5);
    req.client_id = "c1".into();
    req.password = Some(b"pw".to_vec());
    assert!(p.open_session(req.clone(), T0).is_ok());
    req.password = Some(b"wrong".to_vec());
    assert_eq!(
        p.open_session(req.clone(), T0).unwrap_err(),
        ConnectRefusal::BadCredentials
    );
    req.password = Some(b"pw".to_vec());
    req.client_id = "other".into();
    assert!(p.open_session(req, T0).is_err(), "client id must match too");
    // The old token no longer works.
    assert!(p
        .open_session(request("A1_TEST_TOKEN", MqttVersion::V5), T0)
        .is_err());
}

#[test]
fn mqtt_basic_with_a_client_id_alone_connects_without_a_user_name() {
    let mut p = platform();
    let id = id_of(&p, "Test Device A1");
    p.save_credentials(
        &json!({"deviceId": {"id": id.to_string()}, "credentialsType": "MQTT_BASIC",
                "credentialsValue": {"clientId": "only-client"}}),
        T0,
    )
    .unwrap();
    let mut req = request("x", MqttVersion::V311);
    req.username = None;
    req.client_id = "only-client".into();
    assert_eq!(
        p.open_session(req.clone(), T0).unwrap().device_name,
        "Test Device A1"
    );
    req.client_id = "someone".into();
    assert!(p.open_session(req, T0).is_err());
}

#[test]
fn a_second_connect_with_the_same_token_ends_the_first_with_reason_142() {
    let mut p = platform();
    let first = connect(&mut p, GW, MqttVersion::V5);
    publish(
        &mut p,
        first,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0,
    );
    p.take_effects();
    let second = connect(&mut p, GW, MqttVersion::V5);
    let effects = p.take_effects();
    assert!(effects.contains(&Effect::Close {
        session: first,
        close: Close {
            disconnect_reason: Some(142)
        },
        why: "session taken over by a newer CONNECT with the same credentials".into(),
    }));
    assert_ne!(first, second);
    assert!(!p.has_session(first));
    assert_eq!(
        p.attachment(id_of(&p, "Pump 7")),
        None,
        "sub-devices deregistered"
    );
    // The transport reports the close later: nothing more happens.
    p.close_session(first, T0, "socket closed");
    assert!(p.has_session(second));
}

#[test]
fn closing_a_gateway_session_deregisters_its_sub_devices() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V311);
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0,
    );
    let pump = id_of(&p, "Pump 7");
    assert_eq!(p.attachment(pump), Some(Attach::Gateway(s)));
    p.close_session(s, T0 + 1, "socket closed");
    assert_eq!(p.attachment(pump), None);
    assert!(p.session_views().is_empty());
}

#[test]
fn two_gateways_keep_their_own_sub_devices_and_a_newer_registration_moves_a_device() {
    let mut p = Platform::new(
        Config {
            gateway_tokens: vec!["G1".into(), "G2".into()],
            ..Config::default()
        },
        T0,
    );
    let g1 = connect(&mut p, "G1", MqttVersion::V5);
    let g2 = connect(&mut p, "G2", MqttVersion::V5);
    publish(&mut p, g1, "v1/gateway/connect", r#"{"device":"A"}"#, T0);
    publish(
        &mut p,
        g1,
        "v1/gateway/connect",
        r#"{"device":"Shared"}"#,
        T0,
    );
    publish(&mut p, g2, "v1/gateway/connect", r#"{"device":"B"}"#, T0);
    let views = p.session_views();
    let mut first = views[0].sub_devices.clone();
    first.sort();
    assert_eq!(first, vec!["A".to_string(), "Shared".to_string()]);
    assert_eq!(views[1].sub_devices, vec!["B".to_string()]);
    publish(
        &mut p,
        g2,
        "v1/gateway/telemetry",
        r#"{"Shared":[{"t":1}]}"#,
        T0 + 1,
    );
    let shared = id_of(&p, "Shared");
    assert_eq!(p.attachment(shared), Some(Attach::Gateway(g2)));
    let views = p.session_views();
    assert_eq!(views[0].sub_devices.len(), 1, "moved away from g1");
    assert_eq!(views[1].sub_devices.len(), 2);
    assert_eq!(
        p.device(shared).unwrap().last_connected_gateway(),
        Some(id_of(&p, "Gateway G2"))
    );
    // Shared-attribute pushes follow the device.
    p.take_effects();
    p.save_attributes(
        shared,
        crate::platform::Scope::Shared,
        &json!({"sp": 1}),
        T0 + 2,
    )
    .unwrap();
    let out = pushes(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, g2);
    assert_eq!(out[0].1, "v1/gateway/attributes");
    assert_eq!(out[0].2, json!({"device": "Shared", "data": {"sp": 1}}));
}

#[test]
fn a_plain_device_gets_shared_attribute_updates_on_its_own_topic() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V311);
    let id = id_of(&p, "Test Device A1");
    p.save_attributes(id, crate::platform::Scope::Shared, &json!({"x": "5"}), T0)
        .unwrap();
    p.delete_attributes(id, crate::platform::Scope::Shared, &["x".into()])
        .unwrap();
    let out = pushes(&mut p);
    assert_eq!(
        out,
        vec![
            (s, "v1/devices/me/attributes".into(), json!({"x": 5})),
            (
                s,
                "v1/devices/me/attributes".into(),
                json!({"deleted": ["x"]})
            ),
        ]
    );
}

#[test]
fn subscriptions_are_granted_at_qos_1_at_most_and_other_filters_refused() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    let filters: Vec<(String, u8)> = [
        ("v1/gateway/attributes", 2),
        ("v1/gateway/attributes/response", 1),
        ("v1/gateway/rpc", 0),
        ("v1/devices/me/rpc/request/+", 1),
        ("v1/devices/me/attributes/response/+", 1),
        ("v1/gateway/#", 1),
        ("v1/gateway/connect", 1),
        ("v1/gateway/disconnect", 1),
        ("#", 0),
    ]
    .iter()
    .map(|(f, q)| (f.to_string(), *q))
    .collect();
    assert_eq!(
        p.subscribe(s, &filters, T0),
        vec![
            Some(1),
            Some(1),
            Some(0),
            Some(1),
            Some(1),
            None,
            None,
            None,
            None
        ]
    );
}

#[test]
fn pushes_take_the_granted_qos_of_the_matching_subscription_else_qos_1() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    let filters = [("v1/devices/me/rpc/response/+".to_string(), 0)];
    assert_eq!(p.subscribe(s, &filters, T0), vec![Some(0)]);
    let ask = r#"{"method":"getSessionLimits","params":{}}"#;
    assert_eq!(
        publish(&mut p, s, "v1/devices/me/rpc/request/3", ask, T0),
        ok()
    );
    // No subscription matches the gateway's own notices: QoS 1.
    publish(&mut p, s, "v1/gateway/telemetry", r#"{"D":[{"a":1}]}"#, T0);
    p.publish(s, "v1/gateway/telemetry", br#"{"D":[{"a":1}]}"#, 0, 0, T0);
    let qos: Vec<(String, u8)> = p
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Push { topic, qos, .. } => Some((topic, qos)),
            Effect::Close { .. } => None,
        })
        .collect();
    assert_eq!(
        qos,
        [
            ("v1/devices/me/rpc/response/3".to_string(), 0),
            ("v1/gateway/disconnect".to_string(), 1)
        ]
    );
}

#[test]
fn topic_filters_match_as_mqtt_says() {
    use crate::platform::topics::matches;
    assert!(matches(
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/rpc/request/7"
    ));
    assert!(!matches(
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/rpc/request"
    ));
    assert!(!matches(
        "v1/devices/me/rpc/request/+",
        "v1/devices/me/rpc/request/7/x"
    ));
    assert!(matches("v1/gateway/attributes", "v1/gateway/attributes"));
    assert!(!matches(
        "v1/gateway/attributes",
        "v1/gateway/attributes/response"
    ));
    assert!(matches("v1/#", "v1/gateway/rpc"));
}

#[test]
fn an_idle_sub_device_expires_silently_and_a_repeated_connect_does_not_refresh_it() {
    let mut p = platform();
    let limits = Limits {
        session_inactivity_ms: 1000,
        ..Limits::default()
    };
    p.set_limits(limits, T0);
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0,
    );
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0 + 900,
    );
    p.ping(s, T0 + 950);
    p.tick(T0 + 999);
    let pump = id_of(&p, "Pump 7");
    assert_eq!(p.attachment(pump), Some(Attach::Gateway(s)));
    p.tick(T0 + 1000);
    assert_eq!(
        p.attachment(pump),
        None,
        "expired despite the second connect"
    );
    assert!(p
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::Push { .. })));
    assert!(p.has_session(s), "the gateway itself stays (it pinged)");
    // The next message registers it again.
    publish(
        &mut p,
        s,
        "v1/gateway/telemetry",
        r#"{"Pump 7":[{"a":1}]}"#,
        T0 + 1001,
    );
    assert_eq!(p.attachment(pump), Some(Attach::Gateway(s)));
}

#[test]
fn overwrite_activity_time_makes_gateway_pings_keep_sub_devices_alive() {
    let mut p = platform();
    p.set_limits(
        Limits {
            session_inactivity_ms: 1000,
            ..Limits::default()
        },
        T0,
    );
    let gw = id_of(&p, "Gateway GW_TOKEN");
    let mut body = p.device_json(p.device(gw).unwrap());
    body["additionalInfo"]["overwriteActivityTime"] = json!(true);
    p.save_device(&body, None, T0).unwrap();
    let s = connect(&mut p, GW, MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0,
    );
    p.ping(s, T0 + 800);
    p.tick(T0 + 1500);
    assert_eq!(p.attachment(id_of(&p, "Pump 7")), Some(Attach::Gateway(s)));
    p.tick(T0 + 1800);
    assert_eq!(p.attachment(id_of(&p, "Pump 7")), None);
}

#[test]
fn an_idle_session_is_closed_after_the_inactivity_timeout() {
    let mut p = platform();
    p.set_limits(
        Limits {
            session_inactivity_ms: 1000,
            ..Limits::default()
        },
        T0,
    );
    let s = connect(&mut p, GW, MqttVersion::V5);
    p.tick(T0 + 1000);
    assert!(!p.has_session(s));
    assert!(matches!(
        p.take_effects().as_slice(),
        [Effect::Close { session, .. }] if *session == s
    ));
}

#[test]
fn force_close_writes_the_given_disconnect_reason() {
    let mut p = platform();
    let s = connect(&mut p, GW, MqttVersion::V5);
    assert!(p.force_close(s, Some(142), T0));
    assert!(!p.force_close(s, Some(142), T0));
    assert!(matches!(
        p.take_effects().as_slice(),
        [Effect::Close {
            close: Close {
                disconnect_reason: Some(142)
            },
            ..
        }]
    ));
}
