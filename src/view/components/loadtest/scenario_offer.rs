//! The offer of the scenario the page's link carried (`#scenario=`): load
//! it, or not.

use yew::prelude::*;

use crate::console::slices::Slice;
use crate::view::context::use_slices;

/// A banner while the link's scenario waits for an answer.
#[function_component(ScenarioOffer)]
pub fn scenario_offer() -> Html {
    let console = use_slices(&[Slice::Frame, Slice::LoadTest]);
    let controller = console.controller.clone();
    let Some(offer) = controller.scenario_offer() else {
        return html! {};
    };
    let answer = |load: bool| {
        let c = controller.clone();
        Callback::from(move |_| c.answer_scenario_offer(load))
    };
    match offer {
        Ok(scenario) => html! {
            <div class="scenario-offer" role="region" aria-label="Scenario from the link">
                <p>{ format!("This link carries a load-test scenario: {}. Load it?", scenario.describe()) }</p>
                <button type="button" onclick={answer(true)}>{ "Load scenario" }</button>
                <button type="button" onclick={answer(false)}>{ "Ignore" }</button>
            </div>
        },
        Err(problem) => html! {
            <div class="scenario-offer" role="region" aria-label="Scenario from the link">
                <p>{ format!("This link's scenario could not be read: {problem}") }</p>
                <button type="button" onclick={answer(false)}>{ "Dismiss" }</button>
            </div>
        },
    }
}
