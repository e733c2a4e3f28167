//! The JSON API under `/api/v1`: start, list and follow releases, and act on them.
//!
//! Every mutation loads the release, asks the core's state machines whether the action is
//! allowed now, changes the database with compare-and-set transitions (which log the event and
//! wake the worker in the same transaction), then nudges the worker. The nudge is only a hint:
//! if it is lost, the worker's reconcile loop finds the woken release anyway.

pub mod audit;
pub mod components;
pub mod errors;
pub mod openapi;
pub mod releases;
pub mod tokens;

use actix_web::{HttpResponse, web};
use convoy_core::ComponentEvent;
use convoy_core::actions::{self, ComponentAction, ComponentFacts, ReleaseAction};
use convoy_core::component::{self, ComponentTransition};
use convoy_core::main_release::MainReleaseTransition;
use convoy_store::{ComponentRelease, MainRelease, Store};
use convoy_store::{Job, Jobs};

use crate::settings::ServerSettings;
use crate::views::{self, release_detail};

/// Every route of the API, in one table: [`configure`] registers exactly these, and the
/// OpenAPI test checks that each is in the document with its method.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Method (lowercase) and path under `/api/v1` of every API route.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn register(scope: actix_web::Scope) -> actix_web::Scope {
            scope$(.route($path, web::$method().to($handler)))*
        }
    };
}

api_routes! {
    post "/releases" => releases::create_release;
    get "/releases" => releases::list_releases;
    get "/releases/{id}" => releases::get_release;
    get "/releases/{id}/events" => releases::release_events;
    get "/releases/{id}/notifications" => releases::release_notifications;
    get "/releases/{id}/permissions" => releases::my_permissions;
    post "/releases/{id}/deploy" => releases::deploy_release;
    post "/releases/{id}/retry" => releases::retry_release;
    post "/releases/{id}/cancel" => releases::cancel_release;
    put "/releases/{id}/components/{name}/version" => components::set_version;
    post "/releases/{id}/components/{name}/deploy" => components::deploy_component;
    post "/releases/{id}/components/{name}/reviewed" => components::mark_reviewed;
    post "/releases/{id}/components/{name}/released" => components::mark_released;
    post "/releases/{id}/components/{name}/retry" => components::retry_component;
    post "/releases/{id}/components/{name}/cancel" => components::cancel_component;
    post "/tokens" => tokens::create_token;
    get "/tokens" => tokens::list_tokens;
    delete "/tokens/{id}" => tokens::revoke_token;
    get "/admin/tokens" => tokens::list_every_token;
    delete "/admin/tokens/{id}" => tokens::revoke_any_token;
    get "/audit" => audit::list_audit;
}

/// The methods (uppercase) the API answers at `path` (a full path, `/api/v1/releases/3`):
/// empty when no route has that shape.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let Some(rest) = path.strip_prefix("/api/v1") else {
        return Vec::new();
    };
    let mut allowed: Vec<&'static str> = ROUTES
        .iter()
        .filter(|(_, pattern)| route_matches(pattern, rest))
        .map(|(method, _)| match *method {
            "get" => "GET",
            "post" => "POST",
            "put" => "PUT",
            "delete" => "DELETE",
            "patch" => "PATCH",
            other => other,
        })
        .collect();
    if matches!(rest, "/openapi.json" | "/docs") {
        allowed.push("GET");
    }
    allowed.sort_unstable();
    allowed.dedup();
    allowed
}

