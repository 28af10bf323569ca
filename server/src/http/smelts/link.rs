//! Recordings given by link (`url` in `POST /api/smelts`): the link is checked with the
//! outbound guard of recording links (`SMELT_INGEST_ALLOWED_HOSTS`) before anything is charged
//! or queued, and becomes the smelt's one audio file, which the worker downloads (and checks
//! again) before decoding it.

use smelt_core::db::smelts::NewFile;
use smelt_core::domain::{ErrorCode, InputType};
use smelt_core::outbound::OutboundGuard;
use url::Url;
use uuid::Uuid;

use crate::http::error::ApiError;

/// Longest link accepted, in bytes (as for webhook URLs).
pub const MAX_URL_BYTES: usize = 2_000;
/// Name of a recording whose link has no last path segment to name it.
pub const LINK_FILENAME: &str = "recording";
/// Longest file name taken from a link, in characters.
const MAX_FILENAME_CHARS: usize = 255;

/// 400 `url_not_allowed`: a link the guard refuses. One answer for every reason, so that a
/// caller cannot learn which addresses answer behind the server.
pub fn not_allowed() -> ApiError {
    ApiError::bad_request("url_not_allowed", ErrorCode::UrlNotAllowed.message(None))
}

/// 400 `invalid_data` for a second `url` part: a smelt takes one link.
pub fn one_link_only() -> ApiError {
    ApiError::invalid_data("ONE LINK PER SMELT")
}

/// A link the guard let through: `https` to a public address, or a host the operator listed.
#[derive(Debug, Clone)]
pub struct Link(Url);

impl Link {
    /// Checks `url` completely (scheme, port, every address its host resolves to) without
    /// connecting. Errors: 400 `url_not_allowed` for anything the guard refuses, a host that
    /// does not resolve included.
    pub async fn check(guard: &OutboundGuard, url: &str) -> Result<Link, ApiError> {
        match guard.check(url).await {
            Ok(checked) => Ok(Link(checked)),
            Err(refused) => {
                tracing::info!(reason = %refused, "a recording link was refused");
                Err(not_allowed())
            }
        }
    }

    /// The file row of the recording: audio, named after the link's last path segment, its
    /// upload, size and duration unknown until the worker downloads it.
    pub fn file(&self) -> NewFile {
        NewFile {
            smelt_file_id: Uuid::now_v7(),
            position: 0,
            filename: filename(&self.0),
            size_bytes: 0,
            content_type: None,
            input_type: InputType::Audio,
            storage_key: None,
            duration_seconds: None,
            source_url: Some(self.0.to_string()),
        }
    }
}

/// The last segment of the link's path, percent-decoded, or [`LINK_FILENAME`] when it has
/// none (`https://example.com/`).
fn filename(url: &Url) -> String {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default();
    // The form decoder is the percent-decoder at hand; the characters it reads otherwise
    // (`+` as a space, `&` and `=` as separators) are escaped first, so only `%XX` changes.
    let decoded: String = url::form_urlencoded::parse(
        segment
            .replace('+', "%2B")
            .replace('&', "%26")
            .replace('=', "%3D")
            .as_bytes(),
    )
    .next()
    .map(|(name, _)| name.into_owned())
    .unwrap_or_default();
    let name: String = decoded
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect();
    if name.trim().is_empty() {
        LINK_FILENAME.to_owned()
    } else {
        name.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(url: &str) -> String {
        filename(&Url::parse(url).unwrap())
    }

    #[test]
    fn a_recording_is_named_after_the_last_segment_of_its_links_path() {
        assert_eq!(
            name_of("https://example.com/talks/keynote.mp3"),
            "keynote.mp3"
        );
        assert_eq!(
            name_of("https://example.com/a/b%20c+d.wav?x=1#t"),
            "b c+d.wav"
        );
        assert_eq!(name_of("https://example.com/a&b=c.ogg"), "a&b=c.ogg");
    }

    #[test]
    fn a_link_without_a_last_segment_names_its_recording_recording() {
        assert_eq!(name_of("https://example.com/"), "recording");
        assert_eq!(name_of("https://example.com"), "recording");
        assert_eq!(name_of("https://example.com/dir/"), "recording");
        assert_eq!(name_of("https://example.com/%0A"), "recording");
    }
}
