//! Property test (issue 11): a server that echoes the credentials, whole or
//! in part, at any offset of any value it sends, never gets a piece of them
//! into an error message.
//!
//! Each case draws an auth token, a place (a typed field of a call or of
//! `meta`, an unknown field's name, an API error body of any status, an HTML
//! error page), text around it, and what is echoed (the token, the base64
//! Basic credentials, or a slice of either of at least 6 characters).
//! calls-sim serves exactly that body (`Fault::Raw`); every text of the
//! resulting error (Display, Debug, pretty Debug, the API message and
//! `api_id`) is checked for every 6-character substring of either secret.
//! Bounded by default (256 cases; `PROPTEST_CASES` overrides it).

mod common;

use std::sync::OnceLock;

use calls_core::{CallQuery, Client, Error};
use calls_sim::{Fault, Faults, Sim};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::json;

fn sim() -> &'static Sim {
    static SIM: OnceLock<Sim> = OnceLock::new();
    SIM.get_or_init(|| common::sim(10, Faults::none()))
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            out.push(if i <= chunk.len() {
                char::from(T[((n >> shift) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// Where the echoed text goes.
#[derive(Debug, Clone)]
enum Place {
    /// A call field the client types (timestamps, money, counts, enums, bools).
    CallField(&'static str),
    /// A `meta` count.
    MetaField(&'static str),
    /// The name of a field the client does not model, whose value is bad.
    UnknownKey,
    /// `{"api_id", "error"}` with this status, echoed in `error`.
    ErrorMessage(u16),
    /// The same, echoed in `api_id`.
    ErrorApiId(u16),
    /// An HTML error page with this status.
    Html(u16),
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        select(vec![
            "end_time",
            "initiation_time",
            "answer_time",
            "total_amount",
            "total_rate",
            "secure_trunking_rate",
            "call_duration",
            "bill_duration",
            "billed_duration",
            "hangup_cause_code",
            "srtp",
            "secure_trunking",
        ])
        .prop_map(Place::CallField),
        select(vec!["limit", "offset", "total_count"]).prop_map(Place::MetaField),
        Just(Place::UnknownKey),
        select(vec![400u16, 401, 403, 404, 405, 418, 429, 500, 502, 503])
            .prop_map(Place::ErrorMessage),
        select(vec![400u16, 401, 404, 500]).prop_map(Place::ErrorApiId),
        select(vec![400u16, 403, 502, 503]).prop_map(Place::Html),
    ]
}

/// What is echoed: 0 the token, 1 the base64 credentials; with a slice
/// `(from, len)` of it (at least 6 characters), or all of it.
type Echo = (u8, Option<(usize, usize)>);

fn echo() -> impl Strategy<Value = Echo> {
    (
        0u8..2,
        prop_oneof![Just(None), (0usize..80, 6usize..80).prop_map(Some)],
    )
}

fn body_for(place: &Place, text: &str) -> (u16, Vec<u8>) {
    let page = |call: serde_json::Value, meta: serde_json::Value| {
        serde_json::to_vec(&json!({"api_id": "a-1", "meta": meta, "objects": [call]}))
            .expect("json")
    };
    let meta = json!({"limit": 20, "offset": 0, "total_count": 1, "next": null, "previous": null});
    match place {
        Place::CallField(f) => {
            let mut call = json!({"call_uuid": "u-1"});
            call[*f] = json!(text);
            (200, page(call, meta))
        }
        Place::MetaField(f) => {
            let mut meta = meta;
            meta[*f] = json!(text);
            (200, page(json!({"call_uuid": "u-1"}), meta))
        }
        Place::UnknownKey => {
            // A key, then a body cut short inside its value: the error names the key.
            let mut b = br#"{"api_id":"a","meta":{},"objects":[{"call_uuid":"u","#.to_vec();
            b.extend_from_slice(&serde_json::to_vec(&json!(text)).expect("json"));
            b.extend_from_slice(b":[1,2,");
            (200, b)
        }
        Place::ErrorMessage(s) => (
            *s,
            serde_json::to_vec(&json!({"api_id": "e-1", "error": text})).expect("json"),
        ),
        Place::ErrorApiId(s) => (
            *s,
            serde_json::to_vec(&json!({"api_id": text, "error": "refused"})).expect("json"),
        ),
        Place::Html(s) => (
            *s,
            format!("<html><body><h1>Error</h1><p>{text}</p></body></html>").into_bytes(),
        ),
    }
}

/// Every text of an error a caller can see.
fn texts(e: &Error) -> Vec<String> {
    let mut t = vec![e.to_string(), format!("{e:?}"), format!("{e:#?}")];
    if let Some(id) = e.api_id() {
        t.push(id.to_string());
    }
    t
}

fn fragment_in(text: &str, secret: &str) -> Option<String> {
    (0..=secret.len().saturating_sub(6))
        .map(|i| &secret[i..i + 6])
        .find(|piece| text.contains(piece))
        .map(str::to_string)
}

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_piece_of_a_secret_reaches_a_message(
        token in "[A-Za-z0-9_-]{16,40}",
        place in place(),
        before in "[ a-z0-9:.]{0,60}",
        after in "[ a-z0-9:.]{0,20}",
        (which, slice) in echo(),
    ) {
        let sim = sim();
        let basic = base64(format!("{}:{token}", common::AUTH_ID).as_bytes());
        let secret = if which == 0 { token.as_str() } else { basic.as_str() };
        let echoed = match slice {
            None => secret.to_string(),
            Some((from, len)) => {
                let from = from % (secret.len() - 5);
                let to = (from + len).min(secret.len());
                prop_assume!(to - from >= 6);
                secret[from..to].to_string()
            }
        };
        let text = format!("{before}{echoed}{after}");
        let (status, body) = body_for(&place, &text);
        sim.set_faults(Faults::none().with_every(1, Fault::Raw { status, body }));
        let client = Client::builder(common::AUTH_ID, token.as_str())
            .base_url(sim.base_url())
            .max_retries(0)
            .rate_limit(0, std::time::Duration::from_secs(1))
            .build()
            .expect("client");
        let e = client
            .list_page(&CallQuery::new(), 20, 0)
            .expect_err("every such answer is refused");
        for t in texts(&e) {
            for s in [token.as_str(), basic.as_str()] {
                prop_assert!(
                    fragment_in(&t, s).is_none(),
                    "{place:?}: `{}` of a secret in: {t}",
                    fragment_in(&t, s).unwrap_or_default()
                );
            }
        }
    }
}
