//! `watch.yaml`: where to listen, how often, and the targets, each a URL with the probe's own
//! flags (`args`, exactly as `parallax probe` takes them) and what its answer should be. Modules
//! are named sets of flags for the blackbox-compatible `/probe` endpoint.
//!
//! ```yaml
//! listen: 127.0.0.1:9595
//! interval: 30s
//! timeout: 10s
//! concurrency: 16
//! targets:
//!   - name: orders
//!     url: https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/test
//!     args: [--compare-dns, public=1.1.1.1, --cert, /etc/parallax/client.pem, --key, /etc/parallax/client.key]
//!     api_key_env: ORDERS_API_KEY    # or `--api-key-file FILE` in args
//!     expect: { dns: public, front_door: regional, status: 200 }
//! modules:
//!   http_2xx: { args: [--max-time, "5"] }
//! webhooks:                  # or `webhook:` with one; each receiver has a sender of its own
//!   - { name: relay, url: http://127.0.0.1:8080/hooks, timeout: 5s, retries: 3, queue: 1000 }
//!   - { name: am, url: http://127.0.0.1:9093, kind: alertmanager }
//! probe_allow:                # what /probe may probe (anything when absent)
//!   cidrs: [10.0.0.0/8]
//!   names: ["*.execute-api.us-east-1.amazonaws.com", api.example.com]
//! snapshot_interval: 5m   # with `parallax watch --aws`: how often the account is read again
//! ```

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use parallax_model::{At, Expectation, LoadError, Pos, Problem};
use parallax_probe::curl::CurlFlags;
use parallax_probe::options::ProbeOptions;
use serde::Deserialize;

/// The file as written. Top-level keys starting `x-` are the file's own (a place for anchors
/// that targets share, as Compose files do) and are skipped; any other unknown key is an error.
#[derive(Debug, Default)]
struct RawConfig {
    listen: Option<At<String>>,
    interval: Option<At<String>>,
    timeout: Option<At<String>>,
    concurrency: Option<At<usize>>,
    /// The fraction of the interval each target's start is spread over (0 to 1).
    jitter: Option<At<f64>>,
    targets: Vec<RawTarget>,
    modules: BTreeMap<String, RawModule>,
    /// A blackbox_exporter configuration file whose modules `/probe` offers too.
    modules_file: Option<At<String>>,
    /// What `/probe` may be asked to probe (all when absent).
    probe_allow: Option<RawAllow>,
    webhook: Option<RawWebhook>,
    webhooks: Vec<RawWebhook>,
    /// With `parallax watch --aws`: how often the account is read again (default 5m).
    snapshot_interval: Option<At<String>>,
}

/// The keys [`RawConfig`] reads.
const FIELDS: &[&str] = &[
    "listen",
    "interval",
    "timeout",
    "concurrency",
    "jitter",
    "targets",
    "modules",
    "modules_file",
    "probe_allow",
    "webhook",
    "webhooks",
    "snapshot_interval",
];

impl<'de> Deserialize<'de> for RawConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawConfig, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = RawConfig;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a watch configuration (a mapping)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawConfig, A::Error> {
                let mut c = RawConfig::default();
                let mut targets = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "listen" => c.listen = map.next_value()?,
                        "interval" => c.interval = map.next_value()?,
                        "timeout" => c.timeout = map.next_value()?,
                        "concurrency" => c.concurrency = map.next_value()?,
                        "jitter" => c.jitter = map.next_value()?,
                        "targets" => targets = Some(map.next_value()?),
                        "modules" => c.modules = map.next_value()?,
                        "modules_file" => c.modules_file = map.next_value()?,
                        "probe_allow" => c.probe_allow = map.next_value()?,
                        "webhook" => c.webhook = map.next_value()?,
                        "webhooks" => c.webhooks = map.next_value()?,
                        "snapshot_interval" => c.snapshot_interval = map.next_value()?,
                        own if own.starts_with("x-") => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        other => return Err(A::Error::unknown_field(other, FIELDS)),
                    }
                }
                c.targets = targets.ok_or_else(|| A::Error::missing_field("targets"))?;
                Ok(c)
            }
        }
        d.deserialize_map(Fields)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    #[serde(default)]
    name: Option<At<String>>,
    url: At<String>,
    /// `webhook` (an Alertmanager webhook payload to the URL) or `alertmanager` (its API).
    #[serde(default)]
    kind: Option<At<String>>,
    #[serde(default)]
    timeout: Option<At<String>>,
    #[serde(default)]
    retries: Option<At<u32>>,
    #[serde(default)]
    queue: Option<At<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: At<String>,
    url: At<String>,
    #[serde(default)]
    args: Vec<At<String>>,
    #[serde(default)]
    expect: Option<At<Expectation>>,
    #[serde(default)]
    interval: Option<At<String>>,
    /// The environment variable holding this target's API key (an ECS secret).
    #[serde(default)]
    api_key_env: Option<At<String>>,
}

