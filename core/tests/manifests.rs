//! Every file of the shared CocoaPods corpus is a test case: what its MANIFEST.md says a parser
//! must extract (and must not extract) is asserted here with exact values.

use convoy_core::manifest::Warning;
use convoy_core::manifest::podfile::{PodDependency, PodSource, Podfile, parse_podfile};
use convoy_core::manifest::podspec::{
    Podspec, PodspecDependency, parse_podspec_file, rewrite_podspec_version,
};

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

fn fixture(name: &str) -> String {
    let path = format!("{}/{name}", fixtures_dir());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn podfile(name: &str) -> Podfile {
    parse_podfile(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn podspec(name: &str) -> Podspec {
    parse_podspec_file(name, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Each entry as (name, requirement, target it is declared in), in file order.
fn declared(podfile: &Podfile) -> Vec<(&str, Option<&str>, &str)> {
    podfile
        .dependencies
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.requirement.as_deref(),
                d.targets[0].as_str(),
            )
        })
        .collect()
}

fn entry<'a>(podfile: &'a Podfile, name: &str, target: &str) -> &'a PodDependency {
    podfile
        .dependencies
        .iter()
        .find(|d| d.name == name && d.targets[0] == target)
        .unwrap_or_else(|| panic!("no pod {name} declared in {target}"))
}

fn targets_of<'a>(podfile: &'a Podfile, name: &str, target: &str) -> Vec<&'a str> {
    entry(podfile, name, target)
        .targets
        .iter()
        .map(String::as_str)
        .collect()
}

fn names_needing_release(podfile: &Podfile) -> Vec<&str> {
    podfile
        .dependencies
        .iter()
        .filter(|d| d.needs_release)
        .map(|d| d.name.as_str())
        .collect()
}

fn warning_lines(warnings: &[Warning]) -> Vec<usize> {
    warnings.iter().map(|w| w.line).collect()
}

fn git(url: &str, branch: Option<&str>, commit: Option<&str>) -> PodSource {
    PodSource::Git {
        url: url.to_string(),
        branch: branch.map(str::to_string),
        tag: None,
        commit: commit.map(str::to_string),
    }
}

