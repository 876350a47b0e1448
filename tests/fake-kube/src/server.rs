//! The HTTP side: routing, discovery, the verbs, watches, logs, the scale subresource and
//! request counters.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::logs::LogQuery;
use crate::patch;
use crate::resources::{self, RESOURCES, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::ssa;
use crate::status::ApiError;
use crate::table;
use crate::world::{ChangeKind, Key, World, WriteOpts};

pub type Body = BoxBody<Bytes, Infallible>;

/// What the server and the controllers share.
pub struct Shared {
    pub world: Mutex<World>,
    pub counters: Mutex<BTreeMap<String, u64>>,
    pub wake: Notify,
}

impl Shared {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, verb: &str, resource: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *counters.entry(format!("{verb} {resource}")).or_insert(0) += 1;
    }
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .expect("a valid response")
}

fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code, &err.body())
}

fn text_response(code: u16, text: String) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "text/plain")
        .body(Full::new(Bytes::from(text)).boxed())
        .expect("a valid response")
}

fn stream_response(content_type: &str, rx: tokio::sync::mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", content_type)
        .header("Transfer-Encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("a valid response")
}

/// The parsed request line of a resource request.
struct Target {
    res: usize,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(segments: &[&str]) -> Option<Result<Target, ApiError>> {
    let (group, rest) = match segments {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, "v1", rest @ ..] => (*group, rest),
        _ => return None,
    };
    let resource = |plural: &str| {
        resources::find(group, plural).ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        })
    };
    let target = match rest {
        [] => return None,
        ["namespaces", ns, plural, tail @ ..]
            if !matches!(*plural, "status" | "finalize") || !tail.is_empty() =>
        {
            resource(plural).map(|res| Target {
                res,
                ns: Some(ns.to_string()),
                name: tail.first().map(|s| s.to_string()),
                sub: tail.get(1).map(|s| s.to_string()),
            })
        }
        [plural, tail @ ..] => resource(plural).map(|res| Target {
            res,
            ns: None,
            name: tail.first().map(|s| s.to_string()),
            sub: tail.get(1).map(|s| s.to_string()),
        }),
    };
    Some(target)
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn parse_body(bytes: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    if content_type.contains("protobuf") {
        return crate::proto::decode(bytes)
            .ok_or_else(|| ApiError::unsupported_media(content_type));
    }
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media(content_type));
    }
    serde_json::from_slice(bytes).or_else(|json_err| {
        let text = std::str::from_utf8(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
        serde_saphyr::from_str::<Value>(text).map_err(|yaml_err| {
            ApiError::bad_request(format!(
                "error decoding body: json: {json_err}; yaml: {yaml_err}"
            ))
        })
    })
}

pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(error_response(&ApiError::bad_request(e.to_string()))),
    };
    let path = parts.uri.path().to_string();
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let params = query(&parts.uri);
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let discovery = |doc: Option<Value>| {
        Ok(match doc {
            Some(doc) => json_response(200, &doc),
            None => error_response(&ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )),
        })
    };
    match segments.as_slice() {
        ["version"] => return discovery(Some(resources::version())),
        ["api"] => return discovery(Some(resources::core_versions())),
        ["api", "v1"] => return discovery(Some(resources::resource_list(""))),
        ["apis"] => return discovery(Some(resources::group_list())),
        ["apis", group] => return discovery(resources::group(group)),
        ["apis", group, "v1"] if resources::GROUPS.contains(group) => {
            return discovery(Some(resources::resource_list(group)));
        }
        ["openapi", "v3"] => return discovery(Some(resources::openapi_root())),
        ["openapi", "v3", rest @ ..] => {
            return discovery(resources::openapi_group_version(&rest.join("/")));
        }
        ["healthz" | "readyz" | "livez"] => return Ok(text_response(200, "ok".into())),
        [
            "apis",
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        ] if parts.method == Method::POST => {
            // Every user of the fake may do everything: the review comes back allowed.
            shared.count("create", "selfsubjectaccessreviews");
            let mut review: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
            review["status"] = json!({"allowed": true});
            return Ok(json_response(201, &review));
        }
        ["_fake", "requests"] => {
            let counters = shared
                .counters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Ok(json_response(200, &json!(counters)));
        }
        _ => {}
    }
    let target = match parse_target(&segments) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Ok(error_response(&e)),
        None => return discovery(None),
    };
    let ctx = RequestCtx {
        shared: shared.clone(),
        params,
        accept: header("accept"),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
    };
    let response = dispatch(&ctx, &parts.method, &target, &bytes).await;
    shared.wake.notify_one();
    Ok(response.unwrap_or_else(|e| error_response(&e)))
}

