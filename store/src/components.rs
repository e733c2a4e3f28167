//! Component releases and the release plan they form.

use std::collections::HashMap;
use std::sync::Arc;

use convoy_core::StateName;
use convoy_core::main_release::MainReleaseTransition;
use convoy_core::notices::Mention;
use convoy_core::{ComponentState, MainReleaseState, PlannedComponent, ReleasePlan};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{
    Store, flag, lock_and_wake_release, not_found_unless_changed, now, optional_unsigned,
    parse_flag, parse_state, parse_time, time_text, wake_release,
};
use crate::error::StoreError;
use crate::events::{EventInsert, insert_event};
use crate::model::{Change, ComponentRelease};
use crate::releases::move_release_in;

impl Store {
    /// Stores the plan of release `release_id`: one component per planned component, in plan
    /// order, in state waiting, with the plan's edges and a "planned" event each.
    ///
    /// Idempotent: when the release has components already, stores nothing and returns them.
    pub async fn save_plan(
        &self,
        release_id: i64,
        plan: &ReleasePlan,
        actor: &str,
    ) -> Result<Vec<ComponentRelease>, StoreError> {
        let mut tx = self.writer.begin().await?;
        // The release's row lock makes a concurrent save_plan wait, then see our components.
        lock_and_wake_release(&mut tx, release_id).await?;
        let saved = insert_plan(&mut tx, release_id, plan, actor).await?;
        self.commit_events(tx).await?;
        Ok(saved)
    }

