//! `appconfigd status`: the live deployments (VALIDATING, DEPLOYING, BAKING, ROLLING_BACK) of
//! every environment, with progress bars; `--watch` redraws every second until none is live.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::{path, Api, CliError, Connection};

const BAR_WIDTH: usize = 16;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Refresh every second until no deployment is live.
    #[arg(long)]
    pub watch: bool,
}

/// One live deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub application: String,
    pub environment: String,
    pub number: i64,
    pub configuration: String,
    pub version: String,
    pub state: String,
    pub percentage: f64,
}

pub async fn run(args: StatusArgs) -> Result<(), CliError> {
    let api = Api::new(&args.conn)?;
    let tty = std::io::stdout().is_terminal();
    loop {
        let live = live_deployments(&api).await?;
        let mut out = String::new();
        if args.watch && tty {
            out.push_str("\x1b[2J\x1b[H"); // Clear the screen: redraw in place.
        }
        out.push_str(&render(&live));
        print!("{out}");
        let _ = std::io::stdout().flush();
        if !args.watch || live.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `[#########.......]  56.0%`
pub fn bar(percentage: f64) -> String {
    let p = percentage.clamp(0.0, 100.0);
    let filled = ((p / 100.0) * BAR_WIDTH as f64).round() as usize;
    format!(
        "[{}{}] {:>5.1}%",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        p
    )
}

pub fn render(live: &[Live]) -> String {
    if live.is_empty() {
        return "no live deployments\n".to_string();
    }
    let mut out = String::new();
    for d in live {
        out.push_str(&format!(
            "{}/{} #{} {} v{}  {}  {}\n",
            d.application,
            d.environment,
            d.number,
            d.configuration,
            d.version,
            bar(d.percentage),
            d.state
        ));
    }
    out
}

/// The newest deployment of every environment, if it is still running (an environment has
/// at most one running deployment, and ListDeployments lists newest first).
pub async fn live_deployments(api: &Api) -> Result<Vec<Live>, CliError> {
    let mut live = Vec::new();
    for app in api.list("/applications").await? {
        let app_id = app["Id"].as_str().unwrap_or_default();
        for env in api
            .list(&path(&["applications", app_id, "environments"]))
            .await?
        {
            let env_id = env["Id"].as_str().unwrap_or_default();
            let page = api
                .get(
                    &path(&[
                        "applications",
                        app_id,
                        "environments",
                        env_id,
                        "deployments",
                    ]),
                    &[("max_results", "1".to_string())],
                )
                .await?;
            let Some(d) = page["Items"].as_array().and_then(|i| i.first()) else {
                continue;
            };
            let state = d["State"].as_str().unwrap_or_default();
            if !crate::domain::deployments::is_active(state) {
                continue;
            }
            let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
            live.push(Live {
                application: text(&app, "Name"),
                environment: text(&env, "Name"),
                number: d["DeploymentNumber"].as_i64().unwrap_or_default(),
                configuration: text(d, "ConfigurationName"),
                version: text(d, "ConfigurationVersion"),
                state: state.to_string(),
                percentage: d["PercentageComplete"].as_f64().unwrap_or_default(),
            });
        }
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bars() {
        assert_eq!(bar(56.0), "[#########.......]  56.0%");
        assert_eq!(bar(0.0), "[................]   0.0%");
        assert_eq!(bar(100.0), "[################] 100.0%");
    }
}
