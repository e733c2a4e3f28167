#!/usr/bin/env python3
"""Drives the Convoy GitLab simulator with python-gitlab, a client written independently of
Convoy, to check that the simulator speaks GitLab's REST API as real clients expect.

Usage: check_python_gitlab.py BASE_URL TOKEN

The simulator must run the demo scenario. Exit status 0 when every check passes, 1 when one
fails (with the reason), 2 when python-gitlab is missing or the arguments are wrong.
"""

import base64
import sys
import time

try:
    import gitlab
    from gitlab import exceptions
except ImportError:
    print("python-gitlab is not installed: run `pip install python-gitlab`", file=sys.stderr)
    sys.exit(2)

STALE_MESSAGE = "You are attempting to update a file that has changed since you started editing it."
APP = "mobile/app"
RELEASE_BRANCH = "release/2.0.0"
FEATURE_BRANCH = "python/readme"


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def wait_until(what, predicate, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise CheckFailed(f"timed out waiting for {what}")


def expect_error(error_class, action, status, message_part):
    try:
        action()
    except error_class as error:
        check(error.response_code == status, f"expected HTTP {status}, got {error.response_code}: {error}")
        check(message_part in str(error.error_message), f"expected {message_part!r} in {error.error_message!r}")
        return error
    raise CheckFailed(f"expected {error_class.__name__} (HTTP {status}), the call succeeded")


def check_release_flow(app):
    """Branch creation, file update, MR, pipeline, merge, tag and tag pipeline, as Convoy does
    them, against GitLab's real rules (the head pipeline is linked a moment after creation)."""
    branch = app.branches.create({"branch": FEATURE_BRANCH, "ref": "main"})
    check(branch.name == FEATURE_BRANCH, f"created branch is named {branch.name}")
    expect_error(
        exceptions.GitlabCreateError,
        lambda: app.branches.create({"branch": FEATURE_BRANCH, "ref": "main"}),
        400,
        "Branch already exists",
    )
    readme = app.files.get(file_path="README.md", ref=FEATURE_BRANCH)
    app.files.update(
        "README.md",
        {
            "branch": FEATURE_BRANCH,
            "content": base64.b64decode(readme.content).decode() + "More words.\n",
            "commit_message": "Describe the app",
            "last_commit_id": readme.last_commit_id,
        },
    )
    mr = app.mergerequests.create(
        {"source_branch": FEATURE_BRANCH, "target_branch": "main", "title": "Describe the app"}
    )
    check(mr.state == "opened", f"new MR state is {mr.state}")
    pipeline = app.pipelines.create({"ref": FEATURE_BRANCH})
    check(pipeline.ref == FEATURE_BRANCH, f"pipeline ref is {pipeline.ref}")

    def linked():
        head = app.mergerequests.get(mr.iid).head_pipeline
        return head is not None and head["id"] == pipeline.id

    wait_until("GitLab to show the new pipeline as the MR's head pipeline", linked)
    # Merge when the pipeline succeeds (or at once if it already did).
    mr.merge(merge_when_pipeline_succeeds=True, sha=app.mergerequests.get(mr.iid).sha)

    def merged():
        return app.mergerequests.get(mr.iid).state == "merged"

    wait_until("the merge request to merge", merged)
    fresh = app.mergerequests.get(mr.iid)
    check(fresh.merge_commit_sha, "a merged MR has a merge_commit_sha")
    expect_error(exceptions.GitlabMRClosedError, lambda: fresh.merge(), 405, "405 Method Not Allowed")
    listed = app.mergerequests.list(state="merged", source_branch=FEATURE_BRANCH, get_all=True)
    check(len(listed) == 1, f"expected one merged MR from {FEATURE_BRANCH}, got {len(listed)}")
    branches = [b.name for b in app.branches.list(get_all=True)]
    check(FEATURE_BRANCH not in branches, "the source branch was removed on merge")

    tag = app.tags.create({"tag_name": "2.0.0", "ref": "main", "message": "Release 2.0.0"})
    check(tag.name == "2.0.0", f"created tag is named {tag.name}")

    def tag_pipeline_passed():
        pipelines = app.pipelines.list(ref="2.0.0", get_all=True)
        return bool(pipelines) and pipelines[0].status == "success"

    wait_until("the tag pipeline to succeed", tag_pipeline_passed)
    print(f"ok: branch, file update, MR !{fresh.iid} merged as {fresh.merge_commit_sha[:8]}, tag 2.0.0 and its pipeline")


def check_tags(app):
    tag = app.tags.get("2.0.0")
    expect_error(
        exceptions.GitlabCreateError,
        lambda: app.tags.create({"tag_name": "2.0.0", "ref": "main"}),
        400,
        "Tag 2.0.0 already exists",
    )
    check(app.tags.get("2.0.0").commit["id"] == tag.commit["id"], "the tag still points at its commit")
    print("ok: a second create of tag 2.0.0 fails with GitlabCreateError 400")


def check_files(app):
    podfile = app.files.get(file_path="Podfile", ref=RELEASE_BRANCH)
    text = base64.b64decode(podfile.content).decode()
    check("pod 'CoreKit', :git =>" in text, "the demo Podfile pins CoreKit on a branch")
    read_at = podfile.last_commit_id
    app.files.update(
        "Podfile",
        {
            "branch": RELEASE_BRANCH,
            "content": text + "# edited by python-gitlab\n",
            "commit_message": "Edit Podfile",
            "last_commit_id": read_at,
        },
    )
    expect_error(
        exceptions.GitlabUpdateError,
        lambda: app.files.update(
            "Podfile",
            {
                "branch": RELEASE_BRANCH,
                "content": text + "# a stale edit\n",
                "commit_message": "Stale edit",
                "last_commit_id": read_at,
            },
        ),
        400,
        STALE_MESSAGE,
    )
    again = app.files.get(file_path="Podfile", ref=RELEASE_BRANCH)
    check(base64.b64decode(again.content).decode().endswith("# edited by python-gitlab\n"), "the stale edit changed nothing")
    print("ok: Podfile updated with its last_commit_id; a stale last_commit_id fails with 400")


def check_tree_and_hooks(app):
    paths = {item["path"] for item in app.repository_tree(recursive=True, per_page=2, get_all=True)}
    check("LocalPods/DesignSystem/DesignSystem.podspec" in paths, f"recursive tree over pages lacks a file: {sorted(paths)}")
    hook = app.hooks.create({"url": "http://127.0.0.1:9/hook", "token": "secret", "merge_requests_events": True})
    check(not hasattr(hook, "token") or hook.token is None, "the hook token is never shown")
    check(len(app.hooks.list(get_all=True)) == 1, "one hook listed")
    print(f"ok: tree followed {len(paths)} entries over pages; hook {hook.id} added")


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base_url, token = argv[1], argv[2]
    gl = gitlab.Gitlab(base_url, private_token=token)
    try:
        gl.auth()
        check(gl.user is not None, "GET /user answered")
        expect_error(exceptions.GitlabAuthenticationError, lambda: gitlab.Gitlab(base_url, private_token="wrong").auth(), 401, "401 Unauthorized")
        app = gl.projects.get(APP)
        check(app.path_with_namespace == APP, f"project path is {app.path_with_namespace}")
        check_release_flow(app)
        check_tags(app)
        check_files(app)
        check_tree_and_hooks(app)
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except exceptions.GitlabError as error:
        print(f"FAILED: unexpected GitLab error {error.response_code}: {error.error_message}", file=sys.stderr)
        return 1
    print("python-gitlab checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
