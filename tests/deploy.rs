//! The deploy paths, as far as they can be proven offline.
//!
//! Cheap checks run in `make test`: the SAM template exposes exactly the
//! README's configuration table, scales out over SQS as documented and may
//! read one secret only; the template `make deploy BIN=...` derives for
//! another binary changes only the binary and its package; the Extra
//! Horizon task configuration (`deploy/task-config.json`) fits the `exh`
//! CLI's task schema and leaves the `API_*` variables to the CLI.
//!
//! The built artifacts are checked by `make deploy-check` (it cross-compiles,
//! so not in `make test`): the `artifact_*` tests are ignored unless run
//! with `--ignored`, and read the paths that target passes in.

mod support;

use serde_json::{json, Value};
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::python::{run_script, workspace};

fn read(file: &str) -> String {
    let path = workspace().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn template() -> Yaml {
    serde_yaml_ng::from_str(&read("template.yaml")).expect("template.yaml is YAML")
}

fn task_config() -> Value {
    serde_json::from_str(&read("deploy/task-config.json")).expect("task-config.json is JSON")
}

/// `template["Resources"][name]["Properties"]`.
fn properties<'a>(template: &'a Yaml, resource: &str) -> &'a Yaml {
    &template["Resources"][resource]["Properties"]
}

/// The parameter a `!Ref Name` names, or `None` for any other value.
fn reference(value: &Yaml) -> Option<&str> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str(),
        _ => None,
    }
}