struct RequestCtx {
    shared: Arc<Shared>,
    params: HashMap<String, String>,
    accept: String,
    content_type: String,
    user_agent: String,
}

impl RequestCtx {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    fn write_opts(&self, sub: Option<&str>) -> WriteOpts {
        let manager = self
            .param("fieldManager")
            .map(String::from)
            .unwrap_or_else(|| {
                self.user_agent
                    .split('/')
                    .next()
                    .unwrap_or("unknown")
                    .chars()
                    .take(128)
                    .collect()
            });
        WriteOpts {
            manager,
            subresource: sub.unwrap_or_default().to_string(),
            dry_run: self.param("dryRun").is_some(),
        }
    }

    fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }
}

async fn dispatch(
    ctx: &RequestCtx,
    method: &Method,
    t: &Target,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let def = &RESOURCES[t.res];
    let ns = if def.namespaced { t.ns.clone() } else { None };
    let sub = t.sub.as_deref();
    let resource_name = match sub {
        Some(s) => format!("{}/{s}", def.plural),
        None => def.plural.to_string(),
    };
    let verb = match (method, &t.name) {
        (&Method::GET, None) if ctx.flag("watch") => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, None) => "deletecollection",
        (&Method::DELETE, Some(_)) => "delete",
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    ctx.shared.count(verb, &resource_name);
    if let Some(s) = sub
        && !def.subresources.contains(&s)
    {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let name = t.name.clone().unwrap_or_default();
    let key = Key::new(t.res, ns.as_deref().unwrap_or_default(), &name);
    match verb {
        "watch" => watch(ctx, t.res, ns.as_deref()),
        "list" => list(ctx, def, t.res, ns.as_deref()),
        "get" if sub == Some("log") => pod_log(ctx, &key).await,
        "get" => {
            let world = ctx.shared.world();
            let obj = world
                .get(&key)
                .ok_or_else(|| ApiError::not_found(def, &name))?;
            if sub == Some("scale") {
                return Ok(json_response(200, &to_scale(obj)));
            }
            if ctx.wants_table() {
                return Ok(json_response(200, &table::table(def, &[obj], world.rv())));
            }
            Ok(json_response(200, obj))
        }
        "create" => {
            let mut obj = parse_body(body, &ctx.content_type)?;
            if let Some(ns) = &ns {
                match obj["metadata"]["namespace"].as_str() {
                    Some(given) if !given.is_empty() && given != ns => {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    _ => obj["metadata"]["namespace"] = json!(ns),
                }
            }
            let created = ctx
                .shared
                .world()
                .create(t.res, obj, &ctx.write_opts(None))?;
            Ok(json_response(201, &created))
        }
        "update" => {
            let obj = parse_body(body, &ctx.content_type)?;
            if obj["metadata"]["name"].as_str() != Some(name.as_str()) {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
            let mut world = ctx.shared.world();
            if sub == Some("scale") {
                let replicas = obj["spec"]["replicas"].clone();
                return write_scale(&mut world, ctx, def, &key, replicas);
            }
            let mut obj = obj;
            if let Some(ns) = &ns {
                obj["metadata"]["namespace"] = json!(ns);
            }
            let updated = world.update(t.res, obj, &ctx.write_opts(sub), true)?;
            Ok(json_response(200, &updated))
        }
        "patch" => patch_object(ctx, def, &key, sub, body),
        "delete" => {
            let options = parse_body(body, "application/json").unwrap_or(Value::Null);
            let grace = ctx
                .param("gracePeriodSeconds")
                .and_then(|g| g.parse().ok())
                .or_else(|| options["gracePeriodSeconds"].as_i64());
            let propagation = ctx
                .param("propagationPolicy")
                .map(String::from)
                .or_else(|| options["propagationPolicy"].as_str().map(String::from))
                .or_else(|| match options["orphanDependents"].as_bool() {
                    Some(true) => Some("Orphan".into()),
                    _ => None,
                });
            let dry_run = ctx.param("dryRun").is_some() || options["dryRun"].is_array();
            let mut world = ctx.shared.world();
            let uid = world.get(&key).map(|o| o["metadata"]["uid"].clone());
            match world.delete(&key, grace, propagation.as_deref(), dry_run)? {
                Some(obj) => Ok(json_response(200, &obj)),
                None => {
                    let mut details = def.details(&name);
                    details["uid"] = uid.unwrap_or(Value::Null);
                    Ok(json_response(
                        200,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Success", "details": details}),
                    ))
                }
            }
        }
        _ => {
            let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or_default())?;
            let fields =
                FieldSelector::parse(ctx.param("fieldSelector").unwrap_or_default(), def.kind)?;
            let mut world = ctx.shared.world();
            let keys: Vec<Key> = world
                .list(t.res, ns.as_deref())
                .into_iter()
                .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
                .map(|o| Key::of(t.res, o))
                .collect();
            let mut items = Vec::new();
            for key in keys {
                if let Ok(Some(obj)) = world.delete(&key, None, None, ctx.param("dryRun").is_some())
                {
                    items.push(obj);
                }
            }
            Ok(json_response(
                200,
                &json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(),
                "metadata": {"resourceVersion": world.rv().to_string()}, "items": items}),
            ))
        }
    }
}

