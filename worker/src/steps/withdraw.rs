//! Duty `Withdraw` (state canceled): take back what Convoy set at GitLab for the component.

use convoy_store::ComponentRelease;

use super::follow_merge_request::finished;
use super::prepare::merge_request_record;
use crate::context::Context;
use crate::error::StepError;

/// A canceled component: withdraw the auto-merge Convoy set, so GitLab merges nothing more.
///
/// GitLab is asked, not the record: a worker that set the auto-merge and died before
/// recording it leaves a record that says "no auto-merge".
pub(crate) async fn withdraw(ctx: &Context, c: &ComponentRelease) -> Result<(), StepError> {
    let Some(record) = ctx.store.merge_request_of(c.id).await? else {
        return Ok(());
    };
    if record.state != "opened" {
        return Ok(());
    }
    let now = ctx.forge.merge_request(&c.project_path, record.iid).await?;
    if !now.auto_merge || finished(&now).is_some() {
        ctx.store
            .record_merge_request(c.id, &merge_request_record(&c.project_path, &now))
            .await?;
        return Ok(());
    }
    let mr = ctx
        .forge
        .cancel_auto_merge(&c.project_path, record.iid)
        .await?;
    ctx.store
        .record_merge_request(c.id, &merge_request_record(&c.project_path, &mr))
        .await?;
    let reason = format!("auto-merge of merge request !{} canceled", record.iid);
    crate::record::note(ctx, c, reason).await
}
