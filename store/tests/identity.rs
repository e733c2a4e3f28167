//! Users, sessions, personal API tokens and the audit log, on SQLite and PostgreSQL.

// Only some of the shared helpers are used here.
#[allow(dead_code)]
mod support;

use chrono::{Duration, Utc};
use convoy_store::{AuditFilter, NewApiToken, NewAuditEntry, UserRecord};
use support::TestDb;

on_both_databases!(
    a_session_is_found_by_its_digest_until_it_ends,
    a_pending_sign_in_is_taken_once,
    tokens_are_listed_without_secrets_and_revoked_once,
    the_audit_log_filters_by_release_person_and_action,
);

fn jose() -> UserRecord {
    UserRecord {
        id: 42,
        username: "jose".to_string(),
        name: "José Núñez".to_string(),
    }
}

async fn a_session_is_found_by_its_digest_until_it_ends(db: &TestDb) {
    let store = db.store().await;
    store.upsert_user(&jose()).await.unwrap();
    let expires = Utc::now() + Duration::hours(1);
    store
        .create_session("digest-1", 42, "csrf-1", expires)
        .await
        .unwrap();
    let session = store.session("digest-1").await.unwrap().unwrap();
    assert_eq!(session.user, jose());
    assert_eq!(session.csrf_token, "csrf-1");
    assert!(store.session("other").await.unwrap().is_none());

    store.end_session("digest-1").await.unwrap();
    assert!(store.session("digest-1").await.unwrap().is_none());

    store
        .create_session("digest-2", 42, "csrf-2", Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    assert!(
        store.session("digest-2").await.unwrap().is_none(),
        "expired"
    );
}

async fn a_pending_sign_in_is_taken_once(db: &TestDb) {
    let store = db.store().await;
    store
        .add_pending_sign_in("state", "verifier")
        .await
        .unwrap();
    assert_eq!(
        store
            .take_pending_sign_in("state")
            .await
            .unwrap()
            .as_deref(),
        Some("verifier")
    );
    assert!(store.take_pending_sign_in("state").await.unwrap().is_none());
}

async fn tokens_are_listed_without_secrets_and_revoked_once(db: &TestDb) {
    let store = db.store().await;
    store.upsert_user(&jose()).await.unwrap();
    let id = store
        .create_api_token(&NewApiToken {
            secret_hash: "token-digest",
            user_id: 42,
            name: "ci",
            read_only: true,
            expires_at: Utc::now() + Duration::days(7),
        })
        .await
        .unwrap();
    let found = store
        .api_token_by_hash("token-digest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.read_only, found.user), (id, true, jose()));
    assert!(!store.revoke_api_token(id, 7).await.unwrap(), "not jose's");
    assert!(store.revoke_api_token(id, 42).await.unwrap());
    assert!(
        !store.revoke_api_token(id, 42).await.unwrap(),
        "revoked once"
    );
    let listed = store.api_tokens_of(42).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
}

async fn the_audit_log_filters_by_release_person_and_action(db: &TestDb) {
    let store = db.store().await;
    store.upsert_user(&jose()).await.unwrap();
    let entry =
        |user_id: Option<i64>, action: &str, release_id: Option<i64>, status: u16| NewAuditEntry {
            user_id,
            actor: "José Núñez (@jose)".to_string(),
            via: "session 1".to_string(),
            action: action.to_string(),
            method: "POST".to_string(),
            path: "/api/v1/releases/1/cancel".to_string(),
            release_id,
            component: None,
            status,
            message: (status == 403).then(|| "needs the release manager role".to_string()),
        };
    store
        .record_audit(&entry(Some(42), "cancel release", Some(1), 403))
        .await
        .unwrap();
    store
        .record_audit(&entry(Some(42), "deploy release", Some(2), 200))
        .await
        .unwrap();
    store
        .record_audit(&entry(None, "cancel release", Some(1), 200))
        .await
        .unwrap();
    let page = |filter: AuditFilter| {
        let store = store.clone();
        async move { store.audit_entries(&filter).await.unwrap() }
    };
    let all = AuditFilter {
        page: 1,
        per_page: 10,
        ..AuditFilter::default()
    };
    let (entries, total) = page(all.clone()).await;
    assert_eq!((entries.len(), total), (3, 3));
    assert!(entries[0].id > entries[1].id, "newest first");
    let (entries, total) = page(AuditFilter {
        person: Some("jose".to_string()),
        action: Some("cancel release".to_string()),
        release_id: Some(1),
        ..all.clone()
    })
    .await;
    assert_eq!(total, 1);
    assert_eq!(entries[0].status, 403);
    assert_eq!(entries[0].actor, "José Núñez (@jose)");
    let (entries, total) = page(AuditFilter {
        page: 2,
        per_page: 2,
        ..all
    })
    .await;
    assert_eq!((entries.len(), total), (1, 3));
}