fn deps(list: &[(&str, Option<&str>)]) -> Vec<PodspecDependency> {
    list.iter()
        .map(|(name, requirement)| PodspecDependency {
            name: name.to_string(),
            requirement: requirement.map(str::to_string),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The corpus itself

const PODFILES: &[&str] = &[
    "CocoaPods-Core-spec__fixtures__Podfile",
    "andrewsteinmeyer-ShortList_Swift-Podfile",
    "artsy-eigen-ios__Podfile",
    "davidlamys-SplitTimer-Podfile",
    "gu0315-Template-Podfile",
    "hal9ccc-CodableView-Podfile",
    "kylba4enko-NearbyWiki-Podfile",
    "sghick-AppCoder-Podfile",
    "svdo-ReRxSwift-Podfile",
    "takaiwai-CGExtensions-Example__Podfile",
    "tickboxs-RxExtension-Podfile",
    "yosuke1985-iOS_VIPER_Template-Podfile",
];

/// Each podspec fixture with the exact text of its version assignment, before and after a
/// rewrite to 9.8.7.
const PODSPECS: &[(&str, &str, &str)] = &[
    (
        "AFNetworking-AFNetworking-AFNetworking.podspec",
        "s.version  = '4.0.1'",
        "s.version  = '9.8.7'",
    ),
    (
        "Alamofire-Alamofire-Alamofire.podspec",
        "s.version = '5.12.0'",
        "s.version = '9.8.7'",
    ),
    (
        "CocoaPods-Core-spec__fixtures__BananaLib.podspec",
        "s.version      = '1.0'",
        "s.version      = '9.8.7'",
    ),
    (
        "CocoaPods-Core-spec__fixtures__BananaLib.podspec.json",
        "\"version\": \"1.0\"",
        "\"version\": \"9.8.7\"",
    ),
    (
        "CocoaPods-Core-spec__fixtures__mock_cdn_repo_remote__Specs__1__1__7__SDWebImage__4.0.0__SDWebImage.podspec.json",
        "\"version\": \"4.0.0\"",
        "\"version\": \"9.8.7\"",
    ),
    (
        "CocoaPods-Specs-Specs__8__a__7__Moya__15.0.0__Moya.podspec.json",
        "\"version\": \"15.0.0\"",
        "\"version\": \"9.8.7\"",
    ),
    (
        "Ham-mer-NetAdSdk_iOS_Pub-NetAdMediation_GoogleAds.podspec",
        "spec.version      = \"7.42.2.6\"",
        "spec.version      = \"9.8.7\"",
    ),
    (
        "Moya-Moya-Moya.podspec",
        "s.version      = \"15.0.0\"",
        "s.version      = \"9.8.7\"",
    ),
    (
        "ReactiveX-RxSwift-RxCocoa.podspec",
        "s.version          = \"6.9.0\"",
        "s.version          = \"9.8.7\"",
    ),
    (
        "SnapKit-SnapKit-SnapKit.podspec",
        "s.version = '5.7.1'",
        "s.version = '9.8.7'",
    ),
    (
        "firebase-firebase-ios-sdk-Firebase.podspec",
        "s.version          = '6.11.0'",
        "s.version          = '9.8.7'",
    ),
    (
        "firebase-firebase-ios-sdk-FirebaseCore.podspec",
        "s.version          = '12.12.1'",
        "s.version          = '9.8.7'",
    ),
];

#[test]
fn every_file_of_the_corpus_is_one_of_the_cases_below() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("the shared fixtures sit beside the repository")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "MANIFEST.md" && name != "docs")
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = PODFILES
        .iter()
        .copied()
        .chain(PODSPECS.iter().map(|(name, _, _)| *name))
        .map(str::to_string)
        .collect();
    covered.sort();
    assert_eq!(on_disk, covered);
}

#[test]
fn every_podfile_of_the_corpus_parses() {
    for name in PODFILES {
        assert!(
            parse_podfile(&fixture(name)).is_ok(),
            "{name} should be read"
        );
    }
}

#[test]
fn rewriting_the_version_of_every_podspec_changes_only_the_version_literal() {
    for (name, before, after) in PODSPECS {
        let text = fixture(name);
        assert_eq!(text.matches(before).count(), 1, "{name}: {before}");
        let rewritten = rewrite_podspec_version(name, &text, "9.8.7").unwrap();
        assert_eq!(rewritten, text.replacen(before, after, 1), "{name}");
        assert_eq!(
            podspec_from(name, &rewritten).version.as_deref(),
            Some("9.8.7")
        );
    }
}

#[test]
fn rewriting_a_podspec_to_its_own_version_gives_back_the_same_bytes() {
    for (name, _, _) in PODSPECS {
        let text = fixture(name);
        let version = podspec(name).version.unwrap();
        assert_eq!(
            rewrite_podspec_version(name, &text, &version).unwrap(),
            text
        );
    }
}

fn podspec_from(name: &str, text: &str) -> Podspec {
    parse_podspec_file(name, text).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Podfiles

#[test]
fn cocoapods_core_podfile_has_four_spec_repo_pods_in_the_implicit_pods_target() {
    let podfile = podfile("CocoaPods-Core-spec__fixtures__Podfile");
    assert_eq!(
        declared(&podfile),
        vec![
            ("SSZipArchive", Some(">= 1"), "Pods"),
            ("ASIHTTPRequest", Some("~> 1.8.0"), "Pods"),
            ("Reachability", None, "Pods"),
            ("ASIWebPageRequest", Some("< 1.8.2"), "Pods"),
        ]
    );
    assert!(
        podfile
            .dependencies
            .iter()
            .all(|d| d.source == PodSource::Registry && !d.needs_release)
    );
    assert_eq!(podfile.warnings, vec![]);
}

#[test]
fn shortlist_podfile_reads_root_pods_ignores_options_and_skips_the_post_install_hook() {
    let podfile = podfile("andrewsteinmeyer-ShortList_Swift-Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("Groot", Some("1.2"), "Pods"),
        ("GoogleMaps", None, "Pods"),
        ("SwiftDate", None, "Pods"),
        ("GooglePlacePicker", None, "Pods"),
        ("BSKeyboardControls", Some("~> 2.2"), "Pods"),
        ("ObjectMapper", Some("1.1.5"), "Pods"),
        ("ChameleonFramework/Swift", Some("2.1.0"), "Pods"),
        ("DZNEmptyDataSet", Some("1.7.3"), "Pods"),
        ("PhoneNumberKit", Some("~> 0.6"), "Pods"),
        ("FLEX", Some("~> 2.0"), "Pods"),
        ("TTTAttributedLabel", Some("1.13.4"), "Pods"),
        ("DateTools", Some("1.7.0"), "Pods"),
        ("SwiftQRCode", Some("2.0.1"), "Pods"),
        ("Fabric", Some("1.6.7"), "Pods"),
        ("Crashlytics", Some("3.7.0"), "Pods"),
        ("DZNSegmentedControl", Some("1.3.3"), "Pods"),
        ("FBSDKCoreKit", None, "Pods"),
        ("FBSDKLoginKit", None, "Pods"),
        ("FBSDKShareKit", None, "Pods"),
        ("KYCircularProgress", None, "Pods"),
    ];
    assert_eq!(declared(&podfile), expected);
    assert_eq!(targets_of(&podfile, "FLEX", "Pods"), vec!["Pods"]);
    assert_eq!(
        entry(&podfile, "ChameleonFramework/Swift", "Pods").root_name(),
        "ChameleonFramework"
    );
    assert_eq!(
        podfile.warnings,
        vec![Warning {
            line: 24,
            message: "`post_install` hook skipped (lines 24-27): Convoy does not run Ruby hooks"
                .to_string()
        }]
    );
}

#[test]
fn artsy_podfile_finds_the_three_branch_pods_and_the_no_ref_git_pod_as_needing_release() {
    let podfile = podfile("artsy-eigen-ios__Podfile");
    assert_eq!(
        names_needing_release(&podfile),
        vec![
            "FLKAutoLayout",
            "ISO8601DateFormatter",
            "Pulley",
            "Interstellar/Core"
        ]
    );
    let flk = entry(&podfile, "FLKAutoLayout", "Artsy");
    assert_eq!(
        flk.source,
        git(
            "https://github.com/artsy/FLKAutoLayout.git",
            Some("v1"),
            None
        )
    );
    assert_eq!(flk.requirement, None);
    assert_eq!(
        entry(&podfile, "Pulley", "Artsy").source,
        git("https://github.com/artsy/Pulley.git", Some("master"), None)
    );
    let interstellar = entry(&podfile, "Interstellar/Core", "Artsy");
    assert_eq!(interstellar.root_name(), "Interstellar");
    assert_eq!(
        interstellar.source,
        git(
            "https://github.com/artsy/Interstellar.git",
            Some("observable-unsubscribe"),
            None
        )
    );
    assert_eq!(
        entry(&podfile, "ISO8601DateFormatter", "Artsy").source,
        git(
            "https://github.com/artsy/iso-8601-date-formatter",
            None,
            None
        )
    );
}

#[test]
fn artsy_podfile_reads_every_pod_of_both_targets_and_nothing_from_its_ruby() {
    let podfile = podfile("artsy-eigen-ios__Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("AFNetworking", Some("2.7.0"), "Artsy"),
        ("AFNetworkActivityLogger", None, "Artsy"),
        ("SDWebImage", Some("5.11.1"), "Artsy"),
        ("INTUAnimationEngine", None, "Artsy"),
        ("CocoaLumberjack", Some("3.7.2"), "Artsy"),
        ("FLKAutoLayout", None, "Artsy"),
        ("FXBlurView", Some("1.6.4"), "Artsy"),
        ("ISO8601DateFormatter", None, "Artsy"),
        ("JSDecoupledAppDelegate", None, "Artsy"),
        ("Mantle", Some("1.5.6"), "Artsy"),
        ("MMMarkdown", Some("0.4"), "Artsy"),
        ("UICKeyChainStore", None, "Artsy"),
        ("MARKRangeSlider", None, "Artsy"),
        ("ORStackView", Some("2.0.3"), "Artsy"),
        ("UIView+BooleanAnimations", None, "Artsy"),
        ("Aerodramus", Some("2.0.0"), "Artsy"),
        ("MultiDelegate", None, "Artsy"),
        ("ObjectiveSugar", None, "Artsy"),
        ("Pulley", None, "Artsy"),
        ("FBSDKCoreKit", Some("15.0.0"), "Artsy"),
        ("FBSDKLoginKit", Some("15.0.0"), "Artsy"),
        ("FBSDKShareKit", Some("15.0.0"), "Artsy"),
        ("GoogleSignIn", Some("5.0.2"), "Artsy"),
        ("Firebase/Auth", Some("8.1.0"), "Artsy"),
        ("Segment-Appboy", None, "Artsy"),
        ("Then", Some("2.3.0"), "Artsy"),
        ("Interstellar/Core", None, "Artsy"),
        ("Starscream", Some("3.0.4"), "Artsy"),
        ("SwiftyJSON", Some("4.0.0"), "Artsy"),
        ("JWTDecode", Some("2.0.0"), "Artsy"),
        ("OHHTTPStubs", Some("3.1.2"), "ArtsyTests"),
        ("XCTest+OHHTTPStubSuiteCleanUp", None, "ArtsyTests"),
        ("Specta", None, "ArtsyTests"),
        ("Expecta", Some("1.0.6"), "ArtsyTests"),
        ("Expecta+Snapshots", Some("3.1.1"), "ArtsyTests"),
        ("OCMock", None, "ArtsyTests"),
        ("Forgeries/Mocks", None, "ArtsyTests"),
        ("Quick", Some("2.0.0"), "ArtsyTests"),
        ("Nimble", Some("7.3.4"), "ArtsyTests"),
        ("Nimble-Snapshots", Some("6.3.0"), "ArtsyTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    // `inherit! :search_paths`: the test target does not get Artsy's pods.
    assert_eq!(targets_of(&podfile, "Then", "Artsy"), vec!["Artsy"]);
    let names: Vec<&str> = podfile
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert!(!names.contains(&"Flipper"));
    assert!(!names.contains(&"ReactNativeMapboxGLIOSVersion"));
}

#[test]
fn artsy_podfile_warns_on_each_line_of_ruby_it_skips() {
    let podfile = podfile("artsy-eigen-ios__Podfile");
    assert_eq!(
        warning_lines(&podfile.warnings),
        vec![6, 7, 9, 10, 18, 23, 38, 47, 48, 50, 57, 60, 62, 66, 148]
    );
    let message = |line: usize| {
        podfile
            .warnings
            .iter()
            .find(|w| w.line == line)
            .unwrap()
            .message
            .as_str()
    };
    assert_eq!(
        message(18),
        "`$ReactNativeMapboxGLIOSVersion = '~> 6.4'` is Ruby Convoy does not evaluate; skipped"
    );
    // Both branches of `if ENV['CI']` (lines 59-63) are read; they hold Ruby, not pods.
    assert_eq!(
        message(62),
        "`config = use_native_modules!` is Ruby Convoy does not evaluate; skipped"
    );
    assert_eq!(
        message(23),
        "helper method `check_for_existing_netrc_file` (lines 23-36) is Ruby Convoy does not \
         evaluate: pods it declares are not read"
    );
    assert_eq!(
        message(148),
        "`post_install` hook skipped (lines 148-180): Convoy does not run Ruby hooks"
    );
    assert!(message(66).starts_with("`use_react_native!( :path => config[:reactNativePath]"));
}

#[test]
fn splittimer_podfile_expands_the_common_pods_helper_into_both_targets() {
    let podfile = podfile("davidlamys-SplitTimer-Podfile");
    let rx = "https://github.com/ReactiveX/RxSwift.git";
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("RxSwift", None, "SplitTimer"),
        ("RxCocoa", None, "SplitTimer"),
        ("SwiftLint", None, "SplitTimer"),
        ("RxSwift", None, "SplitTimerTests"),
        ("RxCocoa", None, "SplitTimerTests"),
        ("RxBlocking", None, "SplitTimerTests"),
        ("RxTest", None, "SplitTimerTests"),
        ("Nimble", None, "SplitTimerTests"),
        ("Quick", None, "SplitTimerTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    for target in ["SplitTimer", "SplitTimerTests"] {
        for name in ["RxSwift", "RxCocoa"] {
            let pod = entry(&podfile, name, target);
            assert_eq!(pod.source, git(rx, Some("develop"), None));
            assert!(pod.needs_release);
        }
    }
    assert_eq!(
        entry(&podfile, "Nimble", "SplitTimerTests").source,
        git(
            "https://github.com/Quick/Nimble.git",
            Some("7.x-branch"),
            None
        )
    );
    assert_eq!(
        entry(&podfile, "Quick", "SplitTimerTests").source,
        git(
            "https://github.com/Quick/Quick.git",
            Some("1.x-branch"),
            None
        )
    );
    assert!(!entry(&podfile, "SwiftLint", "SplitTimer").needs_release);
    assert_eq!(
        podfile.warnings,
        vec![
            Warning {
                line: 11,
                message: "helper method `common_pods` (line 4) expanded here: its pod lines are \
                          read as if written in target 'SplitTimer'"
                    .to_string()
            },
            Warning {
                line: 18,
                message: "helper method `common_pods` (line 4) expanded here: its pod lines are \
                          read as if written in target 'SplitTimerTests'"
                    .to_string()
            },
        ]
    );
}

#[test]
fn template_podfile_has_one_pod_and_skips_its_post_install_hook() {
    let podfile = podfile("gu0315-Template-Podfile");
    assert_eq!(declared(&podfile), vec![("SModular", None, "Template")]);
    assert_eq!(warning_lines(&podfile.warnings), vec![9]);
}

#[test]
fn codableview_podfile_reads_targets_with_spaces_and_parentheses() {
    let podfile = podfile("hal9ccc-CodableView-Podfile");
    let mut expected = Vec::new();
    for target in ["CodableViewDemo (iOS)", "CodableViewDemo (macOS)"] {
        for name in [
            "Firebase/Analytics",
            "Firebase/Auth",
            "Firebase/Firestore",
            "FirebaseFirestoreSwift",
        ] {
            expected.push((name, None, target));
        }
    }
    assert_eq!(declared(&podfile), expected);
    let roots: Vec<&str> = podfile.dependencies[..4]
        .iter()
        .map(PodDependency::root_name)
        .collect();
    assert_eq!(
        roots,
        vec!["Firebase", "Firebase", "Firebase", "FirebaseFirestoreSwift"]
    );
    assert_eq!(warning_lines(&podfile.warnings), vec![37]);
}

#[test]
fn nearbywiki_podfile_reads_column_aligned_pins_and_a_search_paths_test_target() {
    let podfile = podfile("kylba4enko-NearbyWiki-Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("SwiftLint", Some("0.27.0"), "NearbyWiki"),
        ("SwiftGen", Some("6.1.0"), "NearbyWiki"),
        ("Swinject", Some("2.6.0"), "NearbyWiki"),
        ("Moya/RxSwift", Some("14.0.0"), "NearbyWiki"),
        ("Quick", Some("2.2.0"), "NearbyWikiTests"),
        ("MockSix", Some("0.1.7"), "NearbyWikiTests"),
        ("NimbleMockSix", Some("0.1.4"), "NearbyWikiTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    assert_eq!(
        targets_of(&podfile, "Swinject", "NearbyWiki"),
        vec!["NearbyWiki"]
    );
    assert_eq!(podfile.warnings, vec![]);
}

#[test]
fn appcoder_podfile_reads_commit_pinned_ssh_pods_that_do_not_need_release() {
    let podfile = podfile("sghick-AppCoder-Podfile");
    let commits = [
        ("SMRLifecycle", "cmp-library-SMRLifecycle", "4dd23fa"),
        ("SMRModel", "cmp-library-SMRModel", "db90262"),
        ("SMRRanker", "cmp-library-SMRRanker", "3033794"),
        (
            "SMRTableAssistant",
            "cmp-library-SMRTableAssistant",
            "b2a23bc",
        ),
        ("SMRLogSystem", "cmp-framework-SMRLogSystem", "b545d78"),
        ("SMRLogScreen", "cmp-framework-SMRLogScreen", "22aca3a"),
        ("SMRDB", "cmp-framework-SMRDB", "f8ce5e8"),
    ];
    for (name, repo, commit) in commits {
        let pod = entry(&podfile, name, "AppCoder");
        let url = format!("git@github.com:sghick/{repo}.git");
        assert_eq!(pod.source, git(&url, None, Some(commit)), "{name}");
        assert!(!pod.needs_release, "{name}");
    }
    assert_eq!(
        entry(&podfile, "PureLayout", "AppCoder")
            .requirement
            .as_deref(),
        Some("3.1.2")
    );
    assert_eq!(podfile.dependencies.len(), 8);
    assert_eq!(podfile.warnings, vec![]);
}

#[test]
fn rerxswift_podfile_passes_abstract_target_pods_to_children_except_search_paths_ones() {
    let podfile = podfile("svdo-ReRxSwift-Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("ReSwift", Some("~> 4.0"), "ReRx"),
        ("RxSwift", Some("~> 4.0"), "ReRx"),
        ("RxCocoa", Some("~> 4.0"), "ReRx"),
        ("Quick", Some("~> 1.1"), "ReRxSwiftTests"),
        ("Nimble", Some("~> 7.0"), "ReRxSwiftTests"),
        ("RxDataSources", Some("~> 3.0"), "ReRxSwiftTests"),
        ("RxDataSources", Some("~> 3.0"), "Example"),
        ("Quick", Some("~> 1.1"), "ExampleTests"),
        ("Nimble", Some("~> 7.0"), "ExampleTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    assert_eq!(
        targets_of(&podfile, "ReSwift", "ReRx"),
        vec!["ReRx", "ReRxSwift", "Example", "ExampleTests"]
    );
    assert_eq!(
        targets_of(&podfile, "RxDataSources", "Example"),
        vec!["Example", "ExampleTests"]
    );
    assert_eq!(podfile.warnings, vec![]);
}

#[test]
fn cgextensions_podfile_reads_the_path_pod_and_the_testing_helper_in_both_test_targets() {
    let podfile = podfile("takaiwai-CGExtensions-Example__Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("CGExtensions", None, "CGExtensions"),
        ("Quick", Some("~> 1.0.0"), "CGExtensions_Tests_iOS"),
        ("Nimble", Some("~> 5.1.1"), "CGExtensions_Tests_iOS"),
        ("FBSnapshotTestCase", None, "CGExtensions_Tests_iOS"),
        ("Nimble-Snapshots", None, "CGExtensions_Tests_iOS"),
        ("Quick", Some("~> 1.0.0"), "CGExtensions_Tests_macOS"),
        ("Nimble", Some("~> 5.1.1"), "CGExtensions_Tests_macOS"),
    ];
    assert_eq!(declared(&podfile), expected);
    let library = entry(&podfile, "CGExtensions", "CGExtensions");
    assert_eq!(
        library.source,
        PodSource::Path {
            path: "../".to_string()
        }
    );
    assert!(!library.needs_release);
    // The helper's `inherit! :search_paths` applies to the test targets that call it.
    assert_eq!(
        targets_of(&podfile, "CGExtensions", "CGExtensions"),
        vec![
            "CGExtensions",
            "CGExtensions_Example_iOS",
            "CGExtensions_Example_macOS"
        ]
    );
    assert_eq!(warning_lines(&podfile.warnings), vec![15, 23]);
}

#[test]
fn rxextension_podfile_ignores_trailing_url_comments_and_passes_pods_to_the_ui_test_target() {
    let podfile = podfile("tickboxs-RxExtension-Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("RxSwift", Some("~> 5"), "RxExtension"),
        ("RxSwiftExt", Some("~> 5"), "RxExtension"),
        ("RxCocoa", Some("~> 5"), "RxExtension"),
        ("RxDataSources", Some("~> 4.0"), "RxExtension"),
        ("RxBiBinding", Some("~> 0.2.5"), "RxExtension"),
        ("RxAnimated", Some("~> 0.7.0"), "RxExtension"),
        ("RxKeyboard", Some("~> 1.0.0"), "RxExtension"),
        ("RxReachability", Some("~> 1.0.0"), "RxExtension"),
        ("RxBlocking", Some("~> 5"), "RxExtensionTests"),
        ("RxTest", Some("~> 5"), "RxExtensionTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    assert_eq!(
        targets_of(&podfile, "RxSwift", "RxExtension"),
        vec!["RxExtension", "RxExtensionUITests"]
    );
    assert_eq!(podfile.warnings, vec![]);
}

#[test]
fn viper_template_podfile_keeps_prerelease_pins_and_subspec_names() {
    let podfile = podfile("yosuke1985-iOS_VIPER_Template-Podfile");
    let expected: Vec<(&str, Option<&str>, &str)> = vec![
        ("RxSwift", Some("6.0.0-rc.1"), "Todo"),
        ("RxCocoa", Some("6.0.0-rc.1"), "Todo"),
        ("SwiftLint", None, "Todo"),
        ("SwiftFormat/CLI", None, "Todo"),
        ("RxBlocking", Some("6.0.0-rc.1"), "TodoTests"),
        ("RxTest", Some("6.0.0-rc.1"), "TodoTests"),
    ];
    assert_eq!(declared(&podfile), expected);
    assert_eq!(
        targets_of(&podfile, "SwiftFormat/CLI", "Todo"),
        vec!["Todo", "TodoUITests"]
    );
    assert_eq!(podfile.warnings, vec![]);
}

// ---------------------------------------------------------------------------------------------
// Podspecs

#[test]
fn bananalib_podspec_has_two_root_requirements_and_two_subspec_dependencies() {
    let spec = podspec("CocoaPods-Core-spec__fixtures__BananaLib.podspec");
    assert_eq!(spec.name.as_deref(), Some("BananaLib"));
    assert_eq!(spec.version.as_deref(), Some("1.0"));
    assert_eq!(spec.version_note, None);
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("monkey", Some("~> 1.0.1, < 1.0.9")),
            ("AFNetworking", None),
            ("SDWebImage", None),
        ])
    );
    assert_eq!(spec.warnings, vec![]);
}

#[test]
fn bananalib_podspec_json_reads_the_same_as_its_ruby_twin() {
    let json = podspec("CocoaPods-Core-spec__fixtures__BananaLib.podspec.json");
    let ruby = podspec("CocoaPods-Core-spec__fixtures__BananaLib.podspec");
    assert_eq!(json, ruby);
}

#[test]
fn sdwebimage_podspec_json_lists_subspec_dependencies_once_each() {
    let spec = podspec(
        "CocoaPods-Core-spec__fixtures__mock_cdn_repo_remote__Specs__1__1__7__SDWebImage__4.0.0__SDWebImage.podspec.json",
    );
    assert_eq!(spec.name.as_deref(), Some("SDWebImage"));
    assert_eq!(spec.version.as_deref(), Some("4.0.0"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("SDWebImage/Core", None),
            ("FLAnimatedImage", Some("~> 1.0")),
            ("libwebp", None),
        ])
    );
}

#[test]
fn firebase_podspec_lists_every_subspec_dependency_and_not_cocoapods_version() {
    let spec = podspec("firebase-firebase-ios-sdk-Firebase.podspec");
    assert_eq!(spec.name.as_deref(), Some("Firebase"));
    assert_eq!(spec.version.as_deref(), Some("6.11.0"));
    let mut expected = vec![
        ("FirebaseAnalytics", Some("6.1.3")),
        ("Firebase/CoreOnly", None),
        ("FirebaseCore", Some("6.3.2")),
        ("Firebase/Core", None),
    ];
    expected.extend([
        ("FirebaseABTesting", Some("~> 3.1.2")),
        ("Google-Mobile-Ads-SDK", Some("~> 7.50")),
        ("FirebaseAuth", Some("~> 6.3.1")),
        ("FirebaseDatabase", Some("~> 6.1.1")),
        ("FirebaseDynamicLinks", Some("~> 4.0.5")),
        ("FirebaseFirestore", Some("~> 1.6.1")),
        ("FirebaseFunctions", Some("~> 2.5.1")),
        ("FirebaseInAppMessaging", Some("~> 0.15.5")),
        ("FirebaseInAppMessagingDisplay", Some("~> 0.15.5")),
        ("FirebaseMessaging", Some("~> 4.1.7")),
        ("FirebasePerformance", Some("~> 3.1.5")),
        ("FirebaseRemoteConfig", Some("~> 4.4.3")),
        ("FirebaseStorage", Some("~> 3.4.1")),
        ("FirebaseMLCommon", Some("~> 0.19.0")),
        ("FirebaseMLModelInterpreter", Some("~> 0.19.0")),
        ("FirebaseMLNLLanguageID", Some("~> 0.17.0")),
        ("FirebaseMLNLSmartReply", Some("~> 0.17.0")),
        ("FirebaseMLNLTranslate", Some("~> 0.17.0")),
        ("FirebaseMLNaturalLanguage", Some("~> 0.17.0")),
        ("FirebaseMLVision", Some("~> 0.19.0")),
        ("FirebaseMLVisionAutoML", Some("~> 0.19.0")),
        ("FirebaseMLVisionBarcodeModel", Some("~> 0.19.0")),
        ("FirebaseMLVisionFaceModel", Some("~> 0.19.0")),
        ("FirebaseMLVisionLabelModel", Some("~> 0.19.0")),
        ("FirebaseMLVisionTextModel", Some("~> 0.19.0")),
        ("FirebaseMLVisionObjectDetection", Some("~> 0.19.0")),
    ]);
    assert_eq!(spec.dependencies, deps(&expected));
    assert_eq!(spec.warnings, vec![]);
}

#[test]
fn alamofire_podspec_has_a_version_and_no_dependencies() {
    let spec = podspec("Alamofire-Alamofire-Alamofire.podspec");
    assert_eq!(spec.name.as_deref(), Some("Alamofire"));
    assert_eq!(spec.version.as_deref(), Some("5.12.0"));
    assert_eq!(spec.dependencies, vec![]);
    assert_eq!(spec.warnings, vec![]);
}

#[test]
fn afnetworking_podspec_lists_its_internal_subspec_dependencies_once() {
    let spec = podspec("AFNetworking-AFNetworking-AFNetworking.podspec");
    assert_eq!(spec.name.as_deref(), Some("AFNetworking"));
    assert_eq!(spec.version.as_deref(), Some("4.0.1"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("AFNetworking/Serialization", None),
            ("AFNetworking/Reachability", None),
            ("AFNetworking/Security", None),
            ("AFNetworking/NSURLSession", None),
        ])
    );
}

#[test]
fn moya_podspec_in_double_quotes_lists_moya_core_once() {
    let spec = podspec("Moya-Moya-Moya.podspec");
    assert_eq!(spec.name.as_deref(), Some("Moya"));
    assert_eq!(spec.version.as_deref(), Some("15.0.0"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("Alamofire", Some("~> 5.0")),
            ("Moya/Core", None),
            ("ReactiveSwift", Some("~> 6.0")),
            ("RxSwift", Some("~> 6.0")),
        ])
    );
}

#[test]
fn moya_podspec_json_has_the_published_reactiveswift_requirement() {
    let spec = podspec("CocoaPods-Specs-Specs__8__a__7__Moya__15.0.0__Moya.podspec.json");
    assert_eq!(spec.name.as_deref(), Some("Moya"));
    assert_eq!(spec.version.as_deref(), Some("15.0.0"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("Alamofire", Some("~> 5.0")),
            ("Moya/Core", None),
            ("ReactiveSwift", Some("~> 6.6.1")),
            ("RxSwift", Some("~> 6.0")),
        ])
    );
}

