//! `[plugins.<name>]`: the name, the component's source, its build, its limits.

use super::grants::check_grants;
use super::*;

pub(super) fn check_plugin(
    report: &mut Reporter,
    dir: &Path,
    name: &str,
    plugin: &Spanned<RawPlugin>,
    source: &str,
    path: &Path,
) -> Option<PluginDecl> {
    let plugin_name = PluginName::try_from(name.to_string())
        .map_err(|e| report.at(plugin.span(), e.to_string()))
        .ok();
    let raw = plugin.get_ref();
    let src = raw.source.get_ref();
    if src.trim().is_empty() {
        report.at(
            raw.source.span(),
            format!("plugins.{name}.source is empty; give the path of the .wasm component"),
        );
    }
    let mut config = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (key, value) in &raw.config {
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Table(table)
                if table.len() == 1 && table.get("secret").is_some_and(|v| v.is_str()) =>
            {
                let variable = table["secret"].as_str().unwrap_or_default();
                if !baton_core::is_env_var_name(variable) {
                    report.at(value.span(), format!("plugins.{name}.config.{key}: {variable:?} is not an environment variable name, e.g. {{ secret = \"ADS_API_TOKEN\" }}"));
                }
                secrets.insert(key.clone(), variable.to_string());
                continue;
            }
            _ => {
                report.at(
                    value.span(),
                    format!("plugins.{name}.config.{key} must be a string, number, boolean, or {{ secret = \"ENV_VAR\" }}"),
                );
                continue;
            }
        };
        config.insert(key.clone(), text);
    }
    let grants = raw
        .grants
        .as_ref()
        .map(|g| check_grants(report, dir, name, g))
        .unwrap_or_default();
    let limits = raw
        .limits
        .as_ref()
        .map(|l| check_limits(report, name, l))
        .unwrap_or_default();
    let (line, column) = crate::position::line_column(source, raw.source.span().start);
    Some(PluginDecl {
        name: plugin_name?,
        source: dir.join(src),
        source_position: format!("{}:{line}:{column}", path.display()),
        build: raw
            .build
            .as_ref()
            .and_then(|build| check_build(report, dir, name, build)),
        config,
        secrets,
        limits,
        grants,
    })
}

/// `build = "command"` or `build = { command = "...", dir = "...", watch = ["..."] }`.
fn check_build(
    report: &mut Reporter,
    dir: &Path,
    plugin: &str,
    raw: &Spanned<toml::Value>,
) -> Option<Build> {
    let example =
        "e.g. build = { command = \"make\", dir = \"../plugin\", watch = [\"src/*.py\"] }";
    let parsed: Result<RawBuild, String> = match raw.get_ref() {
        toml::Value::String(command) => Ok(RawBuild {
            command: command.clone(),
            dir: None,
            watch: Vec::new(),
        }),
        table @ toml::Value::Table(_) => table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string()),
        _ => Err("must be a command or a table".into()),
    };
    let problem = match parsed {
        Ok(build) if build.command.trim().is_empty() => "needs a non-empty `command`".to_string(),
        Ok(build) => match build
            .watch
            .iter()
            .find_map(|g| glob::Pattern::new(g).err().map(|e| (g, e)))
        {
            Some((glob, e)) => format!("watch: {glob:?} is not a glob: {e}"),
            None => {
                return Some(Build {
                    command: build.command,
                    dir: build.dir.map_or_else(|| dir.to_path_buf(), |d| dir.join(d)),
                    watch: build.watch,
                });
            }
        },
        Err(problem) => problem,
    };
    report.at(
        raw.span(),
        format!("plugins.{plugin}.build: {problem}; {example}"),
    );
    None
}

fn check_limits(report: &mut Reporter, plugin: &str, raw: &RawLimits) -> Limits {
    let mut limits = Limits {
        fuel: raw.fuel,
        ..Limits::default()
    };
    if let Some(timeout) = &raw.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => limits.timeout = Some(d),
            Err(e) => report.at(
                timeout.span(),
                format!("plugins.{plugin}.limits.timeout: {e}"),
            ),
        }
    }
    for (key, slot, value) in [
        ("memory", &mut limits.memory, &raw.memory),
        ("max_output", &mut limits.max_output, &raw.max_output),
    ] {
        if let Some(value) = value {
            match parse_size(value.get_ref()) {
                Ok(size) => *slot = Some(size),
                Err(e) => report.at(value.span(), format!("plugins.{plugin}.limits.{key}: {e}")),
            }
        }
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::super::testing::{parse, problems, with_echo};

    #[test]
    fn a_plugin_is_named_resolved_and_limited_as_declared() {
        let workflow = parse(&with_echo("")).unwrap();
        let echo = &workflow.plugins["echo"];
        assert_eq!(echo.name.as_str(), "echo");
        assert_eq!(echo.source, std::path::Path::new("/w/echo.wasm"));
        assert_eq!(echo.source_position, "/w/workflow.toml:3:10");
    }

    #[test]
    fn a_bad_name_an_empty_source_and_a_bad_secret_are_each_reported() {
        let text = "name = \"t\"\n[plugins.Echo]\nsource = \"\"\nconfig = { token = { secret = \"1-BAD\" } }\n[[steps]]\nid = \"a\"\nuses = \"Echo\"\n";
        let found = problems(text);
        assert!(
            found.contains("plugin name \"Echo\" must be lowercase"),
            "{found}"
        );
        assert!(found.contains("plugins.Echo.source is empty"), "{found}");
        assert!(
            found.contains("\"1-BAD\" is not an environment variable name"),
            "{found}"
        );
    }

    #[test]
    fn limits_are_parsed_in_units_and_nonsense_is_refused() {
        let ok = with_echo("").replace(
            "source = \"echo.wasm\"",
            "source = \"echo.wasm\"\nlimits = { timeout = \"2s\", memory = \"64MiB\" }",
        );
        let workflow = parse(&ok).unwrap();
        let limits = &workflow.plugins["echo"].limits;
        assert_eq!(limits.timeout, Some(std::time::Duration::from_secs(2)));
        assert_eq!(limits.memory, Some(64 << 20));
        let bad = ok.replace("\"2s\"", "\"soon\"");
        assert!(problems(&bad).contains("timeout"), "{}", problems(&bad));
    }
}
