//! A line chart drawn on a canvas. The canvas is redrawn when its points
//! change (at most once per rendered frame), never per message, and the DOM
//! holds one element whatever the number of points.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

/// Props of [`Chart`].
#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// The series name (the telemetry key).
    pub label: AttrValue,
    /// Points as (epoch ms, value), oldest first.
    pub points: Rc<Vec<(u64, f64)>>,
}

const WIDTH: u32 = 360;
const HEIGHT: u32 = 120;

/// A small line chart with the range and the latest value.
#[function_component(Chart)]
pub fn chart(props: &ChartProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.points.clone(), move |points| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                draw(&canvas, points);
            }
        });
    }
    let latest = props.points.last().map(|p| p.1);
    let name = format!(
        "Chart of {}: {} points{}",
        props.label,
        props.points.len(),
        latest.map(|v| format!(", latest {v}")).unwrap_or_default()
    );
    html! {
        <figure class="chart">
            <figcaption>{ props.label.clone() }</figcaption>
            <canvas ref={canvas} width={WIDTH.to_string()} height={HEIGHT.to_string()}
                role="img" aria-label={name} data-points={props.points.len().to_string()} />
        </figure>
    }
}

fn draw(canvas: &HtmlCanvasElement, points: &[(u64, f64)]) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let (w, h) = (WIDTH as f64, HEIGHT as f64);
    ctx.clear_rect(0.0, 0.0, w, h);
    if points.is_empty() {
        return;
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, v) in points {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + 1.0;
    }
    let (t0, t1) = (points[0].0 as f64, points[points.len() - 1].0 as f64);
    let span = (t1 - t0).max(1.0);
    let pad = 14.0;
    let x = |t: u64| {
        if points.len() == 1 {
            w / 2.0
        } else {
            (t as f64 - t0) / span * (w - 8.0) + 4.0
        }
    };
    let y = |v: f64| h - pad - (v - lo) / (hi - lo) * (h - 2.0 * pad);
    ctx.set_stroke_style_str("#3b82f6");
    ctx.set_line_width(1.5);
    ctx.begin_path();
    for (i, &(t, v)) in points.iter().enumerate() {
        if i == 0 {
            ctx.move_to(x(t), y(v));
        } else {
            ctx.line_to(x(t), y(v));
        }
    }
    ctx.stroke();
    if points.len() == 1 {
        let (t, v) = points[0];
        ctx.begin_path();
        let _ = ctx.arc(x(t), y(v), 3.0, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str("#3b82f6");
        ctx.fill();
    }
    ctx.set_fill_style_str("#8d96a0");
    ctx.set_font("11px sans-serif");
    let _ = ctx.fill_text(&format_number(hi), 4.0, 11.0);
    let _ = ctx.fill_text(&format_number(lo), 4.0, h - 3.0);
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}
