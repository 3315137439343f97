//! A text sparkline (▁▂▃▄▅▆▇█): a per-second series at a glance, readable
//! by a screen reader through its label.

use yew::prelude::*;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` as bars scaled to their largest.
pub fn bars(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if max == 0 {
                BARS[0]
            } else {
                BARS[((v as f64 / max as f64) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// The sparkline's properties.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// What it shows, e.g. "Data points sent per second".
    pub label: AttrValue,
    /// One value per second, oldest first.
    pub values: Vec<u64>,
}

/// One labelled sparkline with its latest value.
#[function_component(Sparkline)]
pub fn sparkline(props: &Props) -> Html {
    let last = props.values.last().copied().unwrap_or(0);
    let max = props.values.iter().copied().max().unwrap_or(0);
    let description = format!(
        "{}: {last} now, {max} at most over the last {} s",
        props.label,
        props.values.len()
    );
    html! {
        <div class="sparkline" role="img" aria-label={description}>
            <span class="spark-label">{ props.label.clone() }</span>
            <span class="spark-bars" aria-hidden="true">{ bars(&props.values) }</span>
            <span class="spark-last">{ last }</span>
        </div>
    }
}
