//! `include/calls.h` is generated from this crate by cbindgen.
//!
//! This test regenerates it in memory and fails when the committed file
//! differs. `make header` (which sets `CALLS_UPDATE_HEADER=1`) writes it.

use std::path::PathBuf;

fn generate() -> String {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("crates/calls-ffi/cbindgen.toml");
    // From Cargo.toml's version, so that the header and the library never drift.
    config.after_includes = Some(format!(
        "\n/** The version of this header: {v} (calls_version() gives the library's). */\n\
         #define CALLS_VERSION \"{v}\"\n\
         /** The major version of this header. */\n#define CALLS_VERSION_MAJOR {}\n\
         /** The minor version of this header. */\n#define CALLS_VERSION_MINOR {}\n\
         /** The patch version of this header. */\n#define CALLS_VERSION_PATCH {}\n",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        v = env!("CARGO_PKG_VERSION"),
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen could not generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/calls.h");
    let fresh = generate();
    if std::env::var_os("CALLS_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/calls.h is stale (or missing): run `make header` and commit the result"
    );
}

#[test]
fn header_has_the_contract() {
    let h = generate();
    for needle in [
        "typedef uint32_t calls_result;",
        "typedef struct calls_client calls_client;",
        "typedef struct calls_client_builder calls_client_builder;",
        "typedef struct calls_query calls_query;",
        "typedef struct calls_pager calls_pager;",
        "#define CALLS_RESULT_OK 0",
        "#define CALLS_RESULT_DONE 1",
        "#define CALLS_RESULT_NULL_PARAMETER 100",
        "#define CALLS_RESULT_INVALID_ARGUMENT 101",
        "#define CALLS_RESULT_VALIDATION 102",
        "#define CALLS_RESULT_NO_FIELD 103",
        "typedef struct calls_call calls_call;",
        "calls_result calls_pager_next_call(calls_pager *pager, calls_call **call_out);",
        "void calls_call_free(calls_call *call);",
        "calls_result calls_call_get(const calls_call *call, const char *name, const char **value_out, size_t *len_out);",
        "size_t calls_call_field_count(const calls_call *call);",
        "calls_result calls_call_field_at(const calls_call *call, size_t index, const char **name_out, const char **value_out, size_t *len_out);",
        "calls_result calls_call_json(const calls_call *call, const char **json_out, size_t *len_out);",
        "calls_result calls_client_get_call(const calls_client *client, const char *call_uuid, calls_call **call_out);",
        "calls_result calls_call_get_int64(const calls_call *call, const char *name, int64_t *value_out);",
        "calls_result calls_call_get_time_us(const calls_call *call, const char *name, int64_t *us_out);",
        "calls_result calls_call_get_bool(const calls_call *call, const char *name, int *value_out);",
        "calls_result calls_call_get_money(const calls_call *call, const char *name, const char **value_out, size_t *len_out);",
        "calls_result calls_call_get_money_micros(const calls_call *call, const char *name, int64_t *micros_out);",
        "NUL bytes written inside included",
        "#define CALLS_RESULT_TRANSPORT 200",
        "#define CALLS_RESULT_TIMEOUT 201",
        "#define CALLS_RESULT_CANCELLED 202",
        "calls_result calls_pager_cancel(calls_pager *pager);",
        "calls_result calls_client_builder_set_deadline_ms(calls_client_builder *builder, uint32_t ms);",
        "#define CALLS_RESULT_UNAUTHORIZED 300",
        "#define CALLS_RESULT_NOT_FOUND 301",
        "#define CALLS_RESULT_RATE_LIMITED 302",
        "#define CALLS_RESULT_SERVER 303",
        "#define CALLS_RESULT_HTTP 304",
        "#define CALLS_RESULT_BAD_RESPONSE 400",
        "#define CALLS_RESULT_PANIC 900",
        "#include <stdint.h>",
        "#include <stddef.h>",
        "extern \"C\"",
        "#ifndef CALLS_H",
        "size_t *len_out",
        "calls_result calls_client_builder_build(calls_client_builder *b, calls_client **out);",
        "calls_result calls_pager_checkpoint(const calls_pager *p, char **out, size_t *len_out);",
        "calls_result calls_pager_resume(const calls_client *c,",
        "calls_result calls_pager_sync_new(const calls_client *client, const calls_query *query, const char *state, uint32_t lookback_s, calls_pager **pager_out);",
        "calls_result calls_pager_sync_state(const calls_pager *pager, char **state_out, size_t *len_out);",
        "calls_result calls_client_builder_set_rate_limit(calls_client_builder *builder, uint32_t max_requests, uint32_t per_ms);",
        "calls_result calls_client_stats(const calls_client *c, char **json_out, size_t *len_out);",
        "calls_result calls_pager_set_progress(calls_pager *pager, calls_progress_callback callback, void *user_data);",
        "typedef int (*calls_progress_callback)(const calls_progress *progress, void *user_data);",
        "calls_result calls_client_builder_set_log(calls_client_builder *builder, calls_log_callback callback, void *user_data, calls_log_level max_level);",
        "typedef void (*calls_log_callback)(const calls_log_record *record, void *user_data);",
        "#define CALLS_LOG_ERROR 1",
        "#define CALLS_LOG_WARN 2",
        "#define CALLS_LOG_INFO 3",
        "#define CALLS_LOG_DEBUG 4",
        "calls_result calls_client_builder_set_ca_file(calls_client_builder *builder, const char *path);",
        "calls_result calls_client_builder_set_tls_roots(calls_client_builder *builder, calls_tls_roots roots);",
        "typedef uint32_t calls_tls_roots;",
        "#define CALLS_TLS_ROOTS_WEBPKI 0",
        "#define CALLS_TLS_ROOTS_PLATFORM 1",
        "calls_result calls_client_builder_set_connect_timeout_ms(calls_client_builder *builder, uint32_t ms);",
        "calls_result calls_client_builder_set_retry_policy(calls_client_builder *builder, uint32_t base_ms, uint32_t max_backoff_ms, uint32_t max_retry_after_ms);",
        "calls_result calls_client_builder_set_user_agent(calls_client_builder *builder, const char *user_agent);",
        "calls_result calls_client_builder_set_max_body_bytes(calls_client_builder *builder, uint64_t bytes);",
        "instead of** the built-in roots",
    ] {
        assert!(h.contains(needle), "header lacks `{needle}`");
    }
    // Every function has a doc comment right above it.
    let lines: Vec<&str> = h.lines().collect();
    let mut fns = 0;
    for (i, l) in lines.iter().enumerate() {
        let starts_code = l.starts_with(|c: char| c.is_ascii_alphabetic());
        if starts_code && !l.starts_with("typedef") && l.ends_with(");") && l.contains("calls_") {
            fns += 1;
            assert!(
                i > 0 && lines[i - 1].trim_start().starts_with("*/"),
                "no doc comment above `{l}`"
            );
        }
    }
    assert_eq!(fns, 54, "exported function count");
}