/// The variables of the README's "## Configuration" table: every
/// backquoted name in the first column.
fn readme_variables() -> BTreeSet<String> {
    let readme = read("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README.md has a Configuration section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .flat_map(|line| {
            let first_cell = line.split('|').nth(1).unwrap_or_default();
            first_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Set by Lambda (from the template's `LoggingConfig`, or by Managed
/// Instances), not as the template's variables.
const FROM_LAMBDA: [&str; 4] = [
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "RUST_LOG",
    "AWS_LAMBDA_MAX_CONCURRENCY",
];

#[test]
fn the_template_sets_every_variable_of_the_readme_table_and_no_other() {
    let template = template();
    let function = properties(&template, "ExhTaskFunction");
    let variables = function["Environment"]["Variables"]
        .as_mapping()
        .expect("the function has environment variables");
    let in_template: BTreeSet<String> = variables
        .keys()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect();
    let in_readme: BTreeSet<String> = readme_variables()
        .into_iter()
        .filter(|name| !FROM_LAMBDA.contains(&name.as_str()))
        .collect();
    assert!(
        in_readme.len() > 15,
        "the README table was not read: {in_readme:?}"
    );
    assert_eq!(
        in_template, in_readme,
        "template.yaml's variables (left) and README.md's configuration table (right) differ"
    );

    // Each variable is a parameter of its own; secrets are NoEcho.
    let parameters = &template["Parameters"];
    for (name, value) in variables {
        let name = name.as_str().unwrap();
        let parameter = reference(value)
            .unwrap_or_else(|| panic!("{name} is not a !Ref to a parameter: {value:?}"));
        assert!(
            parameters.get(parameter).is_some(),
            "{name} names no parameter {parameter}"
        );
        let secret = name.contains("SECRET") && name != "EXH_TASK_SECRET_ID"
            || name.ends_with("PASSWORD")
            || name.contains("OAUTH");
        assert_eq!(
            parameters[parameter]["NoEcho"].as_bool().unwrap_or(false),
            secret,
            "{parameter} ({name}) should {}be NoEcho",
            if secret { "" } else { "not " }
        );
    }
}

#[test]
fn the_template_logs_json_at_a_chosen_level_and_defaults_to_ote() {
    let template = template();
    let function = properties(&template, "ExhTaskFunction");
    assert_eq!(function["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(
        reference(&function["LoggingConfig"]["ApplicationLogLevel"]),
        Some("LogLevel")
    );
    assert_eq!(template["Parameters"]["HexonetSystem"]["Default"], "ote");
    assert_eq!(function["Runtime"], "provided.al2023");
    assert_eq!(function["Architectures"][0], "arm64");
    assert_eq!(
        template["Resources"]["ExhTaskFunction"]["Metadata"]["BuildMethod"],
        "rust-cargolambda"
    );
    for output in ["FunctionName", "FunctionArn", "LogGroupName", "QueueUrl"] {
        assert!(
            template["Outputs"].get(output).is_some(),
            "no output {output}"
        );
    }
}

#[test]
fn the_function_may_read_the_named_secret_and_no_other() {
    let template = template();
    let function = properties(&template, "ExhTaskFunction");
    assert_eq!(
        reference(&function["Environment"]["Variables"]["EXH_TASK_SECRET_ID"]),
        Some("SecretArn")
    );
    let policies = serde_yaml_ng::to_string(&function["Policies"]).unwrap();
    assert!(
        policies.contains("AWSSecretsManagerGetSecretValuePolicy:\n")
            && policies.contains("SecretArn: !Ref SecretArn"),
        "{policies}"
    );
    assert!(!policies.contains('*'), "a wildcard policy: {policies}");
}

#[test]
fn the_queue_spreads_requests_over_lambda_and_retries_only_failed_records() {
    let template = template();
    for resource in ["WorkQueue", "WorkDeadLetterQueue", "WorkQueueMapping"] {
        assert_eq!(
            template["Resources"][resource]["Condition"], "UseQueue",
            "{resource} is not behind the condition"
        );
    }
    let mapping = properties(&template, "WorkQueueMapping");
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_yaml_ng::from_str::<Yaml>("[ReportBatchItemFailures]").unwrap()
    );
    assert_eq!(reference(&mapping["BatchSize"]), Some("QueueBatchSize"));
    assert_eq!(
        reference(&mapping["ScalingConfig"]["MaximumConcurrency"]),
        Some("QueueMaximumConcurrency")
    );
    let queue = properties(&template, "WorkQueue");
    assert!(
        matches!(&queue["RedrivePolicy"]["deadLetterTargetArn"], Yaml::Tagged(tagged) if tagged.tag == "!GetAtt"),
        "the queue has no dead-letter queue"
    );
    assert_eq!(template["Outputs"]["QueueUrl"]["Condition"], "UseQueue");
}

/// The `exh` CLI's task schema (`src/config-json-schemas/TaskConfig.json`,
/// v1.13.6), written from its documented rules: the CLI is not in the npm
/// registry these machines reach.
fn exh_cli_task_schema() -> Value {
    let runtimes = [
        "nodejs24.x",
        "nodejs22.x",
        "nodejs20.x",
        "nodejs18.x",
        "nodejs16.x",
        "python3.14",
        "python3.13",
        "python3.12",
        "python3.11",
        "python3.10",
        "python3.9",
        "python3.8",
        "java25",
        "java21",
        "java17",
        "java11",
        "java8.al2",
        "dotnet9",
        "dotnet8",
        "dotnet7",
        "dotnet6",
        "ruby3.4",
        "ruby3.3",
        "ruby3.2",
        "provided.al2023",
        "provided.al2",
    ];
    let strings = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "path", "entryPoint", "runtime"],
        "properties": {
            "$schema": {"type": "string"},
            "name": {"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
            "description": {"type": "string"},
            "path": {"type": "string"},
            "entryPoint": {"type": "string"},
            "runtime": {"type": "string", "enum": runtimes},
            "timeLimit": {"type": "integer", "minimum": 3, "maximum": 300},
            "memoryLimit": {"type": "integer", "minimum": 128, "maximum": 10240},
            "executionPermission": {"enum": ["permissionRequired", "allUsers", "public"]},
            "defaultPriority": {"type": "integer"},
            "environment": {"type": "object", "additionalProperties": {"type": "string"}},
            "retryPolicy": {
                "type": "object",
                "additionalProperties": false,
                "required": ["enabled"],
                "properties": {"enabled": {"type": "boolean"}, "errorsToRetry": strings}
            },
            "executionCredentials": {
                "type": "object",
                "additionalProperties": false,
                "required": ["permissions"],
                "properties": {"permissions": strings, "email": {"type": "string"}}
            }
        }
    })
}

#[test]
fn the_task_config_fits_the_exh_cli_task_schema_which_refuses_what_it_does_not_know() {
    let config = task_config();
    let with = |field: &str, value: Value| {
        let mut changed = config.clone();
        changed[field] = value;
        changed
    };
    let instances = [
        config.clone(),
        // No architecture field exists: Extra Horizon creates x86_64 functions.
        with("architecture", json!("arm64")),
        with("timeLimit", json!(301)),
        with("name", json!("exh_task")),
        with("runtime", json!("provided")),
        with("retryPolicy", json!({"errorsToRetry": ["Transport"]})),
    ];
    let verdicts = run_script(
        "jsonschema_validate.py",
        &json!({
            "schema": exh_cli_task_schema(),
            "instances": instances.iter().map(|instance| json!({"def": null, "instance": instance})).collect::<Vec<_>>(),
        }),
        &[],
    );
    let verdicts = verdicts.as_array().unwrap();
    assert_eq!(
        verdicts[0],
        Value::Null,
        "task-config.json: {}",
        verdicts[0]
    );
    for (instance, verdict) in instances[1..].iter().zip(&verdicts[1..]) {
        assert!(verdict.is_string(), "the schema accepted {instance}");
    }
}

#[test]
fn the_task_config_leaves_the_api_variables_to_the_cli_and_names_the_rest_as_references() {
    let config = task_config();
    assert_eq!(config["runtime"], "provided.al2023");
    assert_eq!(config["entryPoint"], "bootstrap");
    // The CLI resolves `path` against the configuration's own folder: the
    // bundle's, so `bootstrap` is at the root of the zip it makes.
    assert_eq!(config["path"], ".");
    assert!(
        config["timeLimit"].as_u64().unwrap() <= 30,
        "API functions and direct execution need a time limit of at most 30 s"
    );
    assert!(!config["executionCredentials"]["permissions"]
        .as_array()
        .unwrap()
        .is_empty());
    let environment = config["environment"].as_object().unwrap();
    for (name, value) in environment {
        assert!(
            !name.starts_with("API_"),
            "{name} is set by the CLI from executionCredentials and must not be in environment"
        );
        assert_eq!(
            value.as_str(),
            Some(format!("${name}").as_str()),
            "{name} is not a reference to the operator's variable"
        );
    }
    for name in [
        "HEXONET_LOGIN",
        "HEXONET_PASSWORD",
        "HEXONET_ALLOWED_COMMANDS",
        "EXH_ALLOWED_PATHS",
    ] {
        assert!(environment.contains_key(name), "environment lacks {name}");
    }
}

#[test]
fn the_task_config_retries_exactly_the_error_types_a_retry_can_cure() {
    let config = task_config();
    assert_eq!(
        config["retryPolicy"],
        json!({"enabled": true, "errorsToRetry": ["Transport", "Timeout"]})
    );
    // The names are the product's own, so Extra Horizon can match them.
    let transport = exh_task::Error::Transport(String::new());
    let timeout = exh_task::Error::timeout_sent(String::new());
    assert_eq!(
        [transport.error_type(), timeout.error_type()],
        ["Transport", "Timeout"]
    );
}

#[test]
fn the_task_and_the_template_size_the_function_alike() {
    let (template, config) = (template(), task_config());
    assert_eq!(
        template["Parameters"]["MemorySize"]["Default"].as_u64(),
        config["memoryLimit"].as_u64()
    );
    assert_eq!(
        template["Parameters"]["Timeout"]["Default"].as_u64(),
        config["timeLimit"].as_u64()
    );
}

/// `make sam-template BIN=bin`'s template (what `make deploy BIN=bin`
/// builds from), written below a directory of this test's own.
fn derived_template(bin: &str) -> (Yaml, PathBuf) {
    let dir = std::env::temp_dir().join(format!("exh-task-sam-template-{}", std::process::id()));
    let output = std::process::Command::new("make")
        .args(["--no-print-directory", "--silent", "sam-template"])
        .arg(format!("BIN={bin}"))
        .arg(format!("TARGET_DIR={}", dir.display()))
        .arg(concat!("CARGO=", env!("CARGO")))
        .current_dir(workspace())
        // Not the jobserver of a `make test` this may run under.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("make runs");
    assert!(
        output.status.success(),
        "make sam-template BIN={bin}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = dir.join("sam").join(bin).join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    std::fs::remove_dir_all(&dir).unwrap();
    let derived = serde_yaml_ng::from_str(&text).expect("the derived template is YAML");
    (derived, path)
}

#[test]
fn the_template_for_another_binary_builds_it_from_its_package_and_changes_nothing_else() {
    let (mut derived, path) = derived_template("check-domains");
    let function = &mut derived["Resources"]["ExhTaskFunction"];
    let binary = &mut function["Metadata"]["BuildProperties"]["Binary"];
    assert_eq!(*binary, "check-domains", "{}", path.display());
    *binary = Yaml::from("bootstrap");
    let code_uri = &mut function["Properties"]["CodeUri"];
    assert_eq!(
        code_uri.as_str().map(Path::new),
        Some(workspace().join("examples/check-domains").as_path()),
        "CodeUri is not the example's package"
    );
    *code_uri = Yaml::from(".");
    assert_eq!(
        derived,
        template(),
        "{} differs from template.yaml in more than Binary and CodeUri",
        path.display()
    );
}

// ------------------------------------------------------------------------
// The built artifacts (`make deploy-check`)
// ------------------------------------------------------------------------

/// Extra Horizon's limit on a function's code.
const EXH_CODE_LIMIT: u64 = 10_000_000;

/// What an ELF header says about a binary.
#[derive(Debug, PartialEq)]
struct Elf {
    /// `e_machine`: 62 is x86-64, 183 is AArch64.
    machine: u16,
    /// `e_type`: 2 an executable, 3 a position-independent one.
    kind: u16,
}

/// Reads the ELF header of `path`: 64-bit little-endian, or a failure.
fn elf(path: &Path) -> Elf {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(
        bytes.len() > 64 && bytes[..4] == *b"\x7fELF",
        "{} is not ELF",
        path.display()
    );
    assert_eq!(bytes[4], 2, "{} is not 64-bit", path.display());
    assert_eq!(bytes[5], 1, "{} is not little-endian", path.display());
    let half = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    Elf {
        machine: half(18),
        kind: half(16),
    }
}

fn machine_of(arch: &str) -> u16 {
    match arch {
        "x86_64" => 62,
        "arm64" => 183,
        other => panic!("unknown architecture {other}"),
    }
}

fn given(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is unset: run `make deploy-check`"))
}

/// Checks one shipped `bootstrap`: ELF for `arch`, executable, runnable on
/// AL2023's glibc, without the sandbox; returns its size.
fn check_bootstrap(path: &Path, arch: &str) -> u64 {
    use std::os::unix::fs::PermissionsExt as _;
    let header = elf(path);
    assert_eq!(
        header.machine,
        machine_of(arch),
        "{} is not {arch}",
        path.display()
    );
    assert!(
        [2, 3].contains(&header.kind),
        "{} is not an executable",
        path.display()
    );
    let metadata = std::fs::metadata(path).unwrap();
    assert_eq!(
        metadata.permissions().mode() & 0o111,
        0o111,
        "{} is not executable",
        path.display()
    );
    let bytes = std::fs::read(path).unwrap();
    for test_equipment in ["exh_task_sandbox", "exh-task-sandbox", "axum"] {
        assert!(
            !bytes
                .windows(test_equipment.len())
                .any(|window| window == test_equipment.as_bytes()),
            "{} links {test_equipment}",
            path.display()
        );
    }
    // Amazon Linux 2023 has glibc 2.34: a newer symbol version would not load.
    let newest = glibc_versions(&bytes).into_iter().max().unwrap_or_default();
    assert!(
        newest <= (2, 34),
        "{} needs glibc {newest:?}",
        path.display()
    );
    println!(
        "{}: ELF {arch}, executable, {} bytes, glibc <= {}.{}, no sandbox",
        path.display(),
        metadata.len(),
        newest.0,
        newest.1
    );
    metadata.len()
}

/// Every `GLIBC_2.N` version string in a binary, as `(2, N)`.
fn glibc_versions(bytes: &[u8]) -> Vec<(u32, u32)> {
    let marker = b"GLIBC_2.";
    bytes
        .windows(marker.len())
        .enumerate()
        .filter(|(_, window)| *window == marker)
        .filter_map(|(at, _)| {
            let digits: String = bytes[at + marker.len()..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .map(|byte| *byte as char)
                .collect();
            digits.parse().ok().map(|minor| (2, minor))
        })
        .collect()
}

#[test]
#[ignore = "`make deploy-check` builds the bundle and runs it"]
fn artifact_the_extra_horizon_bundle_is_a_bootstrap_for_its_architecture_under_the_code_limit() {
    let bundle = PathBuf::from(given("EXH_TASK_EXH_BUNDLE"));
    let arch = given("EXH_TASK_EXH_ARCH");
    let mut files: Vec<String> = std::fs::read_dir(&bundle)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["bootstrap", "task-config.json"]);
    let size = check_bootstrap(&bundle.join("bootstrap"), &arch);
    let config_size = std::fs::metadata(bundle.join("task-config.json"))
        .unwrap()
        .len();
    // Unzipped it is already under the limit; the zip the CLI makes is smaller.
    assert!(
        size + config_size < EXH_CODE_LIMIT,
        "the bundle has {} bytes, over Extra Horizon's {EXH_CODE_LIMIT}",
        size + config_size
    );
    let shipped: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("task-config.json")).unwrap())
            .unwrap();
    assert_eq!(shipped, task_config());
}

#[test]
#[ignore = "`make deploy-check` runs `sam build` and then this"]
fn artifact_the_sam_build_is_a_bootstrap_for_arm64() {
    check_bootstrap(
        Path::new(&given("EXH_TASK_SAM_BOOTSTRAP")),
        &given("EXH_TASK_SAM_ARCH"),
    );
}
