//! A plugin that misbehaves on purpose. The `mode` config value picks how; every
//! mode is one function below, so adding a hostile case is adding one function and
//! one match arm. Without a `mode` it behaves, echoing its input, which proves the
//! host still works right after a hostile call.
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "baton:plugin/plugin",
});

use baton::plugin::{config, kv, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use std::hint::black_box;

struct Hostile;

impl Guest for Hostile {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "hostile".into(),
            version: "0.1.0".into(),
            summary: "Misbehaves as its `mode` config says; echoes its input otherwise".into(),
            input_schema: "{}".into(),
            output_schema: "{}".into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        match config::get("mode").as_deref() {
            None | Some("echo") => Ok(input),
            Some("loop") => spin_forever(),
            Some("sleep") => {
                // Blocks inside a host call (wasi:io/poll), where the epoch cannot
                // interrupt: only the host's wall-clock timer can stop it.
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(input)
            }
            Some("alloc") => allocate_forever(),
            Some("recurse") => Ok(recurse(black_box(1)).to_string()),
            Some("panic") => panic!("the hostile plugin panicked on purpose"),
            Some("not-json") => Ok("this is not JSON".into()),
            Some("huge-output") => Ok(format!("\"{}\"", "x".repeat(16 << 20))),
            Some("log-flood") => {
                let line = "y".repeat(4096);
                for _ in 0..10_000 {
                    log::write(log::Level::Info, &line);
                }
                Ok(input)
            }
            Some("fail") => Err(ToolError::Failed("upstream unavailable".into())),
            Some("probe") => Ok(probe_ambient_authority()),
            Some("fs") => Ok(filesystem_operation()),
            Some("kv") => Ok(kv_operation()),
            Some("leak") => {
                let token = config::get("token").unwrap_or_default();
                log::write(log::Level::Info, &format!("my token is {token}"));
                if config::get("fail").is_some() {
                    return Err(ToolError::Failed(format!("upstream refused token {token}")));
                }
                Ok(format!("{{\"token\": {token:?}}}"))
            }
            Some("slow") => {
                let millis: u64 = config::get("millis")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(1000);
                let started = std::time::Instant::now();
                while started.elapsed().as_millis() < u128::from(millis) {
                    black_box(());
                }
                Ok(input)
            }
            Some("http") => http_request(),
            Some("handles") => hoard_handles(),
            // More random bytes in one call than the host gives (64 MiB).
            Some("random") => {
                let size = config::get("size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(65 << 20);
                let bytes = wasip2::random::random::get_random_bytes(size);
                Ok(format!("{{\"random\": {}}}", bytes.len()))
            }
            // Request headers past the host's cap (64 KiB), 8 KiB at a time.
            Some("header-bomb") => {
                let fields = wasip2::http::types::Fields::new();
                for _ in 0..16 {
                    let _ = fields.append("x-pad", &vec![b'a'; 8 << 10]);
                }
                Ok("{\"headers\": \"accepted\"}".into())
            }
            Some("escape-codes") => Err(ToolError::Failed("\x1b[2J\x1b[31mforged\r".into())),
            Some(other) => Err(ToolError::InvalidInput(format!("unknown mode `{other}`"))),
        }
    }
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn allocate_forever() -> Result<String, ToolError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![1u8; 1 << 20]));
    }
}

/// Small frames kept in wasm locals, so the recursion exhausts the host-enforced
/// WebAssembly stack rather than the guest's own shadow stack in linear memory.
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == 0 {
        return 0;
    }
    black_box(recurse(depth + 1)).wrapping_add(depth)
}

/// One filesystem operation from config (`op`: read, write, truncate, rename, list;
/// `path`, and `to` for rename), reported as JSON `{"ok": ...}` or `{"error": ...}`.
fn filesystem_operation() -> String {
    let path = config::get("path").unwrap_or_default();
    let result: std::io::Result<String> = match config::get("op").as_deref() {
        Some("read") => std::fs::read_to_string(&path),
        Some("write") => std::fs::write(&path, b"written by a plugin").map(|_| "written".into()),
        Some("truncate") => std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map(|_| "truncated".into()),
        Some("rename") => {
            std::fs::rename(&path, config::get("to").unwrap_or_default()).map(|_| "renamed".into())
        }
        Some("list") => std::fs::read_dir(&path).map(|d| {
            let mut names: Vec<String> = d
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names.join(",")
        }),
        other => Ok(format!("unknown op {other:?}")),
    };
    match result {
        Ok(text) => format!("{{\"ok\": {text:?}}}"),
        Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
    }
}

