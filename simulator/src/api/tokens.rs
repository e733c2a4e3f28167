//! `GET /personal_access_tokens/self`: the personal access token the request came with.
//!
//! GitLab: `lib/api/personal_access_tokens/self_information.rb` (`get 'self'`, readable with
//! any scope, `present access_token, with: Entities::PersonalAccessTokenWithLastUsedIps`);
//! the fields are those of `lib/api/entities/personal_access_token.rb` (`id`, `name`,
//! `revoked`, `created_at`, `scopes`, `user_id`, `active`, `expires_at` as a date) and
//! `lib/api/entities/personal_access_token_with_last_used_ips.rb` (`last_used_ips`). The
//! simulator's one token belongs to its one user and has the scenario's `token_scopes`.

use actix_web::http::Method;
use serde_json::json;

use super::{ApiRequest, Reply};
use crate::error::ApiError;
use crate::world::{USER_ID, World};

/// The simulator's token is always token 1, created with the world's fixed user.
const TOKEN_ID: u64 = 1;

pub(super) fn route(world: &World, request: &ApiRequest) -> Result<Reply, ApiError> {
    // `delete 'self'` (revoke) exists in GitLab too; the simulator does not revoke its token.
    if request.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    Ok(Reply::ok(json!({
        "id": TOKEN_ID,
        "name": "convoy-simulator",
        "revoked": false,
        "created_at": "2024-01-01T00:00:00.000Z",
        "scopes": world.token_scopes,
        "user_id": USER_ID,
        "active": true,
        "expires_at": null,
        "last_used_ips": ["127.0.0.1"],
    })))
}
