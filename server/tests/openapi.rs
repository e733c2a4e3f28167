//! The OpenAPI document at `/api/v1/openapi.json` describes the API the server really serves:
//! every registered route with its method, one error schema, the security schemes, examples
//! that the handlers accept, and answers that match their schemas.

mod api_helpers;

use std::collections::BTreeSet;

use api_helpers::{BOOTSTRAP_TOKEN, spawn_app};
use convoy_server::api::openapi::{DOCUMENT_PATH, PAGE_PATH, document};
use convoy_server::api::{ROUTES, components, releases, tokens};
use serde_json::{Value, json};

/// The documented operations outside `/api/v1`, registered by their own modules.
const OUTSIDE_THE_API: &[(&str, &str)] = &[
    ("post", "/webhooks/gitlab"),
    ("get", "/health_check"),
    ("get", "/ready"),
];

fn document_json() -> Value {
    serde_json::to_value(document()).expect("the document serializes")
}

/// Every (method, path) the document describes.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                operations.insert((method.to_string(), path.clone()));
            }
        }
    }
    operations
}

#[test]
fn every_registered_api_route_is_documented_with_its_method_and_nothing_else_is() {
    let doc = document_json();
    let documented = documented_operations(&doc);
    let registered: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), format!("/api/v1{path}")))
        .chain(
            OUTSIDE_THE_API
                .iter()
                .map(|(method, path)| (method.to_string(), path.to_string())),
        )
        .collect();

    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "registered but not in the OpenAPI document (add #[utoipa::path] and list it in ApiDoc): {undocumented:?}"
    );
    let unregistered: Vec<_> = documented.difference(&registered).collect();
    assert!(
        unregistered.is_empty(),
        "documented but not registered: {unregistered:?}"
    );
    assert_eq!(
        registered.len(),
        ROUTES.len() + OUTSIDE_THE_API.len(),
        "the table lists every route once"
    );
}

#[tokio::test]
async fn the_server_answers_every_documented_operation_from_a_handler() {
    let app = spawn_app().await;
    for (method, path) in documented_operations(&document_json()) {
        let concrete = path.replace("{id}", "1").replace("{name}", "A");
        let url = format!("{}{concrete}", app.address);
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(BOOTSTRAP_TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let unknown = format!("there is no {method} {concrete} endpoint");
        assert!(
            status != 404 || !body.contains(&unknown),
            "{method} {path} reached no handler: {body}"
        );
    }
}

#[tokio::test]
async fn the_document_is_served_as_built_and_the_page_loads_scalar_from_convoy_itself() {
    let app = spawn_app().await;

    let response = app.get(DOCUMENT_PATH).await;
    assert_eq!(response.status().as_u16(), 200);
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document_json());
    assert_eq!(served["openapi"], "3.1.0");

    let response = app.get(PAGE_PATH).await;
    assert_eq!(response.status().as_u16(), 200);
    let policy = response
        .headers()
        .get("content-security-policy")
        .expect("the page has a CSP")
        .to_str()
        .unwrap()
        .to_string();
    let page = response.text().await.unwrap();
    assert!(
        policy.contains("script-src 'self';"),
        "scripts only from Convoy: {policy}"
    );
    assert!(
        page.contains(r#"<script src="/assets/vendor/scalar/standalone.js"></script>"#),
        "{page}"
    );
    assert!(
        !page.contains("<script src=\"http"),
        "no script from another site: {page}"
    );
    let data = page
        .split_once(r#"type="application/json""#)
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(data, _)| data)
        .expect("the document is in a JSON data block");
    let embedded: Value = serde_json::from_str(data.trim()).expect("the data block is JSON");
    assert_eq!(embedded, document_json());

    let script = app.get("/assets/vendor/scalar/standalone.js").await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.bytes().await.unwrap().len() > 100_000);
}

#[test]
fn every_error_answer_has_the_one_error_schema() {
    let doc = document_json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                if code < 400 || (path == "/ready" && code == 503) {
                    continue;
                }
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} error answers documented");
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        json!(["error"])
    );
}

#[test]
fn the_security_schemes_are_the_session_with_its_csrf_header_the_bearer_token_and_the_webhook_token()
 {
    let doc = document_json();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "convoy_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");
    assert_eq!(schemes["gitlab_token"]["in"], "header");
    assert_eq!(schemes["gitlab_token"]["name"], "X-Gitlab-Token");

    for (method, path) in ROUTES {
        let security = &doc["paths"][format!("/api/v1{path}")][*method]["security"];
        let requirements = security.as_array().expect("every route names its security");
        assert!(
            requirements.contains(&json!({"bearer": []})),
            "{method} {path}: {security}"
        );
        if *method == "get" {
            assert!(
                requirements.contains(&json!({"session": []})),
                "{method} {path}: {security}"
            );
        } else {
            assert!(
                requirements.contains(&json!({"session": [], "csrf": []})),
                "a change with the session needs the CSRF header: {method} {path}: {security}"
            );
            assert!(
                !requirements.contains(&json!({})),
                "no change is open to anonymous clients: {method} {path}"
            );
        }
    }
    assert_eq!(
        doc["paths"]["/webhooks/gitlab"]["post"]["security"],
        json!([{"gitlab_token": []}])
    );
}

