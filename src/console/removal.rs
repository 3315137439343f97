//! Removing many devices at once, with a confirmation and an undo.
//!
//! "Remove selected" first asks, naming how many devices go
//! ([`Removal::confirm_text`]). Once removed, an "Undo" is offered for
//! [`UNDO_MS`]: it brings every device back with its type, registered again
//! if it was registered (connecting or connected) and kept disconnected
//! otherwise, and ticked as it was. Pure: the view does the removing and the
//! restoring through the gateway, and asks here what and until when.

/// How long "Undo" is offered after a removal.
pub const UNDO_MS: u64 = 10_000;

/// A removed device, as it is to be brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedDevice {
    /// Its name.
    pub name: String,
    /// Its device type (profile), if it had one.
    pub device_type: Option<String>,
    /// Whether it was registered with the server (connecting or connected).
    pub registered: bool,
}

/// Devices removed together, which can be brought back for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The devices, in the order they were removed.
    pub devices: Vec<RemovedDevice>,
    /// Until when (ms since the epoch) "Undo" is offered.
    pub until_ms: u64,
}

/// "1 device" or "N devices".
pub fn devices_text(count: usize) -> String {
    if count == 1 {
        "1 device".into()
    } else {
        format!("{count} devices")
    }
}

impl Removal {
    /// The question asked before removing `count` devices.
    pub fn confirm_text(count: usize) -> String {
        format!(
            "Remove {}? They are disconnected from the server and leave the list.",
            devices_text(count)
        )
    }

    /// What is said once they are removed.
    pub fn done_text(&self) -> String {
        format!("Removed {}.", devices_text(self.devices.len()))
    }
}

/// The last removal, while it can still be undone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoRemoval {
    last: Option<Removal>,
}

impl UndoRemoval {
    /// Remember that `devices` were removed at `now_ms` (replacing an
    /// earlier removal: only the last can be undone).
    pub fn removed(&mut self, devices: Vec<RemovedDevice>, now_ms: u64) {
        self.last = (!devices.is_empty()).then(|| Removal {
            devices,
            until_ms: now_ms + UNDO_MS,
        });
    }

    /// The removal that can be undone at `now_ms`, if any.
    pub fn offered(&self, now_ms: u64) -> Option<&Removal> {
        self.last.as_ref().filter(|r| now_ms < r.until_ms)
    }

    /// Undo: hand back what to restore (nothing once the time is up), and
    /// offer it no more.
    pub fn take(&mut self, now_ms: u64) -> Option<Removal> {
        let removal = self.last.take()?;
        (now_ms < removal.until_ms).then_some(removal)
    }

    /// Stop offering the undo (dismissed, or the time is up).
    pub fn forget(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(name: &str, device_type: Option<&str>, registered: bool) -> RemovedDevice {
        RemovedDevice {
            name: name.into(),
            device_type: device_type.map(str::to_string),
            registered,
        }
    }

    #[test]
    fn the_confirmation_and_the_notice_name_the_count() {
        assert_eq!(
            Removal::confirm_text(10_000),
            "Remove 10000 devices? They are disconnected from the server and leave the list."
        );
        assert!(Removal::confirm_text(1).starts_with("Remove 1 device?"));
        let mut undo = UndoRemoval::default();
        undo.removed(vec![device("A", None, true), device("B", None, false)], 0);
        assert_eq!(undo.offered(0).unwrap().done_text(), "Removed 2 devices.");
    }

    #[test]
    fn undo_gives_back_the_devices_with_their_types_and_registrations() {
        let mut undo = UndoRemoval::default();
        let removed = vec![
            device("Pump 7", Some("Water pump"), true),
            device("Spare", None, false),
        ];
        undo.removed(removed.clone(), 1_000);
        assert!(undo.offered(1_000 + UNDO_MS - 1).is_some());
        let back = undo.take(1_000 + UNDO_MS - 1).expect("still offered");
        assert_eq!(back.devices, removed);
        assert_eq!(undo.offered(1_001), None, "undone once only");
        assert_eq!(undo.take(1_001), None);
    }

    #[test]
    fn undo_is_offered_for_a_while_only_and_for_the_last_removal() {
        let mut undo = UndoRemoval::default();
        undo.removed(vec![device("A", None, true)], 0);
        assert_eq!(undo.offered(UNDO_MS), None, "the time is up");
        assert_eq!(undo.take(UNDO_MS), None);
        undo.removed(vec![device("B", None, true)], 100);
        undo.removed(vec![device("C", None, true)], 200);
        assert_eq!(undo.offered(300).unwrap().devices[0].name, "C");
        undo.forget();
        assert_eq!(undo.offered(300), None);
        undo.removed(vec![], 400);
        assert_eq!(undo.offered(400), None, "removing nothing offers nothing");
    }
}
