//! A telemetry chart drawn by plotters on a canvas (plotters-canvas).
//!
//! - A time axis (local clock time) and a value axis, points in timestamp
//!   order (`console::chart`).
//! - Sharp on high-density screens: the canvas holds CSS size ×
//!   `devicePixelRatio` pixels, and plotters draws in those pixels.
//! - As wide as its container: a `ResizeObserver` (and the window's resize,
//!   which also tells of zoom, i.e. a new `devicePixelRatio`) asks for a
//!   redraw.
//! - The page's colours: read from the CSS custom properties when drawing,
//!   and drawn again when the system switches between light and dark.
//! - At most one draw per animation frame, whatever asked for it (new
//!   points, a resize, a theme change); the series is bounded by the store.
//! - A text alternative: the figure's caption says the latest value and its
//!   time, and the canvas is an image named with the same.

use std::rc::Rc;

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlElement, ResizeObserver};
use yew::prelude::*;

use crate::console::chart::{
    format_value, latest, time_range, value_range, ChartTheme, Point, Rgb,
};
use crate::view::format::clock_time;
use crate::view::frame::FrameScheduler;

/// Props of [`Chart`].
#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// The series name (the telemetry key).
    pub label: AttrValue,
    /// Points as (epoch ms, value), in timestamp order
    /// (`console::chart::in_time_order`).
    pub points: Rc<Vec<Point>>,
}

/// The chart's height in CSS pixels (its width is its container's).
const HEIGHT_CSS: f64 = 160.0;

/// What a draw needs, shared between the hooks that ask for one.
#[derive(Default)]
struct Shared {
    canvas: Option<HtmlCanvasElement>,
    points: Rc<Vec<Point>>,
}

/// A line chart with a time axis, and its latest value in words.
#[function_component(Chart)]
pub fn chart(props: &ChartProps) -> Html {
    let canvas = use_node_ref();
    let frame = use_memo((), |_| FrameScheduler::default());
    let shared = use_mut_ref(Shared::default);
    // Ask for a draw on the next frame (coalesced with any other ask).
    let request: Rc<dyn Fn()> = {
        let frame = frame.clone();
        let shared = shared.clone();
        Rc::new(move || {
            let shared = shared.clone();
            frame.request(move || {
                let shared = shared.borrow();
                if let Some(canvas) = &shared.canvas {
                    draw(canvas, &shared.points);
                }
            });
        })
    };
    {
        let (shared, request) = (shared.clone(), request.clone());
        use_effect_with(props.points.clone(), move |points| {
            shared.borrow_mut().points = points.clone();
            request();
        });
    }
    {
        let (canvas, shared, request) = (canvas.clone(), shared.clone(), request.clone());
        use_effect_with((), move |_| {
            let element = canvas.cast::<HtmlCanvasElement>();
            shared.borrow_mut().canvas = element.clone();
            let watch = element.map(|c| Watch::start(&c, request.clone()));
            request();
            move || drop(watch)
        });
    }
    let text = match latest(&props.points) {
        Some((ts, v)) => format!(
            "latest {} at {} ({} {})",
            format_value(v),
            clock_time(ts),
            props.points.len(),
            if props.points.len() == 1 {
                "point"
            } else {
                "points"
            }
        ),
        None => "no points yet".to_string(),
    };
    let name = format!("Chart of {}: {text}", props.label);
    html! {
        <figure class="chart">
            <figcaption>
                <span class="chart-key">{ props.label.clone() }</span>{ " " }
                <span class="chart-latest" data-latest={latest(&props.points).map(|p| p.1.to_string()).unwrap_or_default()}>{ text }</span>
            </figcaption>
            <canvas ref={canvas} role="img" aria-label={name}
                data-points={props.points.len().to_string()} />
        </figure>
    }
}

/// What makes a chart draw again besides new points: its container's size,
/// the window's size and zoom, and the system's colour scheme. Dropping it
/// stops watching.
struct Watch {
    observer: Option<ResizeObserver>,
    _on_observe: Closure<dyn FnMut()>,
    _on_resize: gloo::events::EventListener,
    _on_scheme: Option<gloo::events::EventListener>,
}