#[test]
fn the_documented_request_examples_are_accepted_by_the_request_types() {
    let doc = document_json();
    let example = |name: &str| -> Value {
        let example = doc["components"]["schemas"][name]["example"].clone();
        assert!(example.is_object(), "{name} has an example");
        example
    };
    let release: releases::CreateReleaseRequest =
        serde_json::from_value(example("CreateReleaseRequest")).unwrap();
    assert_eq!(release.app_project, "mobile/app");
    let version: components::VersionRequest =
        serde_json::from_value(example("VersionRequest")).unwrap();
    assert_eq!(version.version, "2.1.0");
    let released: components::ReleasedRequest =
        serde_json::from_value(example("ReleasedRequest")).unwrap();
    assert!(!released.reason.is_empty());
    let token: tokens::CreateTokenRequest =
        serde_json::from_value(example("CreateTokenRequest")).unwrap();
    assert_eq!(token.name, "release CI");
}

/// The schema's complaints about `value`: a missing required field, a field the schema does
/// not name, a wrong type or a value outside an enum. Follows `$ref`, `allOf` and `oneOf`.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return mismatches(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(all) = schema["allOf"].as_array() {
        // Each part names only its own fields: check types part by part, unknown fields once.
        let mut problems = Vec::new();
        let mut known = BTreeSet::new();
        for part in all {
            let part = resolve(doc, part);
            if let Some(properties) = part["properties"].as_object() {
                known.extend(properties.keys().cloned());
            }
            let mut partial = part.clone();
            partial["additionalProperties"] = json!(true);
            problems.extend(mismatches(doc, &partial, value, at));
        }
        if let Some(object) = value.as_object() {
            for key in object.keys().filter(|key| !known.contains(*key)) {
                problems.push(format!("{at}.{key} is not in the schema"));
            }
        }
        return problems;
    }
    if let Some(one) = schema["oneOf"].as_array() {
        return if one
            .iter()
            .any(|option| mismatches(doc, option, value, at).is_empty())
        {
            Vec::new()
        } else {
            vec![format!(
                "{at} matches none of {}",
                Value::Array(one.clone())
            )]
        };
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return vec![format!("{at} = {value} is not one of {allowed:?}")];
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => return Vec::new(),
    };
    let fits = types.iter().any(|kind| match *kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    });
    if !fits {
        return vec![format!("{at} = {value} is not {types:?}")];
    }
    let mut problems = Vec::new();
    if let Some(items) = value.as_array() {
        for (index, item) in items.iter().enumerate() {
            problems.extend(mismatches(
                doc,
                &schema["items"],
                item,
                &format!("{at}[{index}]"),
            ));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap();
            if !object.contains_key(required) {
                problems.push(format!("{at}.{required} is required but missing"));
            }
        }
        for (key, field) in object {
            match properties.get(key) {
                Some(field_schema) => {
                    problems.extend(mismatches(doc, field_schema, field, &format!("{at}.{key}")))
                }
                None if schema["additionalProperties"] == json!(true) => {}
                None => problems.push(format!("{at}.{key} is not in the schema")),
            }
        }
    }
    problems
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            &doc["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")]
        }
        None => schema,
    }
}

/// Asserts that `response` has a documented status for `method path` and matches its schema.
async fn assert_documented(
    doc: &Value,
    method: &str,
    path: &str,
    response: reqwest::Response,
) -> u16 {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("the answer is JSON");
    let documented = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(
        documented.is_object(),
        "{method} {path} answered {status}, which the document does not list: {body}"
    );
    let schema = &documented["content"]["application/json"]["schema"];
    let problems = mismatches(doc, schema, &body, "body");
    assert!(
        problems.is_empty(),
        "{method} {path} {status}: {problems:#?}\n{body:#}"
    );
    status
}

