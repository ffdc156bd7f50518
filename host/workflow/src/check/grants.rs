//! A plugin's `grants`: files, environment, kv, http and llm, each checked against
//! what it may name. Everything not granted is denied.

use super::*;

pub(super) fn check_grants(
    report: &mut Reporter,
    dir: &Path,
    plugin: &str,
    raw: &Spanned<RawGrants>,
) -> Grants {
    let mut grants = Grants::default();
    for file in &raw.get_ref().files {
        let grant = file.get_ref();
        let guest_ok = grant.guest.starts_with('/')
            && !grant
                .guest
                .split('/')
                .any(|part| part == ".." || part == ".");
        if !guest_ok {
            report.at(file.span(), format!("plugins.{plugin}.grants.files: guest path {:?} must be absolute and plain, e.g. \"/data\"", grant.guest));
            continue;
        }
        if grant.path.trim().is_empty() {
            report.at(file.span(), format!("plugins.{plugin}.grants.files: `path` is empty; name a directory relative to the workflow file"));
            continue;
        }
        grants.files.push(FileGrant {
            host: dir.join(&grant.path),
            guest: grant.guest.clone(),
            write: grant.write,
        });
    }
    for variable in &raw.get_ref().env {
        let name = variable.get_ref();
        if !baton_core::is_env_var_name(name) {
            report.at(
                variable.span(),
                format!(
                    "plugins.{plugin}.grants.env: {name:?} is not an environment variable name"
                ),
            );
            continue;
        }
        grants.env.push(name.clone());
    }
    if let Some(kv) = &raw.get_ref().kv {
        let max_bytes = match kv.get_ref().quota.as_deref().map(parse_size) {
            None => Some(1 << 20),
            Some(Ok(size)) => Some(size),
            Some(Err(e)) => {
                report.at(kv.span(), format!("plugins.{plugin}.grants.kv.quota: {e}"));
                None
            }
        };
        if let Some(max_bytes) = max_bytes {
            grants.kv = Some(KvGrant {
                max_bytes,
                max_keys: kv
                    .get_ref()
                    .keys
                    .unwrap_or(baton_core::KvQuota::DEFAULT_KEYS),
            });
        }
    }
    if let Some(http) = &raw.get_ref().http {
        grants.http = check_http(report, plugin, http);
    }
    if let Some(llm) = &raw.get_ref().llm {
        grants.llm = check_llm(report, plugin, llm);
    }
    grants
}

fn check_llm(report: &mut Reporter, plugin: &str, raw: &Spanned<RawLlmGrant>) -> Option<LlmGrant> {
    let field = |name: &str| format!("plugins.{plugin}.grants.llm.{name}");
    let llm = raw.get_ref();
    let before = report.problems.len();
    let defaults = LlmGrant::default();
    let mut grant = LlmGrant {
        provider: llm.provider.clone(),
        model: llm.model.clone(),
        tokens_per_call: llm.tokens_per_call.unwrap_or(defaults.tokens_per_call),
        tokens_per_run: llm.tokens_per_run.unwrap_or(defaults.tokens_per_run),
        calls_per_run: llm.calls_per_run.unwrap_or(defaults.calls_per_run),
        timeout: None,
        retries: llm.retries,
    };
    for (name, value) in [
        ("tokens_per_call", grant.tokens_per_call),
        ("tokens_per_run", grant.tokens_per_run),
        ("calls_per_run", u64::from(grant.calls_per_run)),
    ] {
        if value == 0 {
            report.at(
                raw.span(),
                format!(
                    "{}: 0 allows nothing; leave `llm` out of the grants to deny it, or set a budget above 0",
                    field(name)
                ),
            );
        }
    }
    // A per-call budget above the run's is kept as written: a call is bounded by
    // both, and a refusal names the one that bound it.
    if let Some(timeout) = &llm.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => grant.timeout = Some(d),
            Err(e) => report.at(timeout.span(), format!("{}: {e}", field("timeout"))),
        }
    }
    (report.problems.len() == before).then_some(grant)
}

