//! `/api/smelts`: create (multipart), read one, list (`spec/smelts-api.md`), delete.

mod access;
mod cancel;
mod create;
mod delete;
mod form;
mod read;
pub mod schema;
mod transcript;

use axum::extract::DefaultBodyLimit;
use smelt_core::domain::{MAX_FILES, MAX_FILE_BYTES};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Largest accepted create request: five maximal files plus room for the text fields and the
/// multipart framing. Larger bodies fail while streaming, never by buffering.
pub const MAX_CREATE_BODY_BYTES: usize = MAX_FILES * MAX_FILE_BYTES as usize + 2 * 1024 * 1024;

/// Routes of the smelts resource.
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, collection) = routes!(read::list, create::create);
    OpenApiRouter::new()
        .routes((
            schemas,
            paths,
            collection.layer(DefaultBodyLimit::max(MAX_CREATE_BODY_BYTES)),
        ))
        .routes(routes!(read::get_one, delete::delete_one))
        .routes(routes!(cancel::cancel))
        .routes(routes!(transcript::smelt_transcript))
        .routes(routes!(transcript::file_transcript))
}
