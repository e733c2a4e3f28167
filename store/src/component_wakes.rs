//! Which components of a release the worker's next pass must look at.
//!
//! A pass steps the components that are ready, those in states that always need a step, and
//! those whose wake flag is set here: a webhook for their project, a transition whose next step
//! needs no outside news, or reconcile's periodic full look. Everything else waits for news, so
//! a pass costs what changed, not the size of the release.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::Store;
use crate::error::StoreError;
use crate::releases::active_states;

/// What [`Store::wake_projects`] woke.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProjectWakes {
    /// Per project, the active releases with a component in it.
    pub releases: BTreeMap<String, BTreeSet<i64>>,
    /// The releases whose wake flag was not raised already: only these need a nudge. A raised
    /// flag has its nudge on the way, or a pass in progress that sees it.
    pub raised: BTreeSet<i64>,
}

impl Store {
    /// The components of release `release_id` woken since their last settled look, each with
    /// its wake count as read now (pass it back to [`Store::settle_component_wake`]).
    pub async fn component_wakes(&self, release_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, wake_requested FROM component_releases \
             WHERE release_id = $1 AND wake_requested > 0 ORDER BY id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Clears component `component_id`'s wake-ups once a pass has looked at it, unless a new
    /// one came meanwhile (its count moved past `seen`): a worker that dies mid-pass, or news
    /// that arrives during the look, leaves it woken for the next pass.
    pub async fn settle_component_wake(
        &self,
        component_id: i64,
        seen: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE component_releases SET wake_requested = 0 \
             WHERE id = $1 AND wake_requested = $2",
        )
        .bind(component_id)
        .bind(seen)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Asks the next pass to look at component `component_id`. Returns its wake count now
    /// (for [`Store::settle_component_wake`] once a look consumed it), `None` if there is no
    /// such component.
    pub async fn request_component_wake(
        &self,
        component_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE component_releases SET wake_requested = wake_requested + 1 WHERE id = $1 \
             RETURNING wake_requested",
        )
        .bind(component_id)
        .fetch_optional(&self.writer)
        .await?)
    }

    /// Wakes every component in each of `projects` that belongs to an active release, and
    /// those releases, in one transaction (a webhook batch costs one commit).
    pub async fn wake_projects(&self, projects: &[&str]) -> Result<ProjectWakes, StoreError> {
        let mut wakes = ProjectWakes::default();
        let mut tx = self.begin_write().await?;
        for &project in projects {
            let releases: Vec<i64> = sqlx::query_scalar(concat!(
                "SELECT DISTINCT c.release_id FROM component_releases c \
                 JOIN main_releases m ON m.id = c.release_id \
                 WHERE c.project_path = $1 AND m.state IN ",
                active_states!(),
                " ORDER BY c.release_id"
            ))
            .bind(project)
            .fetch_all(&mut *tx)
            .await?;
            for &release_id in &releases {
                // The release's row first, as every writer of a release takes it.
                let raised = sqlx::query(
                    "UPDATE main_releases SET wake_requested = 1 \
                     WHERE id = $1 AND wake_requested <> 1",
                )
                .bind(release_id)
                .execute(&mut *tx)
                .await?;
                if raised.rows_affected() == 1 {
                    wakes.raised.insert(release_id);
                }
                sqlx::query(
                    "UPDATE component_releases SET wake_requested = wake_requested + 1 \
                     WHERE release_id = $1 AND project_path = $2",
                )
                .bind(release_id)
                .bind(project)
                .execute(&mut *tx)
                .await?;
            }
            wakes
                .releases
                .insert(project.to_owned(), releases.into_iter().collect());
        }
        tx.commit().await?;
        Ok(wakes)
    }

    /// Wakes every canceled component whose current merge request is recorded open with
    /// auto-merge set, and its release: reconcile's guarantee that a withdrawal a worker never
    /// finished is made, whatever happened to the wake flags. Returns the releases woken.
    pub async fn wake_canceled_with_auto_merge(&self) -> Result<Vec<i64>, StoreError> {
        let mut releases: Vec<i64> = sqlx::query_scalar(
            "UPDATE component_releases SET wake_requested = wake_requested + 1 \
             WHERE state = 'canceled' AND id IN ( \
               SELECT mr.component_id FROM merge_requests mr \
               JOIN component_releases c \
                 ON c.id = mr.component_id AND c.merge_request_iid = mr.iid \
               WHERE mr.auto_merge = 1 AND mr.state = 'opened') \
             RETURNING release_id",
        )
        .fetch_all(&self.writer)
        .await?;
        releases.sort_unstable();
        releases.dedup();
        for &release_id in &releases {
            self.request_wake(release_id).await?;
        }
        Ok(releases)
    }

    /// Asks the next pass to look at every component of release `release_id` that follows
    /// something at GitLab (reconcile's full look: webhooks may have been lost), and wakes the
    /// release. Left out: components that wait for their dependencies (waiting, or pending
    /// before Convoy acted; a pass looks at each once it is ready) and those that ended.
    pub async fn request_full_look(&self, release_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE component_releases SET wake_requested = wake_requested + 1 \
             WHERE release_id = $1 \
             AND (state IN ('preparing', 'merged', 'deploying', 'canceled') \
                  OR (state = 'pending' AND acted = 1))",
        )
        .bind(release_id)
        .execute(&self.writer)
        .await?;
        self.request_wake(release_id).await
    }
}