    /// Ends the analysis of release `release_id`: records where its manifest is, stores the
    /// plan (as `save_plan`) and moves the release from analyzing as `analyzed` says (the
    /// core's transition for `MainReleaseEvent::Analyzed`), in one transaction — only if the
    /// release is still analyzing when the transaction holds its row. Returns false, writing
    /// nothing, when it is not (a cancel came during analysis).
    pub async fn save_analysis(
        &self,
        release_id: i64,
        manifest: (&str, &str),
        plan: &ReleasePlan,
        analyzed: &MainReleaseTransition,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let change = crate::apply::release_change(analyzed, actor);
        let (manifest_path, manifest_commit_id) = manifest;
        let mut tx = self.writer.begin().await?;
        lock_and_wake_release(&mut tx, release_id).await?;
        let state: String = sqlx::query_scalar("SELECT state FROM main_releases WHERE id = $1")
            .bind(release_id)
            .fetch_one(&mut *tx)
            .await?;
        if state != MainReleaseState::Analyzing.as_str() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE main_releases SET manifest_path = $2, manifest_commit_id = $3 WHERE id = $1",
        )
        .bind(release_id)
        .bind(manifest_path)
        .bind(manifest_commit_id)
        .execute(&mut *tx)
        .await?;
        insert_plan(&mut tx, release_id, plan, actor).await?;
        let moved = move_release_in(
            &mut tx,
            release_id,
            MainReleaseState::Analyzing,
            analyzed.state,
            &change,
        )
        .await?;
        if !moved {
            return Ok(false);
        }
        self.commit_events(tx).await?;
        Ok(true)
    }

    /// The stored plan of release `release_id`, in plan order (empty when none is stored).
    /// A stored plan never changes, so each process reads it once (see [`PlanCache`]).
    pub async fn plan(&self, release_id: i64) -> Result<Arc<ReleasePlan>, StoreError> {
        if let Some(plan) = self.plans.get(release_id) {
            return Ok(plan);
        }
        let plan = Arc::new(self.read_plan(release_id).await?);
        if !plan.components.is_empty() {
            self.plans.put(release_id, plan.clone());
        }
        Ok(plan)
    }

    async fn read_plan(&self, release_id: i64) -> Result<ReleasePlan, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let components = fetch_components(&mut conn, release_id).await?;
        let mut dependencies = fetch_dependencies(&mut conn, release_id).await?;
        let components = components
            .into_iter()
            .map(|component| {
                let mut depends_on = dependencies.remove(&component.id).unwrap_or_default();
                depends_on.sort();
                planned_from_component(component, depends_on)
            })
            .collect::<Result<_, _>>()?;
        Ok(ReleasePlan { components })
    }

    /// The components of release `release_id`, in plan order.
    pub async fn components(&self, release_id: i64) -> Result<Vec<ComponentRelease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_components(&mut conn, release_id).await
    }

    pub async fn component(&self, id: i64) -> Result<Option<ComponentRelease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_component(&mut conn, id).await
    }

    pub async fn component_by_name(
        &self,
        release_id: i64,
        name: &str,
    ) -> Result<Option<ComponentRelease>, StoreError> {
        sqlx::query("SELECT * FROM component_releases WHERE release_id = $1 AND name = $2")
            .bind(release_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(component_from_row)
            .transpose()
    }

    /// Moves component `id` from `from` to `to` if it is still in `from` and its release is not
    /// canceled (only a move into canceled is allowed then); returns false (and writes nothing)
    /// otherwise. Records the event, sets the reason and wakes the worker in
    /// one transaction. Entering preparing starts a new attempt, so `acted` is reset.
    pub async fn transition_component(
        &self,
        id: i64,
        from: ComponentState,
        to: ComponentState,
        change: &Change,
    ) -> Result<bool, StoreError> {
        let moves = [ComponentMove {
            id,
            from,
            to,
            change,
        }];
        Ok(self.transition_components(&moves).await? == 1)
    }

    /// Makes each move as [`Store::transition_component`] does, all in one transaction (a
    /// deploy of 200 components is one commit, not 200); returns how many moved.
    pub(crate) async fn transition_components(
        &self,
        moves: &[ComponentMove<'_>],
    ) -> Result<usize, StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut moved = Vec::with_capacity(moves.len());
        for component in moves {
            if transition_in(&mut tx, component).await? {
                moved.push(component);
            }
        }
        if moved.is_empty() {
            // Dropped, so rolled back: the wake-ups of refused moves are not written either.
            return Ok(0);
        }
        self.commit_events(tx).await?;
        for component in &moved {
            self.observe_time_in_state(component.id, component.from.as_str())
                .await;
        }
        Ok(moved.len())
    }

    /// Sets the version to release, with a "version_changed" event ("version 0.1.0 → 0.2.0"),
    /// and wakes the worker. Setting the version it already has changes nothing.
    pub async fn set_component_version(
        &self,
        id: i64,
        version: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let before = lock_component(&mut tx, id).await?;
        if before.version.as_deref() == Some(version) {
            return Ok(());
        }
        sqlx::query("UPDATE component_releases SET version = $2 WHERE id = $1")
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        wake_release(&mut tx, before.release_id).await?;
        let reason = format!(
            "version {} → {version}",
            before.version.as_deref().unwrap_or("unset")
        );
        insert_event(
            &mut tx,
            &EventInsert {
                release_id: before.release_id,
                component_id: Some(id),
                actor,
                kind: "version_changed",
                from_state: None,
                to_state: None,
                reason: Some(&reason),
                mention: None,
            },
        )
        .await?;
        self.commit_events(tx).await?;
        Ok(())
    }

    /// Sets the reason shown next to the state ("waiting for A"). No event: it changes often.
    pub async fn set_component_reason(
        &self,
        id: i64,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE component_releases SET reason = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(reason)
                .bind(time_text(now()))
                .execute(&self.writer)
                .await?;
        component_found(done.rows_affected(), id)
    }

    /// Marks the merge request reviewed (or not), with a "reviewed" / "unreviewed" event, and
    /// wakes the worker. Setting what is already set changes nothing.
    pub async fn set_component_reviewed(
        &self,
        id: i64,
        reviewed: bool,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let before = lock_component(&mut tx, id).await?;
        if before.reviewed == reviewed {
            return Ok(());
        }
        sqlx::query("UPDATE component_releases SET reviewed = $2 WHERE id = $1")
            .bind(id)
            .bind(flag(reviewed))
            .execute(&mut *tx)
            .await?;
        wake_release(&mut tx, before.release_id).await?;
        insert_event(
            &mut tx,
            &EventInsert {
                release_id: before.release_id,
                component_id: Some(id),
                actor,
                kind: if reviewed { "reviewed" } else { "unreviewed" },
                from_state: None,
                to_state: None,
                reason: None,
                mention: None,
            },
        )
        .await?;
        self.commit_events(tx).await?;
        Ok(())
    }

    /// Records that Convoy requested the merge or created the tag for the current attempt.
    pub async fn set_component_acted(&self, id: i64, acted: bool) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE component_releases SET acted = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(flag(acted))
                .bind(time_text(now()))
                .execute(&self.writer)
                .await?;
        component_found(done.rows_affected(), id)
    }

    /// Records what the CI config read while preparing says of merge request pipelines.
    pub async fn set_component_merge_request_jobs(
        &self,
        id: i64,
        no_merge_request_jobs: bool,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE component_releases SET no_merge_request_jobs = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(flag(no_merge_request_jobs))
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        component_found(done.rows_affected(), id)
    }

    pub async fn set_component_target_branch(
        &self,
        id: i64,
        target_branch: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE component_releases SET target_branch = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(target_branch)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        component_found(done.rows_affected(), id)
    }

    /// Records the component's owners (GitLab usernames; empty: no owner).
    pub async fn set_component_owners(&self, id: i64, owners: &[String]) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE component_releases SET owners = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(owners.join(" "))
                .bind(time_text(now()))
                .execute(&self.writer)
                .await?;
        component_found(done.rows_affected(), id)
    }

    /// Records who released the component by hand ("mark as released").
    pub async fn set_component_released_by(&self, id: i64, who: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE component_releases SET released_by = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(who)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        component_found(done.rows_affected(), id)
    }
}

