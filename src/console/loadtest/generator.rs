//! Custom payloads: a JSON object whose values may be generators. Each
//! generator is an object with exactly one key that starts with `$`:
//!
//! | generator | gives |
//! |---|---|
//! | `{"$seq": 1}` or `{"$seq": [start, step]}` | the device's n-th message gives `start + n·step` (n from 0; step 1 by default) |
//! | `{"$random": [min, max]}` | uniform in `min..=max`; whole numbers when both bounds are whole, else two decimals |
//! | `{"$sine": [min, max, period_s]}` | a sine wave between `min` and `max` over the message time, two decimals |
//! | `{"$choice": ["a", "b", …]}` | one of the values, at random |
//! | `{"$time": "ms"}` | the message's timestamp, ms since the Unix epoch |
//! | `{"$device": ""}` | the device's name |
//!
//! Anything else is sent as written; objects and arrays are walked, so a
//! generator may sit at any depth. The top level must be an object: its
//! keys are the telemetry keys (the data points of each message), e.g.
//! `{"t": {"$random": [20, 30]}, "n": {"$seq": 1}, "s": {"$choice": ["a","b"]}}`.

use serde_json::{Map, Number, Value};

use super::rng::Rng;

/// What a generator knows about the message it fills.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The device's name.
    pub device: &'a str,
    /// The device's message number in the run, from 0.
    pub n: u64,
    /// The message's timestamp, ms since the epoch.
    pub ts: u64,
}

/// A compiled value.
#[derive(Debug, Clone, PartialEq)]
enum Gen {
    Literal(Value),
    Object(Vec<(String, Gen)>),
    Array(Vec<Gen>),
    Seq { start: f64, step: f64, whole: bool },
    Random { min: f64, max: f64, whole: bool },
    Sine { min: f64, max: f64, period_ms: f64 },
    Choice(Vec<Value>),
    Time,
    Device,
}

/// A custom template, checked and compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    keys: Vec<(String, Gen)>,
}

fn number(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{what} must be a number, not {v}"))
}

fn is_whole(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

fn round2(x: f64) -> Value {
    Number::from_f64((x * 100.0).round() / 100.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn whole_or_round(x: f64, whole: bool) -> Value {
    if whole {
        Value::from(x.round() as i64)
    } else {
        round2(x)
    }
}

fn compile(value: &Value, path: &str) -> Result<Gen, String> {
    match value {
        Value::Object(map) if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) => {
            let (name, arg) = map.iter().next().expect("one member");
            compile_generator(name, arg, path)
        }
        Value::Object(map) => Ok(Gen::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), compile(v, &format!("{path}.{k}"))?)))
                .collect::<Result<_, String>>()?,
        )),
        Value::Array(items) => Ok(Gen::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile(v, &format!("{path}[{i}]")))
                .collect::<Result<_, String>>()?,
        )),
        other => Ok(Gen::Literal(other.clone())),
    }
}

fn compile_generator(name: &str, arg: &Value, path: &str) -> Result<Gen, String> {
    let bad = |why: &str| format!("{path}: {name} {why}");
    let list = |n: usize, shape: &str| -> Result<&Vec<Value>, String> {
        match arg.as_array() {
            Some(items) if items.len() == n => Ok(items),
            _ => Err(bad(&format!("takes {shape}"))),
        }
    };
    match name {
        "$seq" => {
            let (start, step) = match arg {
                Value::Array(items) if items.len() == 2 => (&items[0], &items[1]),
                Value::Number(_) => (arg, &Value::Null),
                _ => return Err(bad("takes a start number or [start, step]")),
            };
            let step_value = if step.is_null() { 1.0 } else { number(step, "the step")? };
            Ok(Gen::Seq {
                start: number(start, "the start").map_err(|e| bad(&e))?,
                step: step_value,
                whole: is_whole(start) && (step.is_null() || is_whole(step)),
            })
        }
        "$random" => {
            let items = list(2, "[min, max]")?;
            let (min, max) = (number(&items[0], "min"), number(&items[1], "max"));
            let (min, max) = (min.map_err(|e| bad(&e))?, max.map_err(|e| bad(&e))?);
            if min > max {
                return Err(bad("needs min ≤ max"));
            }
            Ok(Gen::Random {
                min,
                max,
                whole: is_whole(&items[0]) && is_whole(&items[1]),
            })
        }
        "$sine" => {
            let items = list(3, "[min, max, period in seconds]")?;
            let min = number(&items[0], "min").map_err(|e| bad(&e))?;
            let max = number(&items[1], "max").map_err(|e| bad(&e))?;
            let period = number(&items[2], "the period").map_err(|e| bad(&e))?;
            if period <= 0.0 {
                return Err(bad("needs a period above 0 s"));
            }
            Ok(Gen::Sine {
                min,
                max,
                period_ms: period * 1000.0,
            })
        }
        "$choice" => match arg.as_array() {
            Some(items) if !items.is_empty() => Ok(Gen::Choice(items.clone())),
            _ => Err(bad("takes a non-empty list of values")),
        },
        "$time" => Ok(Gen::Time),
        "$device" => Ok(Gen::Device),
        _ => Err(format!(
            "{path}: unknown generator {name} (known: $seq, $random, $sine, $choice, $time, $device)"
        )),
    }
}

