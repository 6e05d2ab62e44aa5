//! Which names a generated project and its pipelines may have: Cargo's rules
//! for package names, Rust's (and Kedro's) for pipeline module names.

/// Rust's keywords (strict and reserved, 2024 edition): none can be a crate
/// or module name.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Crates every Rust program can name: a package called so would shadow them.
const BUILTIN_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Names Cargo keeps for its own directories under target/.
const CARGO_RESERVED: &[&str] = &["build", "deps", "examples", "incremental"];

/// File names Windows cannot create, whatever the extension.
const WINDOWS_RESERVED: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

/// crates.io's limit on a package name.
const MAX_PACKAGE_NAME: usize = 64;

/// Why `name` cannot be a generated project's Cargo package name, or `None`
/// when it can. `dependencies` are the packages the project depends on,
/// whose library names it must not take.
pub(crate) fn package_name_problem(name: &str, dependencies: &[&str]) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("a package name cannot be empty".to_owned());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "'{bad}' is not allowed: use ASCII letters, digits, '-' and '_'"
        ));
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("the name must start with a letter or '_'".to_owned());
    }
    if name.len() > MAX_PACKAGE_NAME {
        return Some(format!(
            "the name is {} characters long; crates.io allows {MAX_PACKAGE_NAME}",
            name.len()
        ));
    }
    let crate_name = crate_name(name);
    let lower = crate_name.to_ascii_lowercase();
    if KEYWORDS.contains(&crate_name.as_str()) {
        return Some("it is a Rust keyword".to_owned());
    }
    if BUILTIN_CRATES.contains(&crate_name.as_str()) {
        return Some("it is the name of a crate Rust provides".to_owned());
    }
    if CARGO_RESERVED.contains(&lower.as_str()) {
        return Some("Cargo uses it for a directory under target/".to_owned());
    }
    if WINDOWS_RESERVED.contains(&lower.as_str()) {
        return Some("it is a reserved file name on Windows".to_owned());
    }
    if let Some(dependency) = dependencies
        .iter()
        .find(|d| crate_name == self::crate_name(d))
    {
        return Some(format!("the project depends on the crate {dependency}"));
    }
    None
}

/// Why `name` cannot be a pipeline's name (and module name), or `None`.
/// Kedro asks for a letter or '_' then letters, digits or '_', two
/// characters at least; a Rust module also wants lowercase (snake case)
/// and no keyword.
pub(crate) fn pipeline_name_problem(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("a pipeline name cannot be empty".to_owned());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Some(format!(
            "'{bad}' is not allowed: use lowercase ASCII letters, digits and '_' (a Rust module \
             name)"
        ));
    }
    if !first.is_ascii_lowercase() {
        return Some("the name must start with a lowercase letter".to_owned());
    }
    if name.len() < 2 {
        return Some("the name must be at least two characters long".to_owned());
    }
    if KEYWORDS.contains(&name) {
        return Some("it is a Rust keyword".to_owned());
    }
    if BUILTIN_CRATES.contains(&name) {
        return Some("it is the name of a crate Rust provides".to_owned());
    }
    None
}

/// The library crate name of package `name`: '-' becomes '_'.
pub(crate) fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_cargo() {
        for good in [
            "weather",
            "my-project",
            "_private",
            "a",
            "churn2",
            "Weather_Data",
        ] {
            assert_eq!(package_name_problem(good, &["tandem-cli"]), None, "{good}");
        }
        let problem = |name: &str| package_name_problem(name, &["tandem-cli", "serde"]).unwrap();
        assert!(problem("").contains("empty"));
        assert!(problem("2fast").contains("start with a letter"));
        assert!(problem("-x").contains("start with a letter"));
        assert!(problem("my project").contains("' ' is not allowed"));
        assert!(problem("café").contains("'é' is not allowed"));
        assert!(problem("a/b").contains("'/' is not allowed"));
        assert!(problem("fn").contains("keyword"));
        assert!(problem("std").contains("Rust provides"));
        assert!(problem("proc-macro").contains("Rust provides"));
        assert!(problem("deps").contains("target/"));
        assert!(problem("CON").contains("Windows"));
        assert!(problem("tandem_cli").contains("depends on the crate tandem-cli"));
        assert!(problem("serde").contains("serde"));
        assert!(problem(&"x".repeat(65)).contains("65 characters"));
    }

    #[test]
    fn pipeline_names_are_module_names() {
        for good in ["data_processing", "reporting", "stage2", "ab"] {
            assert_eq!(pipeline_name_problem(good), None, "{good}");
        }
        let problem = |name: &str| pipeline_name_problem(name).unwrap();
        assert!(problem("").contains("empty"));
        assert!(problem("a").contains("two characters"));
        assert!(problem("Reporting").contains("'R' is not allowed"));
        assert!(problem("feature-engineering").contains("'-' is not allowed"));
        assert!(problem("_private").contains("start with a lowercase letter"));
        assert!(problem("9lives").contains("start with a lowercase letter"));
        assert!(problem("../evil").contains("'.' is not allowed"));
        assert!(problem("match").contains("keyword"));
        assert!(problem("std").contains("Rust provides"));
    }

    #[test]
    fn crate_names_use_underscores() {
        assert_eq!(crate_name("my-weather-app"), "my_weather_app");
    }
}