/// `probe_allow:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    cidrs: Vec<At<String>>,
    #[serde(default)]
    names: Vec<At<String>>,
}

/// What `/probe` may probe: targets whose host is an address inside one of `cidrs`, or a name
/// matching one of `names` (`*` stands for any run of characters, dots included; compared
/// without case). A name is allowed by its pattern whatever it resolves to.
#[derive(Clone, Debug, Default)]
pub struct ProbeAllow {
    /// Address ranges.
    pub cidrs: Vec<ipnet::IpNet>,
    /// Name patterns, lower case.
    pub names: Vec<String>,
}

impl ProbeAllow {
    /// Whether `host` (an address, or a name) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return self.cidrs.iter().any(|c| c.contains(&ip));
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|p| glob(p, &name))
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    first.len() + last.len() <= text.len()
}

/// A module as written: blackbox_exporter's keys and parallax's `args`, checked by
/// [`crate::module::read`] so that every unknown option is named at once.
type RawModule = BTreeMap<String, At<serde_json::Value>>;

/// A blackbox_exporter configuration file (`modules_file:`), as blackbox_exporter reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModulesFile {
    modules: BTreeMap<String, RawModule>,
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where `/metrics` and `/probe` listen.
    pub listen: SocketAddr,
    /// How often each target is probed.
    pub interval: Duration,
    /// How long one probe may take.
    pub timeout: Duration,
    /// How many probes run at once.
    pub concurrency: usize,
    /// The fraction of the interval a target's start is spread by.
    pub jitter: f64,
    /// The targets.
    pub targets: Vec<Target>,
    /// The `/probe` modules, by name: `modules:` and those of `modules_file:`.
    pub modules: BTreeMap<String, crate::module::Module>,
    /// What `/probe` may be asked to probe; `None`: anything, as blackbox_exporter.
    pub probe_allow: Option<ProbeAllow>,
    /// Where events are POSTed: `webhook:` (one) and `webhooks:` (a list), each with a sender
    /// of its own.
    pub webhooks: Vec<crate::webhook::WebhookConfig>,
    /// With `--aws`: how often the account is read again.
    pub snapshot_interval: Duration,
}

/// How often `watch --aws` reads the account when nothing says otherwise.
pub const DEFAULT_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(300);

/// One target: its name (a label value), its probe options, what it should see.
#[derive(Clone, Debug)]
pub struct Target {
    /// The target's name (its label).
    pub name: String,
    /// The URL probed.
    pub url: String,
    /// The probe's options.
    pub options: ProbeOptions,
    /// What it must see, if anything.
    pub expect: Option<Expectation>,
    /// How often it is probed.
    pub interval: Duration,
}

/// The probe's flags, parsed as `parallax probe` parses them.
#[derive(Parser, Debug)]
#[command(name = "probe", no_binary_name = true)]
struct ProbeArgs {
    #[command(flatten)]
    curl: CurlFlags,
}

/// The options of `parallax probe ARGS… URL`, or the words of what is wrong with them.
pub fn probe_options(args: &[String], url: &str) -> Result<ProbeOptions, String> {
    let mut all: Vec<String> = args.to_vec();
    all.push(url.to_owned());
    // clap builds and checks a command on every parse, which for the probe's flags cost about
    // 7 ms a target in release (40 ms in debug): a 1,000-target file took 7 s to load. The
    // command is built once and each parse works on a copy of it.
    static COMMAND: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    let command = COMMAND.get_or_init(|| {
        let mut c = <ProbeArgs as clap::CommandFactory>::command();
        c.build();
        c
    });
    let parsed = command
        .clone()
        .try_get_matches_from(&all)
        .and_then(|m| {
            let mut p = <ProbeArgs as clap::FromArgMatches>::from_arg_matches(&m)?;
            // -d pieces in the order typed, as `parallax probe` joins them.
            p.curl.order_data(&m);
            Ok(p)
        })
        .map_err(|e| {
            e.render()
                .to_string()
                .lines()
                .next()
                .unwrap_or("cannot read the flags")
                .trim_start_matches("error: ")
                .to_owned()
        })?;
    parsed.curl.to_options().map_err(|e| e.to_string())
}

