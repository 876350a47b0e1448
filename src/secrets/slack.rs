//! `secret verify`: ask Slack's `auth.test` whose bot each cat's token belongs to, so swapped
//! tokens (DD answering as TT) are caught before a cat ever runs with them.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::http::{Client, scrub, sensitive};
use crate::secrets::{LocalSecret, SecretValue};

/// Slack's Web API, unless `CATCTL_SLACK_API_URL` says otherwise.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";
pub const API_URL_ENV: &str = "CATCTL_SLACK_API_URL";
/// The key holding the bot token in a directory entry.
pub const BOT_TOKEN_KEY: &str = "bot-token";
const MAX_RETRIES: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

pub fn api_url() -> String {
    std::env::var(API_URL_ENV)
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// What `auth.test` says about a token.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct AuthTest {
    pub ok: bool,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

impl AuthTest {
    /// The answer with `token` replaced wherever Slack (or something posing as it) echoed it.
    fn scrubbed(self, token: &str) -> AuthTest {
        let clean = |field: Option<String>| field.map(|text| scrub(&text, &[token]));
        AuthTest {
            ok: self.ok,
            user: clean(self.user),
            user_id: clean(self.user_id),
            team: clean(self.team),
            bot_id: clean(self.bot_id),
            error: clean(self.error),
        }
    }
}

/// The bot token of a cat's Secret: the `bot-token` key, or the only key of a one-file entry.
pub fn bot_token(secret: &LocalSecret) -> Result<&SecretValue> {
    if let Some(token) = secret.data.get(BOT_TOKEN_KEY) {
        return Ok(token);
    }
    match secret.data.values().collect::<Vec<_>>().as_slice() {
        [only] if secret.data.len() == 1 => Ok(only),
        _ => bail!(
            "secret/{} has no `{BOT_TOKEN_KEY}` file — put the bot token (xoxb-…) there",
            secret.name
        ),
    }
}

/// Calls `auth.test` with `token`, waiting out rate limits (HTTP 429 + Retry-After). Whatever
/// Slack answers is scrubbed of the token before it can reach a message.
pub async fn auth_test(client: &Client, base: &str, token: &SecretValue) -> Result<AuthTest> {
    let token = std::str::from_utf8(token.expose().trim_ascii())
        .context("the token is not text — is this the right file?")?;
    let url = format!("{base}/auth.test");
    reqwest::Url::parse(&url)
        .with_context(|| format!("invalid Slack API URL {url} (check {API_URL_ENV})"))?;
    let mut attempt = 0;
    loop {
        let request = client
            .request(Method::POST, &url)
            .header(
                header::AUTHORIZATION,
                sensitive(&format!("Bearer {token}"))?,
            )
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        let response = client.send(request).await?;
        if response.status == StatusCode::TOO_MANY_REQUESTS && attempt < MAX_RETRIES {
            attempt += 1;
            let wait = response
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs)
                .min(MAX_RETRY_AFTER);
            tokio::time::sleep(wait).await;
            continue;
        }
        if !response.status.is_success() {
            bail!(
                "{url} answered HTTP {}: {}",
                response.status,
                response.excerpt(&[token])
            );
        }
        let answer: AuthTest = serde_json::from_slice(&response.body)
            .with_context(|| format!("{url} did not answer like Slack's auth.test"))?;
        return Ok(answer.scrubbed(token));
    }
}

/// The verdict on one cat's token.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub cat: String,
    pub secret: String,
    pub expected_user: String,
    pub slack_user: Option<String>,
    pub team: Option<String>,
    pub ok: bool,
    pub problem: Option<String>,
}