#[test]
fn rxcocoa_podspec_has_exact_pins_and_its_conditional_line_is_not_a_dependency() {
    let spec = podspec("ReactiveX-RxSwift-RxCocoa.podspec");
    assert_eq!(spec.name.as_deref(), Some("RxCocoa"));
    assert_eq!(spec.version.as_deref(), Some("6.9.0"));
    assert_eq!(
        spec.dependencies,
        deps(&[("RxSwift", Some("6.9.0")), ("RxRelay", Some("6.9.0"))])
    );
    assert_eq!(spec.warnings, vec![]);
}

#[test]
fn netad_podspec_with_a_spec_receiver_and_four_part_version_is_read() {
    let spec = podspec("Ham-mer-NetAdSdk_iOS_Pub-NetAdMediation_GoogleAds.podspec");
    assert_eq!(spec.name.as_deref(), Some("NetAdMediation_GoogleAds"));
    assert_eq!(spec.version.as_deref(), Some("7.42.2.6"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("Google-Mobile-Ads-SDK", Some("~> 7.42.2")),
            ("NetAdSdk", Some("~> 1.2.5")),
        ])
    );
}

#[test]
fn firebasecore_podspec_leaves_out_test_spec_dependencies() {
    let spec = podspec("firebase-firebase-ios-sdk-FirebaseCore.podspec");
    assert_eq!(spec.name.as_deref(), Some("FirebaseCore"));
    assert_eq!(spec.version.as_deref(), Some("12.12.1"));
    assert_eq!(
        spec.dependencies,
        deps(&[
            ("GoogleUtilities/Environment", Some("~> 8.1")),
            ("GoogleUtilities/Logger", Some("~> 8.1")),
            ("FirebaseCoreInternal", Some("~> 12.12.0")),
        ])
    );
    assert_eq!(spec.warnings, vec![]);
}

