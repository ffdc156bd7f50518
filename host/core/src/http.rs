//! Which outbound requests a plugin may make: its allowlist, matched against the
//! canonical form of each URL, and the addresses a request may reach.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

/// A plugin's `http` grant: the rules its requests must match, and the bounds every
/// request is held to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpGrant {
    pub rules: Vec<HttpRule>,
    /// Upper bound on each of the connect, first-byte and between-bytes timeouts; a
    /// guest may ask for less, never more. Default: 30 s.
    pub timeout: Duration,
    /// Bytes of one response body. Default: 4 MiB.
    pub max_response: u64,
    /// Bytes of one request body. Default: 1 MiB.
    pub max_request: u64,
    /// Requests in one call. Default: 32.
    pub max_requests: usize,
}

impl Default for HttpGrant {
    fn default() -> Self {
        HttpGrant {
            rules: vec![],
            timeout: Duration::from_secs(30),
            max_response: 4 * 1024 * 1024,
            max_request: 1024 * 1024,
            max_requests: 32,
        }
    }
}

/// One allowlist entry, parsed from a URL such as `https://api.example.com/v1/`: the
/// scheme, host and port must be equal, the path must lie under the entry's path
/// (whole segments: `/v1` allows `/v1/x`, not `/v10`), and the method must be one of
/// `methods` when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRule {
    pub scheme: String,
    pub host: HostPattern,
    pub port: u16,
    pub path: String,
    /// Upper-case methods; `None` allows any.
    pub methods: Option<Vec<String>>,
    /// Whether the host may resolve to a loopback, private or link-local address.
    pub private: bool,
}

/// The host part of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// One host name, canonical (lower case, punycode).
    Name(String),
    /// `*.example.com`: any name below `example.com`, not `example.com` itself.
    Subdomains(String),
    /// An address, written literally in the rule, so the operator named it: allowed
    /// even when it is loopback or private.
    Ip(IpAddr),
}

impl HttpRule {
    /// Parses an allowlist URL. Wildcards are allowed only as a leading `*.` label.
    pub fn parse(text: &str, methods: Option<Vec<String>>, private: bool) -> Result<Self, String> {
        let (wildcard, rest) = match text.split_once("://*.") {
            Some((scheme, rest)) => (true, format!("{scheme}://{rest}")),
            None => (false, text.to_string()),
        };
        let url = Url::parse(&rest).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{text:?}: only http and https URLs can be granted, e.g. \"https://api.example.com/v1/\""
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Not echoed: the text holds a credential.
            return Err(
                "a URL with credentials in it: credentials do not belong in a grant; give them to the plugin as a secret config value".into(),
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?}: a grant names a scheme, host, port and path prefix, without ? or #"
            ));
        }
        let host = match url.host() {
            Some(Host::Domain(name)) if wildcard => HostPattern::Subdomains(name.to_string()),
            Some(Host::Domain(name)) => HostPattern::Name(name.to_string()),
            Some(_) if wildcard => {
                return Err(format!("{text:?}: `*.` only goes before a host name"));
            }
            Some(Host::Ipv4(ip)) => HostPattern::Ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => HostPattern::Ip(IpAddr::V6(ip)),
            None => return Err(format!("{text:?} has no host")),
        };
        if let HostPattern::Name(name) | HostPattern::Subdomains(name) = &host
            && name.contains('*')
        {
            return Err(format!(
                "{text:?}: a wildcard is only allowed as the first label, e.g. \"https://*.example.com\""
            ));
        }
        let methods = methods.map(|list| list.iter().map(|m| m.to_ascii_uppercase()).collect());
        Ok(HttpRule {
            scheme: url.scheme().to_string(),
            host,
            port: url.port_or_known_default().unwrap_or(443),
            path: url.path().to_string(),
            methods,
            private,
        })
    }

    fn matches_host(&self, host: &Host<&str>) -> bool {
        match (&self.host, host) {
            (HostPattern::Name(want), Host::Domain(got)) => want == got,
            (HostPattern::Subdomains(parent), Host::Domain(got)) => got
                .strip_suffix(parent.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (HostPattern::Ip(want), Host::Ipv4(got)) => *want == IpAddr::V4(*got),
            (HostPattern::Ip(want), Host::Ipv6(got)) => *want == IpAddr::V6(*got),
            _ => false,
        }
    }

    fn matches_path(&self, path: &str) -> bool {
        let prefix = self.path.trim_end_matches('/');
        match path.strip_prefix(prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    fn allows_method(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == method))
    }
}

impl fmt::Display for HttpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Name(name) => name.clone(),
            HostPattern::Subdomains(name) => format!("*.{name}"),
            HostPattern::Ip(IpAddr::V4(ip)) => ip.to_string(),
            HostPattern::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        };
        write!(f, "{}://{host}:{}{}", self.scheme, self.port, self.path)?;
        if let Some(methods) = &self.methods {
            write!(f, " ({})", methods.join(", "))?;
        }
        if self.private {
            write!(f, " (private addresses allowed)")?;
        }
        Ok(())
    }
}

