//! The state of the fake cluster: objects, resourceVersions, the change history watches replay,
//! and the write paths shared by the HTTP handlers and the controllers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::Config;
use crate::kubelet::{ImageState, PodRuntime};
use crate::logs::PodLogs;
use crate::resources::{RESOURCES, ResourceDef};
use crate::script::PodScript;
use crate::ssa;
use crate::status::ApiError;
use crate::validate;

/// Where an object lives: its resource type (index into RESOURCES), namespace, name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Key {
    pub res: usize,
    pub ns: String,
    pub name: String,
}

impl Key {
    pub fn new(res: usize, ns: &str, name: &str) -> Self {
        let ns = if RESOURCES[res].namespaced { ns } else { "" };
        Key {
            res,
            ns: ns.to_string(),
            name: name.to_string(),
        }
    }

    pub fn of(res: usize, obj: &Value) -> Self {
        Key::new(
            res,
            obj["metadata"]["namespace"].as_str().unwrap_or_default(),
            obj["metadata"]["name"].as_str().unwrap_or_default(),
        )
    }

    pub fn def(&self) -> &'static ResourceDef {
        &RESOURCES[self.res]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: ChangeKind,
    pub key: Key,
    pub object: Value,
    pub old: Option<Value>,
}

const HISTORY: usize = 50_000;

/// How a write is made: by whom (for managedFields), through which subresource, for real or not.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub manager: String,
    pub subresource: String,
    pub dry_run: bool,
}

impl WriteOpts {
    pub fn controller() -> Self {
        WriteOpts::default()
    }
}

pub struct World {
    objects: BTreeMap<Key, Value>,
    /// The keys of the objects that name each uid among their ownerReferences: the controllers
    /// find a workload's pods here instead of scanning every pod for every workload.
    dependents: HashMap<String, std::collections::BTreeSet<Key>>,
    rv: u64,
    history: VecDeque<Arc<Change>>,
    pub changes: broadcast::Sender<Arc<Change>>,
    pub pods: HashMap<String, PodRuntime>,
    pub images: HashMap<String, ImageState>,
    pub logs: HashMap<String, PodLogs>,
    pub progress: HashMap<String, Instant>,
    pub scripts: HashMap<String, PodScript>,
    pub config: Config,
    pub started: Instant,
    serial: u64,
}

pub fn timestamp() -> String {
    ssa::now()
}

pub fn res_of(plural: &str) -> usize {
    RESOURCES
        .iter()
        .position(|r| r.plural == plural)
        .expect("a served resource")
}