fn check_http(
    report: &mut Reporter,
    plugin: &str,
    raw: &Spanned<RawHttpGrant>,
) -> Option<HttpGrant> {
    let field = |name: &str| format!("plugins.{plugin}.grants.http.{name}");
    let http = raw.get_ref();
    let mut grant = HttpGrant::default();
    let before = report.problems.len();
    for entry in &http.allow {
        let rule = http_rule(entry.get_ref());
        match rule {
            Ok(rule) => grant.rules.push(rule),
            Err(e) => report.at(entry.span(), format!("{}: {e}", field("allow"))),
        }
    }
    if http.allow.is_empty() {
        report.at(
            raw.span(),
            format!(
                "{}: list at least one URL, e.g. allow = [\"https://api.example.com/v1/\"]",
                field("allow")
            ),
        );
    }
    if let Some(timeout) = &http.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => grant.timeout = d,
            Err(e) => report.at(timeout.span(), format!("{}: {e}", field("timeout"))),
        }
    }
    for (name, slot, value) in [
        ("max_response", &mut grant.max_response, &http.max_response),
        ("max_request", &mut grant.max_request, &http.max_request),
    ] {
        if let Some(value) = value {
            match parse_size(value.get_ref()) {
                Ok(size) => *slot = size,
                Err(e) => report.at(value.span(), format!("{}: {e}", field(name))),
            }
        }
    }
    if let Some(n) = http.max_requests {
        grant.max_requests = n;
    }
    (report.problems.len() == before).then_some(grant)
}

/// One `allow` entry: a URL, or `{ url, methods, private }`.
fn http_rule(entry: &toml::Value) -> Result<HttpRule, String> {
    let table = match entry {
        toml::Value::String(url) => return HttpRule::parse(url, None, false),
        toml::Value::Table(table) => table,
        _ => {
            return Err(
                "each entry is a URL or { url = \"...\", methods = [\"GET\"], private = false }"
                    .into(),
            );
        }
    };
    if let Some(unknown) = table
        .keys()
        .find(|k| !matches!(k.as_str(), "url" | "methods" | "private"))
    {
        return Err(format!(
            "unknown key `{unknown}`; an entry has `url`, `methods` and `private`"
        ));
    }
    let url = table
        .get("url")
        .and_then(toml::Value::as_str)
        .ok_or("the entry needs `url`, e.g. url = \"https://api.example.com/v1/\"")?;
    let methods = match table.get("methods") {
        None => None,
        Some(toml::Value::Array(list)) => Some(
            list.iter()
                .map(|m| m.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("`methods` is a list of names, e.g. [\"GET\", \"HEAD\"]")?,
        ),
        Some(_) => return Err("`methods` is a list of names, e.g. [\"GET\", \"HEAD\"]".into()),
    };
    let private = match table.get("private") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err("`private` is true or false".into()),
    };
    HttpRule::parse(url, methods, private)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{parse, problems, with_echo};
    use super::http_rule;

    fn granting(grants: &str) -> String {
        with_echo("").replace(
            "source = \"echo.wasm\"",
            &format!("source = \"echo.wasm\"\ngrants = {grants}"),
        )
    }

    #[test]
    fn grants_are_what_the_file_names_and_nothing_more() {
        let workflow = parse(&granting(
            "{ env = [\"LANG\"], kv = { quota = \"2MiB\" }, files = [{ path = \"data\", guest = \"/data\" }] }",
        ))
        .unwrap();
        let grants = &workflow.plugins["echo"].grants;
        assert_eq!(grants.env, vec!["LANG".to_string()]);
        assert_eq!(grants.kv.as_ref().unwrap().max_bytes, 2 << 20);
        assert_eq!(grants.files[0].host, std::path::Path::new("/w/data"));
        assert_eq!(grants.capabilities(), vec!["files", "env", "kv"]);
        let none = parse(&with_echo("")).unwrap();
        assert!(none.plugins["echo"].grants.capabilities().is_empty());
    }

    #[test]
    fn a_guest_path_that_climbs_and_a_bad_variable_are_refused() {
        let found = problems(&granting(
            "{ env = [\"A-B\"], files = [{ path = \"data\", guest = \"/data/../etc\" }] }",
        ));
        assert!(
            found.contains("grants.env: \"A-B\" is not an environment variable name"),
            "{found}"
        );
        assert!(found.contains("must be absolute and plain"), "{found}");
    }

    #[test]
    fn an_http_rule_is_a_url_or_a_table_with_methods_and_private() {
        let rule = http_rule(&toml::Value::String("https://api.example.com/v1/".into())).unwrap();
        assert!(format!("{rule:?}").contains("api.example.com"), "{rule:?}");
        let table: toml::Value =
            toml::from_str("url = \"http://10.0.0.2/\"\nprivate = \"yes\"").unwrap();
        assert_eq!(http_rule(&table).unwrap_err(), "`private` is true or false");
    }
}