/// One key-value operation from config (`op`: set, get, keys, fill; `key`, `value`,
/// and for fill `count` keys of `size` bytes), reported as `{"ok": ...}` or
/// `{"error": "kind: message"}`.
fn kv_operation() -> String {
    let key = config::get("key").unwrap_or_else(|| "k".into());
    let describe = |e: kv::KvError| match e {
        kv::KvError::Denied(m) => format!("denied: {m}"),
        kv::KvError::Quota(m) => format!("quota: {m}"),
        kv::KvError::Invalid(m) => format!("invalid: {m}"),
        kv::KvError::Unavailable(m) => format!("unavailable: {m}"),
    };
    let result: Result<String, kv::KvError> = match config::get("op").as_deref() {
        Some("set") => {
            kv::set(&key, config::get("value").unwrap_or_default().as_bytes()).map(|_| "set".into())
        }
        Some("get") => kv::get(&key).map(|v| match v {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => "none".into(),
        }),
        Some("keys") => kv::keys("").map(|keys| keys.join(",")),
        Some("fill") => {
            let count: u32 = config::get("count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(100);
            let size: usize = config::get("size")
                .and_then(|c| c.parse().ok())
                .unwrap_or(10);
            (0..count)
                .try_for_each(|i| kv::set(&format!("fill-{i:06}"), &vec![b'x'; size]))
                .map(|_| format!("filled {count}"))
        }
        other => Ok(format!("unknown op {other:?}")),
    };
    match result {
        Ok(text) => format!("{{\"ok\": {text:?}}}"),
        Err(e) => format!("{{\"error\": {:?}}}", describe(e)),
    }
}

/// One outbound request through wasi:http (config `url`, `method`), reported as
/// `{"status": 200, "bytes": 1234}`; a refusal or a failed read is a `failed` error
/// carrying the wasi:http error code.
fn http_request() -> Result<String, ToolError> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
    use wasip2::io::streams::StreamError;

    let url = config::get("url").unwrap_or_default();
    let method = config::get("method").unwrap_or_else(|| "GET".into());
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| ToolError::InvalidInput(format!("{url:?} is not a URL")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let method = match method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_string()),
    };
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let built = request
        .set_method(&method)
        .and(request.set_scheme(Some(&scheme)))
        .and(request.set_authority(Some(authority)))
        .and(request.set_path_with_query(Some(path)));
    built.map_err(|()| ToolError::InvalidInput(format!("cannot build a request for {url}")))?;
    let failed = |what: &str, detail: String| ToolError::Failed(format!("{what}: {detail}"));
    let pending = outgoing_handler::handle(request, None)
        .map_err(|code| failed("http request refused", format!("{code:?}")))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(failed("http request failed", format!("{code:?}"))),
        other => return Err(failed("http request failed", format!("{other:?}"))),
    };
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| failed("http body", "unavailable".into()))?;
    let stream = body
        .stream()
        .map_err(|()| failed("http body", "no stream".into()))?;
    let mut bytes: u64 = 0;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes += chunk.len() as u64,
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let code = wasip2::http::types::http_error_code(&e);
                return Err(failed(
                    "reading the http response",
                    format!("{code:?} after {bytes} bytes"),
                ));
            }
        }
    }
    Ok(format!("{{\"status\": {status}, \"bytes\": {bytes}}}"))
}

/// Creates timers and never drops them: every one is a resource handle in the host.
fn hoard_handles() -> Result<String, ToolError> {
    for _ in 0..10_000_000u32 {
        std::mem::forget(wasip2::clocks::monotonic_clock::subscribe_duration(
            1_000_000_000,
        ));
    }
    Ok("{}".into())
}

/// Tries every ambient authority a program usually has and reports what it got, as
/// JSON: a sandbox with nothing granted answers errors and empty lists throughout.
fn probe_ambient_authority() -> String {
    let outcome = |result: std::io::Result<String>| match result {
        Ok(text) => format!("ok: {} bytes", text.len()),
        Err(e) => format!("error: {e}"),
    };
    let passwd = outcome(std::fs::read_to_string("/etc/passwd"));
    let cwd_listing = outcome(std::fs::read_dir(".").map(|d| format!("{}", d.count())));
    let tcp = outcome(std::net::TcpStream::connect("127.0.0.1:80").map(|_| String::new()));
    let udp = outcome(std::net::UdpSocket::bind("0.0.0.0:0").map(|_| String::new()));
    let dns = outcome(
        std::net::ToSocketAddrs::to_socket_addrs(&("example.com", 80))
            .map(|a| format!("{}", a.count())),
    );
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args: Vec<String> = std::env::args().collect();
    format!(
        "{{\"passwd\": {passwd:?}, \"cwd\": {cwd_listing:?}, \"tcp\": {tcp:?}, \"udp\": {udp:?}, \"dns\": {dns:?}, \"env\": {env:?}, \"args\": {args:?}}}"
    )
}

export!(Hostile);