impl World {
    pub fn new(config: Config) -> Self {
        let (changes, _) = broadcast::channel(65_536);
        let mut world = World {
            objects: BTreeMap::new(),
            dependents: HashMap::new(),
            rv: 100,
            history: VecDeque::new(),
            changes,
            pods: HashMap::new(),
            images: HashMap::new(),
            logs: HashMap::new(),
            progress: HashMap::new(),
            scripts: HashMap::new(),
            config,
            started: Instant::now(),
            serial: 0,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
            world
                .create(res_of("namespaces"), obj, &WriteOpts::controller())
                .expect("builtin namespace");
        }
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "fake-node", "labels": {"kubernetes.io/hostname": "fake-node"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0-fake", "containerRuntimeVersion": "containerd://1.7.0-fake",
                    "architecture": "amd64", "operatingSystem": "linux"},
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}});
        world
            .create(res_of("nodes"), node, &WriteOpts::controller())
            .expect("the node");
        world
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// A fresh short random-looking suffix (generateName, pod names of ReplicaSets).
    pub fn suffix(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        self.serial += 1;
        let mut n = fnv(&format!("{:?}{}", self.started.elapsed(), self.serial));
        (0..len)
            .map(|_| {
                let c = CHARS[(n % CHARS.len() as u64) as usize] as char;
                n /= CHARS.len() as u64;
                c
            })
            .collect()
    }

    pub fn uid(&mut self) -> String {
        self.serial += 1;
        let a = fnv(&format!("uid{}{:?}", self.serial, self.started.elapsed()));
        let b = fnv(&format!("{a}-{}", self.serial));
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a & 0xfff) as u16,
            (b >> 52) as u16 & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    pub fn list(&self, res: usize, ns: Option<&str>) -> Vec<&Value> {
        let start = Key {
            res,
            ns: ns.unwrap_or_default().to_string(),
            name: String::new(),
        };
        self.objects
            .range(start..)
            .take_while(|(k, _)| k.res == res && ns.is_none_or(|n| k.ns == n))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn list_cloned(&self, res: usize, ns: Option<&str>) -> Vec<Value> {
        self.list(res, ns).into_iter().cloned().collect()
    }

    pub fn keys(&self) -> Vec<Key> {
        self.objects.keys().cloned().collect()
    }

    pub fn all_uids(&self) -> std::collections::HashSet<String> {
        self.objects
            .values()
            .filter_map(|o| o["metadata"]["uid"].as_str().map(String::from))
            .collect()
    }

    fn emit(&mut self, kind: ChangeKind, key: Key, object: Value, old: Option<Value>) {
        let change = Arc::new(Change {
            rv: self.rv,
            kind,
            key,
            object,
            old,
        });
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(change.clone());
        let _ = self.changes.send(change);
    }

    /// Changes after `rv` for a replaying watch, or None when they are no longer kept.
    pub fn since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if let Some(first) = self.history.front()
            && first.rv > rv + 1
            && self.history.len() >= HISTORY
        {
            return None;
        }
        let first = self.history.partition_point(|c| c.rv <= rv);
        Some(self.history.range(first..).cloned().collect())
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    /// Puts `obj` at `key`, keeping the index of dependents; returns what was there.
    fn store(&mut self, key: Key, obj: Value) -> Option<Value> {
        for owner in owner_uids(&obj) {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(key.clone());
        }
        let old = self.objects.insert(key.clone(), obj);
        if let Some(old) = &old {
            let now: Vec<String> = owner_uids(&self.objects[&key]).map(String::from).collect();
            for owner in owner_uids(old).filter(|o| !now.iter().any(|n| n == o)) {
                Self::forget(&mut self.dependents, owner, &key);
            }
        }
        old
    }

    fn unindex(&mut self, key: &Key, obj: &Value) {
        for owner in owner_uids(obj) {
            Self::forget(&mut self.dependents, owner, key);
        }
    }

    fn forget(
        dependents: &mut HashMap<String, std::collections::BTreeSet<Key>>,
        owner: &str,
        key: &Key,
    ) {
        if let Some(keys) = dependents.get_mut(owner) {
            keys.remove(key);
            if keys.is_empty() {
                dependents.remove(owner);
            }
        }
    }

    /// The objects of resource `res` in `ns` that name `uid` among their ownerReferences.
    pub fn dependents_of(&self, res: usize, ns: &str, uid: &str) -> Vec<&Value> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter(|k| k.res == res && k.ns == ns)
            .filter_map(|k| self.objects.get(k))
            .collect()
    }

    /// Stores a new object (all checks done).
    fn insert(&mut self, key: Key, mut obj: Value) -> Value {
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.store(key.clone(), obj.clone());
        self.emit(ChangeKind::Added, key, obj.clone(), None);
        obj
    }

    fn replace(&mut self, key: Key, mut obj: Value) -> Value {
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        let old = self.store(key.clone(), obj.clone());
        self.emit(ChangeKind::Modified, key, obj.clone(), old);
        obj
    }

    /// Removes an object for good.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.unindex(key, &obj);
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        if key.def().kind == "Pod"
            && let Some(uid) = obj["metadata"]["uid"].as_str()
        {
            self.pods.remove(uid);
            if let Some(logs) = self.logs.get_mut(uid) {
                logs.pod_gone();
            }
        }
        self.emit(ChangeKind::Deleted, key.clone(), obj.clone(), None);
        Some(obj)
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .contains_key(&Key::new(res_of("namespaces"), "", ns))
    }

    pub fn create(
        &mut self,
        res: usize,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let def = &RESOURCES[res];
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the object provided is not an object",
            ));
        }
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty()
            && let Some(prefix) = obj["metadata"]["generateName"].as_str().map(String::from)
        {
            let suffix = self.suffix(5);
            obj["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
        }
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if def.namespaced {
            if !self.namespace_exists(&ns) {
                return Err(ApiError::namespace_not_found(&ns));
            }
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        crate::defaults::apply(def, &mut obj);
        validate::validate(def, &obj)?;
        self.admit_service_account(def, &obj)?;
        let key = Key::of(res, &obj);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(def, &key.name));
        }
        let uid = self.uid();
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(timestamp());
        meta["generation"] = json!(1);
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("resourceVersion");
            m.remove("selfLink");
        }
        normalize(def, &mut obj);
        if def.has_status() && def.kind != "Namespace" && def.kind != "Node" {
            obj["status"] = if def.kind == "Pod" {
                json!({"phase": "Pending", "qosClass": "BestEffort"})
            } else {
                json!({})
            };
        }
        if !opts.manager.is_empty() {
            obj["metadata"]["managedFields"] = json!([]);
            ssa::record_update(None, &mut obj, &opts.manager, "", &def.api_version());
        }
        if opts.dry_run {
            return Ok(obj);
        }
        Ok(self.insert(key, obj))
    }

    /// Create by server-side apply: managedFields are already set.
    pub fn create_applied(
        &mut self,
        res: usize,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let managed = obj["metadata"]["managedFields"].clone();
        let plain = WriteOpts {
            manager: String::new(),
            ..opts.clone()
        };
        let key = Key::of(res, &obj);
        let created = self.create(res, obj, &plain)?;
        if opts.dry_run {
            let mut created = created;
            created["metadata"]["managedFields"] = managed;
            return Ok(created);
        }
        let mut stored = created;
        stored["metadata"]["managedFields"] = managed;
        self.store(key.clone(), stored.clone());
        if let Some(last) = self.history.back_mut()
            && last.key == key
        {
            *last = Arc::new(Change {
                rv: last.rv,
                kind: last.kind,
                key: key.clone(),
                object: stored.clone(),
                old: None,
            });
        }
        Ok(stored)
    }

    /// Replaces an object (PUT, patches, apply, controllers). `record` says whether to track the
    /// write in managedFields (false when the caller already did, as apply does).
    pub fn update(
        &mut self,
        res: usize,
        mut new: Value,
        opts: &WriteOpts,
        record: bool,
    ) -> Result<Value, ApiError> {
        let def = &RESOURCES[res];
        let key = Key::of(res, &new);
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(def, &key.name));
        };
        if let Some(rv) = new["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::stale(def, &key.name));
        }
        new["apiVersion"] = json!(def.api_version());
        new["kind"] = json!(def.kind);
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        match opts.subresource.as_str() {
            "status" => {
                let status = new["status"].clone();
                new = old.clone();
                new["status"] = status;
            }
            _ if def.has_status() && def.kind != "Node" && def.kind != "Namespace" => {
                new["status"] = old["status"].clone();
            }
            _ => {}
        }
        if record && !opts.manager.is_empty() {
            new["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
        }
        crate::defaults::apply(def, &mut new);
        validate::validate(def, &new)?;
        normalize(def, &mut new);
        if spec_of(&new) != spec_of(&old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        if record && !opts.manager.is_empty() {
            ssa::record_update(
                Some(&old),
                &mut new,
                &opts.manager,
                &opts.subresource,
                &def.api_version(),
            );
        }
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        let finalized = new["metadata"]["deletionTimestamp"].is_string()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        if new == old || opts.dry_run {
            return Ok(new);
        }
        if finalized && def.kind != "Pod" {
            return Ok(self.remove(&key).unwrap_or(new));
        }
        Ok(self.replace(key, new))
    }

    /// A controller's status write; no-op when nothing changed.
    pub fn set_status(&mut self, key: &Key, status: Value) {
        let Some(obj) = self.objects.get(key) else {
            return;
        };
        if obj["status"] == status {
            return;
        }
        let mut new = obj.clone();
        new["status"] = status;
        self.replace(key.clone(), new);
    }

    /// A controller's whole-object write, bypassing validation; no-op when nothing changed.
    pub fn put(&mut self, key: &Key, new: Value) {
        if self.objects.get(key) == Some(&new) {
            return;
        }
        if self.objects.contains_key(key) {
            self.replace(key.clone(), new);
        }
    }

    /// DELETE: graceful for pods, finalizers honoured, dependents handled by `propagation`.
    pub fn delete(
        &mut self,
        key: &Key,
        grace: Option<i64>,
        propagation: Option<&str>,
        dry_run: bool,
    ) -> Result<Option<Value>, ApiError> {
        let def = key.def();
        let Some(obj) = self.objects.get(key).cloned() else {
            return Err(ApiError::not_found(def, &key.name));
        };
        if dry_run {
            return Ok(Some(obj));
        }
        let uid = obj["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let default_policy = if def.group == "batch" && def.kind == "Job" {
            "Orphan"
        } else {
            "Background"
        };
        let policy = propagation.unwrap_or(default_policy);
        if policy == "Orphan" {
            self.orphan_dependents(&uid);
        }
        if obj["metadata"]["deletionTimestamp"].is_string() {
            if def.kind == "Pod" && grace == Some(0) {
                self.remove(key);
                return Ok(None);
            }
            return Ok(Some(obj));
        }
        let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if policy == "Foreground" && self.has_dependents(&uid) {
            finalizers.push(json!("foregroundDeletion"));
        }
        let graceful_pod =
            def.kind == "Pod" && obj["spec"]["nodeName"].is_string() && grace.unwrap_or(1) > 0;
        if finalizers.is_empty() && !graceful_pod && def.kind != "Namespace" {
            self.remove(key);
            return Ok(None);
        }
        let grace = grace
            .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30);
        let mut new = obj.clone();
        let at = jiff::Timestamp::now()
            + jiff::SignedDuration::from_secs(if graceful_pod { grace } else { 0 });
        new["metadata"]["deletionTimestamp"] = json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(if graceful_pod { grace } else { 0 });
        new["metadata"]["finalizers"] = Value::Array(finalizers);
        if new["metadata"]["finalizers"]
            .as_array()
            .is_some_and(Vec::is_empty)
            && let Some(m) = new["metadata"].as_object_mut()
        {
            m.remove("finalizers");
        }
        if def.kind == "Namespace" {
            new["status"]["phase"] = json!("Terminating");
        }
        Ok(Some(self.replace(key.clone(), new)))
    }

    pub fn has_dependents(&self, uid: &str) -> bool {
        self.dependents.contains_key(uid)
    }

    fn orphan_dependents(&mut self, uid: &str) {
        let keys: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| owned_by(o, uid))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            if let Some(mut obj) = self.objects.get(&key).cloned() {
                if let Some(refs) = obj
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r["uid"] != uid);
                }
                self.replace(key, obj);
            }
        }
    }

    /// The ServiceAccount admission plugin: a pod naming a ServiceAccount other than `default`
    /// that does not exist is refused (a StatefulSet's pods then fail with `FailedCreate`).
    fn admit_service_account(&self, def: &ResourceDef, pod: &Value) -> Result<(), ApiError> {
        let Some(account) = pod["spec"]["serviceAccountName"].as_str() else {
            return Ok(());
        };
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let key = Key::new(res_of("serviceaccounts"), ns, account);
        if def.kind != "Pod" || account == "default" || self.objects.contains_key(&key) {
            return Ok(());
        }
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "pods \"{name}\" is forbidden: error looking up service account \
                 {ns}/{account}: serviceaccount \"{account}\" not found"
            ),
        ))
    }

    /// Records (or counts again) an event about `involved`.
    pub fn event(
        &mut self,
        involved: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = involved["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let uid = involved["metadata"]["uid"].as_str().unwrap_or_default();
        let events = res_of("events");
        let now = timestamp();
        let existing = self
            .list(events, Some(&ns))
            .into_iter()
            .find(|e| {
                e["involvedObject"]["uid"] == uid
                    && e["reason"] == reason
                    && e["message"] == message
            })
            .cloned();
        if let Some(mut e) = existing {
            let count = e["count"].as_i64().unwrap_or(1) + 1;
            e["count"] = json!(count);
            e["lastTimestamp"] = json!(now);
            let key = Key::of(events, &e);
            self.replace(key, e);
            return;
        }
        let name = format!(
            "{}.{:016x}",
            involved["metadata"]["name"].as_str().unwrap_or_default(),
            fnv(&format!("{uid}{reason}{message}{}", self.rv))
        );
        let kind_of = involved["kind"].as_str().unwrap_or_default();
        let mut involved_ref = json!({
            "kind": kind_of,
            "namespace": ns,
            "name": involved["metadata"]["name"],
            "uid": uid,
            "apiVersion": involved["apiVersion"],
            "resourceVersion": involved["metadata"]["resourceVersion"],
        });
        if kind_of == "Pod"
            && component == "kubelet"
            && let Some(c) = involved["spec"]["containers"][0]["name"].as_str()
            && !matches!(reason, "Scheduled" | "FailedMount" | "Killing")
        {
            involved_ref["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
        }
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved_ref,
            "reason": reason, "message": message, "type": kind,
            "source": if component == "kubelet" { json!({"component": "kubelet", "host": "fake-node"}) } else { json!({"component": component}) },
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": component, "reportingInstance": if component == "kubelet" { "fake-node" } else { "" },
        });
        let _ = self.create(events, event, &WriteOpts::controller());
    }
}

/// The uids `obj` names among its ownerReferences.
fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> + Clone {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}

pub fn owned_by(obj: &Value, uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

/// Everything but metadata and status: what bumps metadata.generation.
fn spec_of(obj: &Value) -> Value {
    let mut spec = obj.clone();
    if let Some(m) = spec.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    spec
}

/// Secret stringData folds into base64 data, as the API server does.
fn normalize(def: &ResourceDef, obj: &mut Value) {
    if def.kind != "Secret" {
        return;
    }
    if let Some(Value::Object(string_data)) =
        obj.as_object_mut().and_then(|m| m.remove("stringData"))
    {
        for (k, v) in string_data {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
            obj["data"][k] = json!(encoded);
        }
    }
}

/// FNV-1a, 64 bit: stable hashes for names and template hashes.
pub fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}
