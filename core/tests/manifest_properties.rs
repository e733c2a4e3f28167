//! Properties of the manifest readers over generated input: they never panic, and what they
//! write they read back.

use convoy_core::manifest::podfile::{PodSource, parse_podfile};
use convoy_core::manifest::podspec::{parse_podspec, parse_podspec_file, rewrite_podspec_version};
use convoy_core::manifest::template::{Pin, render_podfile_template};
use proptest::prelude::*;

/// The shared CocoaPods corpus: `shared/fixtures/cocoapods` in the nearest directory above the
/// crate that has one (the checkout of `main` and every worktree sit at different depths).
fn fixtures_dir() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/cocoapods"))
        .find(|dir| dir.is_dir())
        .expect("shared/fixtures/cocoapods above the crate")
        .display()
        .to_string()
}

/// Fragments of real Podfiles and podspecs, glued together at random.
const FRAGMENTS: &[&str] = &[
    "pod 'A'",
    "pod \"B\", '~> 1.0'",
    ", :git => 'u'",
    ", branch: 'dev'",
    "target 'T' do",
    "abstract_target 'X' do",
    "end",
    "do |x|",
    "if ENV['CI']",
    "else",
    "def helper",
    "\n",
    "\n",
    "\n",
    "  ",
    "# comment 'quoted'",
    "#{",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "'",
    "\"",
    "`",
    "<<~EOS",
    "EOS",
    "%w[a b]",
    "=begin",
    "=end",
    ":sym",
    "key:",
    "=>",
    ",",
    "🎉",
    "é",
    "\\",
    "/re/",
    "?",
    "post_install do |i|",
    "s.version = '1.0'",
    "s.dependency 'C'",
    "Pod::Spec.new do |s|",
    "$g = 1",
    "x if y",
    ";",
    "\r\n",
];

fn ruby_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.join(" "))
}

fn version() -> impl Strategy<Value = String> {
    "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-[a-z]{1,5}(\\.[0-9]{1,2})?)?"
}

fn pod_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9_+-]{0,12}(/[A-Z][a-z]{1,6})?"
}

proptest! {
    #[test]
    fn reading_any_ruby_like_text_never_panics(text in ruby_soup()) {
        let _ = parse_podfile(&text);
        let _ = parse_podspec(&text);
        let _ = rewrite_podspec_version("A.podspec", &text, "1.0.0");
    }

    #[test]
    fn reading_arbitrary_unicode_never_panics(text in "\\PC{0,200}") {
        let _ = parse_podfile(&text);
        let _ = parse_podspec(&text);
        let _ = parse_podspec_file("A.podspec.json", &text);
        let _ = rewrite_podspec_version("A.podspec.json", &text, "1.0.0");
    }

    #[test]
    fn a_generated_pod_line_reads_back_its_name_and_requirements(
        name in pod_name(),
        requirements in prop::collection::vec(
            ("(~>|>=|<|=)? ?", version()).prop_map(|(op, v)| format!("{op}{v}").trim().to_string()),
            0..3,
        ),
        double_quotes in any::<bool>(),
    ) {
        let quote = if double_quotes { '"' } else { '\'' };
        let mut line = format!("pod {quote}{name}{quote}");
        for requirement in &requirements {
            line.push_str(&format!(", {quote}{requirement}{quote}"));
        }
        let podfile = parse_podfile(&format!("target 'App' do\n  {line} # note\nend\n")).unwrap();
        prop_assert_eq!(podfile.dependencies.len(), 1);
        let pod = &podfile.dependencies[0];
        prop_assert_eq!(&pod.name, &name);
        let expected = (!requirements.is_empty()).then(|| requirements.join(", "));
        prop_assert_eq!(&pod.requirement, &expected);
        prop_assert_eq!(&pod.source, &PodSource::Registry);
        prop_assert_eq!(pod.targets.clone(), vec!["App".to_string()]);
        prop_assert!(podfile.warnings.is_empty());
    }

    #[test]
    fn every_podspec_fixture_reads_back_any_version_written_into_it_and_restores_exactly(
        version in version(),
    ) {
        for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if !name.contains(".podspec") {
                continue;
            }
            let text = std::fs::read_to_string(format!("{}/{name}", fixtures_dir())).unwrap();
            let original = parse_podspec_file(&name, &text).unwrap();
            let rewritten = rewrite_podspec_version(&name, &text, &version).unwrap();
            let reread = parse_podspec_file(&name, &rewritten).unwrap();
            prop_assert_eq!(reread.version.as_deref(), Some(version.as_str()));
            prop_assert_eq!(&reread.dependencies, &original.dependencies);
            let restored =
                rewrite_podspec_version(&name, &rewritten, original.version.as_deref().unwrap())
                    .unwrap();
            prop_assert_eq!(&restored, &text);
        }
    }

    #[test]
    fn a_rendered_template_is_a_podfile_that_pins_exactly_the_given_versions(
        pins in prop::collection::btree_map(pod_name(), version(), 0..5),
        indent in "[ \t]{0,4}",
    ) {
        let template =
            format!("platform :ios, '14.0'\ntarget 'App' do\n{indent}:TRIPLECCREPLACEME\nend\n");
        let pins: Vec<Pin> = pins
            .into_iter()
            .map(|(name, version)| Pin { name, version })
            .collect();
        let rendered = render_podfile_template(&template, &pins).unwrap();
        let podfile = parse_podfile(&rendered).unwrap();
        let read: Vec<(String, Option<String>)> = podfile
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), d.requirement.clone()))
            .collect();
        let expected: Vec<(String, Option<String>)> = pins
            .iter()
            .map(|pin| (pin.name.clone(), Some(format!("= {}", pin.version))))
            .collect();
        prop_assert_eq!(read, expected);
        prop_assert!(podfile.warnings.is_empty());
        prop_assert!(rendered.starts_with("platform :ios, '14.0'\ntarget 'App' do\n"));
        prop_assert!(rendered.ends_with("end\n"));
    }
}
