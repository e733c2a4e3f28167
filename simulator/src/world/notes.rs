//! Merge request notes (comments): created, edited and listed as GitLab's notes API does
//! (`lib/api/notes.rb`, `Notes::CreateService`, `Notes::UpdateService`), plus the system notes
//! GitLab itself writes when a merge request is merged (`SystemNoteService.change_status`).

use chrono::{DateTime, Utc};

use super::World;
use crate::error::ApiError;

pub(crate) struct Note {
    /// Note ids are global across projects, as in GitLab.
    pub id: u64,
    /// The merge request (`noteable_id`, the global id).
    pub merge_request_id: u64,
    pub body: String,
    /// Written by GitLab ("merged"), not by a user.
    pub system: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times the body was replaced. Not GitLab's: an observation for tests.
    pub edits: u32,
}

/// `Note` validates `note` with `length: { maximum: 1_000_000 }` (`app/models/note.rb`).
const MAX_NOTE_LENGTH: usize = 1_000_000;

impl World {
    /// The notes of a merge request, oldest first.
    pub(crate) fn notes_of(&self, merge_request_id: u64) -> Vec<&Note> {
        self.notes
            .iter()
            .filter(|n| n.merge_request_id == merge_request_id)
            .collect()
    }

    /// `POST …/merge_requests/:iid/notes`: a user's note. Returns its id.
    pub(crate) fn create_note(
        &mut self,
        merge_request_id: u64,
        body: &str,
    ) -> Result<u64, ApiError> {
        check_body(body)?;
        Ok(self.add_note(merge_request_id, body, false))
    }

    /// `PUT …/merge_requests/:iid/notes/:note_id`: `noteable.notes.find(note_id)` (a note of
    /// another merge request is not found), then `Notes::UpdateService` replaces the body.
    pub(crate) fn update_note(
        &mut self,
        merge_request_id: u64,
        note_id: u64,
        body: Option<&str>,
    ) -> Result<(), ApiError> {
        let note = self
            .notes
            .iter_mut()
            .find(|n| n.id == note_id && n.merge_request_id == merge_request_id)
            // `rescue_from ActiveRecord::RecordNotFound` in `lib/api/api.rb`.
            .ok_or_else(|| ApiError::message(404, "404 Not found"))?;
        if note.system {
            // `NotePolicy`: nobody may admin a system note.
            return Err(ApiError::message(403, "403 Forbidden"));
        }
        // `optional :body, allow_blank: false`: a PUT without a body changes nothing.
        if let Some(body) = body {
            check_body(body)?;
            note.body = body.to_string();
            note.updated_at = Utc::now();
            note.edits += 1;
        }
        Ok(())
    }

    /// A note GitLab writes itself when something happens to the merge request.
    pub(crate) fn add_system_note(&mut self, merge_request_id: u64, body: &str) {
        self.add_note(merge_request_id, body, true);
    }

    fn add_note(&mut self, merge_request_id: u64, body: &str, system: bool) -> u64 {
        self.next_note_id += 1;
        let now = Utc::now();
        self.notes.push(Note {
            id: self.next_note_id,
            merge_request_id,
            body: body.to_string(),
            system,
            created_at: now,
            updated_at: now,
            edits: 0,
        });
        self.next_note_id
    }
}

/// `Note` validates the presence and the length of `note`; the API answers
/// `bad_request!("Note #{note.errors.messages}")` (`API::Helpers::NotesHelpers`).
fn check_body(body: &str) -> Result<(), ApiError> {
    if body.trim().is_empty() {
        return Err(ApiError::bad_request("Note {:note=>[\"can't be blank\"]}"));
    }
    if body.chars().count() > MAX_NOTE_LENGTH {
        return Err(ApiError::bad_request(
            "Note {:note=>[\"is too long (maximum is 1000000 characters)\"]}",
        ));
    }
    Ok(())
}
