//! Load tests that stand beside ThingsBoard's performance-tests
//! (`TEST_API=gateway`): runs of many devices sending a payload template
//! at a rate for a duration or a count, queued one after another, with
//! live figures and a summary at the end, and scenarios that are saved,
//! imported and shared as links. Pure: the controller drives the engine
//! with a timer and carries out its actions through the gateway's API.
//!
//! Read in this order: [`settings`] (what a run is), [`template`] and
//! [`generator`] (what it sends), [`schedule`] (when), [`engine`] (the
//! state machine), [`stats`] and [`summary`] (what it measured),
//! [`queue`] (runs one after another), [`scenario`] (files and links).
pub mod engine;
pub mod generator;
pub mod queue;
pub mod rng;
pub mod scenario;
pub mod schedule;
pub mod settings;
pub mod stats;
pub mod summary;
pub mod template;

#[cfg(test)]
mod tests;

pub use engine::{Action, Observed, Phase, Progress, Run};
pub use queue::LoadTests;
pub use scenario::Scenario;
pub use settings::{Rate, RunSettings, Stop};
pub use summary::{Report, Summary};
pub use template::Template;
