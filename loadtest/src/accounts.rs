//! Signed-in users for the create load, set up through the API so that every smelt is allowed
//! by the credit rules as they are: users with an own API key (unlimited), or fresh users with
//! their five weekly credits.
//!
//! Users are those of an external issuer sharing the server's JWT secret (as Supabase Auth
//! users are): an access token with `sub` = a new user id; the server creates their profile on
//! first use.

use anyhow::{ensure, Context};
use futures::{stream, StreamExt, TryStreamExt};
use smelt_core::tokens::{TokenKeys, ACCESS_AUDIENCE};
use uuid::Uuid;

/// Set-up requests in flight at once.
const SETUP_CONCURRENCY: usize = 16;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    /// The user's id (`sub` of the token).
    pub user_id: Uuid,
    /// `Authorization: Bearer` access token.
    pub token: String,
}

/// `count` new users with tokens valid `ttl_secs`.
pub fn new_users(keys: &TokenKeys, count: usize, ttl_secs: u64) -> Vec<User> {
    (0..count)
        .map(|_| {
            let user_id = Uuid::new_v4();
            User {
                user_id,
                token: keys.sign(user_id, ACCESS_AUDIENCE, ttl_secs, Some("authenticated")),
            }
        })
        .collect()
}

/// Saves an own API key for each user with `PUT /api/profile/api-key`, checked by the server
/// against the provider at `provider_base_url`.
pub async fn save_own_keys(
    http: &reqwest::Client,
    server: &str,
    users: &[User],
    provider_base_url: &str,
) -> anyhow::Result<()> {
    let request = |user: &User| {
        http.put(format!("http://{server}/api/profile/api-key"))
            .bearer_auth(&user.token)
            .json(&serde_json::json!({
                "api_key": format!("sk-load-{}", user.user_id.simple()),
                "base_url": provider_base_url,
            }))
    };
    let accepted = |body: &serde_json::Value| body["api_key_status"] == "valid";
    set_up_each(users, "saving an own API key", request, accepted)
        .await
        .context("setting up users with own keys")
}

/// Creates each user's profile with `GET /api/profile` and checks it holds `credits` credits.
pub async fn open_profiles(
    http: &reqwest::Client,
    server: &str,
    users: &[User],
    credits: i64,
) -> anyhow::Result<()> {
    let request = |user: &User| {
        http.get(format!("http://{server}/api/profile"))
            .bearer_auth(&user.token)
    };
    let accepted = |body: &serde_json::Value| body["credits_remaining"].as_i64() == Some(credits);
    set_up_each(users, "opening a profile", request, accepted)
        .await
        .context("setting up users with weekly credits")
}

/// Sends `request` for each user, [`SETUP_CONCURRENCY`] at a time. Fails on the first answer
/// that is not a 2xx or whose JSON body `accepted` refuses, naming `what`, the status and body.
async fn set_up_each(
    users: &[User],
    what: &str,
    request: impl Fn(&User) -> reqwest::RequestBuilder,
    accepted: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<()> {
    let (request, accepted) = (&request, &accepted);
    stream::iter(users)
        .map(|user| async move {
            let response = request(user)
                .send()
                .await
                .context("the server did not answer")?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            ensure!(
                status.is_success() && accepted(&body),
                "{what}: HTTP {status}: {body}"
            );
            Ok::<(), anyhow::Error>(())
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<()>()
        .await
}