impl Gen {
    fn eval(&self, ctx: &Context<'_>, rng: &mut Rng) -> Value {
        match self {
            Gen::Literal(v) => v.clone(),
            Gen::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, g)| (k.clone(), g.eval(ctx, rng)))
                    .collect(),
            ),
            Gen::Array(items) => Value::Array(items.iter().map(|g| g.eval(ctx, rng)).collect()),
            Gen::Seq { start, step, whole } => whole_or_round(start + step * ctx.n as f64, *whole),
            Gen::Random { min, max, whole } => {
                if *whole {
                    Value::from(rng.int(*min as i64, *max as i64))
                } else {
                    round2(rng.range(*min, *max))
                }
            }
            Gen::Sine {
                min,
                max,
                period_ms,
            } => {
                let phase = (ctx.ts as f64 % period_ms) / period_ms * std::f64::consts::TAU;
                round2(min + (max - min) * (1.0 + phase.sin()) / 2.0)
            }
            Gen::Choice(items) => items[rng.int(0, items.len() as i64 - 1) as usize].clone(),
            Gen::Time => Value::from(ctx.ts),
            Gen::Device => Value::from(ctx.device),
        }
    }
}

impl Custom {
    /// Compile the template text; errors name the place and what is wrong.
    pub fn parse(text: &str) -> Result<Custom, String> {
        let value: Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("the template is not valid JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err(
                "the template must be a JSON object: its keys are the telemetry keys".into(),
            );
        };
        if map.is_empty() {
            return Err("the template has no keys".into());
        }
        if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) {
            return Err(
                "the template's top level must name the telemetry keys, not be one generator"
                    .into(),
            );
        }
        let keys = map
            .iter()
            .map(|(k, v)| Ok((k.clone(), compile(v, k)?)))
            .collect::<Result<_, String>>()?;
        Ok(Custom { keys })
    }

    /// The telemetry keys of each message (its data points).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The values of one message.
    pub fn generate(&self, ctx: &Context<'_>, rng: &mut Rng) -> Map<String, Value> {
        self.keys
            .iter()
            .map(|(k, g)| (k.clone(), g.eval(ctx, rng)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(n: u64, ts: u64) -> Context<'static> {
        Context {
            device: "Meter-7",
            n,
            ts,
        }
    }

    #[test]
    fn every_generator_gives_what_its_table_row_says() {
        let t = Custom::parse(
            r#"{"t": {"$random": [20, 30]}, "f": {"$random": [0.5, 1.5]}, "n": {"$seq": 1},
                "m": {"$seq": [10, 0.5]}, "s": {"$choice": ["a", "b"]}, "w": {"$sine": [0, 10, 60]},
                "at": {"$time": "ms"}, "who": {"$device": ""}, "fixed": {"unit": "kWh", "v": [1, {"$seq": 0}]}}"#,
        )
        .unwrap();
        assert_eq!(t.key_count(), 9);
        let mut rng = Rng::new(1);
        for n in 0..50 {
            let m = t.generate(&ctx(n, 15_000), &mut rng);
            let tv = m["t"].as_i64().expect("whole bounds give whole numbers");
            assert!((20..=30).contains(&tv));
            let f = m["f"].as_f64().unwrap();
            assert!((0.5..=1.5).contains(&f));
            assert_eq!(m["n"], json!(1 + n as i64));
            assert_eq!(m["m"].as_f64().unwrap(), 10.0 + 0.5 * n as f64);
            assert!(m["s"] == json!("a") || m["s"] == json!("b"));
            // 15 s into a 60 s period is the top of the wave.
            assert_eq!(m["w"], json!(10.0));
            assert_eq!(m["at"], json!(15_000));
            assert_eq!(m["who"], json!("Meter-7"));
            assert_eq!(m["fixed"], json!({"unit": "kWh", "v": [1, n]}));
        }
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let err = |text: &str| Custom::parse(text).unwrap_err();
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[1]").contains("must be a JSON object"));
        assert!(err("{}").contains("no keys"));
        assert!(err(r#"{"$seq": 1}"#).contains("top level"));
        assert!(err(r#"{"a": {"$rand": [1, 2]}}"#).contains("a: unknown generator $rand"));
        assert!(err(r#"{"a": {"$random": [3, 1]}}"#).contains("min ≤ max"));
        assert!(err(r#"{"a": {"$random": 3}}"#).contains("takes [min, max]"));
        assert!(err(r#"{"a": {"b": {"$sine": [0, 1, 0]}}}"#).contains("a.b: $sine needs a period"));
        assert!(err(r#"{"a": {"$choice": []}}"#).contains("non-empty"));
        assert!(err(r#"{"a": {"$seq": "x"}}"#).contains("start number"));
    }
}
