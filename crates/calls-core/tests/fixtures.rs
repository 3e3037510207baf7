//! Real Plivo response bodies (see `tests/fixtures/plivo/SOURCES.md`) decode,
//! and re-encoding keeps every field they carried.
//!
//! The bodies are copied into this repository from the team's shared
//! fixtures (`../shared/fixtures/plivo/`) so that a clone builds and tests on
//! its own; `vendored_copies_match_the_shared_fixtures` fails when the two
//! differ, on a machine that has the shared folder.

use std::path::PathBuf;

use calls_core::parse_timestamp;
use calls_core::{
    CallDirection, HangupSource, Link, StirVerification, TransportProtocol, decode_call,
    decode_page,
};
use serde_json::Value;

const TIMESTAMP_FIELDS: &[&str] = &["initiation_time", "answer_time", "end_time"];

const FIXTURES: &[&str] = &[
    "SOURCES.md",
    "voice-call-list.json",
    "zentrunk-call-list-legacy.json",
    "zentrunk-call-record.json",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plivo")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The copies are the shared originals, byte for byte, wherever the shared
/// folder is next to the repository (it is on the team's machines; a bare
/// clone elsewhere has only the copies, and this test has nothing to compare).
#[test]
fn vendored_copies_match_the_shared_fixtures() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/plivo");
    if !shared.is_dir() {
        // The harness has no "skipped" outcome: said on stderr, plainly.
        eprintln!(
            "vendored_copies_match_the_shared_fixtures: SKIPPED ({} absent: nothing to compare)",
            shared.display()
        );
        return;
    }
    for name in FIXTURES {
        let original = std::fs::read(shared.join(name)).unwrap();
        assert!(
            original == fixture(name),
            "tests/fixtures/plivo/{name} differs from the shared copy"
        );
    }
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    parse_timestamp(s).unwrap()
}

/// Every key of `original` appears in `encoded` with an equal value;
/// timestamps need only be the same instant.
fn assert_keeps_every_field(original: &Value, encoded: &Value, what: &str) {
    let original = original.as_object().expect("original is an object");
    let encoded = encoded.as_object().expect("encoded is an object");
    for (key, want) in original {
        let got = encoded
            .get(key)
            .unwrap_or_else(|| panic!("{what}: `{key}` was dropped"));
        if TIMESTAMP_FIELDS.contains(&key.as_str()) && !want.is_null() {
            let want_t = parse_timestamp(want.as_str().unwrap()).unwrap();
            let got_t =
                parse_timestamp(got.as_str().unwrap_or_else(|| {
                    panic!("{what}: `{key}` was written as {got}, not a string")
                }))
                .unwrap();
            assert_eq!(got_t, want_t, "{what}: `{key}`");
        } else {
            assert_eq!(got, want, "{what}: `{key}`");
        }
    }
}

