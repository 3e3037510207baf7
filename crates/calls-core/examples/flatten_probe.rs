//! Peak memory of decoding one hostile page (4.1 million numbers in one
//! unknown field, 8 MiB) four ways, each in its own process:
//! `cargo run --release -p calls-core --example flatten_probe -- MODE` with
//! MODE `value` (a bare `serde_json::Value` parse), `flatten` (a derived
//! `Page` whose calls flatten unknown fields into a `Map`),
//! `flatten-refusing` (the same with a flattened type that refuses its first
//! entry, as a spent budget would) or `model` (`calls_core::decode_page`).
//! Why the records do not derive `Deserialize` (see `model/value.rs`, `Extra`).
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[allow(dead_code)]
struct Flattened {
    call_uuid: String,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// A flattened map type that refuses its first entry.
struct Refuse;

impl<'de> Deserialize<'de> for Refuse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Refuse;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Refuse, A::Error> {
                Err(serde::de::Error::custom("over the budget"))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Refusing {
    call_uuid: String,
    #[serde(flatten)]
    extra: Refuse,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Page<C> {
    meta: Value,
    objects: Vec<C>,
}

fn kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a field of /proc/self/status")
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut body =
        br#"{"api_id":"0","meta":{"limit":20},"objects":[{"call_uuid":"many-numbers","x":["#
            .to_vec();
    for i in 0..4_100_000 {
        body.extend_from_slice(if i > 0 { b",1" } else { b"1" });
    }
    body.extend_from_slice(b"]}]}");
    std::fs::write("/proc/self/clear_refs", "5").expect("the high-water mark can be reset");
    let base = kb("VmRSS:");
    let decoded = match mode.as_str() {
        "value" => serde_json::from_slice::<Value>(&body).is_ok(),
        "flatten" => serde_json::from_slice::<Page<Flattened>>(&body).is_ok(),
        "flatten-refusing" => serde_json::from_slice::<Page<Refusing>>(&body).is_ok(),
        "model" => calls_core::decode_page(&body).is_ok(),
        other => panic!("unknown mode {other:?}: value, flatten, flatten-refusing or model"),
    };
    println!(
        "{mode}: body {:.1} MiB, decoded {decoded}, peak {:.1} MiB above start",
        body.len() as f64 / 1048576.0,
        kb("VmHWM:").saturating_sub(base) as f64 / 1024.0
    );
}