#[tokio::test]
async fn real_answers_match_their_documented_schemas() {
    let app = spawn_app().await;
    let doc = document_json();
    let id = app.waiting_release().await;
    let release = format!("/api/v1/releases/{id}");

    let cases = [
        (
            "get",
            "/api/v1/releases",
            "/api/v1/releases".to_string(),
            200,
        ),
        ("get", "/api/v1/releases/{id}", release.clone(), 200),
        (
            "get",
            "/api/v1/releases/{id}/events",
            format!("{release}/events"),
            200,
        ),
        (
            "get",
            "/api/v1/releases/{id}/permissions",
            format!("{release}/permissions"),
            200,
        ),
        (
            "get",
            "/api/v1/releases/{id}",
            "/api/v1/releases/999".to_string(),
            404,
        ),
        (
            "get",
            "/api/v1/releases",
            "/api/v1/releases?per_page=0".to_string(),
            400,
        ),
    ];
    for (method, documented_path, url, expected) in cases {
        let response = app.get(&url).await;
        let status = assert_documented(&doc, method, documented_path, response).await;
        assert_eq!(status, expected, "{url}");
    }

    let deployed = app.post(&format!("{release}/deploy"), json!({})).await;
    assert_eq!(
        assert_documented(&doc, "post", "/api/v1/releases/{id}/deploy", deployed).await,
        200
    );
    let again = app
        .put(
            &format!("{release}/components/A/version"),
            json!({"version": "2.0.0"}),
        )
        .await;
    assert_eq!(
        assert_documented(
            &doc,
            "put",
            "/api/v1/releases/{id}/components/{name}/version",
            again
        )
        .await,
        409
    );
    let audit = app.get_as_admin("/api/v1/audit").await;
    assert_eq!(
        assert_documented(&doc, "get", "/api/v1/audit", audit).await,
        200
    );
    // Even under --allow-anonymous the audit log names people only to those signed in.
    let anonymous = app.get("/api/v1/audit").await;
    assert_eq!(
        assert_documented(&doc, "get", "/api/v1/audit", anonymous).await,
        401
    );
    let tokens = app
        .client
        .get(format!("{}/api/v1/tokens", app.address))
        .bearer_auth(BOOTSTRAP_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_documented(&doc, "get", "/api/v1/tokens", tokens).await,
        403,
        "the bootstrap token is no person"
    );
    let hook = app
        .client
        .post(format!("{}/webhooks/gitlab", app.address))
        .header("X-Gitlab-Token", api_helpers::WEBHOOK_SECRET)
        .header("X-Gitlab-Event", "Push Hook")
        .json(&json!({"object_kind": "push"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_documented(&doc, "post", "/webhooks/gitlab", hook).await,
        200
    );
}

#[test]
fn the_schema_check_finds_missing_unknown_and_mistyped_fields() {
    let doc = document_json();
    let schema = json!({"$ref": "#/components/schemas/ErrorBody"});
    assert!(mismatches(&doc, &schema, &json!({"error": "x"}), "body").is_empty());
    assert_eq!(
        mismatches(&doc, &schema, &json!({}), "body"),
        ["body.error is required but missing"]
    );
    assert_eq!(
        mismatches(&doc, &schema, &json!({"error": 1}), "body"),
        ["body.error = 1 is not [\"string\"]"]
    );
    assert_eq!(
        mismatches(&doc, &schema, &json!({"error": "x", "more": 1}), "body"),
        ["body.more is not in the schema"]
    );
}

#[tokio::test]
async fn another_method_on_a_known_address_answers_405_with_the_allowed_ones() {
    let app = spawn_app().await;
    let send = |method: &str, path: &str| {
        app.client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", app.address),
            )
            .bearer_auth(BOOTSTRAP_TOKEN)
            .send()
    };
    for (method, path, allow) in [
        ("TRACE", "/api/v1/releases", "GET, POST"),
        ("PATCH", "/api/v1/releases/3/components/A/version", "PUT"),
        ("GET", "/api/v1/tokens/3", "DELETE"),
        ("DELETE", "/health_check", "GET"),
        ("POST", "/ready", "GET"),
        ("GET", "/webhooks/gitlab", "POST"),
    ] {
        let response = send(method, path).await.unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(allow),
            "{method} {path}: {body}"
        );
    }
    let unknown = send("GET", "/api/v1/nothing").await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn a_whole_number_written_as_a_float_is_a_whole_number_of_days() {
    let app = spawn_app().await;
    let create = |days: Value| {
        app.client
            .post(format!("{}/api/v1/tokens", app.address))
            .bearer_auth(BOOTSTRAP_TOKEN)
            .json(&json!({"name": "release CI", "expires_in_days": days}))
            .send()
    };
    // The body is read before the handler refuses the bootstrap token (tokens belong to
    // people): 403 means the body was accepted, 400 that it was not.
    for accepted in [json!(30), json!(30.0), json!(null)] {
        let response = create(accepted.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{accepted}");
    }
    for refused in [json!(30.5), json!(-1), json!(1e12), json!("30")] {
        let response = create(refused.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{refused}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("expires_in_days")
                || body["error"].as_str().unwrap().contains("whole number"),
            "{refused}: {body}"
        );
    }
}
