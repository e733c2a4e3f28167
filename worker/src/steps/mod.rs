//! What each component duty requires (`convoy_core::component::duty`), a file per duty. Every
//! step first looks at what the forge already shows, so running it twice never repeats a side
//! effect.

pub(crate) mod follow_merge_request;
pub(crate) mod follow_tag;
pub(crate) mod pipelines;
pub(crate) mod prepare;
pub(crate) mod withdraw;