pub(crate) fn component_found(rows_affected: u64, id: i64) -> Result<(), StoreError> {
    not_found_unless_changed(rows_affected, || format!("component release {id}"))
}

/// Inserts the plan's components (in state waiting, a "planned" event each) and edges, unless
/// the release has components already; returns the release's components.
async fn insert_plan(
    conn: &mut AnyConnection,
    release_id: i64,
    plan: &ReleasePlan,
    actor: &str,
) -> Result<Vec<ComponentRelease>, StoreError> {
    let existing = fetch_components(&mut *conn, release_id).await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    let mut ids = HashMap::new();
    for (position, planned) in plan.components.iter().enumerate() {
        let id = insert_component(&mut *conn, release_id, position, planned).await?;
        ids.insert(planned.name.as_str(), id);
        insert_event(
            &mut *conn,
            &EventInsert {
                release_id,
                component_id: Some(id),
                actor,
                kind: "planned",
                from_state: None,
                to_state: Some("waiting"),
                reason: Some(&format!("version {}", planned.default_version)),
                mention: None,
            },
        )
        .await?;
    }
    let mut edges = Vec::new();
    for planned in &plan.components {
        for dependency in &planned.dependencies {
            let depends_on_id = ids.get(dependency.as_str()).ok_or_else(|| {
                StoreError::InvalidPlan(format!(
                    "{} depends on {dependency}, which is not in the plan",
                    planned.name
                ))
            })?;
            edges.push((ids[planned.name.as_str()], *depends_on_id));
        }
    }
    insert_edges(&mut *conn, release_id, &edges).await?;
    fetch_components(conn, release_id).await
}

/// Plan edges written by one statement: a wide plan has tens of thousands (5 layers of 100
/// components, each depending on the layer below, have 40,000), and a statement per edge kept
/// the plan's transaction, and every writer waiting on it, busy for seconds.
const EDGES_PER_INSERT: usize = 500;

