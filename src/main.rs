//! The binary trunk builds: mounts the Yew app on the page.

#[cfg(target_arch = "wasm32")]
fn main() {
    browser_gateway::view::start();
}

/// The size of this page's wasm linear memory in bytes, for the memory
/// benchmark (`scripts/bench app`, reachable from JS as
/// `window.wasmBindings.wasm_memory_bytes()`). Read-only: it only reports
/// what the browser already knows, and wasm memory never shrinks, so the
/// latest value is also the peak so far.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
        .into()
}

/// How many JS values (objects, closures) the wasm side holds now, for the
/// memory benchmark (`window.wasmBindings.js_values_held()`): it counts the
/// live slots of wasm-bindgen's externref table, so a `JsValue` or `Closure`
/// kept per message shows as a count that grows with the messages.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn js_values_held() -> u32 {
    wasm_bindgen::externref_heap_live_count()
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "browser-gateway runs in a browser: build it with `trunk build` or run `scripts/run`."
    );
    std::process::exit(2);
}
