//! `host invoke`: one call of a plugin, input from a flag, a file or stdin.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use baton_core::LlmGrant;
use baton_runtime::{Call, DirGrant, Grants, HttpGrant, HttpRule, Invocation, Limits, LogLevel};
use serde_json::json;

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::json_input;
use crate::terminal::{escape_control, say, tell};
use baton_workflow::units::{parse_duration, parse_size};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The input is JSON from --input, --input-file, or stdin when neither is given.\n\n\
Examples:\n  host invoke target/wasm32-wasip2/release/lead_scorer.wasm --input-file examples/leads.json\n  \
echo '{\"leads\": []}' | host invoke lead_scorer.wasm --config hot-threshold=80 --timeout 2s\n  \
host invoke counter.wasm --input '{}' --grant-kv --kv-dir /tmp/counter-kv"
)]
pub struct Args {
    /// The plugin component (.wasm)
    #[arg(value_name = "PLUGIN.wasm")]
    plugin: PathBuf,
    /// The input as JSON text
    #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the input from a file (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// A config value the plugin can read (repeatable)
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_config)]
    config: Vec<(String, String)>,
    /// Wall-clock limit for the call
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Memory limit for the plugin (all its linear memories together)
    #[arg(long, value_name = "SIZE", default_value = "128MiB", value_parser = parse_size)]
    memory: u64,
    /// Largest output accepted from the plugin
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    max_output: u64,
    /// Let the plugin see a host directory: HOST:GUEST, read-only, or HOST:GUEST:rw (repeatable)
    #[arg(long, value_name = "HOST:GUEST[:rw]", value_parser = parse_dir_grant)]
    grant_dir: Vec<DirGrant>,
    /// Pass a host environment variable through to the plugin (repeatable)
    #[arg(long, value_name = "NAME")]
    grant_env: Vec<String>,
    /// Allow outbound HTTP under a URL, e.g. https://api.example.com/v1/ (repeatable);
    /// loopback and private addresses only when the URL names the address itself
    #[arg(long, value_name = "URL", value_parser = parse_http_grant)]
    grant_http: Vec<HttpRule>,
    /// Allow completions through a provider of the host configuration (the default
    /// one when no name is given), with the default budgets; nothing is recorded
    #[arg(long, value_name = "PROVIDER", num_args = 0..=1, default_missing_value = "")]
    grant_llm: Option<String>,
    /// Let the plugin use kv, in a scratch store that is discarded after the call
    /// (keep it between calls with --kv-dir); what it holds is shown after the call
    #[arg(long)]
    grant_kv: bool,
    /// Keep the kv data in this directory (created if missing), so the next call sees
    /// what this one wrote
    #[arg(long, value_name = "DIR", requires = "grant_kv")]
    kv_dir: Option<PathBuf>,
    /// The kv grant's byte quota
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size, requires = "grant_kv")]
    kv_quota: u64,
    /// Bound the call by fuel (about one unit per WebAssembly instruction)
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Print one JSON object with the output, logs and timing; errors as JSON on stderr
    #[arg(long)]
    pub json: bool,
}

fn parse_dir_grant(text: &str) -> Result<DirGrant, String> {
    let mut parts = text.splitn(3, ':');
    let (host, guest, mode) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let write = match mode {
        None => false,
        Some("rw") => true,
        Some(other) => {
            return Err(format!(
                "{other:?} is not a mode; use HOST:GUEST for read-only or HOST:GUEST:rw"
            ));
        }
    };
    match guest {
        Some(guest) if guest.starts_with('/') && !host.is_empty() => Ok(DirGrant {
            host: host.into(),
            guest: guest.to_string(),
            write,
        }),
        _ => Err(format!(
            "{text:?} is not HOST:GUEST[:rw], e.g. --grant-dir examples:/data"
        )),
    }
}

fn parse_http_grant(text: &str) -> Result<HttpRule, String> {
    HttpRule::parse(text, None, false)
}

/// A wasm32 memory holds at most 4 GiB.
const MAX_MEMORY: u64 = 4 << 30;

fn parse_config(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "{text:?} is not KEY=VALUE, e.g. --config hot-threshold=80"
        )),
    }
}

