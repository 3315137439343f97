//! Publish verdicts (contract §3, §4), QoS 0, rate limits and
//! `getSessionLimits` (§6).

use super::*;
use crate::platform::{Attach, Limits, RateLimitSpecs, TbValue};
use serde_json::json;

fn gateway(version: MqttVersion) -> (Platform, SessionId) {
    let mut p = platform();
    let s = connect(&mut p, GW, version);
    (p, s)
}

#[test]
fn gateway_telemetry_is_stored_typed_and_acknowledged() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(
        &mut p,
        s,
        "v1/gateway/telemetry",
        r#"{"Pump 7":[{"ts":1000,"values":{"flow":12.5,"on":true}}],"Pump 8":[{"mode":"00123"}]}"#,
        T0,
    );
    assert_eq!(v, ok());
    let p7 = p.device_by_name("Pump 7").unwrap();
    assert_eq!(p7.latest("flow").unwrap().value, TbValue::Double(12.5));
    assert_eq!(p7.latest("flow").unwrap().ts, 1000);
    let p8 = p.device_by_name("Pump 8").unwrap();
    assert_eq!(p8.latest("mode").unwrap().value, TbValue::Long(123));
    assert_eq!(p8.latest("mode").unwrap().ts, T0 as i64);
    assert_eq!(p8.device_type, "default");
}

#[test]
fn gateway_topics_from_a_device_without_the_gateway_flag_get_no_puback() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V5);
    let v = publish(&mut p, s, "v1/gateway/connect", r#"{"device":"X"}"#, T0);
    assert_eq!(
        v,
        Verdict {
            ack: None,
            close: None
        }
    );
    assert!(p.device_by_name("X").is_none());
    assert_eq!(p.errors()[0].action, "dropped, no PUBACK");
}

#[test]
fn invalid_json_gets_puback_153_under_mqtt5_and_stays_open() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(&mut p, s, "v1/gateway/telemetry", "{not json", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(153),
            close: None
        }
    );
    assert!(p.has_session(s));
}

#[test]
fn invalid_json_closes_an_mqtt_3_1_1_connection_without_puback() {
    let (mut p, s) = gateway(MqttVersion::V311);
    publish(
        &mut p,
        s,
        "v1/gateway/connect",
        r#"{"device":"Pump 7"}"#,
        T0,
    );
    let v = publish(&mut p, s, "v1/gateway/telemetry", "{not json", T0);
    assert_eq!(
        v,
        Verdict {
            ack: None,
            close: closed()
        }
    );
    assert!(!p.has_session(s));
    assert_eq!(p.attachment(id_of(&p, "Pump 7")), None);
    assert!(p.errors().last().unwrap().connection_closed);
}

#[test]
fn send_puback_on_validation_failure_turns_the_close_into_puback_153() {
    let mut p = platform();
    let gw = id_of(&p, "Gateway GW_TOKEN");
    let mut body = p.device_json(p.device(gw).unwrap());
    body["additionalInfo"]["sendPubackOnValidationFailure"] = json!(true);
    p.save_device(&body, None, T0).unwrap();
    let s = connect(&mut p, GW, MqttVersion::V311);
    let v = publish(&mut p, s, "v1/gateway/telemetry", "{not json", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(153),
            close: None
        }
    );
    let v = publish(&mut p, s, "v1/devices/me/telemetry", "[1]", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(153),
            close: None
        }
    );
    assert!(p.has_session(s));
}

#[test]
fn json_that_is_not_an_object_gets_puback_131_and_closes() {
    for version in [MqttVersion::V5, MqttVersion::V311] {
        let (mut p, s) = gateway(version);
        let v = publish(&mut p, s, "v1/gateway/connect", "[1,2]", T0);
        assert_eq!(
            v,
            Verdict {
                ack: acked(131),
                close: closed()
            }
        );
        assert!(!p.has_session(s));
    }
}

