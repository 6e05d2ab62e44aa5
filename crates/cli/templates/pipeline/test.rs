//! Tests of the `{{pipeline_name}}` pipeline, added by
//! `tandem pipeline create {{pipeline_name}}`.

#[test]
fn the_{{pipeline_name}}_pipeline_is_registered() {
    let pipelines = {{crate_name}}::pipelines::register_pipelines().unwrap();
    let built = {{crate_name}}::pipelines::{{pipeline_name}}::create_pipeline().unwrap();
    assert_eq!(pipelines["{{pipeline_name}}"], built);
}
