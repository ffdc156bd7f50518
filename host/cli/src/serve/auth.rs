//! Who is asking: every request to `host serve` carries a token, as
//! `Authorization: Bearer TOKEN` (the API, the `host` commands) or in the session
//! cookie the sign-in page sets (the browser). Tokens are compared as BLAKE3 hashes
//! (constant time). Forms carry a CSRF token derived from the session's token with
//! the server's key, so another site cannot make a signed-in browser decide.

use std::path::Path;

use axum::http::HeaderMap;

use crate::exit::Failure;

/// The session cookie's name.
pub const COOKIE: &str = "baton_session";
/// The header a local `host` command names its operator in.
pub use crate::access::OPERATOR_HEADER;
/// The header a script using the cookie puts the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a request was let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// An operator's token from the host configuration, or the generated one.
    Operator,
    /// The token `host serve` wrote for the `host` commands of the same user, who
    /// name themselves (as they would with `--as` on the store directly).
    Local,
}

/// Who made a request, and how they got in.
#[derive(Clone, Debug)]
pub struct Identity {
    pub operator: String,
    pub via: Via,
    /// From the cookie (a browser): state changes need the CSRF token too.
    pub cookie: Option<String>,
}

/// The tokens the server accepts, hashed.
#[derive(Debug)]
pub struct Auth {
    operators: Vec<(String, blake3::Hash)>,
    local: blake3::Hash,
    /// The key CSRF tokens are derived with; new at every start.
    csrf_key: [u8; 32],
}

impl Auth {
    /// `csrf_key`: the key every server sharing the store signs forms with (so a
    /// form one server served may be sent to another); `None` for a key of this
    /// server's own, new at every start.
    pub fn new(
        operators: &[(String, String)],
        local_token: &str,
        csrf_key: Option<[u8; 32]>,
    ) -> Result<Auth, Failure> {
        Ok(Auth {
            operators: operators
                .iter()
                .map(|(name, token)| (name.clone(), blake3::hash(token.as_bytes())))
                .collect(),
            local: blake3::hash(local_token.as_bytes()),
            csrf_key: match csrf_key {
                Some(key) => key,
                None => random_bytes()?,
            },
        })
    }

    /// The operator `token` belongs to, if any.
    fn operator(&self, token: &str) -> Option<&str> {
        let hash = blake3::hash(token.as_bytes());
        // blake3::Hash compares in constant time.
        self.operators
            .iter()
            .find(|(_, known)| *known == hash)
            .map(|(name, _)| name.as_str())
    }

    /// Who sent these headers, or `None` when no token they carry is known.
    pub fn identify(&self, headers: &HeaderMap) -> Option<Identity> {
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let cookie = cookie(headers, COOKIE);
        let token = bearer.or(cookie.as_deref())?;
        if let Some(name) = self.operator(token) {
            return Some(Identity {
                operator: name.to_string(),
                via: Via::Operator,
                cookie: bearer.is_none().then(|| token.to_string()),
            });
        }
        if bearer.is_some() && blake3::hash(token.as_bytes()) == self.local {
            let operator = headers
                .get(OPERATOR_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|name| !name.is_empty())?;
            return Some(Identity {
                operator: operator.to_string(),
                via: Via::Local,
                cookie: None,
            });
        }
        None
    }

    /// Whether `token` is an operator's (for the sign-in form).
    pub fn knows(&self, token: &str) -> bool {
        self.operator(token.trim()).is_some()
    }

    /// The CSRF token of a browser session.
    pub fn csrf(&self, session: &str) -> String {
        blake3::keyed_hash(&self.csrf_key, session.as_bytes())
            .to_hex()
            .to_string()
    }

    /// Whether a state change by `who` may go ahead: bearer requests always (a
    /// browser never adds that header by itself), cookie requests with the CSRF token.
    pub fn allows_change(&self, who: &Identity, offered: Option<&str>) -> bool {
        match &who.cookie {
            None => true,
            Some(session) => offered.is_some_and(|offered| {
                blake3::Hash::from_hex(offered).is_ok_and(|offered| {
                    offered == blake3::keyed_hash(&self.csrf_key, session.as_bytes())
                })
            }),
        }
    }
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// A new random token: 32 bytes from the OS, as hex.
pub fn new_token() -> Result<String, Failure> {
    Ok(blake3::Hash::from_bytes(random_bytes()?)
        .to_hex()
        .to_string())
}

fn random_bytes() -> Result<[u8; 32], Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::Host(format!("the OS gave no random bytes: {e}")))?;
    Ok(bytes)
}

/// Writes `text` to `path` readable by the owner alone (tokens live there).
pub fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let fail = |e: std::io::Error| Failure::Host(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}
