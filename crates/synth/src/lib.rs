//! A deterministic generator of realistic CloudTrail data: an ECS estate with the EC2, ELB,
//! autoscaling, IAM, STS, ECR and sign-in calls around it, console logins from a handful of
//! countries, errors, and a few suspicious sequences (an unknown address listing clusters with a
//! leaked key, a stopped and deleted trail, a root console login without MFA, a password spray, a
//! security group opened to the world).
//!
//! Output follows CloudTrail's delivery layout:
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<ts>_<rand>.json.gz`.
//! Source addresses come from real public blocks so real GeoIP databases resolve them; a few
//! also lie in the networks of MaxMind's test databases.

mod catalog;
mod write;

pub use write::{GeneratedSet, SynthError, write_dataset};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use catalog::{ACCOUNTS, Actor, ActorKind, REGIONS};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub events: u64,
    /// First day (UTC midnight) of the range.
    pub start: DateTime<Utc>,
    pub days: u32,
    /// Length of the window one delivered file covers.
    pub file_minutes: u32,
}

impl Spec {
    /// `events` over the `days` days that end today (UTC).
    pub fn ending_today(seed: u64, events: u64, days: u32) -> Self {
        let today = Utc::now().date_naive();
        let start = today - Duration::days(i64::from(days) - 1);
        let start = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
        Self {
            seed,
            events,
            start,
            days,
            file_minutes: 60,
        }
    }
}

/// Builds the calls of one suspicious sequence.
type Scenario = fn() -> Vec<catalog::Call>;

/// One generated record with the coordinates of the file it belongs to.
#[derive(Debug, Clone)]
pub struct GenEvent {
    pub account: &'static str,
    pub region: &'static str,
    pub time: DateTime<Utc>,
    pub json: Value,
}

/// Generates records in time order, one delivery window at a time, so memory stays bounded.
pub struct Generator {
    rng: ChaCha8Rng,
    spec: Spec,
    emitted: u64,
    window: u64,
    windows: u64,
    actors: Vec<Actor>,
}

impl Generator {
    pub fn new(spec: Spec) -> Self {
        let windows = (u64::from(spec.days) * 24 * 60 / u64::from(spec.file_minutes.max(1))).max(1);
        Self {
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            spec,
            emitted: 0,
            window: 0,
            windows,
            actors: catalog::actors(),
        }
    }

    /// The next window's records, grouped by (account, region), each group sorted by time.
    /// Returns None when all events have been produced.
    pub fn next_window(&mut self) -> Option<(DateTime<Utc>, Vec<GenEvent>)> {
        if self.window >= self.windows || self.emitted >= self.spec.events {
            return None;
        }
        let w = self.window;
        self.window += 1;
        let start =
            self.spec.start + Duration::minutes(i64::try_from(w * u64::from(self.spec.file_minutes)).unwrap_or(0));
        // Spread the total evenly over windows, modulated by a day/night curve.
        let remaining_windows = self.windows - w;
        let remaining = self.spec.events - self.emitted;
        let hour = f64::from(start.format("%H").to_string().parse::<u32>().unwrap_or(12));
        let curve = 0.55 + 0.45 * (((hour - 14.0) / 24.0) * std::f64::consts::TAU).cos();
        let base = remaining as f64 / remaining_windows as f64;
        let mut n = if remaining_windows == 1 {
            remaining
        } else {
            ((base * curve * 1.4).round() as u64).min(remaining)
        };
        if n == 0 && remaining > 0 && self.rng.random_bool(0.5) {
            n = 1;
        }
        let mut events = Vec::with_capacity(usize::try_from(n).unwrap_or(0) + 16);
        let span = i64::from(self.spec.file_minutes) * 60;
        for _ in 0..n {
            let t = start + Duration::seconds(self.rng.random_range(0..span));
            events.push(self.routine(t));
        }
        self.scenarios(w, start, &mut events);
        self.emitted += n;
        events.sort_by(|a, b| (a.account, a.region, a.time).cmp(&(b.account, b.region, b.time)));
        Some((start, events))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn uuid(&mut self) -> String {
        let b: [u8; 16] = self.rng.random();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_be_bytes([b[4], b[5]]),
            u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
            (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
            u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
        )
    }

    fn routine(&mut self, t: DateTime<Utc>) -> GenEvent {
        let account = *self.pick(ACCOUNTS);
        let region = *self.pick(REGIONS);
        let roll: f64 = self.rng.random();
        let (actor_idx, call) = catalog::routine_call(&mut self.rng, &self.actors, roll);
        let actor = self.actors[actor_idx].clone();
        self.event(t, account, region, &actor, call)
    }

    /// Builds one record.
    fn event(
        &mut self,
        t: DateTime<Utc>,
        account: &'static str,
        region: &'static str,
        actor: &Actor,
        call: catalog::Call,
    ) -> GenEvent {
        let ip = match &actor.ips {
            catalog::Ips::Service(s) => (*s).to_string(),
            catalog::Ips::Blocks(blocks) => {
                let b = *self.pick(blocks);
                format!("{}.{}", b, self.rng.random_range(1..=254))
            }
        };
        let identity = actor.identity(account, &mut self.rng, t);
        // Global services log in us-east-1, as AWS does.
        let region = if matches!(call.source, "signin.amazonaws.com" | "iam.amazonaws.com") {
            "us-east-1"
        } else {
            region
        };
        let event_id = self.uuid();
        let request_id = self.uuid();
        let read_only = call.read_only;
        let mut record = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": call.source,
            "eventName": call.name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": actor.user_agent,
            "requestParameters": call.request.clone(),
            "responseElements": call.response.clone(),
            "requestID": request_id,
            "eventID": event_id,
            "readOnly": read_only,
            "eventType": if call.source == "signin.amazonaws.com" { "AwsConsoleSignIn" } else { "AwsApiCall" },
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
        });
        if let Some(obj) = record.as_object_mut() {
            if let Some((code, message)) = call.error {
                obj.insert("errorCode".into(), Value::from(code));
                obj.insert("errorMessage".into(), Value::from(message));
                obj.insert("responseElements".into(), Value::Null);
            }
            if let Some(message) = call.error_message_only {
                obj.insert("errorMessage".into(), Value::from(message));
            }
            if let Some(extra) = call.additional {
                obj.insert("additionalEventData".into(), extra);
            }
            if !call.resources.is_empty() {
                obj.insert("resources".into(), Value::Array(call.resources.clone()));
            }
            if matches!(actor.kind, ActorKind::Service) {
                obj.remove("userAgent");
                obj.insert("userAgent".into(), Value::from(actor.user_agent));
            } else if call.source != "signin.amazonaws.com" {
                obj.insert("tlsDetails".into(), json!({
                    "tlsVersion": "TLSv1.3",
                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                    "clientProvidedHostHeader": format!("{}.{}.amazonaws.com", call.source.split('.').next().unwrap_or("ecs"), region),
                }));
            }
        }
        GenEvent {
            account,
            region,
            time: t,
            json: record,
        }
    }

    /// Suspicious sequences, placed at fixed fractions of the range so every dataset has them.
    fn scenarios(&mut self, w: u64, start: DateTime<Utc>, out: &mut Vec<GenEvent>) {
        let plan: [(f64, &str, Scenario); 5] = [
            (0.35, "intruder", catalog::recon_calls),
            (0.45, "carol", catalog::open_security_group_calls),
            (0.50, "sprayer", catalog::password_spray_calls),
            (0.60, "mallory", catalog::trail_tampering_calls),
            (0.75, "root", catalog::root_login_calls),
        ];
        for (frac, name, calls) in plan {
            if w != (self.windows as f64 * frac) as u64 {
                continue;
            }
            let Some(actor) = self.actors.iter().find(|a| a.name == name).cloned() else {
                continue;
            };
            for (i, call) in calls().into_iter().enumerate() {
                let t = start + Duration::seconds(60 + 7 * i64::try_from(i).unwrap_or(0));
                out.push(self.event(t, ACCOUNTS[0], REGIONS[0], &actor, call));
            }
        }
    }
}
