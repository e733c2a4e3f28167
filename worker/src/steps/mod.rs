//! What each component state requires. Every step first looks at what the forge already shows,
//! so running it twice never repeats a side effect.

pub(crate) mod merge;
pub(crate) mod pipelines;
pub(crate) mod prepare;
pub(crate) mod tag;