pub async fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Failure> {
    if args.memory > MAX_MEMORY {
        return Err(Failure::Usage(format!(
            "--memory {} is more than a 32-bit WebAssembly plugin can use; the most is 4 GiB",
            baton_core::units::bytes(args.memory)
        )));
    }
    let input = read_input(&args)?;
    let runtime = crate::access::loader(global).runtime(args.fuel.is_some())?;
    let llm = match &args.grant_llm {
        None => None,
        Some(provider) => {
            let config = baton_service::config::HostConfig::load(global.host_config.as_deref())?;
            let grant = LlmGrant {
                provider: Some(provider.clone()).filter(|p| !p.is_empty()),
                ..LlmGrant::default()
            };
            Some({
                let mut notes = Vec::new();
                let access = baton_service::config::llm_access(
                    &config.llm,
                    &config.path,
                    "plugin",
                    &grant,
                    &mut notes,
                )
                .map_err(|problem| Failure::Usage(format!("--grant-llm: {problem}")))?;
                notes.iter().for_each(|note| tell!("{note}"));
                access
            })
        }
    };
    let mut call = Call {
        limits: Limits {
            timeout: args.timeout,
            memory: args.memory,
            max_output: usize::try_from(args.max_output).unwrap_or(usize::MAX),
            fuel: args.fuel,
            ..Limits::default()
        },
        config: Arc::new(args.config.iter().cloned().collect::<BTreeMap<_, _>>()),
        grants: Arc::new(Grants {
            dirs: args.grant_dir.clone(),
            env: args
                .grant_env
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
                .collect(),
        }),
        secrets: Arc::default(),
        kv: None,
        http: (!args.grant_http.is_empty()).then(|| {
            Arc::new(HttpGrant {
                rules: args.grant_http.clone(),
                ..HttpGrant::default()
            })
        }),
        llm: llm.map(Arc::new),
        step: Default::default(),
    };
    let plugin = runtime.load_with(&args.plugin, &call.limits).await?;
    tracing::debug!(
        "loaded {} {} ({:?}) in {:.2?}",
        plugin.info().name,
        plugin.info().version,
        plugin.source().cache,
        plugin.source().prepare_time
    );
    let kv = if args.grant_kv {
        Some(KvScratch::open(&args, &plugin.info().name)?)
    } else {
        None
    };
    call.kv = kv.as_ref().map(|kv| kv.access.clone());
    let result = plugin.invoke(&input, &call).await;
    let kv_after = match &kv {
        Some(kv) => Some(kv.after()?),
        None => None,
    };
    // What kv holds is told after the plugin's own lines, before the error if any.
    let tell_kv = || {
        if let (Some(kv), Some(after), false) = (&kv, &kv_after, args.json) {
            kv.tell(after);
        }
    };
    let invocation = match result {
        Ok(invocation) => invocation,
        Err(error) => {
            tell_kv();
            return Err(Failure::Plugin(error));
        }
    };
    print_logs(&plugin.info().name, &invocation, args.json, global.verbose);
    tell_kv();
    if args.json {
        let out = json!({
            "plugin": plugin.info().name,
            "version": plugin.info().version,
            "output": invocation.output,
            "logs": invocation.logs,
            "logs_dropped": invocation.logs_dropped,
            "elapsed_ms": invocation.elapsed.as_secs_f64() * 1000.0,
            "kv": kv_after.map(|after| after.into_iter().map(|(key, value)| (key, kv_json(&value))).collect::<serde_json::Map<_, _>>()),
        });
        say!("{}", crate::terminal::json(&out, false));
    } else {
        say!("{}", crate::terminal::json(&invocation.output, true));
    }
    Ok(Exit::Success)
}

/// The store behind `--grant-kv`: a scratch directory removed after the call, or
/// `--kv-dir`. The scope is the plugin's own name (from `describe`), which has no
/// `/`, so it can never be a workflow's (`<workflow>/<plugin>`) even when `--kv-dir`
/// names a store that runs use.
struct KvScratch {
    access: baton_runtime::KvAccess,
    store: baton_store::SledStore,
    /// Where the data is, and whether it is kept.
    place: String,
    _scratch: Option<tempfile::TempDir>,
}

