//! Endpoints the `gitlab` crate lacks or sends differently from what Convoy needs.

use gitlab::api::common::path_escaped;
use gitlab::api::endpoint_prelude::*;

/// `PUT /projects/:id/merge_requests/:iid/merge` with auto-merge on. Sends both `auto_merge`
/// (GitLab 17.11+) and the deprecated `merge_when_pipeline_succeeds` (older servers); the
/// crate's `MergeMergeRequest` only knows the old name.
pub(crate) struct MergeWhenPipelineSucceeds<'a> {
    pub project: &'a str,
    pub iid: u64,
    /// The source head the caller expects; GitLab answers 409 when it moved.
    pub sha: &'a str,
}

impl Endpoint for MergeWhenPipelineSucceeds<'_> {
    fn method(&self) -> Method {
        Method::PUT
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/merge_requests/{}/merge",
            path_escaped(self.project),
            self.iid
        )
        .into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        let mut params = FormParams::default();
        params
            .push("auto_merge", true)
            .push("merge_when_pipeline_succeeds", true)
            .push("sha", self.sha);
        params.into_body()
    }
}

/// `POST /projects/:id/merge_requests/:iid/cancel_merge_when_pipeline_succeeds` (the crate
/// has no endpoint for it).
pub(crate) struct CancelAutoMerge<'a> {
    pub project: &'a str,
    pub iid: u64,
}

impl Endpoint for CancelAutoMerge<'_> {
    fn method(&self) -> Method {
        Method::POST
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/merge_requests/{}/cancel_merge_when_pipeline_succeeds",
            path_escaped(self.project),
            self.iid
        )
        .into()
    }
}

/// `GET /projects/:id/repository/tree?ref=…&recursive=true` with its parameters in the query
/// string (the crate's `Tree` sends them as a body on GET). Offset pagination.
pub(crate) struct RecursiveTree<'a> {
    pub project: &'a str,
    pub git_ref: &'a str,
}

impl Endpoint for RecursiveTree<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/repository/tree", path_escaped(self.project)).into()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = QueryParams::default();
        params.push("ref", self.git_ref).push("recursive", true);
        params
    }
}

impl Pageable for RecursiveTree<'_> {}

/// `GET /projects/:id/pipelines?ref=…&order_by=id&sort=desc&per_page=1`: the newest pipeline.
pub(crate) struct LatestPipeline<'a> {
    pub project: &'a str,
    pub git_ref: &'a str,
}

impl Endpoint for LatestPipeline<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/pipelines", path_escaped(self.project)).into()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = QueryParams::default();
        params
            .push("ref", self.git_ref)
            .push("order_by", "id")
            .push("sort", "desc")
            .push("per_page", 1u64);
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sends_both_auto_merge_parameters_in_the_body() {
        let endpoint = MergeWhenPipelineSucceeds {
            project: "group/app",
            iid: 7,
            sha: "abc123",
        };
        assert_eq!(endpoint.method(), Method::PUT);
        assert_eq!(
            endpoint.endpoint(),
            "projects/group%2Fapp/merge_requests/7/merge"
        );
        let (mime, body) = endpoint.body().unwrap().unwrap();
        assert_eq!(mime, "application/x-www-form-urlencoded");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "auto_merge=true&merge_when_pipeline_succeeds=true&sha=abc123"
        );
    }

    #[test]
    fn tree_sends_its_parameters_in_the_query_string() {
        let endpoint = RecursiveTree {
            project: "group/app",
            git_ref: "release/1.0",
        };
        assert_eq!(endpoint.endpoint(), "projects/group%2Fapp/repository/tree");
        let mut url = url::Url::parse("http://gitlab.test/").unwrap();
        endpoint.parameters().add_to_url(&mut url);
        assert_eq!(url.query(), Some("ref=release%2F1.0&recursive=true"));
        assert!(endpoint.body().unwrap().is_none());
    }

    #[test]
    fn latest_pipeline_asks_for_one_pipeline_newest_first() {
        let endpoint = LatestPipeline {
            project: "group/app",
            git_ref: "main",
        };
        let mut url = url::Url::parse("http://gitlab.test/").unwrap();
        endpoint.parameters().add_to_url(&mut url);
        assert_eq!(
            url.query(),
            Some("ref=main&order_by=id&sort=desc&per_page=1")
        );
    }
}
