//! Finished runs: one summary row each, exportable as JSON (with every
//! second) or CSV.

use yew::prelude::*;

use crate::console::loadtest::summary::{series_csv, summaries_csv};
use crate::console::slices::Slice;
use crate::shell::files;
use crate::view::context::use_slices;

fn ms(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

/// The reports table.
#[function_component(Reports)]
pub fn reports() -> Html {
    let console = use_slices(&[Slice::LoadTest]);
    let controller = console.controller.clone();
    let error = use_state(|| None::<String>);
    let tests = controller.loadtest();
    let reports = tests.reports();
    if reports.is_empty() {
        return html! {};
    }
    let export = |n: usize, json: bool| {
        let (c, error) = (controller.clone(), error.clone());
        Callback::from(move |_| {
            let tests = c.loadtest();
            let Some(r) = tests.reports().get(n) else {
                return;
            };
            let result = if json {
                files::download(
                    &format!("loadtest-{}.json", n + 1),
                    "application/json",
                    &r.to_json(),
                )
            } else {
                files::download(
                    &format!("loadtest-{}-seconds.csv", n + 1),
                    "text/csv",
                    &series_csv(&r.series),
                )
            };
            error.set(result.err());
        })
    };
    let export_all = {
        let (c, error) = (controller.clone(), error.clone());
        Callback::from(move |_| {
            let tests = c.loadtest();
            let all: Vec<_> = tests.reports().iter().map(|r| &r.summary).collect();
            error.set(
                files::download("loadtest-summaries.csv", "text/csv", &summaries_csv(&all)).err(),
            );
        })
    };
    let clear = {
        let c = controller.clone();
        Callback::from(move |_| c.update_loadtest(|t| t.clear_reports()))
    };
    html! {
        <section class="reports" aria-label="Load test results">
            <h3>{ "Results" }</h3>
            <div class="row">
                <button type="button" onclick={export_all}>{ "Export summaries as CSV" }</button>
                <button type="button" onclick={clear}>{ "Clear results" }</button>
            </div>
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
            <table class="summary-table">
                <thead><tr>
                    <th scope="col">{ "#" }</th><th scope="col">{ "Run" }</th><th scope="col">{ "Devices" }</th>
                    <th scope="col">{ "Sent (msgs / points)" }</th><th scope="col">{ "Acked (msgs / points)" }</th>
                    <th scope="col">{ "Rejected / timed out / unanswered (points)" }</th>
                    <th scope="col">{ "PUBACK p50 / p95 / p99 (ms)" }</th><th scope="col">{ "Points/s" }</th>
                    <th scope="col">{ "Duration (s)" }</th><th scope="col">{ "Held by limits (s)" }</th>
                    <th scope="col">{ "Export" }</th>
                </tr></thead>
                <tbody>
                { for reports.iter().enumerate().map(|(n, r)| {
                    let s = &r.summary;
                    let l = &s.latency_ms;
                    html! {
                        <tr key={n} aria-label={format!("Result {}", n + 1)}>
                            <td>{ n + 1 }</td>
                            <td>{ format!("{}{}", s.name, if s.stopped { " (stopped)" } else { "" }) }</td>
                            <td>{ s.devices }</td>
                            <td class="sent">{ format!("{} / {}", s.sent.messages, s.sent.points) }</td>
                            <td class="acked">{ format!("{} / {}", s.acked.messages, s.acked.points) }</td>
                            <td>{ format!("{} / {} / {}", s.rejected.points, s.timed_out.points, s.unanswered.points) }</td>
                            <td>{ format!("{} / {} / {}", ms(l.p50), ms(l.p95), ms(l.p99)) }</td>
                            <td>{ format!("{:.0}", s.points_per_second) }</td>
                            <td>{ format!("{:.1}", s.duration_ms as f64 / 1000.0) }</td>
                            <td>{ format!("{:.1}", s.limit_wait_ms as f64 / 1000.0) }</td>
                            <td>
                                <button type="button" onclick={export(n, true)} aria-label={format!("Export result {} as JSON", n + 1)}>{ "JSON" }</button>
                                <button type="button" onclick={export(n, false)} aria-label={format!("Export result {} per second as CSV", n + 1)}>{ "CSV" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </section>
    }
}