#[test]
fn snapkit_podspec_has_a_version_and_no_dependencies() {
    let spec = podspec("SnapKit-SnapKit-SnapKit.podspec");
    assert_eq!(spec.name.as_deref(), Some("SnapKit"));
    assert_eq!(spec.version.as_deref(), Some("5.7.1"));
    assert_eq!(spec.dependencies, vec![]);
}

// ---------------------------------------------------------------------------------------------
// The JSON printed by `convoy inspect`

#[test]
fn a_podfile_serializes_to_the_shape_convoy_inspect_prints() {
    let podfile = podfile("artsy-eigen-ios__Podfile");
    let json = serde_json::to_value(&podfile).unwrap();
    assert_eq!(
        json["dependencies"][5],
        serde_json::json!({
            "name": "FLKAutoLayout",
            "requirement": null,
            "source": {
                "kind": "git",
                "url": "https://github.com/artsy/FLKAutoLayout.git",
                "branch": "v1",
                "tag": null,
                "commit": null
            },
            "needs_release": true,
            "targets": ["Artsy"]
        })
    );
    assert_eq!(
        json["warnings"][0],
        serde_json::json!({"line": 6, "message": "`require 'dotenv'` is Ruby Convoy does not evaluate; skipped"})
    );
}

#[test]
fn a_podspec_serializes_to_the_shape_convoy_inspect_prints() {
    let spec = podspec("Ham-mer-NetAdSdk_iOS_Pub-NetAdMediation_GoogleAds.podspec");
    assert_eq!(
        serde_json::to_value(&spec).unwrap(),
        serde_json::json!({
            "name": "NetAdMediation_GoogleAds",
            "version": "7.42.2.6",
            "version_note": null,
            "dependencies": [
                {"name": "Google-Mobile-Ads-SDK", "requirement": "~> 7.42.2"},
                {"name": "NetAdSdk", "requirement": "~> 1.2.5"}
            ],
            "warnings": []
        })
    );
}

