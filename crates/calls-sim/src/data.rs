//! Deterministic synthetic call detail records.

use serde::Serialize;

use crate::prng::{SimRng, format_uuid};

/// One E.164 number of the pool.
#[derive(Clone, Debug)]
pub(crate) struct Number {
    /// With the leading `+`.
    pub(crate) e164: String,
    /// ISO country code.
    pub(crate) country: &'static str,
}

impl Number {
    /// The digits without the leading `+`.
    pub(crate) fn digits(&self) -> &str {
        self.e164.strip_prefix('+').unwrap_or(&self.e164)
    }
}

/// `(name, code, source index)`; source index into [`SOURCES`].
pub(crate) const HANGUP_CAUSES: [(&str, u32, u8); 8] = [
    ("normal_hangup", 3000, 1),
    ("normal_hangup", 3010, 0),
    ("rtp_timeout", 3020, 2),
    ("insufficient_plivo_credits", 3030, 2),
    ("bad_request", 4000, 2),
    ("call_rejected_unauthorized_by_carrier", 4010, 1),
    ("call_rejected_unauthorized", 4020, 0),
    ("request_timeout_carrier", 4160, 1),
];
/// Values of `hangup_source`.
pub(crate) const SOURCES: [&str; 3] = ["customer", "carrier", "zentrunk"];
/// Values of `call_direction`.
pub(crate) const DIRECTIONS: [&str; 2] = ["inbound", "outbound"];
/// Values of `stir_verification`.
pub(crate) const STIR: [&str; 3] = ["Verified", "Not Verified", "Not Applicable"];
/// Values of `attestation_indicator`.
pub(crate) const ATTESTATION: [&str; 4] = ["A", "B", "C", "null"];
/// Values of `transport_protocol`.
pub(crate) const TRANSPORTS: [&str; 3] = ["udp", "tcp", "tls"];

/// A compact call record.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) uuid: [u8; 16],
    pub(crate) call_id: (u32, u32, [u8; 4]),
    pub(crate) from: u16,
    pub(crate) to: u16,
    pub(crate) direction: u8,
    pub(crate) call_duration: u32,
    pub(crate) bill_duration: u32,
    /// Unix seconds.
    pub(crate) initiation: i64,
    /// Unix seconds; `None` when unanswered.
    pub(crate) answer: Option<i64>,
    /// Unix seconds.
    pub(crate) end: i64,
    pub(crate) cause: u8,
    /// Per-minute rate in units of 0.00001.
    pub(crate) rate: u32,
    pub(crate) trunk: u8,
    pub(crate) transport: u8,
    pub(crate) srtp: bool,
    pub(crate) secure_trunking: bool,
    pub(crate) stir: u8,
    pub(crate) attestation: u8,
    pub(crate) cnam: bool,
}

impl Call {
    /// End time in microseconds since the epoch.
    pub(crate) fn end_micros(&self) -> i64 {
        self.end.saturating_mul(1_000_000)
    }

    /// `bill_duration` rounded up to 60-second increments.
    pub(crate) fn billed_duration(&self) -> u32 {
        self.bill_duration.div_ceil(60).saturating_mul(60)
    }

    /// `hangup_source` index.
    pub(crate) fn source(&self) -> u8 {
        HANGUP_CAUSES[usize::from(self.cause)].2
    }

    /// `hangup_cause_code`.
    pub(crate) fn cause_code(&self) -> u32 {
        HANGUP_CAUSES[usize::from(self.cause)].1
    }

    /// Ordering key: newest first, ties by call_uuid descending.
    pub(crate) fn desc_cmp(a: &Call, b: &Call) -> std::cmp::Ordering {
        b.end.cmp(&a.end).then_with(|| b.uuid.cmp(&a.uuid))
    }
}

/// Format an amount in units of 0.00001 with exactly five decimals.
pub(crate) fn decimal5(units: u64) -> String {
    format!("{}.{:05}", units / 100_000, units % 100_000)
}

/// Format unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn format_ts(secs: i64) -> String {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => "1970-01-01 00:00:00".to_string(),
    }
}

