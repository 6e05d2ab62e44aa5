//! `tandem run --conf-source`: Kedro's configuration source, a directory or
//! an archive with one top-level folder, read with the current directory as
//! the project root.

use std::path::Path;
use std::process::Command;

use crate::run_support::{Project, json_failure, output};

const LOCAL: &str = "data/08_reporting/params.json";
const PROD: &str = "data/08_reporting/params_prod.json";

/// Runs Python's standard library in the project root (archives made the
/// way other tools make them, not by the code under test).
fn python(project: &Project, script: &str) {
    let status = Command::new("python3")
        .current_dir(project.root())
        .args(["-c", script])
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

fn run(project: &Project, args: &[&str]) -> tandem_tests::Run {
    let mut all = vec!["run", "--spec", "pipelines.yml", "--json", "-p", "report"];
    all.extend_from_slice(args);
    project.tandem(&all)
}

#[test]
fn a_directory_is_read_with_the_current_directory_as_root() {
    let project = Project::new();
    std::fs::rename(project.path("conf"), project.path("settings")).unwrap();
    let done = run(&project, &["--conf-source", "settings"]);
    assert_eq!(done.code, 0, "{done:?}");
    assert!(project.path(LOCAL).is_file());

    let done = run(&project, &["--conf-source", "settings", "-e", "prod"]);
    assert_eq!(done.code, 0, "{done:?}");
    assert!(project.path(PROD).is_file());
}

#[test]
fn archives_of_every_kind_kedro_reads_are_unpacked() {
    for (name, script) in [
        (
            "conf.tar.gz",
            "import tarfile; t = tarfile.open('conf.tar.gz', 'w:gz'); t.add('conf'); t.close()",
        ),
        (
            "conf.tgz",
            "import tarfile; t = tarfile.open('conf.tgz', 'w:gz'); t.add('conf'); t.close()",
        ),
        (
            "conf.tar.bz2",
            "import tarfile; t = tarfile.open('conf.tar.bz2', 'w:bz2'); t.add('conf'); t.close()",
        ),
        (
            "conf.tar",
            "import tarfile; t = tarfile.open('conf.tar', 'w'); t.add('conf'); t.close()",
        ),
        (
            "conf.zip",
            "import shutil; shutil.make_archive('conf', 'zip', '.', 'conf')",
        ),
    ] {
        let project = Project::new();
        python(&project, script);
        // Only the archive holds the configuration now.
        std::fs::remove_dir_all(project.path("conf")).unwrap();
        let done = run(&project, &["--conf-source", name, "-e", "prod"]);
        assert_eq!(done.code, 0, "{name}: {done:?}");
        assert!(project.path(PROD).is_file(), "{name}");
        assert!(!project.path(LOCAL).exists(), "{name}");
        // The unpacked copy is gone with the command.
        assert!(!project.path("conf").exists(), "{name}");
    }
}

#[test]
fn a_missing_source_is_a_usage_error_as_in_kedro() {
    let project = Project::new();
    let done = run(&project, &["--conf-source", "altconf"]);
    assert_eq!(done.code, 2, "{done:?}");
    assert!(
        done.stderr.contains("Path 'altconf' does not exist."),
        "{done:?}"
    );
    let done = run(&project, &["--conf-source", "conf", "--conf", "conf"]);
    assert_eq!(done.code, 2, "{done:?}");
}

#[test]
fn entries_escaping_the_archive_and_links_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped.yml");
    for (name, script) in [
        (
            "dotdot.tar.gz",
            "import io, tarfile\n\
             t = tarfile.open('dotdot.tar.gz', 'w:gz')\n\
             t.add('conf')\n\
             data = b'x: 1'\n\
             info = tarfile.TarInfo('conf/../../escaped.yml'); info.size = len(data)\n\
             t.addfile(info, io.BytesIO(data)); t.close()"
                .to_owned(),
        ),
        (
            "link.tar",
            format!(
                "import tarfile\n\
                 t = tarfile.open('link.tar', 'w')\n\
                 t.add('conf')\n\
                 info = tarfile.TarInfo('conf/base/evil'); info.type = tarfile.SYMTYPE\n\
                 info.linkname = '{}'\n\
                 t.addfile(info); t.close()",
                outside.path().display()
            ),
        ),
        (
            "dotdot.zip",
            "import zipfile\n\
             z = zipfile.ZipFile('dotdot.zip', 'w')\n\
             z.writestr('conf/base/parameters.yml', 'a: 1')\n\
             z.writestr('../escaped.yml', 'x: 1'); z.close()"
                .to_owned(),
        ),
    ] {
        let project = Project::new();
        python(&project, &script);
        let failure = json_failure(&run(&project, &["--conf-source", name]), 1);
        assert_eq!(failure["kind"], "conf_source", "{name}: {failure}");
        let message = failure["message"].as_str().unwrap();
        assert!(message.contains(name), "{name}: {message}");
        assert!(!target.exists(), "{name}");
        assert!(!Path::new(&project.path("escaped.yml")).exists(), "{name}");
        assert!(!project.path(LOCAL).exists(), "{name}");
    }
}

#[test]
fn an_archive_without_a_folder_says_what_kedro_packages() {
    let project = Project::new();
    python(
        &project,
        "import zipfile; z = zipfile.ZipFile('flat.zip', 'w'); z.writestr('catalog.yml', '{}'); z.close()",
    );
    let failure = json_failure(&run(&project, &["--conf-source", "flat.zip"]), 1);
    assert_eq!(failure["kind"], "conf_source", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("one top-level folder"),
        "{failure}"
    );
}

#[test]
fn catalog_commands_take_it_too() {
    let project = Project::new();
    python(
        &project,
        "import tarfile; t = tarfile.open('c.tar.gz', 'w:gz'); t.add('conf'); t.close()",
    );
    std::fs::remove_dir_all(project.path("conf")).unwrap();
    let listed = output(project.command(tandem_tests::tandem_bin()).args([
        "catalog",
        "list",
        "--json",
        "--conf-source",
        "c.tar.gz",
    ]));
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains("cars"), "{listed:?}");
}
