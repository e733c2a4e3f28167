//! The readers' limits over large generated input: nesting of any depth gives the sentence
//! naming the line (never a stack overflow), large files read completely, and a Podfile's if/else
//! branches all read. Bounded case counts keep CI time bounded; nothing here measures time.

use convoy_core::manifest::podfile::parse_podfile;
use convoy_core::manifest::podspec::parse_podspec;
use convoy_core::manifest::{MAX_MANIFEST_BYTES, MAX_NESTING};
use proptest::prelude::*;

/// Openers of a block closed by `end`, as Podfiles and podspecs write them.
const OPENERS: &[&str] = &[
    "target 'A' do",
    "abstract_target 'B' do",
    "if ENV['CI']",
    "unless ENV['LITE']",
    "[1].each do |x|",
    "post_install do |installer|",
    "def helper",
    "begin",
];

fn openers(max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(OPENERS), 0..max)
}

/// A Podfile whose blocks nest as `openers` says, with a pod at the bottom.
fn nested_podfile(openers: &[&str]) -> String {
    let mut text = String::new();
    for opener in openers {
        text.push_str(opener);
        text.push('\n');
    }
    text.push_str("pod 'X', :git => 'https://g/x/y.git', :branch => 'release/1.0.0'\n");
    text.push_str(&"end\n".repeat(openers.len()));
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn podfile_nesting_of_any_depth_is_read_or_refused_at_the_first_line_too_deep(
        openers in openers(3 * MAX_NESTING),
        extra in 0usize..20_000,
    ) {
        // Past the generated openers, `extra` more targets: up to 20,000 levels in all.
        let mut all = openers.clone();
        all.extend(std::iter::repeat_n("target 'T' do", extra));
        match parse_podfile(&nested_podfile(&all)) {
            Ok(_) => prop_assert!(all.len() <= MAX_NESTING),
            Err(error) => {
                prop_assert!(all.len() > MAX_NESTING, "{error}");
                prop_assert_eq!(error.line, MAX_NESTING + 1);
                prop_assert!(
                    error.message.starts_with("the Podfile nests deeper than 64 blocks here"),
                    "{}", error.message
                );
            }
        }
    }

    #[test]
    fn podspec_nesting_of_any_depth_is_read_or_refused_at_the_first_line_too_deep(
        depth in 0usize..5_000,
    ) {
        let text = format!(
            "Pod::Spec.new do |s|\n  s.version = '1.0'\n{}  s.dependency 'A'\n{}end\n",
            "  s.subspec 'S' do |ss|\n".repeat(depth),
            "  end\n".repeat(depth)
        );
        match parse_podspec(&text) {
            Ok(spec) => {
                prop_assert!(depth < MAX_NESTING);
                prop_assert_eq!(spec.dependencies.len(), 1);
            }
            Err(error) => {
                prop_assert!(depth >= MAX_NESTING, "{error}");
                // Line 1 opens the spec, line 2 sets the version, so level 65 is line 66.
                prop_assert_eq!(error.line, MAX_NESTING + 2);
            }
        }
    }

    #[test]
    fn a_large_podfile_reads_every_pod_and_every_branch(
        pods in 1usize..20_000,
        git_every in 1usize..50,
        conditional_every in 2usize..50,
    ) {
        let mut text = String::from("target 'App' do\n");
        for pod in 0..pods {
            let line = if pod % git_every == 0 {
                format!("pod 'P{pod}', :git => 'https://g/p{pod}.git', :branch => 'release/1.0'")
            } else {
                format!("pod 'P{pod}', '~> 1.0'")
            };
            if pod % conditional_every == 0 {
                text.push_str(&format!("  if ENV['A']\n    {line}\n  else\n    pod 'E{pod}'\n  end\n"));
            } else {
                text.push_str(&format!("  {line}\n"));
            }
        }
        text.push_str("end\n");
        let podfile = parse_podfile(&text).unwrap();
        let conditional = (0..pods).filter(|p| p % conditional_every == 0).count();
        prop_assert_eq!(podfile.dependencies.len(), pods + conditional);
        let releasable = (0..pods)
            .filter(|p| p % git_every == 0 && p % conditional_every != 0)
            .count();
        let undecidable = (0..pods).any(|p| p % git_every == 0 && p % conditional_every == 0);
        match podfile.components_to_release() {
            Ok(chosen) => {
                prop_assert!(!undecidable);
                prop_assert_eq!(chosen.len(), releasable);
            }
            Err(sentence) => {
                prop_assert!(undecidable);
                prop_assert!(sentence.contains("declared only under `if ENV['A']`"), "{}", sentence);
            }
        }
    }

    #[test]
    fn any_file_larger_than_the_limit_is_refused_naming_its_size(extra in 1usize..100_000) {
        let text = "#".repeat(MAX_MANIFEST_BYTES + extra);
        let error = parse_podfile(&text).unwrap_err();
        prop_assert_eq!(error.line, 1);
        let expected = format!("the Podfile is {} bytes", text.len());
        prop_assert!(error.message.starts_with(&expected), "{}", error.message);
        let error = parse_podspec(&text).unwrap_err();
        prop_assert!(error.message.starts_with("the podspec is "), "{}", error.message);
    }

    #[test]
    fn interpolation_of_any_depth_never_overflows_the_stack(depth in 0usize..5_000) {
        let text = format!(
            "pod 'A'\nx = {}{}\n",
            "\"#{".repeat(depth),
            "}\"".repeat(depth)
        );
        match parse_podfile(&text) {
            Ok(_) => prop_assert!(depth <= MAX_NESTING),
            Err(error) => {
                prop_assert!(depth > MAX_NESTING, "{error}");
                prop_assert!(error.message.starts_with("string interpolation nests deeper"));
            }
        }
    }
}