/// The serialized shape of a record (field order as in a real response).
#[derive(Serialize)]
pub(crate) struct CallView<'a> {
    call_uuid: String,
    call_id: String,
    from_number: &'a str,
    to_number: &'a str,
    call_direction: &'static str,
    call_duration: u32,
    bill_duration: u32,
    end_time: String,
    hangup_cause_name: &'static str,
    hangup_source: &'static str,
    total_rate: String,
    total_amount: String,
    initiation_time: String,
    answer_time: Option<String>,
    trunk_domain: &'a str,
    from_country: &'static str,
    to_country: &'static str,
    transport_protocol: &'static str,
    srtp: bool,
    hangup_cause_code: u32,
    secure_trunking: bool,
    secure_trunking_rate: &'static str,
    cnam_lookup: bool,
    cnam_lookup_rate: &'static str,
    stir_verification: &'static str,
    attestation_indicator: &'static str,
    billed_duration: u32,
    /// Fields added by [`crate::Faults::odd_fields`] (none otherwise).
    #[serde(flatten)]
    odd: serde_json::Map<String, serde_json::Value>,
}

impl CallView<'_> {
    /// The odd values of [`crate::Faults::odd_fields`].
    pub(crate) fn make_odd(&mut self) {
        self.stir_verification = crate::ODD_STIR;
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(crate::ODD_FIELDS) {
            self.odd = m;
        }
    }
}

/// Numbers, trunks and the calls, sorted newest first.
#[derive(Debug)]
pub(crate) struct Dataset {
    pub(crate) pool: Vec<Number>,
    /// Indices into `pool` of the account's own numbers.
    owned: Vec<u16>,
    /// Indices into `pool` of the other parties.
    external: Vec<u16>,
    pub(crate) trunks: Vec<String>,
    /// Sorted by [`Call::desc_cmp`].
    pub(crate) calls: Vec<Call>,
}

const US_AREAS: [&str; 6] = ["415", "212", "732", "646", "312", "206"];

