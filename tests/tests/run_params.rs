//! `tandem run --params`: overrides of parameters.yml, typed like YAML
//! scalars, observed through `params:report` written to a JSONDataset by
//! builtin:identity.

use serde_json::{Value, json};

use crate::run_support::Project;

fn reported(project: &Project, params: &[&str]) -> Value {
    let mut args = vec!["-p", "report"];
    for p in params {
        args.extend(["--params", p]);
    }
    project.run_json(&args);
    serde_json::from_str(&project.read("data/08_reporting/params.json")).unwrap()
}

#[test]
fn overrides_merge_into_the_parameters_with_types() {
    let project = Project::new();
    assert_eq!(
        reported(&project, &[]),
        json!({"title": "Cars", "threshold": 0.5, "columns": ["id", "price"]})
    );
    assert_eq!(
        reported(
            &project,
            &[
                "report.threshold=0.9,report.title=Night run",
                "report.limit=3"
            ]
        ),
        json!({"title": "Night run", "threshold": 0.9, "columns": ["id", "price"], "limit": 3})
    );
    assert_eq!(
        reported(&project, &["report.strict=true,report.note=~"]),
        json!({
            "title": "Cars", "threshold": 0.5, "columns": ["id", "price"],
            "strict": true, "note": null
        })
    );
}

#[test]
fn later_overrides_win_and_scalars_replace_subtrees() {
    let project = Project::new();
    assert_eq!(
        reported(&project, &["report.title=first", "report.title=second"])["title"],
        "second"
    );
    // Replacing the whole `report` tree with a scalar is what OmegaConf does too.
    let project = Project::new();
    let mut args = vec!["run", "--spec", "pipelines.yml", "--json", "-p", "report"];
    args.extend(["--params", "report=plain"]);
    let run = project.tandem(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(project.read("data/08_reporting/params.json"), "\"plain\"");
}
