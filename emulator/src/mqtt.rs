//! The emulator's MQTT 5 connection to the broker: subscribes to the
//! platform's topics with No Local (so it never receives its own
//! publishes), feeds every message to the platform, publishes what the
//! platform answers (QoS 1), and reconnects and re-subscribes when the
//! broker goes away.

use crate::hub::{log, BrokerState, Hub};
use crate::platform::{Outgoing, SUBSCRIPTIONS};
use rumqttc::v5::mqttbytes::v5::{
    ConnectReturnCode, Filter, LastWill, Packet, SubscribeReasonCode,
};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Largest packet the emulator accepts from the broker. Bigger than
/// ThingsBoard's 65 536 on purpose: oversized messages are received and
/// recorded as errors instead of breaking the emulator's connection.
const MAX_INCOMING_PACKET: u32 = 16 * 1024 * 1024;

/// How the emulator connects.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id.
    pub client_id: String,
    /// Where to publish a retained `"1"` on connect and `"0"` on shutdown
    /// (and as the will), like a mosquitto bridge's `notification_topic`.
    pub state_topic: Option<String>,
}

/// Runs the connection until `shutdown` turns true. `outgoing` is the
/// hub's publish queue.
pub async fn run(
    config: MqttConfig,
    hub: Arc<Hub>,
    outgoing: mpsc::UnboundedReceiver<Outgoing>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_start(true)
        .set_max_packet_size(Some(MAX_INCOMING_PACKET));
    if let Some(topic) = &config.state_topic {
        options.set_last_will(LastWill::new(topic, "0", QoS::AtLeastOnce, true, None));
    }
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let publisher = tokio::spawn(forward(client.clone(), outgoing));

    let mut connected = false;
    let mut backoff = Duration::from_millis(250);
    let mut last_error = String::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                if ack.code != ConnectReturnCode::Success {
                    log(&format!("broker refused the connection: {:?}", ack.code));
                    continue;
                }
                connected = true;
                backoff = Duration::from_millis(250);
                last_error.clear();
                hub.set_broker_state(BrokerState::Connected);
                hub.apply(|p, now| {
                    p.set_broker_connected(true, now);
                    ((), Vec::new())
                });
                log(&format!(
                    "connected to the broker at {}:{} as {:?}",
                    config.host, config.port, config.client_id
                ));
                subscribe(&client);
                if let Some(topic) = &config.state_topic {
                    let _ = client.try_publish(topic, QoS::AtLeastOnce, true, "1");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let refused: Vec<String> = SUBSCRIPTIONS
                    .iter()
                    .zip(&ack.return_codes)
                    .filter(|(_, code)| !matches!(code, SubscribeReasonCode::Success(_)))
                    .map(|(topic, code)| format!("{topic} ({code:?})"))
                    .collect();
                if refused.is_empty() && ack.return_codes.len() == SUBSCRIPTIONS.len() {
                    log(&format!(
                        "subscribed to {} topics (No Local)",
                        SUBSCRIPTIONS.len()
                    ));
                    hub.set_broker_state(BrokerState::Subscribed);
                } else {
                    log(&format!(
                        "the broker refused subscriptions: {}",
                        refused.join(", ")
                    ));
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let topic = String::from_utf8_lossy(&publish.topic).into_owned();
                let payload = publish.payload;
                hub.apply(|p, now| ((), p.handle(&topic, &payload, now)));
            }
            Ok(Event::Incoming(Packet::Disconnect(d))) => {
                log(&format!("the broker disconnected us: {:?}", d.reason_code));
            }
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                if connected {
                    connected = false;
                    log(&format!("lost the broker connection: {text}; reconnecting"));
                    hub.set_broker_state(BrokerState::Connecting);
                    hub.apply(|p, now| {
                        p.set_broker_connected(false, now);
                        p.close_gateway_session(
                            now,
                            "broker connection lost: ThingsBoard would see the bridge drop",
                        );
                        ((), Vec::new())
                    });
                } else if text != last_error {
                    log(&format!(
                        "cannot reach the broker at {}:{}: {text}; retrying",
                        config.host, config.port
                    ));
                }
                last_error = text;
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    publisher.abort();
    if connected {
        disconnect(&client, &mut eventloop, config.state_topic.as_deref()).await;
    }
}

/// One SUBSCRIBE for every platform topic, QoS 1, No Local.
fn subscribe(client: &AsyncClient) {
    let filters: Vec<Filter> = SUBSCRIPTIONS
        .iter()
        .map(|topic| {
            let mut filter = Filter::new(*topic, QoS::AtLeastOnce);
            filter.nolocal = true;
            filter
        })
        .collect();
    if let Err(e) = client.try_subscribe_many(filters) {
        log(&format!("could not queue the subscriptions: {e}"));
    }
}

/// Publishes the platform's messages in order, QoS 1, not retained.
async fn forward(client: AsyncClient, mut outgoing: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(message) = outgoing.recv().await {
        if let Err(e) = client
            .publish(
                message.topic.clone(),
                QoS::AtLeastOnce,
                false,
                message.payload,
            )
            .await
        {
            log(&format!("could not publish on {}: {e}", message.topic));
        }
    }
}

/// Clean shutdown: retained `"0"` on the state topic, then DISCONNECT,
/// waiting briefly for both to go out.
async fn disconnect(client: &AsyncClient, eventloop: &mut EventLoop, state_topic: Option<&str>) {
    if let Some(topic) = state_topic {
        let _ = client.try_publish(topic, QoS::AtLeastOnce, true, "0");
    }
    let _ = client.try_disconnect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
    }
    log("disconnected from the broker");
}