async fn insert_edges(
    conn: &mut AnyConnection,
    release_id: i64,
    edges: &[(i64, i64)],
) -> Result<(), StoreError> {
    for chunk in edges.chunks(EDGES_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO plan_edges (release_id, component_id, depends_on_id) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(release_id);
        for &(component_id, depends_on_id) in chunk {
            insert = insert.bind(component_id).bind(depends_on_id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_component(
    conn: &mut AnyConnection,
    release_id: i64,
    position: usize,
    planned: &PlannedComponent,
) -> Result<i64, StoreError> {
    let at = time_text(now());
    Ok(sqlx::query_scalar(
        "INSERT INTO component_releases \
         (release_id, name, position, project_path, git_url, branch, podspec_path, \
          podspec_version, default_version, version, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $11) RETURNING id",
    )
    .bind(release_id)
    .bind(&planned.name)
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .bind(&planned.project_path)
    .bind(&planned.git_url)
    .bind(&planned.branch)
    .bind(&planned.podspec_path)
    .bind(&planned.podspec_version)
    .bind(&planned.default_version)
    .bind(ComponentState::Waiting.as_str())
    .bind(&at)
    .fetch_one(&mut *conn)
    .await?)
}

/// Makes component `id`'s row the first write of the transaction (see `lock_and_wake_release`)
/// and returns it as it was.
async fn lock_component(conn: &mut AnyConnection, id: i64) -> Result<ComponentRelease, StoreError> {
    sqlx::query("UPDATE component_releases SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(time_text(now()))
        .execute(&mut *conn)
        .await?;
    fetch_component(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("component release {id}")))
}

async fn fetch_component(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<ComponentRelease>, StoreError> {
    sqlx::query("SELECT * FROM component_releases WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(component_from_row)
        .transpose()
}

/// One component's move for [`Store::transition_components`]: from `from` to `to`, as `change`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ComponentMove<'a> {
    pub(crate) id: i64,
    pub(crate) from: ComponentState,
    pub(crate) to: ComponentState,
    pub(crate) change: &'a Change,
}

/// [`Store::transition_component`]'s writes, within `tx`. False when the component is no
/// longer in `component.from` or its release was canceled meanwhile; such a refused move has
/// written nothing but its release's wake flag (harmless: the worker looks and finds nothing
/// to do).
async fn transition_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    component: &ComponentMove<'_>,
) -> Result<bool, StoreError> {
    let ComponentMove {
        id,
        from,
        to,
        change,
    } = *component;
    let new_attempt = to == ComponentState::Preparing;
    let into_canceled = to == ComponentState::Canceled;
    let (from, to) = (from.as_str(), to.as_str());
    // The release row is the first write: a concurrent cancel of the release
    // (`cancel_main_release`) either committed before, and is seen here, or waits for this
    // transaction and then cancels what it moved. Nothing moves in a canceled release
    // except into canceled.
    let release_state: Option<String> = sqlx::query_scalar(
        "UPDATE main_releases SET wake_requested = 1 \
         WHERE id = (SELECT release_id FROM component_releases WHERE id = $1) \
         RETURNING state",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(release_state) = release_state else {
        return Ok(false);
    };
    if release_state == MainReleaseState::Canceled.as_str() && !into_canceled {
        return Ok(false);
    }
    // Entering canceled wakes the component: its withdrawal (the auto-merge Convoy may have
    // set) is a step of its own, and the wake stays until that step succeeded.
    let release_id: Option<i64> = sqlx::query_scalar(
        "UPDATE component_releases SET state = $3, reason = $4, updated_at = $5, \
         acted = CASE WHEN $6 = 1 THEN 0 ELSE acted END, \
         wake_requested = wake_requested + $7 \
         WHERE id = $1 AND state = $2 RETURNING release_id",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(&change.reason)
    .bind(time_text(now()))
    .bind(flag(new_attempt))
    .bind(flag(into_canceled))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(release_id) = release_id else {
        return Ok(false);
    };
    wake_release(tx, release_id).await?;
    insert_event(
        tx,
        &EventInsert {
            release_id,
            component_id: Some(id),
            actor: &change.actor,
            kind: "state",
            from_state: Some(from),
            to_state: Some(to),
            reason: change.reason.as_deref(),
            mention: change.mention.map(Mention::as_str),
        },
    )
    .await?;
    Ok(true)
}

async fn fetch_components(
    conn: &mut AnyConnection,
    release_id: i64,
) -> Result<Vec<ComponentRelease>, StoreError> {
    sqlx::query("SELECT * FROM component_releases WHERE release_id = $1 ORDER BY position")
        .bind(release_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(component_from_row)
        .collect()
}

/// The names each component of the release depends on, by component id.
async fn fetch_dependencies(
    conn: &mut AnyConnection,
    release_id: i64,
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let rows = sqlx::query(
        "SELECT e.component_id, d.name FROM plan_edges e \
         JOIN component_releases d ON d.id = e.depends_on_id \
         WHERE e.release_id = $1",
    )
    .bind(release_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut dependencies: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        dependencies
            .entry(row.try_get("component_id")?)
            .or_default()
            .push(row.try_get("name")?);
    }
    Ok(dependencies)
}

fn planned_from_component(
    component: ComponentRelease,
    dependencies: Vec<String>,
) -> Result<PlannedComponent, StoreError> {
    let missing = |what: &str| {
        StoreError::Corrupt(format!("component release {} has no {what}", component.id))
    };
    Ok(PlannedComponent {
        podspec_path: component
            .podspec_path
            .clone()
            .ok_or_else(|| missing("podspec path"))?,
        default_version: component
            .default_version
            .clone()
            .ok_or_else(|| missing("default version"))?,
        name: component.name,
        git_url: component.git_url,
        branch: component.branch,
        project_path: component.project_path,
        podspec_version: component.podspec_version,
        dependencies,
    })
}

fn component_from_row(row: &AnyRow) -> Result<ComponentRelease, StoreError> {
    Ok(ComponentRelease {
        id: row.try_get("id")?,
        release_id: row.try_get("release_id")?,
        name: row.try_get("name")?,
        position: row.try_get("position")?,
        project_path: row.try_get("project_path")?,
        git_url: row.try_get("git_url")?,
        branch: row.try_get("branch")?,
        target_branch: row.try_get("target_branch")?,
        podspec_path: row.try_get("podspec_path")?,
        podspec_version: row.try_get("podspec_version")?,
        default_version: row.try_get("default_version")?,
        version: row.try_get("version")?,
        state: parse_state(&row.try_get::<String, _>("state")?)?,
        reviewed: parse_flag(row.try_get("reviewed")?),
        acted: parse_flag(row.try_get("acted")?),
        no_merge_request_jobs: parse_flag(row.try_get("no_merge_request_jobs")?),
        reason: row.try_get("reason")?,
        merge_request_iid: optional_unsigned(row.try_get("merge_request_iid")?, "MR iid")?,
        pipeline_id: optional_unsigned(row.try_get("pipeline_id")?, "pipeline id")?,
        tag_name: row.try_get("tag_name")?,
        released_by: row.try_get("released_by")?,
        owners: row
            .try_get::<Option<String>, _>("owners")?
            .map(|text| text.split_whitespace().map(str::to_owned).collect()),
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
    })
}
