//! How components reach the console: the controller in a Yew context, and
//! [`use_slices`], which re-renders a component only when a part of the
//! console it shows changed (see `console::slices`).
//!
//! The context's value never changes (it is the one controller), so the
//! context itself never re-renders anything: every component says which
//! slices it shows, and the controller wakes it, at most once per
//! animation frame, when one of them changed.

use std::rc::Rc;

use yew::prelude::*;

use super::controller::Controller;
use crate::console::slices::{Slice, Slices};

/// What every component gets from the context.
#[derive(Clone)]
pub struct Console {
    /// The shared controller.
    pub controller: Rc<Controller>,
}

impl PartialEq for Console {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.controller, &other.controller)
    }
}

/// The console from the context (every component is under `App`), without
/// re-rendering on its changes: for components that only act, or that get
/// what they show as props.
#[hook]
pub fn use_console() -> Console {
    use_context::<Console>().expect("components are rendered inside App")
}

/// The console, re-rendering this component whenever one of `slices`
/// changed.
#[hook]
pub fn use_slices(slices: &[Slice]) -> Console {
    let console = use_console();
    let wanted = Slices::of(slices);
    let force = use_force_update();
    {
        let controller = console.controller.clone();
        use_effect_with(wanted, move |wanted| {
            let id = controller.subscribe(*wanted, Callback::from(move |_| force.force_update()));
            move || controller.unsubscribe(id)
        });
    }
    console
}
