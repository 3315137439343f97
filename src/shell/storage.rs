//! The page's localStorage, as plain strings. Failures (storage disabled,
//! quota exceeded) come back as readable errors.

/// The value stored under `key`, if any.
pub fn load(key: &str) -> Result<Option<String>, String> {
    storage()?.get_item(key).map_err(|e| {
        format!(
            "cannot read saved settings: {}",
            super::socket::js_error_text(&e)
        )
    })
}

/// Store `value` under `key`.
pub fn save(key: &str, value: &str) -> Result<(), String> {
    storage()?
        .set_item(key, value)
        .map_err(|e| format!("cannot save settings: {}", super::socket::js_error_text(&e)))
}

fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| {
            "this browser does not allow saving settings (localStorage is off)".to_string()
        })
}