// ---------------------------------------------------------------------------------------------
// The CocoaPods guide in docs/

/// The ```ruby examples of the "The Podfile" guide, in order.
fn guide_examples() -> Vec<String> {
    let guide = fixture("docs/CocoaPods-guides.cocoapods.org-source__using__the-podfile.html.md");
    let mut examples = Vec::new();
    let mut current: Option<String> = None;
    for line in guide.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) if line.contains("ruby") => current = Some(String::new()),
            (Some(code), true) => {
                examples.push(std::mem::take(code));
                current = None;
            }
            (Some(code), false) => {
                code.push_str(line);
                code.push('\n');
            }
            _ => {}
        }
    }
    examples
}

/// (pod, targets) pairs, sorted, for comparing two Podfiles that should mean the same.
fn pods_per_target(podfile: &Podfile) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = podfile
        .dependencies
        .iter()
        .flat_map(|d| d.targets.iter().map(|t| (d.name.clone(), t.clone())))
        .filter(|(_, target)| target != "Pods" && target != "Shows")
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn every_ruby_example_of_the_podfile_guide_is_read_without_error() {
    let examples = guide_examples();
    assert!(examples.len() >= 10, "found {} examples", examples.len());
    for example in &examples {
        assert!(parse_podfile(example).is_ok(), "{example}");
    }
}

