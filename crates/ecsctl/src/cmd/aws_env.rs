//! `ecsctl aws-env`: the lines that point the AWS CLI, boto3 and the SDKs at this server's
//! ECS API, with the access key the server made in its data directory.

use crate::client::default_data_dir;
use crate::error::usage;
use anyhow::{Context, Result};
use server::ecsapi;
use std::path::PathBuf;

/// Print the environment that points AWS tools at this server's ECS API
#[derive(Debug, clap::Args)]
#[command(after_help = "EXAMPLES:
  ecsctl server --aws-api tcp://127.0.0.1:4566 &
  eval \"$(ecsctl aws-env)\"
  aws ecs list-clusters

Prints the key the server made in DATA_DIR/aws-credentials (when it runs without
--aws-credentials) and the URL of its --aws-api listener.")]
pub struct Args {
    /// The server's data directory [default: $ECSCTL_HOME or ~/.local/share/ecsctl]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The region to sign for (ARNs carry it)
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

pub fn run(args: Args) -> Result<()> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let creds_path = data_dir.join(ecsapi::GENERATED_CREDENTIALS);
    let text = match std::fs::read_to_string(&creds_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(usage(format!(
                "no generated AWS key in {}: start `ecsctl server --aws-api tcp://127.0.0.1:4566` once without --aws-credentials (with --aws-credentials, export a key of that file yourself)",
                data_dir.display()
            )));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", creds_path.display()));
        }
    };
    let creds = ecsapi::credentials::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", creds_path.display()))?;
    let key = creds
        .first()
        .ok_or_else(|| anyhow::anyhow!("{}: no key", creds_path.display()))?;
    let endpoint_path = data_dir.join(ecsapi::ENDPOINT_FILE);
    let endpoint = std::fs::read_to_string(&endpoint_path)
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            usage(format!(
                "no ECS API endpoint recorded in {}: start the server with --aws-api tcp://127.0.0.1:4566",
                data_dir.display()
            ))
        })?;
    print!("{}", export_lines(key, &endpoint, &args.region));
    Ok(())
}

/// The `export` lines for one key.
fn export_lines(key: &ecsapi::credentials::Credential, endpoint: &str, region: &str) -> String {
    format!(
        "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport AWS_ENDPOINT_URL_ECS={endpoint}\nexport AWS_DEFAULT_REGION={region}\n",
        key.access_key_id, key.secret_access_key
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_name_every_variable() {
        let key = ecsapi::credentials::generate("ecsctl").unwrap();
        let text = export_lines(&key, "http://127.0.0.1:4566", "eu-west-1");
        assert!(text.contains(&format!("AWS_ACCESS_KEY_ID={}\n", key.access_key_id)));
        assert!(text.contains(&format!(
            "AWS_SECRET_ACCESS_KEY={}\n",
            key.secret_access_key
        )));
        assert!(text.contains("AWS_ENDPOINT_URL_ECS=http://127.0.0.1:4566\n"));
        assert!(text.contains("AWS_DEFAULT_REGION=eu-west-1\n"));
    }
}