impl KvScratch {
    fn open(args: &Args, plugin: &str) -> Result<KvScratch, Failure> {
        let (dir, scratch, place) = match &args.kv_dir {
            Some(dir) => (dir.clone(), None, format!("kept in {}", dir.display())),
            None => {
                let scratch = tempfile::tempdir()
                    .map_err(|e| Failure::Host(format!("cannot make a scratch kv store: {e}")))?;
                (
                    scratch.path().to_path_buf(),
                    Some(scratch),
                    "a scratch store, discarded now (--kv-dir DIR keeps it)".to_string(),
                )
            }
        };
        let store = baton_store::SledStore::open_waiting(&dir, std::time::Duration::from_secs(2))
            .map_err(|e| Failure::Usage(format!("--kv-dir {}: {e}", dir.display())))?;
        Ok(KvScratch {
            access: baton_runtime::KvAccess {
                store: Arc::new(store.clone()),
                scope: plugin.to_string(),
                quota: baton_core::KvQuota {
                    max_keys: baton_core::KvQuota::DEFAULT_KEYS,
                    max_bytes: args.kv_quota,
                },
            },
            store,
            place,
            _scratch: scratch,
        })
    }

    /// What the plugin's scope holds after the call, made durable first.
    fn after(&self) -> Result<Vec<(String, Vec<u8>)>, Failure> {
        use baton_core::{KvStore, RunStore};
        let failed = |e: String| Failure::Host(format!("kv store: {e}"));
        self.store.sync().map_err(|e| failed(e.to_string()))?;
        let keys = self
            .store
            .kv_list(&self.access.scope, "", 1_000)
            .map_err(|e| failed(e.to_string()))?;
        keys.into_iter()
            .map(|key| {
                let value = self
                    .store
                    .kv_get(&self.access.scope, &key)
                    .map_err(|e| failed(e.to_string()))?
                    .unwrap_or_default();
                Ok((key, value))
            })
            .collect()
    }

    fn tell(&self, after: &[(String, Vec<u8>)]) {
        let keys = match after.len() {
            1 => "1 key".to_string(),
            n => format!("{n} keys"),
        };
        tell!("kv after the call: {keys}, {}", self.place);
        for (key, value) in after {
            let text = String::from_utf8_lossy(value);
            let shown: String = text.chars().take(200).collect();
            let more = if shown.len() < text.len() { " ..." } else { "" };
            tell!(
                "  {} = {}{more} ({})",
                escape_control(key),
                escape_control(&shown),
                baton_core::units::bytes(value.len() as u64)
            );
        }
    }
}

/// A kv value in `--json`: the text when it is UTF-8, else its bytes.
fn kv_json(value: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(value) {
        Ok(text) => json!(text),
        Err(_) => json!({ "bytes": value }),
    }
}

/// The input from `--input`, `--input-file` (`-` for stdin), or stdin.
fn read_input(args: &Args) -> Result<String, Failure> {
    match (&args.input, &args.input_file) {
        (Some(text), _) => json_input::read_text(json_input::Source::Flag("--input", text)),
        (None, Some(path)) => json_input::read_text(json_input::Source::File(path)),
        (None, None) => json_input::read_text(json_input::Source::Stdin),
    }
}

/// Plugin log lines go to stderr, escaped; with `--json` they are in the object instead.
/// Debug lines only with `-v`.
fn print_logs(plugin: &str, invocation: &Invocation, json: bool, verbose: bool) {
    if json {
        return;
    }
    let shown = |line: &&baton_runtime::LogLine| verbose || line.level > LogLevel::Debug;
    for line in invocation.logs.iter().filter(shown) {
        tell!(
            "[{plugin}] {}: {}",
            line.level,
            escape_control(&line.message)
        );
    }
    if invocation.logs_dropped > 0 {
        tell!(
            "[{plugin}] {} log lines dropped: the per-call cap is {} lines and {}",
            invocation.logs_dropped,
            baton_runtime::MAX_LOG_LINES,
            baton_core::units::bytes(baton_runtime::MAX_LOG_BYTES as u64)
        );
    }
}