/// `30s`, `1m`, `500ms`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, ""), |i| s.split_at(i));
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 30s, 1m or 500ms"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: the unit is ms, s, m or h")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{s}` is not between 1 ms and 24 h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A label value Prometheus and humans can read: letters, digits, `-`, `_`, `.`, 1 to 64.
fn label_safe(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// One receiver's settings, checked; `None` (and the problems noted) when they are wrong.
fn check_webhook(
    w: &RawWebhook,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<crate::webhook::WebhookConfig> {
    use crate::webhook::Kind;
    let before = problems.len();
    let url = match url::Url::parse(&w.url.value) {
        Ok(u) if u.scheme() == "http" && u.host_str().is_some() => Some(u),
        Ok(_) => {
            problems.push(Problem::new(
                w.url.pos,
                format!("{field}.url"),
                "an http:// URL (a local relay or Alertmanager; https is not sent from here yet)",
            ));
            None
        }
        Err(e) => {
            problems.push(Problem::new(
                w.url.pos,
                format!("{field}.url"),
                format!("`{}`: {e}", w.url.value),
            ));
            None
        }
    };
    let kind = match w.kind.as_ref().map(|k| (k, k.value.as_str())) {
        None | Some((_, "webhook")) => Kind::Webhook,
        Some((_, "alertmanager")) => Kind::Alertmanager,
        Some((k, other)) => {
            problems.push(Problem::new(
                k.pos,
                format!("{field}.kind"),
                format!(
                    "`{other}`: webhook (a payload to the URL) or alertmanager (its /api/v2/alerts)"
                ),
            ));
            Kind::Webhook
        }
    };
    let timeout = match &w.timeout {
        None => Duration::from_secs(5),
        Some(t) => parse_duration(&t.value).unwrap_or_else(|e| {
            problems.push(Problem::new(t.pos, format!("{field}.timeout"), e));
            Duration::from_secs(5)
        }),
    };
    let retries = match &w.retries {
        Some(r) if r.value > 10 => {
            problems.push(Problem::new(
                r.pos,
                format!("{field}.retries"),
                "at most 10",
            ));
            3
        }
        Some(r) => r.value,
        None => 3,
    };
    let queue = match &w.queue {
        Some(q) if !(1..=100_000).contains(&q.value) => {
            problems.push(Problem::new(
                q.pos,
                format!("{field}.queue"),
                "between 1 and 100000",
            ));
            1000
        }
        Some(q) => q.value,
        None => 1000,
    };
    let url = url?;
    let name = match &w.name {
        Some(n) if !label_safe(&n.value) => {
            problems.push(Problem::new(
                n.pos,
                format!("{field}.name"),
                "letters, digits, `-`, `_` and `.`, at most 64 (it is a label value)",
            ));
            n.value.clone()
        }
        Some(n) => n.value.clone(),
        None => url.authority().replace(':', "_"),
    };
    (problems.len() == before).then_some(crate::webhook::WebhookConfig {
        name,
        url,
        kind,
        timeout,
        retries,
        queue,
    })
}

impl Config {
    /// Reads and checks a configuration; every problem is reported with its position.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, LoadError> {
        let raw: RawConfig = parallax_model::parse_yaml(text, origin)?;
        let mut problems = Vec::new();
        let mut duration = |d: &Option<At<String>>, field: &str, default: Duration| match d {
            None => default,
            Some(d) => parse_duration(&d.value).unwrap_or_else(|e| {
                problems.push(Problem::new(d.pos, field, e));
                default
            }),
        };
        let interval = duration(&raw.interval, "interval", Duration::from_secs(30));
        let timeout = duration(&raw.timeout, "timeout", Duration::from_secs(10));
        let snapshot_interval = duration(
            &raw.snapshot_interval,
            "snapshot_interval",
            DEFAULT_SNAPSHOT_INTERVAL,
        );
        let mut target_intervals = Vec::new();
        for (i, t) in raw.targets.iter().enumerate() {
            target_intervals.push(duration(
                &t.interval,
                &format!("targets[{i}].interval"),
                interval,
            ));
        }
        let listen = match &raw.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 9595)),
            Some(l) => l.value.parse().unwrap_or_else(|_| {
                problems.push(Problem::new(
                    l.pos,
                    "listen",
                    format!("`{}` is not ADDR:PORT", l.value),
                ));
                SocketAddr::from(([127, 0, 0, 1], 9595))
            }),
        };
        let concurrency = match &raw.concurrency {
            Some(c) if !(1..=1024).contains(&c.value) => {
                problems.push(Problem::new(c.pos, "concurrency", "between 1 and 1024"));
                16
            }
            Some(c) => c.value,
            None => 16,
        };
        let jitter = match &raw.jitter {
            Some(j) if !(0.0..=1.0).contains(&j.value) => {
                problems.push(Problem::new(
                    j.pos,
                    "jitter",
                    "a fraction of the interval, 0 to 1",
                ));
                0.1
            }
            Some(j) => j.value,
            None => 0.1,
        };
        if timeout > interval {
            let pos = raw.timeout.as_ref().map_or(Pos::UNKNOWN, |t| t.pos);
            problems.push(Problem::new(
                pos,
                "timeout",
                "longer than the interval: rounds would overlap",
            ));
        }
        if raw.targets.is_empty() {
            problems.push(Problem::new(Pos::UNKNOWN, "targets", "at least one target"));
        }
        let mut names = HashSet::new();
        let mut targets = Vec::new();
        for (i, (t, every)) in raw.targets.iter().zip(target_intervals).enumerate() {
            if !label_safe(&t.name.value) {
                problems.push(Problem::new(
                    t.name.pos,
                    format!("targets[{i}].name"),
                    "letters, digits, `-`, `_` and `.`, at most 64 (it is a label value)",
                ));
            }
            if !names.insert(t.name.value.clone()) {
                problems.push(Problem::new(
                    t.name.pos,
                    format!("targets[{i}].name"),
                    format!("`{}` is defined twice", t.name.value),
                ));
            }
            let args: Vec<String> = t.args.iter().map(|a| a.value.clone()).collect();
            match probe_options(&args, &t.url.value) {
                Ok(mut options) => {
                    options.max_time = options.max_time.min(timeout);
                    if let Some(var) = &t.api_key_env {
                        match std::env::var(&var.value) {
                            Ok(key) if !key.is_empty() => options.api_key = Some(key),
                            _ => problems.push(Problem::new(
                                var.pos,
                                format!("targets[{i}].api_key_env"),
                                format!("the environment has no `{}`", var.value),
                            )),
                        }
                    }
                    targets.push(Target {
                        name: t.name.value.clone(),
                        url: t.url.value.clone(),
                        options,
                        expect: t.expect.as_ref().map(|e| e.value.clone()),
                        interval: every,
                    });
                }
                Err(e) => {
                    let pos = t.args.first().map_or(t.url.pos, |a| a.pos);
                    problems.push(Problem::new(pos, format!("targets[{i}].args"), e));
                }
            }
        }
        let mut modules = BTreeMap::new();
        let mut read_modules = |list: &BTreeMap<String, RawModule>, problems: &mut Vec<Problem>| {
            for (name, m) in list {
                let field = format!("modules.{name}");
                let Some(module) = crate::module::read(m, &field, problems) else {
                    continue;
                };
                // Checked with a placeholder URL: `/probe` gives the real one.
                if let Err(e) = probe_options(&module.args, "https://example.invalid/") {
                    let pos = m.values().next().map_or(Pos::UNKNOWN, |a| a.pos);
                    problems.push(Problem::new(pos, format!("{field}.args"), e));
                }
                modules.insert(name.clone(), module);
            }
        };
        read_modules(&raw.modules, &mut problems);
        if let Some(f) = &raw.modules_file {
            // Relative to the configuration file, as Prometheus reads rule_files.
            let path = std::path::Path::new(origin)
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(&f.value);
            match parallax_model::input::read_config(&path) {
                Ok(text) => {
                    match parallax_model::parse_yaml::<ModulesFile>(
                        &text,
                        &path.display().to_string(),
                    ) {
                        Ok(file) => {
                            if let Some(twice) =
                                file.modules.keys().find(|k| raw.modules.contains_key(*k))
                            {
                                problems.push(Problem::new(
                                    f.pos,
                                    "modules_file",
                                    format!("module `{twice}` is also in modules:"),
                                ));
                            }
                            let mut inner = Vec::new();
                            read_modules(&file.modules, &mut inner);
                            // The file's problems carry the file's name in their field.
                            for p in inner {
                                problems.push(Problem::new(
                                    f.pos,
                                    format!("modules_file {}:{}", path.display(), p.pos),
                                    format!("{}: {}", p.field, p.message),
                                ));
                            }
                        }
                        Err(e) => problems.push(Problem::new(f.pos, "modules_file", e.to_string())),
                    }
                }
                Err(e) => problems.push(Problem::new(
                    f.pos,
                    "modules_file",
                    format!("{}: {e}", path.display()),
                )),
            }
        }
        let probe_allow = raw.probe_allow.as_ref().map(|a| {
            let mut allow = ProbeAllow::default();
            for (i, c) in a.cidrs.iter().enumerate() {
                match c.value.parse::<ipnet::IpNet>() {
                    Ok(n) => allow.cidrs.push(n),
                    Err(_) => problems.push(Problem::new(
                        c.pos,
                        format!("probe_allow.cidrs[{i}]"),
                        format!("`{}` is not a CIDR such as 10.0.0.0/8", c.value),
                    )),
                }
            }
            for n in &a.names {
                allow
                    .names
                    .push(n.value.trim_end_matches('.').to_ascii_lowercase());
            }
            allow
        });
        let mut webhooks = Vec::new();
        let listed = raw
            .webhooks
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("webhooks[{i}]"), w));
        for (field, w) in raw
            .webhook
            .iter()
            .map(|w| ("webhook".to_owned(), w))
            .chain(listed)
        {
            if let Some(c) = check_webhook(w, &field, &mut problems) {
                if webhooks
                    .iter()
                    .any(|o: &crate::webhook::WebhookConfig| o.name == c.name)
                {
                    let pos = w.name.as_ref().map_or(w.url.pos, |n| n.pos);
                    problems.push(Problem::new(
                        pos,
                        format!("{field}.name"),
                        format!("`{}` names two receivers", c.name),
                    ));
                }
                webhooks.push(c);
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.pos);
            return Err(LoadError::Invalid {
                origin: origin.to_owned(),
                problems,
            });
        }
        Ok(Config {
            listen,
            interval,
            timeout,
            concurrency,
            jitter,
            targets,
            modules,
            probe_allow,
            webhooks,
            snapshot_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_writes_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let text = "interval: 10s\ntimeout: 20s\ntargets:\n  - name: \"a b\"\n    url: https://example.invalid/\n    args: [--no-such-flag]\n  - name: ok\n    url: https://example.invalid/\n    expect: { status: 200 }\n  - name: ok\n    url: https://example.invalid/\n";
        let e = Config::from_yaml(text, "watch.yaml")
            .expect_err("invalid")
            .to_string();
        for want in [
            "watch.yaml:2:10: timeout: longer than the interval",
            "watch.yaml:4:11: targets[0].name: letters, digits",
            "watch.yaml:6:12: targets[0].args: unexpected argument '--no-such-flag'",
            "watch.yaml:10:11: targets[2].name: `ok` is defined twice",
        ] {
            assert!(e.contains(want), "{want} not in\n{e}");
        }
    }

    /// blackbox_exporter's module options are read; every unknown one, and every one parallax
    /// does not carry out, is named at once with the module's path.
    #[test]
    fn every_unknown_module_option_is_named_at_once() {
        let text = "targets:\n  - { name: a, url: https://example.invalid/ }\nmodules:\n  ok:\n    prober: http\n    timeout: 5s\n    http: { valid_status_codes: [200, 301], method: POST, headers: { X-A: b }, fail_if_not_ssl: true, tls_config: { insecure_skip_verify: true }, preferred_ip_protocol: ip4, ip_protocol_fallback: false, follow_redirects: false, basic_auth: { username: u, password: p } }\n  bad:\n    prober: http\n    http: { valid_status_code: [200], fail_if_body_matches_regexp: ['('], tls_config: { server_name: x } }\n    typo: 1\n  dns_bad:\n    prober: dns\n    dns: { query_type: A }\n  icmp:\n    prober: icmp\n";
        let e = Config::from_yaml(text, "watch.yaml")
            .expect_err("invalid")
            .to_string();
        for want in [
            "modules.bad.http.valid_status_code: unknown option",
            "modules.bad.http.fail_if_body_matches_regexp: `(`",
            "modules.bad.http.tls_config.server_name: not carried out",
            "modules.bad.typo: unknown option",
            "modules.dns_bad.dns.query_name: missing",
            "modules.icmp.prober: this prober is not carried out",
        ] {
            assert!(e.contains(want), "{want} not in\n{e}");
        }
        assert!(!e.contains("modules.ok"), "{e}");
    }

    #[test]
    fn the_probe_allow_list_matches_addresses_and_names() {
        let text = "targets:\n  - { name: a, url: https://example.invalid/ }\nprobe_allow:\n  cidrs: [10.0.0.0/8, 'fd00::/8']\n  names: ['*.execute-api.us-east-1.amazonaws.com', API.example.com.]\n";
        let c = Config::from_yaml(text, "watch.yaml").unwrap_or_else(|e| panic!("{e}"));
        let a = c.probe_allow.expect("a list");
        assert!(a.allows("10.1.2.3") && a.allows("[fd00::1]"));
        assert!(!a.allows("169.254.169.254") && !a.allows("127.0.0.1"));
        assert!(a.allows("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"));
        assert!(a.allows("api.example.com") && a.allows("API.EXAMPLE.COM."));
        assert!(!a.allows("execute-api.us-east-1.amazonaws.com.evil.example"));
        assert!(!a.allows("metadata.google.internal"));
        let e = Config::from_yaml(
            "targets:\n  - { name: a, url: https://example.invalid/ }\nprobe_allow: { cidrs: [10.0.0.0/33] }\n",
            "watch.yaml",
        )
        .expect_err("bad CIDR")
        .to_string();
        assert!(e.contains("watch.yaml:3:24: probe_allow.cidrs[0]"), "{e}");
    }

    #[test]
    fn every_receiver_problem_is_named_at_once() {
        let text = "targets:\n  - { name: a, url: https://example.invalid/ }\nwebhooks:\n  - { url: ftp://x/, kind: pager, retries: 11 }\n  - { name: am, url: http://127.0.0.1:9093, kind: alertmanager }\n  - { name: am, url: http://127.0.0.1:9094 }\n";
        let e = Config::from_yaml(text, "watch.yaml")
            .expect_err("invalid")
            .to_string();
        for want in [
            "watch.yaml:4:12: webhooks[0].url: an http:// URL",
            "watch.yaml:4:28: webhooks[0].kind: `pager`",
            "watch.yaml:4:44: webhooks[0].retries: at most 10",
            "watch.yaml:6:13: webhooks[2].name: `am` names two receivers",
        ] {
            assert!(e.contains(want), "{want} not in\n{e}");
        }
    }

    /// A file as PyYAML writes shared flags: one anchor under an `x-` key, an alias per target
    /// (a thousand of them), and a merge key for shared expectations. Accepted; an unknown key
    /// that is not `x-` is still refused, at its line.
    #[test]
    fn anchors_aliases_merge_keys_and_x_keys_as_people_write_them() {
        let mut text = String::from(
            "x-common: &common [--max-time, \"5\", --compare-dns, public=1.1.1.1]\nx-expect: &healthy { dns: public, status: 200 }\ninterval: 30s\ntargets:\n",
        );
        for i in 0..1000 {
            text.push_str(&format!(
                "  - name: t{i}\n    url: https://example.invalid/{i}\n    args: *common\n    expect: {{ <<: *healthy, status: 200 }}\n"
            ));
        }
        let c = Config::from_yaml(&text, "watch.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.targets.len(), 1000);
        assert_eq!(c.targets[999].options.max_time, Duration::from_secs(5));
        assert!(c.targets[999].expect.is_some());

        let e = Config::from_yaml("intervall: 30s\ntargets: []\n", "watch.yaml")
            .expect_err("unknown key")
            .to_string();
        assert!(
            e.contains("watch.yaml:1:1") && e.contains("intervall"),
            "{e}"
        );
    }

    /// An alias bomb (each level doubling the one below) is stopped by the bound on what aliases
    /// expand to, with a position.
    #[test]
    fn an_alias_bomb_is_bounded() {
        let mut text = String::from("x-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            text.push_str(&format!("x-{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        text.push_str("targets: []\n");
        let e = Config::from_yaml(&text, "watch.yaml").expect_err("bounded");
        assert!(e.to_string().starts_with("watch.yaml:"), "{e}");
    }
}