/// Whether `path` has the shape of `pattern` (`{…}` stands for one non-empty segment, as in
/// actix's routing).
fn route_matches(pattern: &str, path: &str) -> bool {
    let mut given = path.split('/');
    let mut expected = pattern.split('/');
    loop {
        match (expected.next(), given.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let placeholder = want.starts_with('{') && want.ends_with('}');
                if (placeholder && got.is_empty()) || (!placeholder && want != got) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Registers the API's routes, and its description (`openapi.json`, and the page `docs`, which
/// describe the API rather than being part of it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let scope = web::scope("/api/v1")
        .app_data(
            web::JsonConfig::default()
                .limit(1024 * 1024)
                .error_handler(errors::json_error),
        )
        .app_data(web::PathConfig::default().error_handler(errors::path_error))
        .app_data(web::QueryConfig::default().error_handler(errors::query_error))
        .route("/openapi.json", web::get().to(openapi::openapi_json))
        .route("/docs", web::get().to(openapi::page));
    cfg.service(register(scope).default_service(web::to(errors::unknown_endpoint)));
}

/// Hands a job to the worker. A lost nudge only delays the work until the next reconcile, so
/// a failure is logged and the request still succeeds.
pub async fn nudge(jobs: &dyn Jobs, job: Job) {
    if let Err(error) = jobs.push(job.clone()).await {
        tracing::warn!(?job, error = %format!("{error:#}"), "could not push a job; the reconcile loop will pick the work up");
    }
}

/// Loads release `id`, or answers 404.
pub(crate) async fn load_release(
    store: &Store,
    id: i64,
) -> Result<MainRelease, errors::ActionError> {
    store
        .main_release(id)
        .await?
        .ok_or(errors::ActionError::ReleaseNotFound(id))
}

/// Whether the release offers `action` now: the API allows exactly what the release's
/// `actions` list (and the page's buttons) offer.
pub(crate) fn offers(
    release: &MainRelease,
    components: &[ComponentRelease],
    action: ReleaseAction,
) -> bool {
    let components: Vec<ComponentFacts> = components.iter().map(views::component_facts).collect();
    actions::release_actions(views::release_facts(release), &components).contains(&action)
}

/// Whether component `c` offers `action` now (see [`offers`]).
pub(crate) fn component_offers(
    release: &MainRelease,
    c: &ComponentRelease,
    action: ComponentAction,
) -> bool {
    actions::component_actions(views::release_facts(release), views::component_facts(c))
        .contains(&action)
}

/// Records the release's transition (decided by the core) in the name of `actor`, if nobody
/// changed the release since it was read.
pub(crate) async fn move_release(
    store: &Store,
    release: &MainRelease,
    transition: MainReleaseTransition,
    actor: &str,
) -> Result<(), errors::ActionError> {
    changed_meanwhile_unless(store.apply_release(release, &transition, actor).await?)
}

/// Records the component's transition (decided by the core) in the name of `actor`, if nobody
/// changed the component since it was read.
pub(crate) async fn move_component(
    store: &Store,
    component: &ComponentRelease,
    transition: ComponentTransition,
    actor: &str,
) -> Result<(), errors::ActionError> {
    changed_meanwhile_unless(store.apply_component(component, &transition, actor).await?)
}

/// A lost compare-and-set, in the API's words.
fn changed_meanwhile_unless(applied: bool) -> Result<(), errors::ActionError> {
    if applied {
        Ok(())
    } else {
        Err(errors::ActionError::ChangedMeanwhile)
    }
}

/// Applies `event` to every component the core lets it apply to; returns how many moved. A
/// component someone changed meanwhile keeps their change, and the rest still move.
pub(crate) async fn move_components(
    store: &Store,
    components: &[ComponentRelease],
    event: &ComponentEvent,
    actor: &str,
) -> Result<usize, errors::ActionError> {
    let transitions: Vec<_> = components
        .iter()
        .filter_map(|c| Some((c, component::decide(c.state, event).ok()?)))
        .collect();
    Ok(store.apply_components(&transitions, actor).await?)
}

/// The answer to every successful action: the release as it is now.
pub(crate) async fn fresh_detail(
    store: &Store,
    settings: &ServerSettings,
    id: i64,
) -> Result<HttpResponse, errors::ActionError> {
    let detail = release_detail(store, &settings.forge_web_url, id)
        .await?
        .ok_or(errors::ActionError::ReleaseNotFound(id))?;
    Ok(HttpResponse::Ok().json(detail))
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    #[test]
    fn a_known_path_names_its_methods_and_an_unknown_one_none() {
        assert_eq!(allowed_methods("/api/v1/releases"), ["GET", "POST"]);
        assert_eq!(allowed_methods("/api/v1/releases/3/cancel"), ["POST"]);
        assert_eq!(
            allowed_methods("/api/v1/releases/3/components/NetworkKit/version"),
            ["PUT"]
        );
        assert_eq!(allowed_methods("/api/v1/tokens/7"), ["DELETE"]);
        assert!(allowed_methods("/api/v1/releases//cancel").is_empty());
        assert!(allowed_methods("/api/v1/nothing").is_empty());
        assert!(allowed_methods("/api/v1/releases/3/cancel/more").is_empty());
        assert!(allowed_methods("/releases").is_empty());
    }
}
