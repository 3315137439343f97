//! Coalesces work to at most once per animation frame.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::render::{request_animation_frame, AnimationFrame};

/// Runs a callback on the next animation frame, however often it is asked to
/// before then.
#[derive(Clone, Default)]
pub struct FrameScheduler {
    pending: Rc<RefCell<Option<AnimationFrame>>>,
}

impl FrameScheduler {
    /// Ask for `f` to run on the next frame, unless a run is already pending.
    pub fn request(&self, f: impl FnOnce() + 'static) {
        if self.pending.borrow().is_some() {
            return;
        }
        let pending = self.pending.clone();
        let handle = request_animation_frame(move |_| {
            pending.borrow_mut().take();
            f();
        });
        *self.pending.borrow_mut() = Some(handle);
    }
}
