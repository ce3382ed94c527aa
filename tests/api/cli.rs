//! Round trips through the AWS CLI (`aws appconfig …`), the other client users point at us.

use std::process::Command;

use serde_json::Value;

use crate::harness::*;

/// Runs `aws appconfig <args>` against the server and parses its JSON output.
fn aws(server: &Server, args: &[&str]) -> Value {
    let out = Command::new("aws")
        .arg("appconfig")
        .args(args)
        .args([
            "--endpoint-url",
            server.endpoint(),
            "--region",
            REGION,
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-key")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_PAGER", "")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("the AWS CLI (`aws`) must be installed to run the cli tests");
    assert!(
        out.status.success(),
        "aws appconfig {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "aws appconfig {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn create_application_with_the_cli_then_read_it_with_the_sdk() {
    let server = Server::start();
    let created = aws(
        &server,
        &[
            "create-application",
            "--name",
            "from-the-cli",
            "--description",
            "made by aws appconfig",
        ],
    );
    let id = created["Id"]
        .as_str()
        .expect("Id in CLI output")
        .to_string();
    assert_id(&id);
    assert_eq!(created["Name"], "from-the-cli");
    assert_eq!(created["Description"], "made by aws appconfig");

    let c = server.client();
    assert_app(&c, &id, "from-the-cli", Some("made by aws appconfig")).await;
}

#[tokio::test]
async fn list_applications_with_the_cli_shows_sdk_created_ones() {
    let (server, c) = Server::start_with_client();
    let a = create_app(&c, "first").await;
    let b = create_app(&c, "second").await;
    let listed = aws(&server, &["list-applications"]);
    let items = listed["Items"].as_array().expect("Items");
    let ids: Vec<&str> = items.iter().map(|i| i["Id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    assert_eq!(items[1]["Name"], "second");
    // The CLI follows NextToken itself when the page size is small.
    let paged = aws(&server, &["list-applications", "--page-size", "1"]);
    assert_eq!(paged["Items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn hosted_version_and_strategy_delete_through_the_cli() {
    let (server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let output = dir.path().join("out.bin");
    let content = b"\x00\xffbinary\r\n{\"x\":1}";
    std::fs::write(&input, content).unwrap();

    let meta = aws(
        &server,
        &[
            "create-hosted-configuration-version",
            "--application-id",
            &app,
            "--configuration-profile-id",
            &profile,
            "--content",
            &format!("fileb://{}", input.display()),
            "--content-type",
            "application/octet-stream",
            "--version-label",
            "cli-v1",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(meta["VersionNumber"], 1);
    assert_eq!(meta["VersionLabel"], "cli-v1");
    assert_eq!(std::fs::read(&output).unwrap(), content);
    let got = get_version(&c, &app, &profile, 1).await;
    assert_eq!(got.content().unwrap().as_ref(), content);

    // The CLI sends DeleteDeploymentStrategy to the misspelled path too.
    let strategy = create_strategy(&c, "s").await;
    aws(
        &server,
        &[
            "delete-deployment-strategy",
            "--deployment-strategy-id",
            &strategy,
        ],
    );
    assert_eq!(all_strategy_ids(&c).await.len(), 4);
}