/// Judges every cat's `auth.test` answer. `expected` maps cat → its bot user name; a token
/// whose bot is another cat's is reported naming both, and a swapped pair as a swap.
pub fn judge(
    expected: &BTreeMap<String, String>,
    answers: Vec<(String, String, Result<AuthTest>)>,
) -> Vec<Verdict> {
    let owner_of_user: BTreeMap<&str, &str> = expected
        .iter()
        .map(|(cat, user)| (user.as_str(), cat.as_str()))
        .collect();
    let mut held_by: BTreeMap<String, String> = BTreeMap::new(); // cat → cat whose token it holds
    let mut verdicts: Vec<Verdict> = answers
        .into_iter()
        .map(|(cat, secret, answer)| {
            let expected_user = expected.get(&cat).cloned().unwrap_or_else(|| cat.clone());
            let mut verdict = Verdict {
                cat: cat.clone(),
                secret,
                expected_user: expected_user.clone(),
                slack_user: None,
                team: None,
                ok: false,
                problem: None,
            };
            match answer {
                Err(err) => verdict.problem = Some(format!("{err:#}")),
                Ok(answer) if !answer.ok => {
                    let error = answer.error.unwrap_or_else(|| "unknown_error".to_string());
                    verdict.problem = Some(explain_slack_error(&error));
                }
                Ok(answer) => {
                    verdict.team = answer.team;
                    let user = answer.user.unwrap_or_default();
                    if user == expected_user {
                        verdict.ok = true;
                    } else if let Some(other) = owner_of_user.get(user.as_str()) {
                        held_by.insert(cat.clone(), other.to_string());
                        verdict.problem = Some(format!(
                            "secret/{} holds {other}'s token: Slack says it belongs to the bot \
                             '{user}'",
                            verdict.secret
                        ));
                    } else {
                        verdict.problem = Some(format!(
                            "the token belongs to the Slack bot '{user}', not '{expected_user}' — \
                             put {cat}'s bot token in secret/{}, or set `slack_user = \"{user}\"` \
                             in cats/{cat}/cat.toml if that is its name",
                            verdict.secret
                        ));
                    }
                    verdict.slack_user = Some(user);
                }
            }
            verdict
        })
        .collect();
    for verdict in &mut verdicts {
        let Some(other) = held_by.get(&verdict.cat) else {
            continue;
        };
        if held_by.get(other) == Some(&verdict.cat) {
            verdict.problem = Some(format!(
                "{cat} and {other} have swapped tokens: secret/{cat}-token is {other}'s bot and \
                 secret/{other}-token is {cat}'s — swap the two",
                cat = verdict.cat
            ));
        }
    }
    verdicts
}

fn explain_slack_error(error: &str) -> String {
    let hint = match error {
        "invalid_auth" | "not_authed" => {
            "the token is not valid — copy the Bot User OAuth Token again"
        }
        "token_revoked" | "token_expired" => {
            "the token was revoked — reinstall the app and copy the new token"
        }
        "account_inactive" => "the bot's app was deleted or disabled",
        _ => "see https://api.slack.com/methods/auth.test",
    };
    format!("Slack refused the token ({error}): {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(user: &str) -> Result<AuthTest> {
        Ok(AuthTest {
            ok: true,
            user: Some(user.to_string()),
            ..AuthTest::default()
        })
    }

    #[test]
    fn swapped_tokens_are_called_a_swap() {
        let expected = BTreeMap::from([
            ("dd".to_string(), "dd".to_string()),
            ("tt".to_string(), "tt".to_string()),
            ("coco".to_string(), "coco".to_string()),
        ]);
        let verdicts = judge(
            &expected,
            vec![
                ("coco".into(), "coco-token".into(), ok("coco")),
                ("dd".into(), "dd-token".into(), ok("tt")),
                ("tt".into(), "tt-token".into(), ok("dd")),
            ],
        );
        assert!(verdicts[0].ok);
        for v in &verdicts[1..] {
            assert!(!v.ok);
            let problem = v.problem.as_deref().unwrap();
            assert!(problem.contains("swapped"), "{problem}");
            assert!(
                problem.contains("dd") && problem.contains("tt"),
                "{problem}"
            );
        }
    }

    #[test]
    fn slack_errors_and_strangers() {
        let expected = BTreeMap::from([("dd".to_string(), "dd".to_string())]);
        let refused = Ok(AuthTest {
            ok: false,
            error: Some("invalid_auth".into()),
            ..AuthTest::default()
        });
        let verdicts = judge(&expected, vec![("dd".into(), "dd-token".into(), refused)]);
        assert!(
            verdicts[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("invalid_auth")
        );
        let verdicts = judge(
            &expected,
            vec![("dd".into(), "dd-token".into(), ok("mystery"))],
        );
        assert!(
            verdicts[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("'mystery'")
        );
    }
}
