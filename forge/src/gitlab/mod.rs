//! The GitLab implementation of [`crate::Forge`] on the `gitlab` crate, and GitLab webhook
//! payload parsing.
