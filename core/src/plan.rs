//! The release plan: the DAG of components to release, with edges to the dependencies that are
//! themselves being released.
//!
//! ```text
//!      A
//!     / \
//!    B   C      order: A, then B and C together, then D
//!     \ /
//!      D
//! ```

use serde::{Deserialize, Serialize};

use crate::manifest::podspec::Podspec;

/// What analysis found for one component that needs releasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInput {
    /// Pod name (root name, no subspec).
    pub name: String,
    pub git_url: String,
    pub branch: String,
    /// The forge project path derived from the git URL (`group/a`).
    pub project_path: String,
    /// Path of the podspec in the component repository.
    pub podspec_path: String,
    pub podspec: Podspec,
}

/// One component in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedComponent {
    pub name: String,
    pub git_url: String,
    pub branch: String,
    pub project_path: String,
    pub podspec_path: String,
    pub podspec_version: Option<String>,
    /// The higher of the branch's and the podspec's version.
    pub default_version: String,
    /// Direct dependencies that are themselves in the plan, sorted.
    pub dependencies: Vec<String>,
}

/// The DAG of components to release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePlan {
    /// In a topological order (dependencies first), ties by name.
    pub components: Vec<PlannedComponent>,
}

/// Why a plan cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Names the cycle: `cycle: A -> B -> A`.
    #[error("cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("component {name} has no usable version: {why}")]
    NoVersion { name: String, why: String },
    #[error("component {0} appears twice with different sources")]
    Duplicate(String),
}

impl ReleasePlan {
    /// Builds the plan from the components that need releasing.
    pub fn build(inputs: Vec<ComponentInput>) -> Result<ReleasePlan, PlanError> {
        let _ = inputs;
        unimplemented!("filled in by issue 2")
    }

    /// Every component `name` depends on in the plan, transitively, sorted.
    pub fn ancestors(&self, name: &str) -> Vec<String> {
        let _ = name;
        unimplemented!("filled in by issue 2")
    }

    /// Every component that depends on `name` in the plan, transitively, sorted.
    pub fn descendants(&self, name: &str) -> Vec<String> {
        let _ = name;
        unimplemented!("filled in by issue 2")
    }
}

/// The forge project path in a git URL: `https://host/group/a.git` and `git@host:group/a.git`
/// both give `group/a`.
pub fn project_path_from_git_url(url: &str) -> Option<String> {
    let _ = url;
    unimplemented!("filled in by issue 2")
}
