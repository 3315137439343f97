//! The view: Yew function components over the console's state.
//!
//! Traffic never goes straight into Yew state. The [`controller::Controller`]
//! drains protocol events into a plain buffer as they arrive and applies them
//! to the [`crate::console::store::Store`] at most once per animation frame; only then does
//! Yew re-render, so a burst of thousands of messages costs one render.
pub mod app;
pub mod components;
pub mod context;
pub mod controller;
pub mod format;
pub mod frame;

/// Mount the app on the page's `<body>`.
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