#[test]
fn missing_required_fields_get_puback_131_and_close() {
    let cases = [
        ("v1/gateway/connect", r#"{"type":"x"}"#),
        ("v1/gateway/disconnect", r#"{"device":""}"#),
        (
            "v1/gateway/attributes/request",
            r#"{"id":1,"device":"D","key":"k"}"#,
        ),
        (
            "v1/gateway/attributes/request",
            r#"{"id":1,"device":"D","client":true}"#,
        ),
        (
            "v1/gateway/attributes/request",
            r#"{"id":1,"device":"D","client":["a"],"shared":["b"]}"#,
        ),
        ("v1/gateway/rpc", r#"{"device":"D","id":1}"#),
        ("v1/gateway/rpc", r#"{"device":"D","data":{}}"#),
    ];
    for (topic, payload) in cases {
        let (mut p, s) = gateway(MqttVersion::V5);
        let v = publish(&mut p, s, topic, payload, T0);
        assert_eq!(
            v,
            Verdict {
                ack: acked(131),
                close: closed()
            },
            "{topic} {payload}"
        );
    }
}

#[test]
fn a_message_with_no_valid_entries_gets_puback_131_and_closes() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(
        &mut p,
        s,
        "v1/gateway/telemetry",
        r#"{"Pump 7":{"a":1}}"#,
        T0,
    );
    assert_eq!(
        v,
        Verdict {
            ack: acked(131),
            close: closed()
        }
    );
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(&mut p, s, "v1/gateway/attributes", "{}", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(131),
            close: closed()
        }
    );
}

#[test]
fn a_skipped_entry_is_logged_and_the_rest_processed() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(
        &mut p,
        s,
        "v1/gateway/telemetry",
        r#"{"Pump 7":{"a":1},"Pump 8":[{"b":2}]}"#,
        T0,
    );
    assert_eq!(v, ok());
    assert!(p.device_by_name("Pump 7").is_none());
    assert!(p.device_by_name("Pump 8").is_some());
    assert_eq!(p.errors().len(), 1);
}

#[test]
fn a_conversion_failure_gets_153_under_mqtt5_and_closes_under_3_1_1() {
    let bad = r#"{"Pump 7":[{"ts":"soon","values":{"a":1}}],"Pump 8":[{"b":2}]}"#;
    let (mut p, s) = gateway(MqttVersion::V5);
    assert_eq!(
        publish(&mut p, s, "v1/gateway/telemetry", bad, T0),
        Verdict {
            ack: acked(153),
            close: None
        }
    );
    assert!(p.device_by_name("Pump 8").unwrap().latest("b").is_some());
    let (mut p, s) = gateway(MqttVersion::V311);
    assert_eq!(
        publish(&mut p, s, "v1/gateway/telemetry", bad, T0),
        Verdict {
            ack: None,
            close: closed()
        }
    );
}

#[test]
fn an_unknown_gateway_topic_gets_144_under_mqtt5_and_0_under_3_1_1_and_stays_open() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = publish(&mut p, s, "v1/gateway/device/telemetry", "{}", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(144),
            close: None
        }
    );
    let (mut p, s) = gateway(MqttVersion::V311);
    let v = publish(&mut p, s, "v1/gateway/nope", "{}", T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(0),
            close: None
        }
    );
    assert!(p.has_session(s));
}

#[test]
fn qos0_on_a_gateway_topic_is_processed_and_answered_with_id_65535_code_128_and_a_129_notice() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = p.publish(
        s,
        "v1/gateway/telemetry",
        br#"{"Pump 7":[{"a":1}]}"#,
        0,
        0,
        T0,
    );
    assert_eq!(
        v,
        Verdict {
            ack: Some(Ack {
                pkid: 0xFFFF,
                reason: 128
            }),
            close: None
        }
    );
    assert!(p.device_by_name("Pump 7").unwrap().latest("a").is_some());
    assert_eq!(
        pushes(&mut p),
        vec![(
            s,
            "v1/gateway/disconnect".into(),
            json!({"device":"Pump 7","reason":129})
        )]
    );
}