#[test]
fn the_guides_abstract_target_and_its_implicit_root_version_give_the_same_pods() {
    let examples = guide_examples();
    let abstract_version = examples
        .iter()
        .find(|e| e.contains("abstract_target 'Shows'"))
        .unwrap();
    let root_version = examples
        .iter()
        .find(|e| e.starts_with("pod 'ShowsKit'"))
        .unwrap();
    let from_abstract = pods_per_target(&parse_podfile(abstract_version).unwrap());
    let from_root = pods_per_target(&parse_podfile(root_version).unwrap());
    assert_eq!(from_abstract, from_root);
    assert!(from_root.contains(&("ShowsKit".to_string(), "ShowsTV".to_string())));
    assert!(from_root.contains(&("ShowWebAuth".to_string(), "ShowsiOS".to_string())));
    assert!(!from_root.contains(&("ShowWebAuth".to_string(), "ShowsTV".to_string())));
}

#[test]
fn the_guides_search_paths_example_keeps_the_app_pod_out_of_the_test_bundle() {
    let examples = guide_examples();
    let example = examples
        .iter()
        .find(|e| e.contains("target 'MyAppTests'"))
        .unwrap();
    let podfile = parse_podfile(example).unwrap();
    assert_eq!(
        targets_of(&podfile, "GoogleAnalytics", "MyApp"),
        vec!["MyApp"]
    );
    assert_eq!(
        targets_of(&podfile, "OCMock", "MyAppTests"),
        vec!["MyAppTests"]
    );
    assert_eq!(warning_lines(&podfile.warnings), vec![20]);
}
