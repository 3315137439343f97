//! The parts of the console that change on their own, so that a component
//! re-renders only when the part it shows changed: a burst of traffic
//! re-renders the traffic log and the status bar, not the device page.
//!
//! Pure: the controller marks the slices each change touches and, once per
//! animation frame, wakes the components subscribed to any of them.

use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::Event;

/// One part of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Slice {
    /// The connection status, counters, limits and outbox depth.
    Status = 1,
    /// The device list (states, counters, selection, ticks).
    Devices = 1 << 1,
    /// The open device's page (telemetry, attributes, RPC).
    Device = 1 << 2,
    /// The traffic log.
    Log = 1 << 3,
    /// The notices.
    Notices = 1 << 4,
    /// The gateway's own page (limits, rejected, its own data).
    Gateway = 1 << 5,
    /// The load-test page.
    LoadTest = 1 << 6,
    /// The connect form (profiles, pending connects).
    Connection = 1 << 7,
    /// The page's frame: which page and device are open, scenario offers.
    Frame = 1 << 8,
}

/// A set of [`Slice`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Slices(u16);

impl Slices {
    /// No slice.
    pub const NONE: Slices = Slices(0);
    /// Every slice (a change whose reach is not known).
    pub const ALL: Slices = Slices(u16::MAX);

    /// These slices.
    pub fn of(slices: &[Slice]) -> Slices {
        Slices(slices.iter().fold(0, |bits, s| bits | *s as u16))
    }

    /// Both sets together.
    pub fn union(self, other: Slices) -> Slices {
        Slices(self.0 | other.0)
    }

    /// Whether the two sets share a slice.
    pub fn intersects(self, other: Slices) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no slice is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The slices a gateway event changes (through the store's handling of
    /// it). The high-rate ones are precise; the rare ones touch everything.
    pub fn of_event(event: &GatewayEvent) -> Slices {
        use Slice::*;
        match event {
            GatewayEvent::Session(Event::Packet(_)) => Slices::of(&[Log, Status]),
            GatewayEvent::Session(Event::Acked(_)) | GatewayEvent::Settled(_) => {
                Slices::of(&[Status, LoadTest])
            }
            GatewayEvent::Session(Event::AckTimedOut { .. } | Event::Rejected { .. }) => {
                Slices::of(&[Status, LoadTest, Gateway, Notices])
            }
            GatewayEvent::SharedAttributes { .. }
            | GatewayEvent::AttributeResponse { .. }
            | GatewayEvent::AttributeRequestTimedOut { .. } => {
                Slices::of(&[Device, Devices, Notices])
            }
            GatewayEvent::RpcRequest { .. } | GatewayEvent::RpcExpired { .. } => {
                Slices::of(&[Device, Devices, Notices])
            }
            GatewayEvent::OwnSharedAttributes { .. }
            | GatewayEvent::OwnAttributeResponse { .. }
            | GatewayEvent::OwnAttributeRequestTimedOut { .. }
            | GatewayEvent::OwnRpcRequest { .. }
            | GatewayEvent::OwnRpcExpired { .. }
            | GatewayEvent::OwnRpcResponse { .. }
            | GatewayEvent::OwnRpcCallTimedOut { .. } => Slices::of(&[Gateway, Notices]),
            GatewayEvent::RequestRestored { .. } => Slices::of(&[Device, Gateway, Notices]),
            GatewayEvent::SessionLimits(_)
            | GatewayEvent::SessionLimitsUnreadable { .. }
            | GatewayEvent::SessionLimitsUnanswered { .. } => {
                Slices::of(&[Gateway, Status, Notices])
            }
            GatewayEvent::DecodeError(_)
            | GatewayEvent::SubscriptionRefused { .. }
            | GatewayEvent::Failed { .. } => Slices::of(&[Notices, Status]),
            GatewayEvent::EchoIgnored { .. } => Slices::of(&[Status]),
            GatewayEvent::OutboxDropped { .. } => Slices::of(&[Status, Notices]),
            GatewayEvent::RpcInboxDropped { .. } => Slices::of(&[Device, Gateway, Notices]),
            GatewayEvent::SharedAttributesForgotten { .. } => Slices::of(&[Device, Notices]),
            GatewayEvent::BridgeState { .. } => Slices::of(&[Status, Notices, Devices]),
            GatewayEvent::DisconnectNotice { .. } => Slices::of(&[Notices, Devices, Device]),
            // Devices appear, change name or go: the list, the open page
            // and which device is open.
            GatewayEvent::DeviceRegistered { .. }
            | GatewayEvent::DeviceRenamed { .. }
            | GatewayEvent::DeviceDeleted { .. } => Slices::of(&[Devices, Device, Frame]),
            // Connected, closed, refused, subscribed: everything may change.
            GatewayEvent::Session(_) => Slices::ALL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::mqtt::{Direction, PacketLog, PublishId};
    use bytes::Bytes;

    #[test]
    fn traffic_touches_only_the_log_and_the_status() {
        let packet = GatewayEvent::Session(Event::Packet(PacketLog {
            direction: Direction::In,
            kind: "PUBLISH",
            topic: "t".into(),
            qos: Some(1),
            pkid: Some(1),
            dup: false,
            payload: Bytes::new(),
            reasons: Bytes::new(),
        }));
        let slices = Slices::of_event(&packet);
        assert!(slices.intersects(Slices::of(&[Slice::Log])));
        assert!(!slices.intersects(Slices::of(&[Slice::Device, Slice::Devices, Slice::Gateway])));
        let acked = Slices::of_event(&GatewayEvent::Session(Event::Acked(PublishId(1))));
        assert!(!acked.intersects(Slices::of(&[Slice::Log, Slice::Device])));
    }

    #[test]
    fn a_connection_change_touches_everything() {
        let closed = GatewayEvent::Session(Event::Closed { error: None });
        assert_eq!(Slices::of_event(&closed), Slices::ALL);
        assert!(Slices::ALL.intersects(Slices::of(&[Slice::Frame])));
        assert!(Slices::NONE.is_empty());
        assert_eq!(
            Slices::of(&[Slice::Log]).union(Slices::of(&[Slice::Status])),
            Slices::of(&[Slice::Status, Slice::Log])
        );
    }
}