#[test]
fn qos0_connect_and_disconnect_are_exempt_and_unacknowledged() {
    let (mut p, s) = gateway(MqttVersion::V5);
    let v = p.publish(s, "v1/gateway/connect", br#"{"device":"Pump 7"}"#, 0, 0, T0);
    assert_eq!(
        v,
        Verdict {
            ack: None,
            close: None
        }
    );
    assert_eq!(p.attachment(id_of(&p, "Pump 7")), Some(Attach::Gateway(s)));
    assert!(pushes(&mut p).is_empty());
}

#[test]
fn qos0_under_3_1_1_sends_no_notice() {
    let (mut p, s) = gateway(MqttVersion::V311);
    let v = p.publish(
        s,
        "v1/gateway/attributes",
        br#"{"Pump 7":{"a":1}}"#,
        0,
        0,
        T0,
    );
    assert_eq!(
        v.ack,
        Some(Ack {
            pkid: 0xFFFF,
            reason: 128
        })
    );
    assert!(pushes(&mut p).is_empty());
}

#[test]
fn invalid_device_level_input_closes_the_connection() {
    for (topic, payload) in [
        ("v1/devices/me/telemetry", "nope"),
        ("v1/devices/me/telemetry", "5"),
        ("v1/devices/me/attributes", "[1]"),
        ("v1/devices/me/attributes/request/x", "{}"),
        ("v1/devices/me/rpc/request/1", r#"{"params":1}"#),
    ] {
        let (mut p, s) = gateway(MqttVersion::V5);
        let v = publish(&mut p, s, topic, payload, T0);
        assert_eq!(
            v,
            Verdict {
                ack: None,
                close: closed()
            },
            "{topic}"
        );
    }
}

#[test]
fn device_level_telemetry_and_attributes_are_stored_for_the_session_device() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V311);
    assert_eq!(
        publish(
            &mut p,
            s,
            "v1/devices/me/telemetry",
            r#"[{"t":1},{"ts":5,"values":{"u":2}}]"#,
            T0
        ),
        ok()
    );
    assert_eq!(publish(&mut p, s, "v2/a", r#"{"fw":"1.0"}"#, T0), ok());
    let d = p.device_by_name("Test Device A1").unwrap();
    assert_eq!(d.latest("u").unwrap().ts, 5);
    assert!(d.client_attributes.contains_key("fw"));
    assert_eq!(
        publish(&mut p, s, "some/other/topic", "{}", T0).ack,
        acked(0)
    );
}

#[test]
fn attribute_requests_answer_value_values_or_neither() {
    let (mut p, s) = gateway(MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/gateway/attributes",
        r#"{"Pump 7":{"fw":"1.4","sn":"P7"}}"#,
        T0,
    );
    let id = id_of(&p, "Pump 7");
    p.save_attributes(id, crate::platform::Scope::Shared, &json!({"sp": 42}), T0)
        .unwrap();
    p.take_effects();
    let topic = "v1/gateway/attributes/request";
    publish(
        &mut p,
        s,
        topic,
        r#"{"id":1,"device":"Pump 7","client":false,"key":"sp"}"#,
        T0,
    );
    publish(
        &mut p,
        s,
        topic,
        r#"{"id":2,"device":"Pump 7","client":true,"keys":["fw","sn","x"]}"#,
        T0,
    );
    publish(
        &mut p,
        s,
        topic,
        r#"{"id":3,"device":"Pump 7","client":true,"key":"none"}"#,
        T0,
    );
    let bodies: Vec<Value> = pushes(&mut p).into_iter().map(|(_, _, b)| b).collect();
    assert_eq!(
        bodies,
        vec![
            json!({"id":1,"device":"Pump 7","value":42}),
            json!({"id":2,"device":"Pump 7","values":{"fw":1.4,"sn":"P7"}}),
            json!({"id":3,"device":"Pump 7"}),
        ]
    );
}

#[test]
fn device_level_attribute_requests_answer_client_and_shared_sections() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/devices/me/attributes",
        r#"{"a":1,"b":2}"#,
        T0,
    );
    publish(
        &mut p,
        s,
        "v1/devices/me/attributes/request/4",
        r#"{"clientKeys":"a","sharedKeys":"z"}"#,
        T0,
    );
    assert_eq!(
        pushes(&mut p),
        vec![(
            s,
            "v1/devices/me/attributes/response/4".into(),
            json!({"client":{"a":1}})
        )]
    );
}

fn limited(gateway: RateLimitSpecs, device: RateLimitSpecs) -> Limits {
    Limits {
        gateway_rate_limits: gateway,
        device_rate_limits: device,
        ..Limits::default()
    }
}

