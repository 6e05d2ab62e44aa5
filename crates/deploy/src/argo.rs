//! An Argo Workflows manifest for a plan: a `dag` template with one task
//! per plan task, each running one container template with its nodes.
//!
//! Containers get their arguments as a list (no shell), so nothing needs
//! shell quoting. The params are one workflow parameter, `params`
//! (`key=value,...`, the defaults), handed to every task's `--params`.

use serde_json::{Value, json};

use crate::Error;
use crate::params::DeployParams;
use crate::plan::DeploymentPlan;
use crate::quote;

/// The container template every task runs.
const RUN_TEMPLATE: &str = "tandem-run";

/// How to write the manifest.
#[derive(Clone, Debug)]
pub struct ArgoWorkflow<'a> {
    /// The plan rendered.
    pub plan: &'a DeploymentPlan,
    /// `metadata.generateName` without its trailing `-` (lowercase, `[a-z0-9-]`).
    pub name: String,
    /// The pipeline each task filters (`run --pipeline`).
    pub pipeline: String,
    /// The container image.
    pub image: String,
    /// The container's command (the project binary inside the image).
    pub command: Vec<String>,
    /// Arguments every task passes after `--nodes` (`--conf`, `--env`...).
    pub run_args: Vec<String>,
    /// The workflow's params, passed on to every task.
    pub params: DeployParams,
    /// `retryStrategy.limit` of the run template (retries after the first
    /// attempt).
    pub retries: u32,
}

impl ArgoWorkflow<'_> {
    /// The manifest as a JSON value (the shape the YAML has).
    pub fn manifest(&self) -> Result<Value, Error> {
        let mut tasks = Vec::with_capacity(self.plan.tasks.len());
        for task in &self.plan.tasks {
            if let Some(bad) = task.nodes.iter().find(|n| !quote::passable_node_name(n)) {
                return Err(Error::UnpassableNodeName { node: bad.clone() });
            }
            let mut entry = json!({
                "name": task.id,
                "template": RUN_TEMPLATE,
                "arguments": {"parameters": [{"name": "nodes", "value": task.nodes.join(",")}]},
            });
            if !task.dependencies.is_empty() {
                entry["dependencies"] = json!(task.dependencies);
            }
            tasks.push(entry);
        }
        let mut args: Vec<Value> = ["run", "--pipeline", &self.pipeline, "--nodes"]
            .iter()
            .map(|s| json!(s))
            .collect();
        args.push(json!("{{inputs.parameters.nodes}}"));
        args.extend(self.run_args.iter().map(|a| json!(a)));
        let mut spec = json!({
            "entrypoint": "main",
            "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {
                    "name": RUN_TEMPLATE,
                    "inputs": {"parameters": [{"name": "nodes"}]},
                    // Argo's IntOrString is a string in its schema.
                    "retryStrategy": {"limit": self.retries.to_string()},
                    "container": {
                        "image": self.image,
                        "command": self.command,
                        "args": args,
                    },
                },
            ],
        });
        if !self.params.is_empty() {
            spec["arguments"] =
                json!({"parameters": [{"name": "params", "value": self.params.defaults_arg()}]});
            if let Some(args) = spec["templates"][1]["container"]["args"].as_array_mut() {
                args.push(json!("--params"));
                args.push(json!("{{workflow.parameters.params}}"));
            }
        }
        Ok(json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": format!("{}-", self.name)},
            "spec": spec,
        }))
    }

    /// The manifest as YAML.
    pub fn render(&self) -> Result<String, Error> {
        serde_saphyr::to_string(&self.manifest()?).map_err(|e| Error::Yaml(e.to_string()))
    }
}
