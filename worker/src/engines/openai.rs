//! A client for OpenAI-compatible APIs (OpenAI, Groq, Ollama, llama.cpp, vLLM):
//! `POST {base}/audio/transcriptions` and `POST {base}/chat/completions`.
//!
//! Provider errors are classified into the smelt error codes (`docs/api.md#smelt-error-codes`):
//! 401/403 → the key is invalid; 429 with `insufficient_quota` → quota exhausted (not
//! retried); other 429 → rate limited (retried, honouring `Retry-After` up to a cap; a longer
//! wait fails at once); 5xx, timeouts and connection failures → retried with exponential
//! backoff (backon), then unavailable (the job is redelivered later); other 4xx → failed. An
//! answer longer than [`MAX_RESPONSE_BYTES`] is not read further and fails.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Why a provider call failed, after any retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// 401/403: the key was refused.
    #[error("the provider refused the API key")]
    KeyInvalid,
    /// 429 that outlasted the retries; `retry_after_secs` as the provider said (or guessed).
    #[error("rate limited by the provider (retry after {retry_after_secs} s)")]
    RateLimited { retry_after_secs: u64 },
    /// The account has no quota left (`insufficient_quota`).
    #[error("the provider account has no quota left")]
    QuotaExhausted,
    /// 5xx, timeouts or unreachable, after retries: the provider may recover later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// Another 4xx, or an answer without the expected content: retrying will not help.
    #[error("provider call failed: {0}")]
    Failed(String),
}

/// A provider's transcription of one request (OpenAI's `verbose_json` shape). Times are
/// seconds from the start of the audio sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderTranscript {
    pub text: String,
    pub segments: Vec<ProviderSegment>,
    /// Word timings, when they were asked for and the provider gave them.
    pub words: Option<Vec<ProviderWord>>,
}

/// One segment of a [`ProviderTranscript`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSegment {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
}

/// One word of a [`ProviderTranscript`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderWord {
    pub word: String,
    pub start_secs: f64,
    pub end_secs: f64,
}

/// Most bytes of a provider's answer that are read (16 MiB): a verbose transcription of the
/// longest request with word timings is well under 1 MiB, and a provider that streams without
/// end must not fill a worker's memory.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Counts one provider call by its outcome in `smelt_provider_calls_total`.
fn record_call(outcome: &'static str) {
    metrics::counter!(smelt_core::metrics::PROVIDER_CALLS, "outcome" => outcome).increment(1);
}

/// One failed attempt: the classified error, whether to retry, and the provider's
/// `Retry-After`.
#[derive(Debug)]
struct Attempt {
    error: ProviderError,
    retry: bool,
    retry_after: Option<Duration>,
}