fn list(
    ctx: &RequestCtx,
    def: &ResourceDef,
    res: usize,
    ns: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or_default(), def.kind)?;
    let world = ctx.shared.world();
    let items: Vec<&Value> = world
        .list(res, ns)
        .into_iter()
        .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
        .collect();
    if ctx.wants_table() {
        return Ok(json_response(200, &table::table(def, &items, world.rv())));
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", def.kind),
            "apiVersion": def.api_version(),
            "metadata": {"resourceVersion": world.rv().to_string()},
            "items": items,
        }),
    ))
}

fn to_scale(obj: &Value) -> Value {
    let selector = LabelSelector::from_object(&obj["spec"]["selector"]).to_text();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

fn write_scale(
    world: &mut World,
    ctx: &RequestCtx,
    def: &ResourceDef,
    key: &Key,
    replicas: Value,
) -> Result<Response<Body>, ApiError> {
    let mut obj = world
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(def, &key.name))?;
    let Some(n) = replicas.as_i64() else {
        return Err(ApiError::invalid(
            def,
            &key.name,
            vec![crate::status::FieldError::invalid(
                "spec.replicas",
                &replicas.to_string(),
                "must be an integer",
            )],
        ));
    };
    obj["spec"]["replicas"] = json!(n);
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    let updated = world.update(key.res, obj, &ctx.write_opts(Some("scale")), true)?;
    Ok(json_response(200, &to_scale(&updated)))
}

