//! The load-test page: scenario, runs, the form of the selected run, the
//! buttons that start and stop, live figures and results.

use yew::prelude::*;

use super::live::LiveResults;
use super::reports::Reports;
use super::run_form::RunForm;
use super::scenario_bar::ScenarioBar;
use crate::console::loadtest::RunSettings;
use crate::console::slices::Slice;
use crate::view::context::use_slices;

/// The page.
#[function_component(LoadTestPage)]
pub fn load_test_page() -> Html {
    let console = use_slices(&[Slice::LoadTest, Slice::Devices]);
    let c = console.controller.clone();
    let selected = use_state(|| 0usize);
    let error = use_state(|| None::<String>);
    let (runs, active): (Vec<RunSettings>, bool) = {
        let tests = c.loadtest();
        (tests.runs().to_vec(), tests.is_active())
    };
    let index = (*selected).min(runs.len().saturating_sub(1));
    let select = |i: usize| {
        let selected = selected.clone();
        Callback::from(move |_| selected.set(i))
    };
    let on_add = {
        let (c, selected) = (c.clone(), selected.clone());
        Callback::from(move |_| {
            let mut added = 0;
            c.update_loadtest(|t| {
                let copy = t.runs().get(index).cloned().unwrap_or_default();
                added = t.add(copy);
            });
            selected.set(added);
        })
    };
    let on_remove = {
        let c = c.clone();
        Callback::from(move |_| c.update_loadtest(|t| t.remove(index)))
    };
    let start = |indices: Vec<usize>| {
        let (c, error) = (c.clone(), error.clone());
        Callback::from(move |_| error.set(c.start_runs(&indices).err()))
    };
    let on_stop = {
        let c = c.clone();
        Callback::from(move |_| c.stop_runs())
    };
    html! {
        <div class="loadtest-page">
            <ScenarioBar />
            <section class="runs" aria-label="Runs">
                <h3>{ "Runs" }</h3>
                <ul class="run-list">
                    { for runs.iter().enumerate().map(|(i, r)| html! {
                        <li key={i}>
                            <button type="button" aria-pressed={(i == index).to_string()} onclick={select(i)}>
                                { format!("Run {}: {} — {}", i + 1, r.title(), r.devices) }
                            </button>
                        </li>
                    }) }
                </ul>
                <div class="row">
                    <button type="button" onclick={on_add}>{ "Add run" }</button>
                    <button type="button" onclick={on_remove} disabled={active}>{ "Remove run" }</button>
                </div>
            </section>
            <RunForm key={index} {index} />
            <div class="row run-controls">
                <button type="button" onclick={start(vec![index])}>{ format!("Start run {}", index + 1) }</button>
                <button type="button" onclick={start((0..runs.len()).collect())}>{ "Start all runs" }</button>
                <button type="button" onclick={on_stop} disabled={!active}>{ "Stop" }</button>
            </div>
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
            <LiveResults />
            <Reports />
        </div>
    }
}