fn digits(rng: &mut SimRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

fn make_number(rng: &mut SimRng, country_pick: usize) -> Number {
    let (e164, country) = match country_pick {
        0 => {
            let area = US_AREAS[rng.below(US_AREAS.len() as u64) as usize];
            let exch = rng.range(2, 9);
            (format!("+1{area}{exch}{}", digits(rng, 6)), "US")
        }
        1 => {
            let pre = ["98", "99", "97", "80"][rng.below(4) as usize];
            (format!("+91{pre}{}", digits(rng, 8)), "IN")
        }
        2 => {
            let pre = ["74", "77", "79"][rng.below(3) as usize];
            (format!("+44{pre}{}", digits(rng, 8)), "GB")
        }
        3 => {
            let area = ["416", "604"][rng.below(2) as usize];
            let exch = rng.range(2, 9);
            (format!("+1{area}{exch}{}", digits(rng, 6)), "CA")
        }
        4 => (format!("+49151{}", digits(rng, 8)), "DE"),
        5 => (format!("+614{}", digits(rng, 8)), "AU"),
        6 => (format!("+65{}{}", rng.range(8, 9), digits(rng, 7)), "SG"),
        7 => (format!("+55119{}", digits(rng, 8)), "BR"),
        _ => (format!("+5255{}", digits(rng, 8)), "MX"),
    };
    Number { e164, country }
}

/// Per-minute rate (units of 0.00001) by destination country.
fn rate_for(rng: &mut SimRng, inbound: bool, to_country: &str) -> u32 {
    if inbound {
        return [280, 325, 280, 450][rng.below(4) as usize];
    }
    match to_country {
        "US" | "CA" => [280, 325, 650][rng.below(3) as usize],
        "IN" => [1250, 1500][rng.below(2) as usize],
        "GB" => [900, 1100][rng.below(2) as usize],
        _ => [2000, 3250, 4500][rng.below(3) as usize],
    }
}

impl Dataset {
    /// Generate `n` calls ending within the 100 days before `start` (unix seconds).
    pub(crate) fn generate(seed: u64, n: usize, start: i64) -> Dataset {
        let mut rng = SimRng::new(seed ^ 0x5EED_CA11_5EED_CA11);
        let mut pool = Vec::new();
        let mut owned = Vec::new();
        let mut external = Vec::new();
        for _ in 0..6 {
            owned.push(pool.len() as u16);
            pool.push(make_number(&mut rng, 0));
        }
        let weights = [40, 15, 10, 8, 6, 6, 5, 5, 5];
        for _ in 0..54 {
            external.push(pool.len() as u16);
            let c = rng.weighted(&weights);
            pool.push(make_number(&mut rng, c));
        }
        let trunks = (0..3)
            .map(|_| format!("{}{}.zt.plivo.com", rng.range(1, 9), digits(&mut rng, 16)))
            .collect();
        let mut ds = Dataset {
            pool,
            owned,
            external,
            trunks,
            calls: Vec::with_capacity(n.min(1 << 24)),
        };
        const SPREAD: u64 = 100 * 86_400;
        for _ in 0..n {
            let end = start - rng.below(SPREAD) as i64;
            let call = ds.gen_call(&mut rng, end);
            ds.calls.push(call);
        }
        ds.calls.sort_unstable_by(Call::desc_cmp);
        ds
    }

    /// Add `n` calls that all end in second `at` (a tie burst), keeping the order.
    pub(crate) fn add_tie_burst(&mut self, seed: u64, n: usize, at: i64) {
        let mut rng = SimRng::new(seed ^ 0x7E1E_B025_7000_0000);
        for _ in 0..n {
            let call = self.gen_call(&mut rng, at);
            self.calls.push(call);
        }
        self.calls.sort_unstable_by(Call::desc_cmp);
    }

    /// Generate `count` calls in the order they arrive, each ending at a
    /// random second within the `depth` seconds (at least 60) before `start`.
    pub(crate) fn generate_arrivals(
        &self,
        seed: u64,
        count: usize,
        start: i64,
        depth: u64,
    ) -> Vec<Call> {
        let mut rng = SimRng::new(seed ^ 0xA441_7A15_0000_0001);
        (0..count)
            .map(|_| {
                let end = start - rng.range(1, depth.max(60)) as i64;
                self.gen_call(&mut rng, end)
            })
            .collect()
    }

    /// Generate `count` extra calls ending within the few hours before `start`.
    pub(crate) fn generate_late(&self, seed: u64, count: usize, start: i64) -> Vec<Call> {
        let mut rng = SimRng::new(seed ^ 0x1A7E_A771_7A15_0000);
        let mut v: Vec<Call> = (0..count)
            .map(|_| {
                let end = start - rng.range(60, 3 * 3600) as i64;
                self.gen_call(&mut rng, end)
            })
            .collect();
        v.sort_unstable_by(Call::desc_cmp);
        v
    }

    fn gen_call(&self, rng: &mut SimRng, end: i64) -> Call {
        let uuid = rng.uuid_bytes();
        let call_id = (
            rng.range(100_000_000, 999_999_999) as u32,
            rng.range(100_000_000, 999_999_999) as u32,
            [
                rng.range(11, 223) as u8,
                rng.below(256) as u8,
                rng.below(256) as u8,
                rng.range(1, 254) as u8,
            ],
        );
        let inbound = rng.percent(55);
        let own = self.owned[rng.below(self.owned.len() as u64) as usize];
        let other = self.external[rng.below(self.external.len() as u64) as usize];
        let (from, to) = if inbound { (other, own) } else { (own, other) };
        let answered = rng.percent(70);
        let (call_duration, ring, cause) = if answered {
            let d = if rng.percent(80) {
                rng.range(1, 300)
            } else {
                rng.range(300, 3600)
            };
            let cause = [1u8, 0, 2, 3][rng.weighted(&[45, 45, 6, 4])];
            (d as u32, rng.range(1, 25) as i64, cause)
        } else {
            let cause = [7u8, 5, 6, 4][rng.weighted(&[40, 20, 25, 15])];
            (0, rng.range(3, 45) as i64, cause)
        };
        let initiation = end - i64::from(call_duration) - ring;
        let answer = answered.then_some(initiation + ring);
        let to_country = self.pool[usize::from(to)].country;
        let from_country = self.pool[usize::from(from)].country;
        let rate = rate_for(rng, inbound, to_country);
        let transport = rng.weighted(&[60, 25, 15]) as u8;
        let srtp = transport == 2 && rng.percent(70);
        let secure_trunking = srtp && rng.percent(80);
        let north_america = matches!(from_country, "US" | "CA");
        let stir = if inbound && north_america {
            rng.weighted(&[50, 40, 10])
        } else if inbound {
            rng.weighted(&[0, 20, 80])
        } else {
            rng.weighted(&[25, 15, 60])
        } as u8;
        let attestation = match stir {
            0 => [0u8, 1][rng.weighted(&[80, 20])],
            1 => [1u8, 2, 3][rng.weighted(&[20, 60, 20])],
            _ => [2u8, 3][rng.weighted(&[30, 70])],
        };
        let cnam = inbound && rng.percent(30);
        Call {
            uuid,
            call_id,
            from,
            to,
            direction: u8::from(!inbound),
            call_duration,
            bill_duration: call_duration,
            initiation,
            answer,
            end,
            cause,
            rate,
            trunk: rng.below(self.trunks.len() as u64) as u8,
            transport,
            srtp,
            secure_trunking,
            stir,
            attestation,
            cnam,
        }
    }

    /// The serializable view of a call.
    pub(crate) fn view<'a>(&'a self, c: &Call) -> CallView<'a> {
        let from = &self.pool[usize::from(c.from)];
        let to = &self.pool[usize::from(c.to)];
        let (cause_name, cause_code, source) = HANGUP_CAUSES[usize::from(c.cause)];
        let minutes = u64::from(c.billed_duration() / 60);
        let (a, b, ip) = c.call_id;
        CallView {
            call_uuid: format_uuid(&c.uuid),
            call_id: format!("{a}_{b}@{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]),
            from_number: &from.e164,
            to_number: &to.e164,
            call_direction: DIRECTIONS[usize::from(c.direction)],
            call_duration: c.call_duration,
            bill_duration: c.bill_duration,
            end_time: format_ts(c.end),
            hangup_cause_name: cause_name,
            hangup_source: SOURCES[usize::from(source)],
            total_rate: decimal5(u64::from(c.rate)),
            total_amount: decimal5(u64::from(c.rate) * minutes),
            initiation_time: format_ts(c.initiation),
            answer_time: c.answer.map(format_ts),
            trunk_domain: self
                .trunks
                .get(usize::from(c.trunk))
                .map_or("", String::as_str),
            from_country: from.country,
            to_country: to.country,
            transport_protocol: TRANSPORTS[usize::from(c.transport)],
            srtp: c.srtp,
            hangup_cause_code: cause_code,
            secure_trunking: c.secure_trunking,
            secure_trunking_rate: if c.secure_trunking {
                "0.00050"
            } else {
                "0.00000"
            },
            cnam_lookup: c.cnam,
            cnam_lookup_rate: if c.cnam { "0.00400" } else { "0.00000" },
            stir_verification: STIR[usize::from(c.stir)],
            attestation_indicator: ATTESTATION[usize::from(c.attestation)],
            billed_duration: c.billed_duration(),
            odd: serde_json::Map::new(),
        }
    }

    /// A call as a JSON value.
    pub(crate) fn to_value(&self, c: &Call) -> serde_json::Value {
        serde_json::to_value(self.view(c)).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal5(0), "0.00000");
        assert_eq!(decimal5(280), "0.00280");
        assert_eq!(decimal5(123_456), "1.23456");
    }

    #[test]
    fn sorted_and_deterministic() {
        let a = Dataset::generate(3, 500, 1_800_000_000);
        let b = Dataset::generate(3, 500, 1_800_000_000);
        assert!(
            a.calls
                .windows(2)
                .all(|w| Call::desc_cmp(&w[0], &w[1]).is_le())
        );
        let va: Vec<_> = a.calls.iter().map(|c| a.to_value(c)).collect();
        let vb: Vec<_> = b.calls.iter().map(|c| b.to_value(c)).collect();
        assert_eq!(va, vb);
        assert_eq!(format_ts(0), "1970-01-01 00:00:00");
    }
}
