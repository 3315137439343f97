use crate::core::gateway::codec::topics::{self, Topic};

#[test]
fn every_fixed_topic_of_the_contract_is_recognised() {
    let cases = [
        ("v1/gateway/connect", Topic::GatewayConnect),
        ("v1/gateway/disconnect", Topic::GatewayDisconnect),
        ("v1/gateway/telemetry", Topic::GatewayTelemetry),
        ("v1/gateway/attributes", Topic::GatewayAttributes),
        (
            "v1/gateway/attributes/request",
            Topic::GatewayAttributesRequest,
        ),
        (
            "v1/gateway/attributes/response",
            Topic::GatewayAttributesResponse,
        ),
        ("v1/gateway/rpc", Topic::GatewayRpc),
        ("v1/gateway/claim", Topic::GatewayClaim),
        ("v1/devices/me/telemetry", Topic::OwnTelemetry),
        ("v1/devices/me/attributes", Topic::OwnAttributes),
        ("v1/devices/me/claim", Topic::OwnClaim),
    ];
    for (name, topic) in cases {
        assert_eq!(Topic::parse(name), Ok(topic), "{name}");
    }
}

#[test]
fn device_level_topics_carry_their_request_id() {
    assert_eq!(
        Topic::parse("v1/devices/me/attributes/request/7"),
        Ok(Topic::OwnAttributesRequest(7))
    );
    assert_eq!(
        Topic::parse("v1/devices/me/attributes/response/7"),
        Ok(Topic::OwnAttributesResponse(7))
    );
    assert_eq!(
        Topic::parse("v1/devices/me/rpc/request/0"),
        Ok(Topic::OwnRpcRequest(0))
    );
    assert_eq!(
        Topic::parse("v1/devices/me/rpc/response/42"),
        Ok(Topic::OwnRpcResponse(42))
    );
}

#[test]
fn a_request_id_that_is_not_a_number_is_refused_in_words() {
    for bad in [
        "v1/devices/me/rpc/request/abc",
        "v1/devices/me/rpc/request/",
        "v1/devices/me/rpc/request/-1",
        "v1/devices/me/rpc/request/1/2",
        "v1/devices/me/attributes/response/99999999999",
    ] {
        let err = Topic::parse(bad).unwrap_err();
        assert!(err.contains("request id"), "{bad}: {err}");
    }
}

#[test]
fn unknown_topics_are_refused() {
    for bad in [
        "v1/gateway/#",
        "v1/gateway/device/x",
        "v2/t",
        "",
        "v1/gateway/rpc/",
    ] {
        assert!(Topic::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_gateway_subscribes_to_seven_filters_that_the_server_accepts() {
    assert_eq!(
        topics::SUBSCRIPTIONS,
        [
            "v1/gateway/attributes",
            "v1/gateway/attributes/response",
            "v1/gateway/rpc",
            "v1/devices/me/attributes",
            "v1/devices/me/attributes/response/+",
            "v1/devices/me/rpc/request/+",
            "v1/devices/me/rpc/response/+",
        ]
    );
}

#[test]
fn device_level_topic_builders_append_the_id() {
    assert_eq!(
        topics::own_attributes_request(3),
        "v1/devices/me/attributes/request/3"
    );
    assert_eq!(topics::own_rpc_request(4), "v1/devices/me/rpc/request/4");
    assert_eq!(topics::own_rpc_response(0), "v1/devices/me/rpc/response/0");
}
