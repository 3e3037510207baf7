//! `make bench` row of issue 14: CPU per call of decoding a page of 20 calls
//! and reading 5 fields of each through the C ABI (`calls_call_get`), against
//! a bare `serde_json::Value` parse of the same page bytes (target ≤ 2×).
//!
//! The page is what calls-sim serves (its `calls_json`); the records are made
//! as `calls_pager_next_call` makes them (`decode_page`, then one
//! `calls_call` per call), and the 5 fields are read with `calls_call_get`
//! and freed with `calls_call_free`, as a C program would.

use std::ffi::{CStr, c_char};
use std::time::{Duration, Instant};

use calls::call::{calls_call, calls_call_free, calls_call_get};
use calls::{CALLS_RESULT_OK, ptr::box_into_raw};
use calls_core::decode_page;
use calls_sim::{Sim, SimConfig};

const FIELDS: [&CStr; 5] = [
    c"call_uuid",
    c"end_time",
    c"bill_duration",
    c"total_amount",
    c"call_id",
];

fn main() {
    let sim = Sim::start(SimConfig {
        calls: 2000,
        ..SimConfig::default()
    })
    .expect("sim");
    let objects: Vec<serde_json::Value> = sim.calls_json().into_iter().take(20).collect();
    let page = serde_json::json!({
        "api_id": "c6d5f1b6-0000-4000-8000-000000000000",
        "meta": {"limit": 20, "offset": 0, "total_count": 2000, "next": "/v1/Account/MA/Zentrunk/Call/?limit=20&offset=20", "previous": null},
        "objects": objects,
    });
    let bytes = serde_json::to_vec(&page).expect("json");
    let rounds = 3000u32;
    let time = |f: &dyn Fn()| {
        for _ in 0..200 {
            f();
        }
        let t = Instant::now();
        for _ in 0..rounds {
            f();
        }
        t.elapsed()
    };
    let records = time(&|| {
        let page = decode_page(std::hint::black_box(&bytes)).expect("decodes");
        let mut total = 0usize;
        for call in page.objects {
            let rec = box_into_raw(calls_call::new(call).expect("record"));
            for name in FIELDS {
                let mut v: *const c_char = std::ptr::null();
                let mut n = 0usize;
                // SAFETY: a live record, a literal name, local outs.
                let rc = unsafe { calls_call_get(rec, name.as_ptr(), &mut v, &mut n) };
                assert_eq!(rc, CALLS_RESULT_OK);
                total += n;
            }
            // SAFETY: made above, not used again.
            unsafe { calls_call_free(rec) };
        }
        std::hint::black_box(total);
    });
    let bare = time(&|| {
        std::hint::black_box(
            serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&bytes))
                .expect("parses"),
        );
    });
    let per_call = |d: Duration| d.as_nanos() as f64 / f64::from(rounds) / 20.0;
    println!(
        "| decode_page + calls_call + 5 × calls_call_get, CPU per call ({} B page of 20) | {:.0} ns | {:.0} ns (bare serde_json::Value parse) | {:.2}× | ≤ 2× |",
        bytes.len(),
        per_call(records),
        per_call(bare),
        records.as_secs_f64() / bare.as_secs_f64()
    );
}
