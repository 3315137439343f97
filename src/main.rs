//! The binary trunk builds: mounts the Yew app on the page.

#[cfg(target_arch = "wasm32")]
fn main() {
    browser_gateway::view::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "browser-gateway runs in a browser: build it with `trunk build` or run `scripts/run`."
    );
    std::process::exit(2);
}
