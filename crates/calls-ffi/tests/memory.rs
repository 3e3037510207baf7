//! `calls_client_list_page` against an over-limit page (issue 11): the peak
//! resident size above the start (`VmHWM` after resetting it through
//! `/proc/self/clear_refs`) stays within 4x the 8 MiB body cap, the result
//! is BAD_RESPONSE and `calls_last_http_status()` is the answer's 200.
//! Before: 226 MiB and a 15 MB JSON string for 360,000 objects. One test in
//! this binary, so nothing runs alongside it.
#![cfg(target_os = "linux")]

use std::ffi::{CStr, CString};
use std::ptr;

use calls::client::{
    calls_client_builder_build, calls_client_builder_new, calls_client_builder_set_base_url,
    calls_client_builder_set_max_retries, calls_client_free, calls_client_list_page,
};
use calls::query::{calls_query_free, calls_query_new};
use calls::{
    CALLS_RESULT_BAD_RESPONSE, CALLS_RESULT_OK, calls_last_error_message, calls_last_http_status,
};
use calls_sim::{Fault, Faults, Sim, SimConfig};

const CAP_BYTES: u64 = 8 * 1024 * 1024;

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field}"))
}

#[test]
fn list_page_of_an_over_limit_page_is_bad_response_within_four_times_the_cap() {
    let sim = Sim::start(SimConfig {
        calls: 50,
        ..SimConfig::default()
    })
    .expect("calls-sim");
    let id = CString::new(sim.auth_id()).unwrap();
    let token = CString::new(sim.auth_token()).unwrap();
    let url = CString::new(sim.base_url()).unwrap();
    let (mut b, mut c, mut q) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    let mut json = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: valid strings and out-parameters; every handle freed below.
    unsafe {
        assert_eq!(
            calls_client_builder_new(id.as_ptr(), token.as_ptr(), &mut b),
            CALLS_RESULT_OK
        );
        assert_eq!(
            calls_client_builder_set_base_url(b, url.as_ptr()),
            CALLS_RESULT_OK
        );
        assert_eq!(calls_client_builder_set_max_retries(b, 2), CALLS_RESULT_OK);
        assert_eq!(calls_client_builder_build(b, &mut c), CALLS_RESULT_OK);
        assert_eq!(calls_query_new(&mut q), CALLS_RESULT_OK);
        // Warm up with a normal page.
        assert_eq!(
            calls_client_list_page(c, q, 20, 0, &mut json, &mut len),
            CALLS_RESULT_OK
        );
        calls::calls_string_free(json);
        json = ptr::null_mut();

        sim.set_faults(Faults::none().with_every(
            1,
            Fault::OverLimit {
                objects: 340_000,
                gzip: false,
            },
        ));
        sim.reset_stats();
        std::fs::write("/proc/self/clear_refs", "5").expect("reset the high-water mark");
        let base = status_kb("VmRSS:");
        let rc = calls_client_list_page(c, q, 20, 0, &mut json, &mut len);
        let peak = status_kb("VmHWM:").saturating_sub(base) * 1024;
        let status = calls_last_http_status();
        let msg = CStr::from_ptr(calls_last_error_message())
            .to_string_lossy()
            .into_owned();
        eprintln!(
            "calls_client_list_page, 340,000 objects: rc {rc}, status {status}, peak {:.1} MiB above start: {msg}",
            peak as f64 / (1024.0 * 1024.0)
        );
        assert!(peak <= 4 * CAP_BYTES, "peak {peak} bytes");
        assert_eq!(rc, CALLS_RESULT_BAD_RESPONSE);
        assert!(json.is_null() && len == 0);
        assert_eq!(status, 200);
        assert!(
            msg.contains("more than 20 objects, but limit=20 was asked for"),
            "{msg}"
        );
        assert_eq!(sim.stats().requests, 1, "not retried");
        calls_query_free(q);
        calls_client_free(c);
    }
}