/// Parses and canonicalises a request's URL: lower-case host, punycode, the many
/// spellings of an IPv4 address (`0x7f.1`, `2130706433`) as one address, and the path
/// with `.` and `..` segments (also percent-encoded ones) resolved, so that what is
/// matched is what is sent.
pub fn canonical(url: &str) -> Result<Url, String> {
    let url = Url::parse(url).map_err(|e| format!("the URL {url:?} is not valid ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("URLs with credentials in them are refused".into());
    }
    if url.host().is_none() {
        return Err(format!("the URL {url} has no host"));
    }
    Ok(url)
}

impl HttpGrant {
    /// The rule that allows `method` on `url`, or why none does.
    pub fn allow(&self, method: &str, url: &Url) -> Result<&HttpRule, String> {
        let Some(host) = url.host() else {
            return Err(format!("{url} has no host"));
        };
        let port = url.port_or_known_default();
        let mut near: Option<&HttpRule> = None;
        for rule in &self.rules {
            if rule.scheme != url.scheme() || Some(rule.port) != port || !rule.matches_host(&host) {
                continue;
            }
            if rule.matches_path(url.path()) {
                if rule.allows_method(method) {
                    return Ok(rule);
                }
                near = Some(rule);
            }
        }
        match near {
            Some(rule) => Err(format!(
                "{method} {url} is not allowed: the grant {rule} does not allow {method}"
            )),
            None if self.rules.is_empty() => Err(format!(
                "{method} {url} is not allowed: the plugin has no http grant"
            )),
            None => Err(format!(
                "{method} {url} is not in the allowlist ({})",
                self.rules
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
}

/// Why an address may not be reached without a grant that names it: loopback,
/// private, link-local and other non-public ranges, including IPv4 addresses
/// wrapped in IPv6.
pub fn restricted(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || a == 0 {
                Some("unspecified")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (carrier-grade NAT)")
            } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
                Some("multicast or reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return restricted(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if first == 0x64 && v6.segments()[1] == 0xff9b {
                // NAT64 embeds an IPv4 address in the last 32 bits.
                let [.., c, d] = v6.segments();
                let v4 = std::net::Ipv4Addr::new((c >> 8) as u8, c as u8, (d >> 8) as u8, d as u8);
                restricted(IpAddr::V4(v4))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(rules: &[(&str, Option<&[&str]>)]) -> HttpGrant {
        HttpGrant {
            rules: rules
                .iter()
                .map(|(url, methods)| {
                    let methods = methods.map(|m| m.iter().map(|s| s.to_string()).collect());
                    HttpRule::parse(url, methods, false).unwrap()
                })
                .collect(),
            ..HttpGrant::default()
        }
    }

    fn allowed(grant: &HttpGrant, method: &str, url: &str) -> bool {
        canonical(url).is_ok_and(|url| grant.allow(method, &url).is_ok())
    }

    #[test]
    fn paths_match_whole_segments_after_dot_segments_are_resolved() {
        let g = grant(&[("https://api.example.com/v1/", None)]);
        assert!(allowed(&g, "GET", "https://api.example.com/v1"));
        assert!(allowed(&g, "GET", "https://api.example.com/v1/ads?x=1"));
        assert!(!allowed(&g, "GET", "https://api.example.com/v10"));
        assert!(!allowed(&g, "GET", "https://api.example.com/v1/../admin"));
        assert!(!allowed(
            &g,
            "GET",
            "https://api.example.com/v1/%2e%2e/admin"
        ));
        assert!(!allowed(&g, "GET", "http://api.example.com/v1/"));
        assert!(!allowed(&g, "GET", "https://api.example.com:8443/v1/"));
    }

    #[test]
    fn hosts_are_compared_canonically() {
        let g = grant(&[("https://API.Example.com", None)]);
        assert!(allowed(&g, "GET", "https://api.EXAMPLE.com/"));
        assert!(!allowed(&g, "GET", "https://api.example.com.evil.net/"));
        assert!(!allowed(
            &g,
            "GET",
            "https://evil.net/?https://api.example.com/"
        ));
        assert!(!allowed(&g, "GET", "https://api.example.com@evil.net/"));
        let ip = grant(&[("http://127.0.0.1:8080", None)]);
        // Other spellings of the same address are the same address.
        assert!(allowed(&ip, "GET", "http://0x7f.0.0.1:8080/"));
        assert!(allowed(&ip, "GET", "http://2130706433:8080/"));
        assert!(!allowed(&ip, "GET", "http://127.0.0.2:8080/"));
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let g = grant(&[("https://*.example.com", None)]);
        assert!(allowed(&g, "GET", "https://a.example.com/"));
        assert!(allowed(&g, "GET", "https://a.b.example.com/"));
        assert!(!allowed(&g, "GET", "https://example.com/"));
        assert!(!allowed(&g, "GET", "https://badexample.com/"));
        assert!(HttpRule::parse("https://a.*.com", None, false).is_err());
    }

    #[test]
    fn methods_restrict_a_rule_and_the_refusal_says_so() {
        let g = grant(&[("https://api.example.com/", Some(&["get", "HEAD"]))]);
        assert!(allowed(&g, "GET", "https://api.example.com/ads"));
        let refusal = g
            .allow("POST", &canonical("https://api.example.com/ads").unwrap())
            .unwrap_err();
        assert!(refusal.contains("does not allow POST"), "{refusal}");
    }

    #[test]
    fn grants_refuse_credentials_queries_and_other_schemes() {
        assert!(HttpRule::parse("https://user:pw@example.com", None, false).is_err());
        assert!(HttpRule::parse("https://example.com/?q=1", None, false).is_err());
        assert!(HttpRule::parse("ftp://example.com", None, false).is_err());
        assert!(HttpRule::parse("not a url", None, false).is_err());
    }

    #[test]
    fn non_public_addresses_are_recognised_in_every_form() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(restricted(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(restricted(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }
}
