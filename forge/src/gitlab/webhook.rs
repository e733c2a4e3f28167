//! GitLab's webhook deliveries as Convoy uses them: only as a hint that something changed in a
//! project. The server records each delivery with the project it names
//! (`project.path_with_namespace`), and the worker wakes the releases with a component in that
//! project; the steps then ask GitLab for the truth, so no field of the payload decides anything.

/// The `X-Gitlab-Event` names of the events Convoy's project hook asks for
/// ([`crate::Forge::ensure_hook`]: push, tag push, merge request, pipeline and job events).
/// Older GitLab versions sent job events as "Build Hook" (the hook's former `build_events`
/// option, see GitLab's `doc/user/project/integrations/webhook_events.md`).
pub const HOOK_EVENTS: [&str; 6] = [
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "Pipeline Hook",
    "Job Hook",
    "Build Hook",
];

/// Whether Convoy acts on deliveries named `event_name` (other events are acknowledged, so that
/// GitLab keeps the hook enabled, and ignored).
pub fn is_hook_event(event_name: &str) -> bool {
    HOOK_EVENTS.contains(&event_name.trim())
}
