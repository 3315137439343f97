//! The load-test page: the scenario bar (export, import, link), the runs
//! and the form of one, the live figures of the run going, and the
//! reports of finished runs. Pure state lives in
//! [`crate::console::loadtest`]; the controller drives it.
pub mod live;
pub mod page;
pub mod reports;
pub mod run_form;
pub mod scenario_bar;
pub mod scenario_offer;
pub mod sparkline;
