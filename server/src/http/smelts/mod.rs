//! `/api/smelts`: create (multipart), read one, list, delete (`docs/api.md#smelts`).

mod access;
mod cancel;
pub(crate) mod create;
mod delete;
pub(crate) mod form;
mod link;
mod read;
pub mod schema;
mod transcript;

use axum::extract::DefaultBodyLimit;
use smelt_core::limits::Limits;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Routes of the smelts resource. The create request may be as large as every file at its
/// maximum plus the text fields and the multipart framing; larger bodies fail while
/// streaming, never by buffering.
pub fn router(limits: &Limits) -> OpenApiRouter<AppState> {
    let (schemas, paths, collection) = routes!(read::list, create::create);
    OpenApiRouter::new()
        .routes((
            schemas,
            paths,
            collection.layer(DefaultBodyLimit::max(limits.max_create_body_bytes())),
        ))
        .routes(routes!(read::get_one, delete::delete_one))
        .routes(routes!(cancel::cancel))
        .routes(routes!(transcript::smelt_transcript))
        .routes(routes!(transcript::file_transcript))
}
