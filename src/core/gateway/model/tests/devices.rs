use crate::core::gateway::model::{DeviceState, Devices, ModelError, Traffic};
use crate::core::time::Millis;

#[test]
fn registering_a_device_makes_it_connecting_with_its_type() {
    let mut d = Devices::new();
    assert_eq!(
        d.register(Millis(5), "Pump 7", Some("Water pump")),
        Ok("Pump 7".into())
    );
    let dev = d.get("Pump 7").unwrap();
    assert_eq!(dev.state, DeviceState::Connecting);
    assert_eq!(dev.device_type.as_deref(), Some("Water pump"));
    assert_eq!(dev.last_activity, Millis(5));
    assert!(d.mark_connected("Pump 7"));
    assert!(!d.mark_connected("Pump 7"));
    assert_eq!(d.get("Pump 7").unwrap().state, DeviceState::Connected);
}

#[test]
fn registering_again_keeps_counters_and_the_type_unless_a_new_one_is_given() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", Some("t1")).unwrap();
    d.record_publish(Millis(1), "A", Traffic::Telemetry, true);
    d.register(Millis(2), "A", None).unwrap();
    let dev = d.get("A").unwrap();
    assert_eq!(dev.device_type.as_deref(), Some("t1"));
    assert_eq!(dev.telemetry_sent, 1);
    d.register(Millis(3), "A", Some("t2")).unwrap();
    assert_eq!(d.get("A").unwrap().device_type.as_deref(), Some("t2"));
}

#[test]
fn publishing_for_an_unknown_device_registers_it_as_the_server_does() {
    let mut d = Devices::new();
    d.record_publish(Millis(1), "X", Traffic::Attributes, true);
    let dev = d.get("X").unwrap();
    assert_eq!(dev.state, DeviceState::Connected);
    assert_eq!(dev.attributes_sent, 1);
    d.record_publish(Millis(1), "Y", Traffic::Telemetry, false);
    assert_eq!(d.get("Y").unwrap().state, DeviceState::Connecting);
}

#[test]
fn counters_count_telemetry_attributes_and_rpc() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.record_publish(Millis(1), "A", Traffic::Telemetry, true);
    d.record_publish(Millis(2), "A", Traffic::Telemetry, true);
    d.record_publish(Millis(3), "A", Traffic::Attributes, true);
    d.record_publish(Millis(4), "A", Traffic::Other, true);
    d.record_received(Millis(9), "A", true);
    d.record_received(Millis(10), "A", false);
    let dev = d.get("A").unwrap();
    assert_eq!(
        (dev.telemetry_sent, dev.attributes_sent, dev.rpc_received),
        (2, 1, 1)
    );
    assert_eq!(dev.last_activity, Millis(10));
}

#[test]
fn a_lost_session_makes_connected_devices_connecting_and_leaves_disconnected_ones() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.mark_connected("A");
    d.register(Millis(0), "B", None).unwrap();
    d.mark_disconnected(Millis(1), "B").unwrap();
    d.register(Millis(0), "C", Some("t")).unwrap();
    d.session_lost();
    assert_eq!(d.get("A").unwrap().state, DeviceState::Connecting);
    assert_eq!(d.get("B").unwrap().state, DeviceState::Disconnected);
    assert_eq!(
        d.to_register(),
        vec![
            ("A".to_string(), None),
            ("C".to_string(), Some("t".to_string()))
        ]
    );
}

#[test]
fn disconnecting_an_unknown_device_is_refused() {
    let mut d = Devices::new();
    assert_eq!(
        d.mark_disconnected(Millis(0), "nope"),
        Err(ModelError::UnknownDevice {
            device: "nope".into()
        })
    );
}

