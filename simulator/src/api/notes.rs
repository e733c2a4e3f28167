//! Merge request notes: `GET|POST /projects/:id/merge_requests/:iid/notes` and
//! `GET|PUT /projects/:id/merge_requests/:iid/notes/:note_id` (`lib/api/notes.rb`).

use actix_web::http::Method;
use serde_json::{Value, json};

use super::projects::user_json;
use super::{ApiRequest, Reply, number, paginate};
use crate::error::ApiError;
use crate::world::{World, api_time};

/// `rest` is what follows `merge_requests/:iid/notes`.
pub(super) fn route(
    world: &mut World,
    request: &ApiRequest,
    merge_request_id: u64,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    match (&request.method, rest) {
        (&Method::GET, []) => Ok(list(world, request, merge_request_id)),
        (&Method::POST, []) => {
            // `requires :body`.
            let body = request.required("body")?;
            let id = world.create_note(merge_request_id, body)?;
            Ok(Reply::created(note_json(world, id)))
        }
        (&Method::GET, [note_id]) => {
            let id = find(world, merge_request_id, note_id)?;
            Ok(Reply::ok(note_json(world, id)))
        }
        (&Method::PUT, [note_id]) => {
            let note_id = number(note_id, "Note")?;
            world.update_note(merge_request_id, note_id, request.param("body"))?;
            Ok(Reply::ok(note_json(world, note_id)))
        }
        _ => Err(ApiError::no_route()),
    }
}

/// `order_by` `created_at` (default) or `updated_at`, `sort` `desc` (default) or `asc`.
fn list(world: &World, request: &ApiRequest, merge_request_id: u64) -> Reply {
    let mut notes = world.notes_of(merge_request_id);
    if request.param("order_by") == Some("updated_at") {
        notes.sort_by_key(|n| (n.updated_at, n.id));
    } else {
        notes.sort_by_key(|n| (n.created_at, n.id));
    }
    if request.param("sort") != Some("asc") {
        notes.reverse();
    }
    let items = notes.iter().map(|n| note_json(world, n.id)).collect();
    paginate(request, items)
}

/// `get_note`: `not_found!("Note")` for a note that is not this merge request's.
fn find(world: &World, merge_request_id: u64, segment: &str) -> Result<u64, ApiError> {
    let id = number(segment, "Note")?;
    world
        .notes_of(merge_request_id)
        .iter()
        .find(|n| n.id == id)
        .map(|n| n.id)
        .ok_or_else(|| ApiError::not_found("Note"))
}

/// `Entities::Note`.
fn note_json(world: &World, id: u64) -> Value {
    let note = world
        .notes
        .iter()
        .find(|n| n.id == id)
        .expect("the note was just found");
    let mr = world.merge_request(note.merge_request_id);
    json!({
        "id": note.id,
        "type": null,
        "body": note.body,
        "attachment": null,
        "author": user_json(world),
        "created_at": api_time(&note.created_at),
        "updated_at": api_time(&note.updated_at),
        "system": note.system,
        "noteable_id": mr.id,
        "noteable_type": "MergeRequest",
        "project_id": mr.project_id,
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "noteable_iid": mr.iid,
        "commands_changes": {},
    })
}
