//! `catalog list|describe` output.

use std::io::{self, Write};

use super::{table, write_json};
use crate::commands::{Described, Listing};

/// Datasets, then patterns, as tables or one JSON object.
pub(super) fn listed(out: &mut dyn Write, listing: &Listing, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, listing);
    }
    writeln!(out, "Catalog (environment {})", listing.env)?;
    let rows: Vec<Vec<String>> = listing
        .datasets
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                d.type_name.clone(),
                yes_no(d.versioned).to_owned(),
                d.filepath.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "No datasets.")?;
    } else {
        table::write(out, &["DATASET", "TYPE", "VERSIONED", "FILEPATH"], &rows)?;
    }
    let unusable: Vec<_> = listing
        .datasets
        .iter()
        .filter_map(|d| d.unusable.as_ref().map(|u| (&d.name, u)))
        .collect();
    if !unusable.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Not usable in this binary (a run that needs them fails):"
        )?;
        for (name, why) in unusable {
            writeln!(out, "  {name}: {}", why.reason)?;
        }
    }
    if !listing.patterns.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = listing
            .patterns
            .iter()
            .map(|p| {
                vec![
                    p.pattern.clone(),
                    p.type_name.clone().unwrap_or_default(),
                    p.filepath.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table::write(out, &["PATTERN", "TYPE", "FILEPATH"], &rows)?;
    }
    Ok(())
}

/// One dataset: summary lines, then its resolved configuration.
pub(super) fn described(out: &mut dyn Write, described: &Described, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, described);
    }
    if let Some(value) = &described.value {
        // A parameter: its value, as Kedro's YAML would show it.
        return out.write_all(super::catalog_kedro::yaml(value).as_bytes());
    }
    let entry = &described.entry;
    let dataset = &entry.dataset;
    writeln!(out, "name:       {}", entry.name)?;
    writeln!(out, "type:       {}", dataset.type_name)?;
    if let Some(filepath) = &dataset.filepath {
        writeln!(out, "filepath:   {filepath}")?;
    }
    writeln!(out, "versioned:  {}", yes_no(dataset.versioned))?;
    if let Some(pattern) = &entry.pattern {
        writeln!(out, "pattern:    {pattern}")?;
    }
    if let Some(origin) = &described.defined_in {
        writeln!(out, "defined in: {origin}")?;
    }
    if let Some(config) = &entry.config {
        let pretty = serde_json::to_string_pretty(config).map_err(io::Error::other)?;
        writeln!(out, "config:\n{}", indent(&pretty))?;
    }
    if !dataset.details.is_empty() {
        let pretty = serde_json::to_string_pretty(&dataset.details).map_err(io::Error::other)?;
        writeln!(out, "details:\n{}", indent(&pretty))?;
    }
    Ok(())
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