impl Watch {
    fn start(canvas: &HtmlCanvasElement, request: Rc<dyn Fn()>) -> Watch {
        let on_observe = {
            let request = request.clone();
            Closure::<dyn FnMut()>::new(move || request())
        };
        let observer = ResizeObserver::new(on_observe.as_ref().unchecked_ref()).ok();
        if let (Some(observer), Some(parent)) = (&observer, canvas.parent_element()) {
            observer.observe(&parent);
        }
        let window = gloo::utils::window();
        let on_resize = {
            let request = request.clone();
            gloo::events::EventListener::new(&window, "resize", move |_| request())
        };
        let on_scheme = window
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .map(|query| gloo::events::EventListener::new(&query, "change", move |_| request()));
        Watch {
            observer,
            _on_observe: on_observe,
            _on_resize: on_resize,
            _on_scheme: on_scheme,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
    }
}

/// The theme's colours, from the page's CSS custom properties.
fn theme() -> ChartTheme {
    let window = gloo::utils::window();
    let style = gloo::utils::document()
        .document_element()
        .and_then(|root| window.get_computed_style(&root).ok().flatten());
    ChartTheme::from_css(|name| {
        style
            .as_ref()
            .and_then(|s| s.get_property_value(name).ok())
            .unwrap_or_default()
    })
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Size the canvas to its box × devicePixelRatio, then draw `points`.
fn draw(canvas: &HtmlCanvasElement, points: &[Point]) {
    let ratio = gloo::utils::window().device_pixel_ratio().max(1.0);
    let css_width = canvas
        .parent_element()
        .and_then(|p| p.dyn_into::<HtmlElement>().ok())
        .map(|p| f64::from(p.client_width()) - 8.0)
        .filter(|w| *w > 0.0)
        .unwrap_or(360.0);
    let (width, height) = (
        (css_width * ratio).round() as u32,
        (HEIGHT_CSS * ratio).round() as u32,
    );
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let style = canvas.style();
    let _ = style.set_property("width", &format!("{css_width}px"));
    let _ = style.set_property("height", &format!("{HEIGHT_CSS}px"));
    // A failed draw leaves the canvas as it was; the caption still tells.
    let _ = plot(canvas, points, ratio, theme());
}

fn plot(
    canvas: &HtmlCanvasElement,
    points: &[Point],
    ratio: f64,
    theme: ChartTheme,
) -> Result<(), Box<dyn std::error::Error>> {
    let px = |css: f64| (css * ratio).round() as u32;
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&rgb(theme.background))?;
    let (t0, t1) = time_range(points);
    let (lo, hi) = value_range(points);
    let label = ("sans-serif", 11.0 * ratio)
        .into_font()
        .color(&rgb(theme.text));
    let mut chart = ChartBuilder::on(&root)
        .margin(px(6.0))
        .x_label_area_size(px(20.0))
        .y_label_area_size(px(48.0))
        .build_cartesian_2d(t0..t1, lo..hi)?;
    let time_label = |t: &u64| {
        let full = clock_time(*t);
        // HH:MM:SS, with milliseconds only when the span is short.
        if t1 - t0 < 10_000 {
            full
        } else {
            full[..8].to_string()
        }
    };
    chart
        .configure_mesh()
        .x_labels(4)
        .y_labels(4)
        .x_label_formatter(&time_label)
        .y_label_formatter(&|v: &f64| format_value(*v))
        .label_style(label)
        .axis_style(rgb(theme.grid).stroke_width(px(1.0)))
        .bold_line_style(rgb(theme.grid).mix(0.6).stroke_width(px(1.0)))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let line = rgb(theme.line);
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        line.stroke_width(px(1.5).max(1)),
    ))?;
    if points.len() < 40 {
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, px(2.5), line.filled())),
        )?;
    }
    root.present()?;
    Ok(())
}
