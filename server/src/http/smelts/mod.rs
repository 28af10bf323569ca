//! `/api/smelts`: create (multipart), read one, list (`spec/smelts-api.md`), delete.

mod create;
mod delete;
mod form;
mod read;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use smelt_core::domain::{MAX_FILES, MAX_FILE_BYTES};

use crate::state::AppState;

/// Largest accepted create request: five maximal files plus room for the text fields and the
/// multipart framing. Larger bodies fail while streaming, never by buffering.
pub const MAX_CREATE_BODY_BYTES: usize = MAX_FILES * MAX_FILE_BYTES as usize + 2 * 1024 * 1024;

/// Routes of the smelts resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/smelts",
            get(read::list)
                .post(create::create)
                .layer(DefaultBodyLimit::max(MAX_CREATE_BODY_BYTES)),
        )
        .route(
            "/smelts/{id}",
            get(read::get_one).delete(delete::delete_one),
        )
}