/// Connection settings of one provider.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    /// Total attempts per call (first try included).
    pub max_attempts: usize,
    /// First backoff delay; doubled per retry.
    pub retry_base: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the call at once.
    pub max_retry_after: Duration,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenAiClient {
    /// A client for `base_url` (e.g. `https://api.openai.com/v1`) and `api_key` over `http`
    /// (which carries the request timeout, and for a user-chosen URL the outbound guard).
    /// `max_retry_after`: the longest `Retry-After` honoured.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        api_key: &str,
        max_attempts: usize,
        retry_base: Duration,
        max_retry_after: Duration,
    ) -> Self {
        OpenAiClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            max_attempts: max_attempts.max(1),
            retry_base,
            max_retry_after,
        }
    }

    /// Runs `call` with retries for the retryable failures.
    async fn with_retries<F, Fut>(&self, call: F) -> Result<Value, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, Attempt>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry_base)
            .with_max_delay(Duration::from_secs(60))
            .with_max_times(self.max_attempts - 1)
            .with_jitter();
        call.retry(backoff)
            .when(|a: &Attempt| a.retry)
            .adjust(|a: &Attempt, next| next.map(|d| a.retry_after.unwrap_or(d)))
            .await
            .map_err(|a| a.error)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, Attempt> {
        let response = request
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|e| {
                record_call("unavailable");
                Attempt {
                    error: ProviderError::Unavailable(e.without_url().to_string()),
                    retry: true,
                    retry_after: None,
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match read_capped(response).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(error) => {
                record_call("failed");
                return Err(Attempt {
                    error,
                    retry: false,
                    retry_after: None,
                });
            }
        };
        if status.is_success() {
            record_call("ok");
            return Ok(body);
        }
        let error = &body["error"];
        let quota = error["code"] == "insufficient_quota" || error["type"] == "insufficient_quota";
        let (error, retry) = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => (ProviderError::KeyInvalid, false),
            StatusCode::TOO_MANY_REQUESTS if quota => (ProviderError::QuotaExhausted, false),
            // A wait longer than the cap is not waited for: the smelt fails now and says
            // how long the provider asked for.
            StatusCode::TOO_MANY_REQUESTS => (
                ProviderError::RateLimited {
                    retry_after_secs: retry_after.map_or(60, |d| d.as_secs().max(1)),
                },
                retry_after.is_none_or(|d| d <= self.max_retry_after),
            ),
            s if s.is_server_error() => (
                ProviderError::Unavailable(format!("provider answered {s}")),
                true,
            ),
            s => (
                ProviderError::Failed(format!("provider answered {s}: {}", error["message"])),
                false,
            ),
        };
        record_call(match &error {
            ProviderError::KeyInvalid => "key_invalid",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::QuotaExhausted => "quota_exhausted",
            ProviderError::Unavailable(_) => "unavailable",
            ProviderError::Failed(_) => "failed",
        });
        Err(Attempt {
            error,
            retry,
            retry_after,
        })
    }

    /// Transcribes one WAV file with `response_format=verbose_json` (and, with `words`,
    /// `timestamp_granularities[]=word` as well as `segment`). Providers that give no segments
    /// are answered with the whole text as one.
    pub async fn transcribe(
        &self,
        wav: Vec<u8>,
        model: &str,
        words: bool,
        language: Option<&str>,
        translate: bool,
    ) -> Result<ProviderTranscript, ProviderError> {
        // A translation has its own endpoint, which takes no language (it always answers in
        // English) and no word timings.
        let endpoint = if translate {
            "translations"
        } else {
            "transcriptions"
        };
        let url = format!("{}/audio/{endpoint}", self.base_url);
        let body = self
            .with_retries(|| {
                let part = reqwest::multipart::Part::bytes(wav.clone())
                    .file_name("audio.wav")
                    .mime_str("audio/wav")
                    .expect("a valid MIME type");
                let mut form = reqwest::multipart::Form::new()
                    .part("file", part)
                    .text("model", model.to_owned())
                    .text("response_format", "verbose_json");
                if words && !translate {
                    form = form
                        .text("timestamp_granularities[]", "segment")
                        .text("timestamp_granularities[]", "word");
                }
                if let Some(language) = language.filter(|_| !translate) {
                    form = form.text("language", language.to_owned());
                }
                self.send(self.http.post(&url).multipart(form))
            })
            .await?;
        let number = |v: &Value| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0);
        let segments = body["segments"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| {
                        let start = number(&s["start"])?;
                        Some(ProviderSegment {
                            start_secs: start,
                            end_secs: number(&s["end"]).unwrap_or(start).max(start),
                            text: s["text"].as_str()?.trim().to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let words = body["words"].as_array().map(|list| {
            list.iter()
                .filter_map(|w| {
                    let start = number(&w["start"])?;
                    Some(ProviderWord {
                        word: w["word"].as_str()?.trim().to_owned(),
                        start_secs: start,
                        end_secs: number(&w["end"]).unwrap_or(start).max(start),
                    })
                })
                .collect()
        });
        Ok(ProviderTranscript {
            text: body["text"].as_str().unwrap_or_default().trim().to_owned(),
            segments,
            words,
        })
    }

    /// One chat completion: `system` instructions and `user` content; returns the reply.
    pub async fn chat(
        &self,
        model: &str,
        system: &str,
        user: &str,
    ) -> Result<String, ProviderError> {
        let url = format!("{}/chat/completions", self.base_url);
        let request = json!({
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0.2,
        });
        let body = self
            .with_retries(|| self.send(self.http.post(&url).json(&request)))
            .await?;
        body["choices"][0]["message"]["content"]
            .as_str()
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| ProviderError::Failed("the completion had no message content".into()))
    }
}

/// Reads an answer's body, at most [`MAX_RESPONSE_BYTES`] of it.
///
/// # Errors
/// [`ProviderError::Failed`] for a longer answer, [`ProviderError::Unavailable`] when the
/// connection fails while reading (or the request's timeout passes).
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ProviderError::Failed(format!(
                "the provider's answer is longer than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