fn patch_object(
    ctx: &RequestCtx,
    def: &ResourceDef,
    key: &Key,
    sub: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let content_type = ctx
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let patch_doc = parse_body(body, &content_type)?;
    let mut world = ctx.shared.world();
    let opts = ctx.write_opts(sub);
    if content_type == "application/apply-patch+yaml" {
        if ctx.param("fieldManager").is_none() {
            return Err(ApiError::new(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        if sub == Some("scale") {
            // Applying a Scale sets spec.replicas of the workload through the subresource.
            let replicas = patch_doc["spec"]["replicas"].clone();
            return write_scale(&mut world, ctx, def, key, replicas);
        }
        let mut config = patch_doc;
        if config["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n != key.name)
        {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        config["metadata"]["name"] = json!(key.name);
        if def.namespaced {
            config["metadata"]["namespace"] = json!(key.ns);
        }
        let live = world.get(key).cloned();
        let merged = ssa::apply(
            live.as_ref(),
            &config,
            &opts.manager,
            ctx.flag("force"),
            &def.api_version(),
        )?;
        let result = match live {
            None => {
                let r = world.create_applied(key.res, merged, &opts)?;
                return Ok(json_response(201, &r));
            }
            Some(_) => {
                let mut merged = merged;
                if let Some(m) = merged["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                world.update(key.res, merged, &opts, false)?
            }
        };
        return Ok(json_response(200, &result));
    }
    let live = world
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(def, &key.name))?;
    let mut target = if sub == Some("scale") {
        to_scale(&live)
    } else {
        live.clone()
    };
    match content_type.as_str() {
        "application/merge-patch+json" => patch::merge_patch(&mut target, &patch_doc),
        "application/strategic-merge-patch+json" => patch::strategic_merge(&mut target, &patch_doc),
        "application/json-patch+json" => patch::json_patch(&mut target, &patch_doc)
            .map_err(|e| ApiError::new(422, "Invalid", e))?,
        other => return Err(ApiError::unsupported_media(other)),
    }
    if sub == Some("scale") {
        return write_scale(
            &mut world,
            ctx,
            def,
            key,
            target["spec"]["replicas"].clone(),
        );
    }
    if target["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
        && let Some(m) = target["metadata"].as_object_mut()
    {
        m.remove("resourceVersion");
    }
    let updated = world.update(key.res, target, &opts, true)?;
    Ok(json_response(200, &updated))
}

fn watch_event(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn watch(ctx: &RequestCtx, res: usize, ns: Option<&str>) -> Result<Response<Body>, ApiError> {
    let def = &RESOURCES[res];
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or_default(), def.kind)?;
    let matches = move |o: &Value| labels.matches(&o["metadata"]["labels"]) && fields.matches(o);
    let timeout = ctx
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let send_initial = ctx.flag("sendInitialEvents");
    let rv_param = ctx.param("resourceVersion").unwrap_or("0").to_string();
    let ns = ns.map(String::from);
    let in_scope = {
        let ns = ns.clone();
        move |k: &Key| k.res == res && ns.as_ref().is_none_or(|n| &k.ns == n)
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let mut initial: Vec<Bytes> = Vec::new();
    let (mut changes, start_rv) = {
        let world = ctx.shared.world();
        let changes = world.changes.subscribe();
        if send_initial || rv_param == "0" {
            for obj in world
                .list(res, ns.as_deref())
                .into_iter()
                .filter(|o| matches(o))
            {
                initial.push(watch_event("ADDED", obj));
            }
            if send_initial {
                initial.push(watch_event(
                    "BOOKMARK",
                    &json!({"kind": def.kind, "apiVersion": def.api_version(),
                    "metadata": {"resourceVersion": world.rv().to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"}}}),
                ));
            }
        } else {
            let rv: u64 = rv_param.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {rv_param}"))
            })?;
            match world.since(rv) {
                None => initial.push(watch_event(
                    "ERROR",
                    &ApiError::gone(format!("too old resource version: {rv} ({})", world.rv()))
                        .body(),
                )),
                Some(history) => {
                    for change in history.iter().filter(|c| in_scope(&c.key)) {
                        if let Some(event) = event_for(change, &matches) {
                            initial.push(event);
                        }
                    }
                }
            }
        }
        (changes, world.rv())
    };
    tokio::spawn(async move {
        for event in initial {
            if tx.send(event).await.is_err() {
                return;
            }
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, changes.recv()).await.ok(),
                    None => Some(changes.recv().await),
                }
            };
            tokio::select! {
                _ = tx.closed() => return,
                received = next => match received {
                    None | Some(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return,
                    Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => return,
                    Some(Ok(change)) => {
                        if change.rv <= start_rv || !in_scope(&change.key) {
                            continue;
                        }
                        if let Some(event) = event_for(&change, &matches)
                            && tx.send(event).await.is_err()
                        {
                            return;
                        }
                    }
                },
            }
        }
    });
    Ok(stream_response("application/json", rx))
}

fn event_for(change: &crate::world::Change, matches: &impl Fn(&Value) -> bool) -> Option<Bytes> {
    let now = matches(&change.object);
    let before = change.old.as_ref().is_some_and(matches);
    let kind = match (change.kind, now, before) {
        (ChangeKind::Deleted, true, _) => "DELETED",
        (ChangeKind::Added, true, _) => "ADDED",
        (ChangeKind::Modified, true, true) => "MODIFIED",
        (ChangeKind::Modified, true, false) => "ADDED",
        (ChangeKind::Modified, false, true) => "DELETED",
        _ => return None,
    };
    Some(watch_event(kind, &change.object))
}

async fn pod_log(ctx: &RequestCtx, key: &Key) -> Result<Response<Body>, ApiError> {
    let def = key.def();
    let (uid, container) = {
        let world = ctx.shared.world();
        let pod = world
            .get(key)
            .ok_or_else(|| ApiError::not_found(def, &key.name))?;
        let names: Vec<String> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(String::from))
            .collect();
        let container = match ctx.param("container") {
            Some(c) if names.iter().any(|n| n == c) => c.to_string(),
            Some(c) => {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {}",
                    key.name
                )));
            }
            None if names.len() == 1 => names[0].clone(),
            None => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    key.name,
                    names.join(" ")
                )));
            }
        };
        let uid = pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let previous = ctx.flag("previous");
        let run = world
            .logs
            .get(&uid)
            .and_then(|l| l.run_index(&container, previous));
        if run.is_none() {
            if previous {
                return Err(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{}\" not found",
                    key.name
                )));
            }
            let waiting = pod["status"]["containerStatuses"]
                .as_array()
                .and_then(|l| l.iter().find(|s| s["name"] == container.as_str()))
                .and_then(|s| s["state"]["waiting"]["reason"].as_str())
                .unwrap_or("ContainerCreating");
            let why = if matches!(waiting, "ErrImagePull" | "ImagePullBackOff") {
                "trying and failing to pull image"
            } else {
                waiting
            };
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{}\" is waiting to start: {why}",
                key.name
            )));
        }
        (uid, container)
    };
    let previous = ctx.flag("previous");
    let follow = ctx.flag("follow") && !previous;
    let query = LogQuery {
        timestamps: ctx.flag("timestamps"),
        tail_lines: ctx.param("tailLines").and_then(|t| t.parse().ok()),
        since_seconds: ctx.param("sinceSeconds").and_then(|t| t.parse().ok()),
        since_time: ctx.param("sinceTime").and_then(|t| t.parse().ok()),
    };
    let read = move |world: &World, from: Option<usize>| -> (Vec<String>, usize, bool) {
        let Some(logs) = world.logs.get(&uid) else {
            return (vec![], 0, true);
        };
        let Some(index) = logs.run_index(&container, previous) else {
            return (vec![], 0, true);
        };
        let run = &logs.containers[&container][index];
        let start = from.unwrap_or_else(|| query.start(&run.lines));
        let lines = run.lines[start.min(run.lines.len())..]
            .iter()
            .map(|l| query.format(l))
            .collect();
        (lines, run.lines.len(), run.ended || logs.gone)
    };
    if !follow {
        let world = ctx.shared.world();
        let (lines, _, _) = read(&world, None);
        let mut text = lines.concat();
        if let Some(limit) = ctx
            .param("limitBytes")
            .and_then(|t| t.parse::<usize>().ok())
        {
            text.truncate(limit);
        }
        return Ok(text_response(200, text));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let shared = ctx.shared.clone();
    tokio::spawn(async move {
        let mut from = None;
        loop {
            let (lines, next, ended) = read(&shared.world(), from);
            from = Some(next);
            for line in lines {
                if tx.send(Bytes::from(line)).await.is_err() {
                    return;
                }
            }
            if ended {
                return;
            }
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });
    Ok(stream_response("text/plain", rx))
}
