//! Who may read what: a release is read (through the API, a page or a live feed) by those who
//! may read its app project at GitLab (`Permissions::require_reader`); an anonymous caller reads
//! only when Convoy was started with `--allow-anonymous` (then everything, read-only, as the
//! README documents).
//!
//! The audit log names people and what they tried: an admin reads all of it, a release manager
//! the entries of their app's releases, and everyone signed in their own attempts.

use actix_web::{HttpRequest, web};

use super::AuthError;
use super::identity::{Identity, caller};
use super::roles::{Need, Permissions};
use crate::settings::ServerSettings;

/// Which apps' releases a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable {
    /// Every app: an admin, or anyone under `--allow-anonymous`.
    Everything,
    /// Only these app projects.
    Apps(Vec<String>),
}

fn anonymous_reads(request: &HttpRequest) -> bool {
    request
        .app_data::<web::Data<ServerSettings>>()
        .is_some_and(|settings| settings.auth.allow_anonymous_reads)
}

/// The caller who reads: `Some` when signed in, `None` for an anonymous caller under
/// `--allow-anonymous` (who reads everything), 401 otherwise.
pub fn reader(request: &HttpRequest) -> Result<Option<Identity>, AuthError> {
    match caller(request) {
        Some(who) => Ok(Some(who)),
        None if anonymous_reads(request) => Ok(None),
        None => Err(AuthError::NotSignedIn),
    }
}

/// Ok when the caller may read the releases of `app_project`; 401 for an anonymous caller
/// (unless anonymous reads are allowed), 403 with the sentence otherwise.
pub async fn require_reader(
    request: &HttpRequest,
    permissions: &Permissions,
    app_project: &str,
) -> Result<(), AuthError> {
    match reader(request)? {
        Some(who) => permissions.require_reader(&who, app_project).await,
        None => Ok(()),
    }
}

/// Which of `apps` the caller may read. Asks GitLab once per app (through the role cache),
/// never once per release.
pub async fn readable_apps(
    request: &HttpRequest,
    permissions: &Permissions,
    apps: Vec<String>,
) -> Result<Readable, AuthError> {
    let Some(who) = reader(request)? else {
        return Ok(Readable::Everything);
    };
    if permissions.is_admin(&who) {
        return Ok(Readable::Everything);
    }
    let mut readable = Vec::new();
    for app in apps {
        if permissions.reads(&who, &app).await? {
            readable.push(app);
        }
    }
    Ok(Readable::Apps(readable))
}

/// What part of the audit log a caller asks for.
pub struct AuditAsk<'a> {
    /// The app of the release asked for (`release=N`), when one was.
    pub release_app: Option<&'a str>,
    /// The GitLab username asked for (`person=`), without `@`.
    pub person: Option<&'a str>,
}

/// Ok when the caller may read that part of the audit log: an admin anything; a release
/// manager one release of their app; anyone signed in their own attempts. 401 for anonymous
/// callers, even under `--allow-anonymous` (the log names people).
pub async fn require_audit_reader(
    request: &HttpRequest,
    permissions: &Permissions,
    ask: &AuditAsk<'_>,
) -> Result<Identity, AuthError> {
    let who = caller(request).ok_or(AuthError::NotSignedIn)?;
    if permissions.is_admin(&who) {
        return Ok(who);
    }
    if ask.person.is_some() && ask.person == who.username() {
        return Ok(who);
    }
    if let Some(app_project) = ask.release_app {
        let need = Need::ReleaseManager {
            app_project: app_project.to_string(),
            action: "reading the audit log of this release".to_string(),
        };
        // Reading needs no write access: a read-only token of a release manager may.
        let reader = Identity {
            read_only: false,
            ..who.clone()
        };
        permissions.require(&reader, &need).await?;
        return Ok(who);
    }
    Err(AuthError::Forbidden(
        "reading the whole audit log needs the admin role (an admin named in Convoy's configuration): ask for one release (release=N, as its release manager) or for your own attempts (person=your GitLab username)".to_string(),
    ))
}