fn check_page_round_trip(bytes: &[u8], name: &str) {
    let page = decode_page(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let original: Value = serde_json::from_slice(bytes).unwrap();
    let encoded = serde_json::to_value(&page).unwrap();
    let orig_objects = original["objects"].as_array().unwrap();
    let enc_objects = encoded["objects"].as_array().unwrap();
    assert_eq!(orig_objects.len(), enc_objects.len(), "{name}");
    for (i, (o, e)) in orig_objects.iter().zip(enc_objects).enumerate() {
        assert_keeps_every_field(o, e, &format!("{name} objects[{i}]"));
    }
    assert_keeps_every_field(&original["meta"], &encoded["meta"], &format!("{name} meta"));
    assert_eq!(encoded["api_id"], original["api_id"], "{name}");
    // And the re-encoded page decodes to the same value.
    let again = decode_page(&serde_json::to_vec(&page).unwrap()).unwrap();
    assert_eq!(again, page, "{name}");
}

#[test]
fn zentrunk_call_record() {
    let bytes = fixture("zentrunk-call-record.json");
    let call = decode_call(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(call.call_uuid, "f3f74402-59af-40b3-909c-80c50a4b063f");
    assert_eq!(call.from_number.as_deref(), Some("+919902443540"));
    assert_eq!(call.call_direction, Some(CallDirection::Inbound));
    assert_eq!(call.call_duration, Some(32));
    assert_eq!(call.bill_duration, Some(60));
    assert_eq!(call.billed_duration, Some(60));
    assert_eq!(call.hangup_source, Some(HangupSource::Carrier));
    assert_eq!(call.hangup_cause_name.as_deref(), Some("normal_hangup"));
    assert_eq!(call.hangup_cause_code, Some(3000));
    assert_eq!(call.transport_protocol, Some(TransportProtocol::Tcp));
    assert_eq!(call.stir_verification, Some(StirVerification::NotVerified));
    assert_eq!(call.attestation(), Some("C"));
    assert_eq!(call.total_amount.as_ref().unwrap().as_str(), "0.00280");
    assert_eq!(
        call.secure_trunking_rate.as_ref().unwrap().as_str(),
        "0.00000"
    );
    assert_eq!(call.srtp, Some(false));
    assert_eq!(call.answer_time, Some(utc("2026-09-18 08:51:54")));
    assert_eq!(call.end_time, Some(utc("2026-09-18 08:52:26")));
    assert_eq!(call.extra["call_id"], "459580122_124515270@206.146.101.14");
    assert_eq!(call.extra["cnam_lookup"], false);
    assert_eq!(call.extra["cnam_lookup_rate"], "0.00000");

    let original: Value = serde_json::from_slice(&bytes).unwrap();
    let encoded = serde_json::to_value(&call).unwrap();
    assert_keeps_every_field(&original, &encoded, "zentrunk-call-record.json");
}

#[test]
fn zentrunk_call_list_legacy() {
    let bytes = fixture("zentrunk-call-list-legacy.json");
    let page = decode_page(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.meta.limit, Some(2));
    assert_eq!(page.meta.offset, Some(2));
    assert_eq!(page.meta.total_count, Some(2521));
    assert_eq!(page.meta.next, Link::Flag(true));
    assert_eq!(page.meta.previous, Link::Flag(true));
    assert!(page.meta.next.is_more());
    assert_eq!(page.objects.len(), 2);

    let first = &page.objects[0];
    assert_eq!(first.total_amount.as_ref().unwrap().as_str(), "0.00260");
    assert_eq!(first.answer_time, Some(utc("2022-06-16 04:17:19")));
    assert_eq!(first.transport_protocol, Some(TransportProtocol::Udp));
    // Legacy names are not guessed into the new fields: they stay in `extra`.
    assert_eq!(first.call_duration, None);
    assert_eq!(first.hangup_source, None);
    assert_eq!(first.extra["duration"], 20);
    assert_eq!(first.extra["hangup_initiator"], "customer");
    assert_eq!(first.extra["hangup_code"], 3010);
    assert_eq!(first.extra["rate"], "0.00650");

    let second = &page.objects[1];
    assert_eq!(second.answer_time, None);
    assert_eq!(second.total_amount.as_ref().unwrap().as_str(), "0.00000");
    assert_eq!(second.extra["hangup_cause"], "request_timeout_carrier");

    check_page_round_trip(&bytes, "zentrunk-call-list-legacy.json");
}

#[test]
fn voice_call_list() {
    let bytes = fixture("voice-call-list.json");
    let page = decode_page(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        page.api_id.as_deref(),
        Some("8299d094-dc72-11e5-b56c-22000ae90795")
    );
    assert_eq!(page.meta.total_count, Some(4));
    assert_eq!(page.meta.next, Link::Null);
    assert!(!page.meta.next.is_more());
    assert_eq!(page.objects.len(), 2);

    let first = &page.objects[0];
    // "2015-07-26 15:45:02+05:30" is 10:15:02 UTC.
    assert_eq!(first.answer_time, Some(utc("2015-07-26 10:15:02")));
    assert_eq!(first.initiation_time, Some(utc("2015-07-26 10:14:49")));
    assert_eq!(first.end_time, Some(utc("2015-07-26 10:15:14")));
    assert_eq!(first.total_amount.as_ref().unwrap().as_str(), "0.13600");
    assert_eq!(first.total_rate.as_ref().unwrap().as_str(), "0.00850");
    assert_eq!(first.stir_verification, Some(StirVerification::NotVerified));
    assert_eq!(first.to_number.as_deref(), Some("14153268174"));
    assert_eq!(first.extra["parent_call_uuid"], Value::Null);
    assert_eq!(first.extra["stir_attestation"], "");
    assert_eq!(first.extra["cnam_lookup"], "");
    assert_eq!(
        page.objects[1].stir_verification,
        Some(StirVerification::Verified)
    );

    let encoded = serde_json::to_value(first).unwrap();
    assert_eq!(encoded["answer_time"], "2015-07-26 10:15:02");

    check_page_round_trip(&bytes, "voice-call-list.json");
}
