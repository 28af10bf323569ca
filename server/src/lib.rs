//! Smelt's server: REST API (`http`), authentication (`auth`), the realtime hub and sockets
//! (`realtime`), and the [`Application`] that wires them together. No speech engine: the
//! all-in-one `smelt` crate adds embedded workers through [`Application::spawn`].

pub mod app;
pub mod auth;
pub mod connections;
pub mod http;
pub mod limits;
pub mod realtime;
pub mod settings;
pub mod state;

pub use app::Application;
pub use settings::Settings;