#[test]
fn a_rename_sends_the_old_name_to_the_new_one_with_state_and_counters() {
    let mut d = Devices::new();
    d.register(Millis(0), "Old", Some("t")).unwrap();
    d.mark_connected("Old");
    d.record_publish(Millis(1), "Old", Traffic::Telemetry, true);
    assert_eq!(
        d.rename(Millis(2), "Old", "New"),
        Some(DeviceState::Connected)
    );
    assert_eq!(d.resolve("Old"), Ok("New".into()));
    assert_eq!(
        d.get("Old").unwrap().state,
        DeviceState::Renamed { to: "New".into() }
    );
    let new = d.get("New").unwrap();
    assert_eq!(new.state, DeviceState::Connected);
    assert_eq!(new.telemetry_sent, 1);
    assert_eq!(new.device_type.as_deref(), Some("t"));
    // Registering under the old name registers the new one.
    assert_eq!(d.register(Millis(3), "Old", None), Ok("New".into()));
    assert_eq!(
        d.to_register(),
        vec![("New".to_string(), Some("t".to_string()))]
    );
}

#[test]
fn chained_renames_stay_flat_and_renaming_back_has_no_cycle() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.rename(Millis(1), "A", "B");
    d.rename(Millis(2), "B", "C");
    assert_eq!(d.resolve("A"), Ok("C".into()));
    assert_eq!(d.resolve("B"), Ok("C".into()));
    d.rename(Millis(3), "C", "A");
    assert_eq!(d.resolve("A"), Ok("A".into()));
    assert_eq!(d.resolve("B"), Ok("A".into()));
    assert_eq!(d.resolve("C"), Ok("A".into()));
    assert!(!d.renames().contains_key("A"));
}

#[test]
fn a_rename_of_an_unknown_device_is_still_remembered() {
    let mut d = Devices::new();
    assert_eq!(d.rename(Millis(0), "X", "Y"), None);
    assert_eq!(d.resolve("X"), Ok("Y".into()));
    assert!(d.get("Y").is_none());
}

#[test]
fn a_deleted_device_is_refused_until_it_is_removed() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.delete(Millis(1), "A");
    assert_eq!(d.get("A").unwrap().state, DeviceState::Deleted);
    let err = d.resolve("A").unwrap_err();
    assert_eq!(err, ModelError::DeviceDeleted { device: "A".into() });
    assert!(err.to_string().contains("deleted on the server"));
    assert!(d.register(Millis(2), "A", None).is_err());
    assert!(d.to_register().is_empty());
    d.remove("A");
    assert_eq!(d.register(Millis(3), "A", None), Ok("A".into()));
}

#[test]
fn a_deletion_of_an_unknown_device_still_refuses_publishes_to_it() {
    let mut d = Devices::new();
    d.delete(Millis(1), "Ghost");
    assert!(d.resolve("Ghost").is_err());
}

#[test]
fn a_device_renamed_then_deleted_is_refused_under_its_old_name() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.rename(Millis(1), "A", "B");
    d.delete(Millis(2), "B");
    assert_eq!(
        d.resolve("A"),
        Err(ModelError::DeviceDeleted { device: "B".into() })
    );
}

#[test]
fn removing_a_device_forgets_renames_to_and_from_it() {
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.rename(Millis(1), "A", "B");
    assert!(d.remove("B").is_some());
    assert!(d.renames().is_empty());
    assert_eq!(d.resolve("A"), Ok("A".into()));
}

#[test]
fn a_quiet_device_shows_when_it_is_about_to_expire_and_when_it_has() {
    use crate::core::gateway::model::Expiry;
    let mut d = Devices::new();
    d.register(Millis(0), "A", None).unwrap();
    d.mark_connected("A");
    let a = d.get("A").unwrap();
    assert_eq!(a.expiry(Millis(400_000), 600_000), Expiry::Fine);
    assert_eq!(a.expiry(Millis(560_000), 600_000), Expiry::Soon(40_000));
    assert_eq!(a.expiry(Millis(600_000), 600_000), Expiry::Expired);
    assert_eq!(a.expiry(Millis(900_000), 0), Expiry::Fine, "no expiry");
    d.record_publish(Millis(600_000), "A", Traffic::Telemetry, true);
    assert_eq!(
        d.get("A").unwrap().expiry(Millis(600_001), 600_000),
        Expiry::Fine
    );
}
