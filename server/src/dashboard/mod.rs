//! The dashboard: server-rendered pages (askama, from `templates/`), the embedded frontend
//! (`frontend/`, served from the binary) and the websockets that keep open pages live.
//!
//! Pages only read; every change a person makes goes through the JSON API from the browser, so
//! there is one way to change a release.

mod assets;
mod pages;
mod trust_pages;
mod view;
mod ws;

use actix_web::web;

/// Registers every dashboard route. Expects `web::Data<Store>`, `web::Data<ServerSettings>`,
/// `web::Data<LiveHub>` and `web::Data<Permissions>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::releases))
        .route("/releases/new", web::get().to(pages::new_release))
        .route("/releases/{id}", web::get().to(pages::release))
        .route("/releases/{id}/live", web::get().to(ws::release_live))
        .route("/live", web::get().to(ws::all_live))
        .route("/tokens", web::get().to(trust_pages::tokens))
        .route("/admin/tokens", web::get().to(trust_pages::every_token))
        .route("/audit", web::get().to(trust_pages::audit))
        .route("/assets/{path:.*}", web::get().to(assets::asset));
}
