//! `calls-sim` binary: serve the simulator until killed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use calls_sim::{Fault, Faults, LateArrivals, RateLimit, Sim, SimConfig};

const USAGE: &str = "\
calls-sim: a local simulator of Plivo's Zentrunk call-record endpoint

USAGE:
    calls-sim [OPTIONS]

Prints its base URL (http://HOST:PORT, or https:// with --https) alone on
the first stdout line, then serves until killed.

OPTIONS:
    --port P                 listen port, 0 picks a free one [default: 0]
    --host H                 listen host [default: 127.0.0.1]
    --https CA_FILE          serve HTTPS with a CA and a certificate made at
                             start; the CA certificate (PEM) is written to
                             CA_FILE before the URL is printed
    --calls N                number of generated calls [default: 1000]
    --seed S                 dataset seed [default: 1]
    --auth-id X              account id [default: MASIMULATOR000000001]
    --auth-token Y           auth token [default: simulator-token]
    --workers W              requests handled concurrently [default: 16]
    --latency-ms MS          latency added before every API answer
    --rate-limit MAX/SECS    per-account limit: at most MAX accepted requests in
                             any SECS seconds (sliding window; Plivo's is 300/5),
                             others answered 429 with Retry-After [default: off]
    --rate-limit-every N     every N-th API request answers 429
    --retry-after SECS       Retry-After value sent with 429s [default: 1]
    --error-every N          every N-th API request answers --error-status
    --error-status CODE      status used by --error-every/--error-rate [default: 503]
    --error-rate F           probability (0..1) of answering --error-status
    --drop-every N           every N-th API request: connection closed, no response
    --malformed-every N      every N-th API request: 200 with a non-JSON body
    --over-limit-every N     every N-th API request: 200 with a page of
                             --over-limit-objects minimal objects, whatever
                             limit was asked
    --over-limit-objects K   objects on such a page [default: 360000]
    --gzip                   send those pages gzip-compressed
    --echo-credentials-every N
                             every N-th API request: 200 with a page whose
                             end_time is `2026-11-30 08:52:26 pad pad pad `
                             followed by the request's auth token
    --echo-basic             ... by its base64 Basic credentials instead
    --late N                 N late records ...
    --late-after K           ... that appear after K API requests [default: 0]
    --arrivals N             N records arriving steadily while a client walks ...
    --arrive-every K         ... one with every K-th API request [default: 2]
    --arrive-depth-days D    ... each ended within the D days before the start
                             (0: within the minute before it) [default: 0]
    --tie N                  N more calls that all ended in one second (a day
                             before the start)
    --break-order            answer pages oldest first (a broken service)
    --odd-fields             records carry odd values: unmodelled fields with a
                             199-byte name, escapes, a NUL, nesting and null,
                             and a stir_verification holding , \" CR and LF
    --ignore-offset          answer every page as if offset were 0
    --hold                   hold every API answer until GET /_sim/release
    --default-window-days D  window without end_time filters [default: 7]
    --max-range-days R       largest end_time range [default: 30]
    --retention-days T       records older than this never exist [default: 90]
    -h, --help               print this help
";

/// The next argument as a `T`, or an error naming the flag and the value.
fn value<T: std::str::FromStr>(flag: &str, p: &mut lexopt::Parser) -> Result<T, String> {
    let raw = p.value().map_err(|e| e.to_string())?;
    let text = raw
        .to_str()
        .ok_or_else(|| format!("invalid value for {flag}: not UTF-8"))?;
    text.parse::<T>()
        .map_err(|_| format!("invalid value for {flag}: {text:?}"))
}

/// The next argument as a count of at least 1.
fn positive(flag: &str, p: &mut lexopt::Parser) -> Result<u64, String> {
    let n: u64 = value(flag, p)?;
    if n == 0 {
        return Err(format!("{flag} must be at least 1"));
    }
    Ok(n)
}

/// Parse the command line (the config, and where `--https` writes the CA);
/// `Ok(None)` means help was requested. Flags take their value as the next
/// argument or after `=` (lexopt's rules).
fn parse(args: Vec<std::ffi::OsString>) -> Result<Option<(SimConfig, Option<PathBuf>)>, String> {
    use lexopt::Arg::{Long, Short};
    let mut c = SimConfig::default();
    let mut latency_ms = 0u64;
    let mut rate_limit_every = None;
    let mut retry_after = "1".to_string();
    let mut error_every = None;
    let mut error_status = 503u16;
    let mut error_rate = None;
    let mut drop_every = None;
    let mut malformed_every = None;
    let mut late = None;
    let mut late_after = 0u64;
    let mut arrivals = None;
    let mut arrive_every = 2u64;
    let mut arrive_depth_days = 0u64;
    let mut break_order = false;
    let mut odd_fields = false;
    let mut ignore_offset = false;
    let mut hold = false;
    let mut over_limit_every = None;
    let mut over_limit_objects = 360_000u64;
    let mut gzip = false;
    let mut echo_every = None;
    let mut echo_basic = false;
    let mut ca_out = None;
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        let flag = match arg {
            Short(c) => format!("-{c}"),
            Long(l) => format!("--{l}"),
            other => return Err(other.unexpected().to_string()),
        };
        let p = &mut p;
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => c.port = value(&flag, p)?,
            "--host" => c.host = value(&flag, p)?,
            "--https" => {
                c.https = true;
                ca_out = Some(value::<PathBuf>(&flag, p)?);
            }
            "--calls" => c.calls = value(&flag, p)?,
            "--seed" => c.seed = value(&flag, p)?,
            "--auth-id" => c.auth_id = value(&flag, p)?,
            "--auth-token" => c.auth_token = value(&flag, p)?,
            "--workers" => c.workers = value::<std::num::NonZeroUsize>(&flag, p)?.get(),
            "--latency-ms" => latency_ms = value(&flag, p)?,
            "--rate-limit" => c.rate_limit = Some(RateLimit::parse(&value::<String>(&flag, p)?)?),
            "--rate-limit-every" => rate_limit_every = Some(positive(&flag, p)?),
            "--retry-after" => retry_after = value(&flag, p)?,
            "--error-every" => error_every = Some(positive(&flag, p)?),
            "--error-status" => {
                error_status = value(&flag, p)?;
                if !(100..=599).contains(&error_status) {
                    return Err(format!("{flag} must be an HTTP status (100..=599)"));
                }
            }
            "--error-rate" => {
                let f: f64 = value(&flag, p)?;
                if !(0.0..=1.0).contains(&f) {
                    return Err(format!("{flag} must be between 0 and 1"));
                }
                error_rate = Some(f);
            }
            "--drop-every" => drop_every = Some(positive(&flag, p)?),
            "--malformed-every" => malformed_every = Some(positive(&flag, p)?),
            "--over-limit-every" => over_limit_every = Some(positive(&flag, p)?),
            "--over-limit-objects" => over_limit_objects = value(&flag, p)?,
            "--gzip" => gzip = true,
            "--echo-credentials-every" => echo_every = Some(positive(&flag, p)?),
            "--echo-basic" => echo_basic = true,
            "--late" => late = Some(value::<usize>(&flag, p)?),
            "--late-after" => late_after = value(&flag, p)?,
            "--arrivals" => arrivals = Some(value::<usize>(&flag, p)?),
            "--arrive-every" => arrive_every = positive(&flag, p)?,
            "--arrive-depth-days" => {
                arrive_depth_days = value(&flag, p)?;
                if arrive_depth_days > 36_500 {
                    return Err(format!("{flag} must be at most 36500"));
                }
            }
            "--tie" => c.tie_burst = value(&flag, p)?,
            "--break-order" => break_order = true,
            "--odd-fields" => odd_fields = true,
            "--ignore-offset" => ignore_offset = true,
            "--hold" => hold = true,
            "--default-window-days" => c.default_window_days = value(&flag, p)?,
            "--max-range-days" => c.max_range_days = value(&flag, p)?,
            "--retention-days" => c.retention_days = value(&flag, p)?,
            _ => return Err(format!("unknown argument: {flag}")),
        }
    }
    let mut f = Faults::default().with_latency(Duration::from_millis(latency_ms));
    if let Some(n) = rate_limit_every {
        f = f.with_every(n, Fault::rate_limited(&retry_after));
    }
    if let Some(n) = error_every {
        f = f.with_every(n, Fault::status(error_status));
    }
    if let Some(n) = drop_every {
        f = f.with_every(n, Fault::Drop);
    }
    if let Some(n) = malformed_every {
        f = f.with_every(n, Fault::Malformed);
    }
    if let Some(n) = over_limit_every {
        f = f.with_every(
            n,
            Fault::OverLimit {
                objects: over_limit_objects,
                gzip,
            },
        );
    }
    if let Some(n) = echo_every {
        f = f.with_every(
            n,
            Fault::EchoCredentials {
                field: "end_time".into(),
                prefix: "2026-11-30 08:52:26 pad pad pad ".into(),
                basic: echo_basic,
            },
        );
    }
    if let Some(p) = error_rate {
        f = f.with_rate(p, Fault::status(error_status));
    }
    if let Some(count) = late {
        f.late = Some(LateArrivals {
            count,
            after_requests: late_after,
        });
    }
    if let Some(count) = arrivals {
        f = f.with_arrivals(arrive_every, arrive_depth_days * 86_400, count);
    }
    f.break_order = break_order;
    f.odd_fields = odd_fields;
    f.ignore_offset = ignore_offset;
    f.hold = hold;
    c.faults = f;
    Ok(Some((c, ca_out)))
}

fn main() -> ExitCode {
    let (config, ca_out) = match parse(std::env::args_os().skip(1).collect()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("calls-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sim = match Sim::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("calls-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = ca_out
        && let Err(e) = sim.write_ca_file(&path)
    {
        eprintln!("calls-sim: cannot write the CA to {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let mut out = std::io::stdout();
    if writeln!(out, "{}", sim.base_url())
        .and_then(|()| out.flush())
        .is_err()
    {
        // Nobody is reading the URL; keep serving anyway.
    }
    loop {
        std::thread::park();
    }
}
