//! What Convoy knows of merge requests, pipelines and tags on the forge.
//!
//! Each record is an upsert keyed by the forge's own id, so recording the same thing twice (a
//! job run twice, a webhook delivered twice) leaves one row.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::components::component_found;
use crate::db::{Store, flag, now, optional_unsigned, parse_flag, signed, time_text, unsigned};
use crate::error::StoreError;
use crate::model::{MergeRequestRecord, PipelineKind, PipelineRecord, TagRecord};

impl Store {
    /// Records a merge request of component `component_id` and makes it the current one.
    pub async fn record_merge_request(
        &self,
        component_id: i64,
        mr: &MergeRequestRecord,
    ) -> Result<(), StoreError> {
        if self.merge_request_of(component_id).await?.as_ref() == Some(mr) {
            // What a step read is what is recorded (most looks): no write.
            return Ok(());
        }
        let at = time_text(now());
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE component_releases SET merge_request_iid = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(component_id)
        .bind(signed(mr.iid))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        component_found(done.rows_affected(), component_id)?;
        sqlx::query(
            "INSERT INTO merge_requests \
             (component_id, project_path, iid, source_branch, target_branch, state, web_url, \
              auto_merge, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (component_id, project_path, iid) DO UPDATE SET \
             source_branch = excluded.source_branch, target_branch = excluded.target_branch, \
             state = excluded.state, web_url = excluded.web_url, \
             auto_merge = excluded.auto_merge, updated_at = excluded.updated_at",
        )
        .bind(component_id)
        .bind(&mr.project_path)
        .bind(signed(mr.iid))
        .bind(&mr.source_branch)
        .bind(&mr.target_branch)
        .bind(&mr.state)
        .bind(&mr.web_url)
        .bind(flag(mr.auto_merge))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a pipeline of component `component_id` and makes it the current one.
    pub async fn record_pipeline(
        &self,
        component_id: i64,
        pipeline: &PipelineRecord,
    ) -> Result<(), StoreError> {
        let at = time_text(now());
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE component_releases SET pipeline_id = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(component_id)
        .bind(signed(pipeline.pipeline_id))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        component_found(done.rows_affected(), component_id)?;
        sqlx::query(
            "INSERT INTO pipelines \
             (component_id, project_path, pipeline_id, kind, git_ref, sha, status, web_url, \
              failed_job, failure_log, duration, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (component_id, project_path, pipeline_id) DO UPDATE SET \
             kind = excluded.kind, git_ref = excluded.git_ref, sha = excluded.sha, \
             status = excluded.status, web_url = excluded.web_url, \
             failed_job = excluded.failed_job, failure_log = excluded.failure_log, \
             duration = excluded.duration, updated_at = excluded.updated_at",
        )
        .bind(component_id)
        .bind(&pipeline.project_path)
        .bind(signed(pipeline.pipeline_id))
        .bind(pipeline.kind.as_str())
        .bind(&pipeline.git_ref)
        .bind(&pipeline.sha)
        .bind(&pipeline.status)
        .bind(&pipeline.web_url)
        .bind(&pipeline.failed_job)
        .bind(&pipeline.failure_log)
        .bind(pipeline.duration.map(signed))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the version tag of component `component_id` and makes it the current one.
    pub async fn record_tag(&self, component_id: i64, tag: &TagRecord) -> Result<(), StoreError> {
        let at = time_text(now());
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE component_releases SET tag_name = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(component_id)
        .bind(&tag.name)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        component_found(done.rows_affected(), component_id)?;
        sqlx::query(
            "INSERT INTO tags (component_id, project_path, name, sha, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (component_id, project_path, name) DO UPDATE SET sha = excluded.sha",
        )
        .bind(component_id)
        .bind(&tag.project_path)
        .bind(&tag.name)
        .bind(&tag.sha)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current merge request of component `component_id`.
    pub async fn merge_request_of(
        &self,
        component_id: i64,
    ) -> Result<Option<MergeRequestRecord>, StoreError> {
        sqlx::query(
            "SELECT mr.* FROM merge_requests mr \
             JOIN component_releases c \
               ON c.id = mr.component_id AND c.merge_request_iid = mr.iid \
             WHERE c.id = $1 ORDER BY mr.id DESC LIMIT 1",
        )
        .bind(component_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(merge_request_from_row)
        .transpose()
    }

    /// The current pipeline of component `component_id`.
    pub async fn pipeline_of(
        &self,
        component_id: i64,
    ) -> Result<Option<PipelineRecord>, StoreError> {
        sqlx::query(
            "SELECT p.* FROM pipelines p \
             JOIN component_releases c \
               ON c.id = p.component_id AND c.pipeline_id = p.pipeline_id \
             WHERE c.id = $1 ORDER BY p.id DESC LIMIT 1",
        )
        .bind(component_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(pipeline_from_row)
        .transpose()
    }

    /// The current merge request of each component of release `release_id` that has one, by
    /// component id: one query for a whole release page.
    pub async fn current_merge_requests(
        &self,
        release_id: i64,
    ) -> Result<HashMap<i64, MergeRequestRecord>, StoreError> {
        // Oldest first, so that a later record of the same component replaces an earlier one,
        // as `merge_request_of` takes the newest.
        let rows = sqlx::query(
            "SELECT mr.* FROM merge_requests mr \
             JOIN component_releases c \
               ON c.id = mr.component_id AND c.merge_request_iid = mr.iid \
             WHERE c.release_id = $1 ORDER BY mr.id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        let mut current = HashMap::with_capacity(rows.len());
        for row in &rows {
            current.insert(row.try_get("component_id")?, merge_request_from_row(row)?);
        }
        Ok(current)
    }

    /// The current pipeline of each component of release `release_id` that has one, by
    /// component id: one query for a whole release page.
    pub async fn current_pipelines(
        &self,
        release_id: i64,
    ) -> Result<HashMap<i64, PipelineRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.* FROM pipelines p \
             JOIN component_releases c \
               ON c.id = p.component_id AND c.pipeline_id = p.pipeline_id \
             WHERE c.release_id = $1 ORDER BY p.id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        let mut current = HashMap::with_capacity(rows.len());
        for row in &rows {
            current.insert(row.try_get("component_id")?, pipeline_from_row(row)?);
        }
        Ok(current)
    }

    /// Every pipeline recorded for component `component_id`, oldest first.
    pub async fn pipelines_of(&self, component_id: i64) -> Result<Vec<PipelineRecord>, StoreError> {
        sqlx::query("SELECT * FROM pipelines WHERE component_id = $1 ORDER BY id")
            .bind(component_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(pipeline_from_row)
            .collect()
    }

    /// The current version tag of component `component_id`.
    pub async fn tag_of(&self, component_id: i64) -> Result<Option<TagRecord>, StoreError> {
        sqlx::query(
            "SELECT t.* FROM tags t \
             JOIN component_releases c ON c.id = t.component_id AND c.tag_name = t.name \
             WHERE c.id = $1 ORDER BY t.id DESC LIMIT 1",
        )
        .bind(component_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(tag_from_row)
        .transpose()
    }

    /// For each project of release `release_id`, the average duration in seconds of the
    /// successful tag pipelines Convoy saw finish there (in any release), for ETAs and the
    /// critical path. Projects without one are absent. One grouped query, on the index
    /// `pipelines_by_project`.
    pub async fn expected_pipeline_seconds(
        &self,
        release_id: i64,
    ) -> Result<HashMap<String, u64>, StoreError> {
        // AVG is NUMERIC on PostgreSQL, which the Any driver cannot decode: cast to an integer.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT project_path, CAST(ROUND(AVG(duration)) AS BIGINT) FROM pipelines \
             WHERE kind = 'tag' AND status = 'success' AND duration IS NOT NULL \
             AND project_path IN \
               (SELECT project_path FROM component_releases WHERE release_id = $1) \
             GROUP BY project_path",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(project_path, seconds)| {
                Ok((project_path, unsigned(seconds, "pipeline duration")?))
            })
            .collect()
    }
}

fn merge_request_from_row(row: &AnyRow) -> Result<MergeRequestRecord, StoreError> {
    Ok(MergeRequestRecord {
        project_path: row.try_get("project_path")?,
        iid: unsigned(row.try_get("iid")?, "MR iid")?,
        source_branch: row.try_get("source_branch")?,
        target_branch: row.try_get("target_branch")?,
        state: row.try_get("state")?,
        web_url: row.try_get("web_url")?,
        auto_merge: parse_flag(row.try_get("auto_merge")?),
    })
}

fn pipeline_from_row(row: &AnyRow) -> Result<PipelineRecord, StoreError> {
    Ok(PipelineRecord {
        project_path: row.try_get("project_path")?,
        pipeline_id: unsigned(row.try_get("pipeline_id")?, "pipeline id")?,
        kind: PipelineKind::parse(&row.try_get::<String, _>("kind")?)?,
        git_ref: row.try_get("git_ref")?,
        sha: row.try_get("sha")?,
        status: row.try_get("status")?,
        web_url: row.try_get("web_url")?,
        failed_job: row.try_get("failed_job")?,
        failure_log: row.try_get("failure_log")?,
        duration: optional_unsigned(row.try_get("duration")?, "pipeline duration")?,
    })
}

fn tag_from_row(row: &AnyRow) -> Result<TagRecord, StoreError> {
    Ok(TagRecord {
        project_path: row.try_get("project_path")?,
        name: row.try_get("name")?,
        sha: row.try_get("sha")?,
    })
}