#[test]
fn a_gateway_rate_limit_breach_gets_puback_151_and_a_close_under_mqtt5() {
    let (mut p, s) = gateway(MqttVersion::V5);
    p.set_limits(
        limited(
            RateLimitSpecs {
                telemetry_data_points: Some("3:1".into()),
                ..RateLimitSpecs::default()
            },
            RateLimitSpecs::default(),
        ),
        T0,
    );
    let t = "v1/gateway/telemetry";
    // Two devices share the gateway's bucket: 2 + 1 points fit.
    assert_eq!(publish(&mut p, s, t, r#"{"A":[{"x":1,"y":2}]}"#, T0), ok());
    assert_eq!(publish(&mut p, s, t, r#"{"B":[{"x":1}]}"#, T0), ok());
    let v = publish(&mut p, s, t, r#"{"A":[{"z":1}]}"#, T0);
    assert_eq!(
        v,
        Verdict {
            ack: acked(151),
            close: closed()
        }
    );
    assert!(
        p.device_by_name("A").unwrap().latest("z").is_none(),
        "not stored"
    );
    assert!(!p.has_session(s));
}

#[test]
fn a_rate_limit_breach_under_3_1_1_closes_without_puback() {
    let (mut p, s) = gateway(MqttVersion::V311);
    p.set_limits(
        limited(
            RateLimitSpecs {
                messages: Some("1:60".into()),
                ..RateLimitSpecs::default()
            },
            RateLimitSpecs::default(),
        ),
        T0,
    );
    assert_eq!(
        publish(&mut p, s, "v1/gateway/connect", r#"{"device":"A"}"#, T0),
        ok()
    );
    let v = publish(&mut p, s, "v1/gateway/connect", r#"{"device":"B"}"#, T0);
    assert_eq!(
        v,
        Verdict {
            ack: None,
            close: closed()
        }
    );
}

#[test]
fn device_rate_limits_count_a_device_own_traffic_only() {
    let (mut p, s) = gateway(MqttVersion::V5);
    p.set_limits(
        limited(
            RateLimitSpecs::default(),
            RateLimitSpecs {
                telemetry_messages: Some("1:1".into()),
                ..RateLimitSpecs::default()
            },
        ),
        T0,
    );
    assert_eq!(
        publish(&mut p, s, "v1/devices/me/telemetry", r#"{"a":1}"#, T0),
        ok()
    );
    for _ in 0..5 {
        assert_eq!(
            publish(&mut p, s, "v1/gateway/telemetry", r#"{"A":[{"a":1}]}"#, T0),
            ok()
        );
    }
    // The bucket refills after a second.
    assert_eq!(
        publish(
            &mut p,
            s,
            "v1/devices/me/telemetry",
            r#"{"a":1}"#,
            T0 + 1000
        ),
        ok()
    );
    let v = publish(
        &mut p,
        s,
        "v1/devices/me/telemetry",
        r#"{"a":1}"#,
        T0 + 1000,
    );
    assert_eq!(
        v,
        Verdict {
            ack: acked(151),
            close: closed()
        }
    );
}

#[test]
fn get_session_limits_answers_from_the_current_limits() {
    let (mut p, s) = gateway(MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/devices/me/rpc/request/1",
        r#"{"method":"getSessionLimits","params":{}}"#,
        T0,
    );
    let unlimited = json!({"messages":null,"telemetryMessages":null,"telemetryDataPoints":null});
    assert_eq!(
        pushes(&mut p),
        vec![(
            s,
            "v1/devices/me/rpc/response/1".into(),
            json!({"maxPayloadSize":65536,"maxInflightMessages":100,
                   "rateLimits":unlimited,"gatewayRateLimits":unlimited})
        )]
    );
    let mut limits = limited(
        RateLimitSpecs {
            messages: Some("10:1,300:60".into()),
            ..RateLimitSpecs::default()
        },
        RateLimitSpecs {
            telemetry_data_points: Some("200:1".into()),
            ..RateLimitSpecs::default()
        },
    );
    limits.max_payload_size = 1000;
    p.set_limits(limits, T0);
    assert_eq!(p.transport_limits().max_payload_size, 1000);
    publish(
        &mut p,
        s,
        "v1/devices/me/rpc/request/2",
        r#"{"method":"getSessionLimits"}"#,
        T0,
    );
    let answer = &pushes(&mut p)[0].2;
    assert_eq!(answer["maxPayloadSize"], 1000);
    assert_eq!(answer["gatewayRateLimits"]["messages"], "10:1,300:60");
    assert_eq!(answer["rateLimits"]["telemetryDataPoints"], "200:1");
    assert_eq!(answer["rateLimits"]["messages"], Value::Null);
}

#[test]
fn a_plain_device_gets_session_limits_without_gateway_rate_limits() {
    let mut p = platform();
    let s = connect(&mut p, "A1_TEST_TOKEN", MqttVersion::V5);
    publish(
        &mut p,
        s,
        "v1/devices/me/rpc/request/0",
        r#"{"method":"getSessionLimits"}"#,
        T0,
    );
    let answer = &pushes(&mut p)[0].2;
    assert!(answer.get("gatewayRateLimits").is_none());
    assert!(answer.get("rateLimits").is_some());
}

#[test]
fn canned_client_rpc_replies_answer_other_methods() {
    let (mut p, s) = gateway(MqttVersion::V5);
    p.set_client_rpc_reply("getCurrentTime", Some(json!({"time": 5})));
    publish(
        &mut p,
        s,
        "v1/devices/me/rpc/request/3",
        r#"{"method":"getCurrentTime"}"#,
        T0,
    );
    publish(
        &mut p,
        s,
        "v1/devices/me/rpc/request/4",
        r#"{"method":"other"}"#,
        T0,
    );
    let out = pushes(&mut p);
    assert_eq!(out[0].2, json!({"time": 5}));
    assert!(out[1].2["error"].is_string());
}
