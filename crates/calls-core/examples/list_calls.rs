//! Lists calls of the last N days: a table and a summary.
//!
//! ```text
//! PLIVO_AUTH_ID=... PLIVO_AUTH_TOKEN=... [PLIVO_API_URL=...] \
//!   cargo run --example list_calls -- --days 60 --direction outbound --limit 15
//! ```

use std::process::ExitCode;

use calls_core::Cmp;
use calls_core::{CallQuery, Client};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("list_calls: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut days = 7i64;
    let mut shown = 20usize;
    let mut query = CallQuery::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--days" => days = value()?.parse()?,
            "--limit" => shown = value()?.parse()?,
            "--direction" => {
                query.set("call_direction", &value()?)?;
            }
            "--filter" => {
                let kv = value()?;
                let (k, v) = kv.split_once('=').ok_or("--filter takes name=value")?;
                query.set(k, v)?;
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    // Both bounds from one instant: exactly `days` long, so 60 days is two
    // 30-day windows (a lower bound alone would end at the pager's own,
    // slightly later "now": a sliver of a third window).
    let now = chrono::Utc::now();
    let query = query
        .end_time(Cmp::Gte, now - chrono::Duration::days(days))
        .end_time(Cmp::Lt, now);
    let client = Client::builder_from_env()?.build()?;
    let mut pager = client.calls(&query);
    println!(
        "{:<36}  {:<19}  {:<14}  {:<14}  {:<8}  {:>5}  {:>9}",
        "call_uuid", "end_time (UTC)", "from", "to", "dir", "bill", "amount"
    );
    let (mut count, mut billed_secs, mut micro_units) = (0u64, 0u64, 0i128);
    for call in pager.by_ref() {
        let call = call?;
        count += 1;
        billed_secs += call.billed_duration.or(call.bill_duration).unwrap_or(0);
        let amount = call
            .total_amount
            .as_ref()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        micro_units += to_units(&amount).unwrap_or(0);
        if (count as usize) <= shown {
            println!(
                "{:<36}  {:<19}  {:<14}  {:<14}  {:<8}  {:>5}  {:>9}",
                call.call_uuid,
                call.end_time
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default(),
                call.from_number.as_deref().unwrap_or(""),
                call.to_number.as_deref().unwrap_or(""),
                call.call_direction
                    .as_ref()
                    .map(|d| d.as_str().to_string())
                    .unwrap_or_default(),
                call.bill_duration.unwrap_or(0),
                amount
            );
        }
    }
    if count as usize > shown {
        println!("... {} more", count as usize - shown);
    }
    let s = pager.stats();
    println!();
    println!("calls:          {count}");
    println!("billed minutes: {}", billed_secs.div_ceil(60));
    println!("total amount:   {}", from_units(micro_units));
    println!(
        "requests:       {} ({} retries, {} windows)",
        s.requests, s.retries, s.windows
    );
    Ok(())
}

/// A decimal string as an integer count of 10⁻⁵ units (the API's precision).
fn to_units(s: &str) -> Option<i128> {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 5 {
        return None;
    }
    let v = format!("{int}{frac:0<5}").parse::<i128>().ok()?;
    Some(if neg { -v } else { v })
}

fn from_units(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:05}", a / 100_000, a % 100_000)
}
