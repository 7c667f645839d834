//! The MLflow prompt registry: pushing prompt versions and pulling them back as files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::client::Client;
use super::error::MlflowError;
use super::prompt_text::{messages_for_mlflow, model_config, text_for_file, text_for_mlflow};
use super::prompt_tools::MODEL_CONFIG_TAG;
use crate::registry::{MessageTemplate, Params, Prompt, PromptBody, PromptVersion, Registry};
use crate::template::message::Role;

/// Characters of template text MLflow holds in `mlflow.prompt.text`
/// (`MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH` in MLflow 3; servers whose database predates
/// migration `bda7b8c39065` hold 5000 and reject longer text themselves).
pub const PROMPT_TEXT_LIMIT: usize = 100_000;
/// Characters of a version's description (the note) and of a prompt's description:
/// `String(5000)` columns in MLflow's database.
pub const DESCRIPTION_LIMIT: usize = 5000;
/// Characters of an alias name.
pub const ALIAS_LIMIT: usize = 255;

/// The registered-model tag marking a prompt.
pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// The version tag holding the template.
pub const TEXT_TAG: &str = "mlflow.prompt.text";
/// The version tag holding `text` or `chat`.
pub const TYPE_TAG: &str = "_mlflow_prompt_type";
/// The version tag holding a YAML version's `params` as JSON (prompteval's own).
pub const PARAMS_TAG: &str = "prompteval.params";
/// The version tag holding the local version number it was pushed from.
pub const VERSION_TAG: &str = "prompteval.version";
/// The `source` MLflow gives prompt versions.
const PROMPT_SOURCE: &str = "prompt-template";

/// A prompt version as MLflow holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteForm {
    /// `mlflow.prompt.text`.
    pub text: String,
    /// `text` or `chat`.
    pub kind: &'static str,
    /// `prompteval.params` (compact JSON), when the version has params.
    pub params: Option<String>,
    /// The tool part of MLflow's `model_config` (see [`super::prompt_tools`]), when the
    /// version has tools.
    pub model_config: Option<String>,
}

/// How a local version is stored in MLflow: its text written so that MLflow's `format`
/// renders what prompteval sends (`partials` inlined, see `prompt_text.rs`).
pub fn remote_form(
    v: &PromptVersion,
    partials: &BTreeMap<String, String>,
) -> Result<RemoteForm, MlflowError> {
    let reference = v.reference();
    let (text, kind) = match &v.body {
        PromptBody::Text(t) => (text_for_mlflow(t, partials, &reference)?, "text"),
        PromptBody::Chat(messages) => {
            let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
            let contents = messages_for_mlflow(&contents, partials, &reference)?;
            let list: Vec<Value> = messages
                .iter()
                .zip(contents)
                .map(|(m, content)| json!({"role": m.role.as_str(), "content": content}))
                .collect();
            (Value::Array(list).to_string(), "chat")
        }
    };
    let params = (!v.params.is_empty()).then(|| Value::Object(v.params.clone()).to_string());
    let model_config = super::prompt_tools::model_config(&v.tools);
    Ok(RemoteForm {
        text,
        kind,
        params,
        model_config,
    })
}

/// Checks everything MLflow would refuse before anything is sent: template length, note
/// and description length, alias names.
pub fn check_pushable(
    prompt: &Prompt,
    partials: &BTreeMap<String, String>,
) -> Result<(), MlflowError> {
    if let Some(d) = &prompt.meta.description {
        let len = d.chars().count();
        if len > DESCRIPTION_LIMIT {
            return Err(MlflowError::TooLong {
                reference: prompt.name.clone(),
                what: "description",
                len,
                limit: DESCRIPTION_LIMIT,
            });
        }
    }
    for v in prompt.versions.values() {
        let form = remote_form(v, partials)?;
        let tools = form.model_config.unwrap_or_default();
        for (what, text) in [
            ("template text", form.text),
            ("tools (model_config)", tools),
        ] {
            let len = text.chars().count();
            if len > PROMPT_TEXT_LIMIT {
                return Err(MlflowError::TooLong {
                    reference: v.reference(),
                    what,
                    len,
                    limit: PROMPT_TEXT_LIMIT,
                });
            }
        }
        if let Some(note) = note_of(prompt, v) {
            let len = note.chars().count();
            if len > DESCRIPTION_LIMIT {
                return Err(MlflowError::TooLong {
                    reference: v.reference(),
                    what: "note",
                    len,
                    limit: DESCRIPTION_LIMIT,
                });
            }
        }
    }
    for alias in prompt.meta.aliases.keys() {
        check_alias(&prompt.name, alias)?;
    }
    Ok(())
}

fn check_alias(prompt: &str, alias: &str) -> Result<(), MlflowError> {
    let reason = if alias.eq_ignore_ascii_case("latest") {
        Some("MLflow reserves `latest`")
    } else if alias.len() > 1
        && alias.starts_with(['v', 'V'])
        && alias[1..].chars().all(|c| c.is_ascii_digit())
    {
        Some("MLflow reserves `v<N>` for versions")
    } else if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        Some("MLflow allows letters, digits, `_` and `-` only")
    } else if alias.len() > ALIAS_LIMIT {
        Some("longer than 255 characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MlflowError::BadAlias {
            prompt: prompt.to_string(),
            alias: alias.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The note of a version: in the YAML file, else in `prompt.yaml`'s notes.
fn note_of<'a>(prompt: &'a Prompt, v: &'a PromptVersion) -> Option<&'a str> {
    v.note
        .as_deref()
        .or_else(|| prompt.meta.notes.get(&v.version).map(String::as_str))
}

/// One MLflow model version of a prompt.
#[derive(Clone, Debug)]
struct RemoteVersion {
    version: String,
    description: Option<String>,
    tags: BTreeMap<String, String>,
}

impl RemoteVersion {
    fn form(&self) -> Option<RemoteForm> {
        let text = self.tags.get(TEXT_TAG)?.clone();
        let kind = match self.tags.get(TYPE_TAG).map(String::as_str) {
            Some("chat") => "chat",
            _ => "text",
        };
        // prompteval's own tag is exact; a version registered elsewhere has only MLflow's.
        let config = self.tags.get(MODEL_CONFIG_TAG);
        let params = (self.tags.get(PARAMS_TAG).cloned())
            .or_else(|| super::prompt_text::params_of_model_config(config?));
        Some(RemoteForm {
            text,
            kind,
            params,
            model_config: config.and_then(|t| super::prompt_tools::tool_part(t)),
        })
    }
}

fn tags_of(v: &Value, pointer: &str) -> BTreeMap<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    Some((
                        t.get("key")?.as_str()?.to_string(),
                        t.get("value")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The registered model `name`, or `None` when MLflow has none.
async fn registered_model(client: &Client, name: &str) -> Result<Option<Value>, MlflowError> {
    match client.get("registered-models/get", &[("name", name)]).await {
        Ok(v) => Ok(v.get("registered_model").cloned()),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every version of a registered model, oldest first.
async fn remote_versions(client: &Client, name: &str) -> Result<Vec<RemoteVersion>, MlflowError> {
    // MLflow 3 hides prompt versions from model-version search unless the filter asks for
    // the prompt tag.
    let filter = format!(
        "name = '{}' AND tag.`{IS_PROMPT_TAG}` = 'true'",
        name.replace('\'', "\\'")
    );
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("filter", filter.as_str()), ("max_results", "1000")];
        if let Some(t) = &token {
            query.push(("page_token", t.as_str()));
        }
        let v = client.get("model-versions/search", &query).await?;
        for mv in v
            .get("model_versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(version) = mv.get("version").and_then(Value::as_str) else {
                continue;
            };
            out.push(RemoteVersion {
                version: version.to_string(),
                description: mv
                    .get("description")
                    .and_then(Value::as_str)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
                tags: tags_of(mv, "/tags"),
            });
        }
        token = v
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(u64::MAX));
    Ok(out)
}

fn aliases_of(model: &Value) -> BTreeMap<String, String> {
    model
        .get("aliases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some((
                        x.get("alias")?.as_str()?.to_string(),
                        x.get("version")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What [`push`] did for one prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushedPrompt {
    /// The prompt.
    pub name: String,
    /// Whether the registered model was created now.
    pub created: bool,
    /// Local version → MLflow version, with whether it was created now (`false`: an
    /// identical version was there already).
    pub versions: Vec<(u32, String, bool)>,
    /// Aliases set now: alias → MLflow version.
    pub aliases: Vec<(String, String)>,
}

/// Pushes prompts (all when `names` is empty) to the MLflow prompt registry. Every
/// prompt is checked against MLflow's limits before the first request.
pub async fn push(
    client: &Client,
    registry: &Registry,
    names: &[String],
) -> Result<Vec<PushedPrompt>, MlflowError> {
    let mut prompts = Vec::new();
    if names.is_empty() {
        prompts.extend(registry.prompts());
    } else {
        for name in names {
            let r: crate::registry::PromptRef =
                name.parse().map_err(|_| unknown_prompt(registry, name))?;
            let p = registry
                .get(&r.name)
                .ok_or_else(|| unknown_prompt(registry, name))?;
            prompts.push(p);
        }
    }
    for p in &prompts {
        check_pushable(p, registry.partials())?;
    }
    let mut out = Vec::new();
    for prompt in prompts {
        out.push(push_one(client, prompt, registry.partials()).await?);
    }
    Ok(out)
}

fn unknown_prompt(registry: &Registry, name: &str) -> MlflowError {
    let known: Vec<String> = registry.prompts().map(|p| p.name.clone()).collect();
    MlflowError::Registry(crate::registry::RegistryError::UnknownPrompt {
        suggestion: None,
        name: name.to_string(),
        known,
    })
}

async fn push_one(
    client: &Client,
    prompt: &Prompt,
    partials: &BTreeMap<String, String>,
) -> Result<PushedPrompt, MlflowError> {
    let name = &prompt.name;
    let mut report = PushedPrompt {
        name: name.clone(),
        ..Default::default()
    };
    let model = match registered_model(client, name).await? {
        Some(model) => {
            ensure_prompt(&model, name)?;
            model
        }
        None => {
            create_prompt(client, prompt).await?;
            report.created = true;
            Value::Null
        }
    };
    let mut remote = remote_versions(client, name).await?;
    let mut mapping: BTreeMap<u32, String> = BTreeMap::new();
    for v in prompt.versions.values() {
        let form = remote_form(v, partials)?;
        let existing = remote
            .iter()
            .find(|r| r.form().as_ref() == Some(&form))
            .map(|r| r.version.clone());
        let (number, created) = match existing {
            Some(number) => (number, false),
            None => (
                create_version(client, prompt, v, &form, &mut remote).await?,
                true,
            ),
        };
        mapping.insert(v.version, number.clone());
        report.versions.push((v.version, number, created));
    }
    report.aliases = push_aliases(client, prompt, &model, &mapping).await?;
    Ok(report)
}

/// Fails unless the registered model is marked as a prompt.
fn ensure_prompt(model: &Value, name: &str) -> Result<(), MlflowError> {
    if tags_of(model, "/tags")
        .get(IS_PROMPT_TAG)
        .map(String::as_str)
        != Some("true")
    {
        return Err(MlflowError::NotAPrompt {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Creates the registered model that holds the prompt's versions.
async fn create_prompt(client: &Client, prompt: &Prompt) -> Result<(), MlflowError> {
    let mut body = json!({
        "name": prompt.name,
        "tags": [{"key": IS_PROMPT_TAG, "value": "true"}],
    });
    if let Some(d) = &prompt.meta.description {
        body["description"] = json!(d);
    }
    client.post("registered-models/create", &body).await?;
    Ok(())
}

/// Creates an MLflow version of `v` (stored as `form`), adds it to `remote` so that a
/// later identical version reuses it, and returns its MLflow number.
async fn create_version(
    client: &Client,
    prompt: &Prompt,
    v: &PromptVersion,
    form: &RemoteForm,
    remote: &mut Vec<RemoteVersion>,
) -> Result<String, MlflowError> {
    let mut tags = vec![
        json!({"key": IS_PROMPT_TAG, "value": "true"}),
        json!({"key": TEXT_TAG, "value": form.text}),
        json!({"key": TYPE_TAG, "value": form.kind}),
        json!({"key": VERSION_TAG, "value": v.version.to_string()}),
        json!({"key": "prompteval.hash", "value": v.hash}),
    ];
    if let Some(p) = &form.params {
        tags.push(json!({"key": PARAMS_TAG, "value": p}));
    }
    if let Some(config) = model_config(&v.params, form.model_config.as_deref()) {
        tags.push(json!({"key": MODEL_CONFIG_TAG, "value": config}));
    }
    let mut body = json!({"name": prompt.name, "source": PROMPT_SOURCE, "tags": tags});
    if let Some(note) = note_of(prompt, v) {
        body["description"] = json!(note);
    }
    let created = client.post("model-versions/create", &body).await?;
    let number = created
        .pointer("/model_version/version")
        .and_then(Value::as_str)
        .ok_or_else(|| MlflowError::BadResponse {
            method: "POST",
            endpoint: "/api/2.0/mlflow/model-versions/create".into(),
            problem: "no model_version.version".into(),
        })?
        .to_string();
    remote.push(RemoteVersion {
        version: number.clone(),
        description: None,
        tags: BTreeMap::from([
            (TEXT_TAG.to_string(), form.text.clone()),
            (TYPE_TAG.to_string(), form.kind.to_string()),
        ])
        .into_iter()
        .chain(form.params.clone().map(|p| (PARAMS_TAG.to_string(), p)))
        .chain((form.model_config.clone()).map(|c| (MODEL_CONFIG_TAG.to_string(), c)))
        .collect(),
    });
    Ok(number)
}

/// Points the prompt's aliases in MLflow at the versions `mapping` gives their local
/// targets, and returns the aliases it moved.
async fn push_aliases(
    client: &Client,
    prompt: &Prompt,
    model: &Value,
    mapping: &BTreeMap<u32, String>,
) -> Result<Vec<(String, String)>, MlflowError> {
    let current = aliases_of(model);
    let mut moved = Vec::new();
    for (alias, local) in &prompt.meta.aliases {
        let Some(target) = mapping.get(local) else {
            continue;
        };
        if current.get(alias) == Some(target) {
            continue;
        }
        client
            .post(
                "registered-models/alias",
                &json!({"name": prompt.name, "alias": alias, "version": target}),
            )
            .await?;
        moved.push((alias.clone(), target.clone()));
    }
    Ok(moved)
}

/// What [`pull`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PullReport {
    /// The prompt.
    pub name: String,
    /// New local files: MLflow version → local file (relative to the root) and number.
    pub created: Vec<(String, PathBuf, u32)>,
    /// MLflow versions identical to a local version: MLflow version → local number.
    pub unchanged: Vec<(String, u32)>,
    /// Aliases set locally: alias → local version.
    pub aliases: Vec<(String, u32)>,
    /// The lock file entries written.
    pub locked: Vec<String>,
}

/// The file (extension and contents) for an MLflow prompt version.
pub fn version_file(
    name: &str,
    remote_version: &str,
    form: &RemoteForm,
    note: Option<&str>,
) -> Result<(&'static str, String), MlflowError> {
    let bad = |problem: String| MlflowError::BadPromptVersion {
        name: name.to_string(),
        version: remote_version.to_string(),
        problem,
    };
    let params: Option<Params> = match &form.params {
        Some(p) => match serde_json::from_str::<Value>(p) {
            Ok(Value::Object(map)) => Some(map),
            _ => return Err(bad(format!("`{PARAMS_TAG}` is not a JSON object"))),
        },
        None => None,
    };
    if form.kind == "text" && params.is_none() && form.model_config.is_none() {
        return Ok(("jinja", text_for_file(&form.text)));
    }
    let mut doc = serde_yaml::Mapping::new();
    if let Some(note) = note {
        doc.insert("note".into(), note.into());
    }
    if form.kind == "chat" {
        let messages: Vec<Value> = serde_json::from_str(&form.text)
            .map_err(|e| bad(format!("chat template is not a JSON list of messages: {e}")))?;
        let mut list = Vec::new();
        for m in messages {
            let role = m.get("role").cloned().unwrap_or(Value::Null);
            let authored = serde_json::from_value::<Role>(role.clone())
                .ok()
                .and_then(Role::authored);
            let role = authored.ok_or_else(|| {
                bad(format!(
                    "message role {role} is not one of: system, user, assistant"
                ))
            })?;
            let Some(content) = m.get("content").and_then(Value::as_str) else {
                return Err(bad("a message's content is not text (multi-part content cannot be a template file)".into()));
            };
            let mut entry = serde_yaml::Mapping::new();
            entry.insert("role".into(), role.as_str().into());
            entry.insert("content".into(), content.into());
            list.push(serde_yaml::Value::Mapping(entry));
        }
        doc.insert("messages".into(), serde_yaml::Value::Sequence(list));
    } else {
        doc.insert("prompt".into(), form.text.clone().into());
    }
    if let Some(params) = params {
        let value = serde_yaml::to_value(&params).map_err(|e| bad(e.to_string()))?;
        doc.insert("params".into(), value);
    }
    for (key, value) in form
        .model_config
        .as_deref()
        .map(super::prompt_tools::version_keys)
        .transpose()
        .map_err(bad)?
        .unwrap_or_default()
    {
        doc.insert(key.into(), value);
    }
    let text = serde_yaml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    Ok((
        "yaml",
        format!("# pulled from MLflow: {name} version {remote_version}\n{text}"),
    ))
}

/// Pulls prompt `name` from MLflow into `prompts/<name>/`: every MLflow version that no
/// local version matches becomes a new numbered version file; aliases follow MLflow's; the
/// new versions are locked in `prompts.lock`.
pub async fn pull(client: &Client, root: &Path, name: &str) -> Result<PullReport, MlflowError> {
    let model = registered_model(client, name)
        .await?
        .ok_or_else(|| MlflowError::NoSuchPrompt {
            name: name.to_string(),
            uri: client.uri().to_string(),
        })?;
    ensure_prompt(&model, name)?;
    let remote = remote_versions(client, name).await?;
    let planned = plan_files(name, &remote)?;
    let mut report = PullReport {
        name: name.to_string(),
        ..Default::default()
    };
    let mapping = write_versions(root, name, planned, &mut report)?;
    report.aliases = pull_aliases(root, name, &model, &mapping)?;
    if !report.created.is_empty() {
        let (registry, _) = Registry::load(root)?;
        let refs: Vec<String> = report
            .created
            .iter()
            .map(|(_, _, n)| format!("{name}@{n}"))
            .collect();
        report.locked = registry.lock_only(&refs)?.newly_locked;
    }
    Ok(report)
}

/// An MLflow version with its form and the local file (extension, contents) it becomes.
type PlannedFile<'a> = (&'a RemoteVersion, RemoteForm, (&'static str, String));

/// The file of every MLflow version, so that each is checked to convert before any
/// file is written.
fn plan_files<'a>(
    name: &str,
    remote: &'a [RemoteVersion],
) -> Result<Vec<PlannedFile<'a>>, MlflowError> {
    let mut planned = Vec::new();
    for rv in remote {
        let form = rv.form().ok_or_else(|| MlflowError::BadPromptVersion {
            name: name.to_string(),
            version: rv.version.clone(),
            problem: format!("has no `{TEXT_TAG}` tag: it is not a prompt version"),
        })?;
        let file = version_file(name, &rv.version, &form, rv.description.as_deref())?;
        planned.push((rv, form, file));
    }
    Ok(planned)
}

/// Adds a local version for each planned one no local version matches, records both
/// kinds in `report`, and returns MLflow version → local number.
fn write_versions(
    root: &Path,
    name: &str,
    planned: Vec<PlannedFile<'_>>,
    report: &mut PullReport,
) -> Result<BTreeMap<String, u32>, MlflowError> {
    let (registry, _) = Registry::load(root)?;
    let mut local: Vec<(RemoteForm, u32)> = registry
        .get(name)
        .map(|p| {
            // A version that cannot be pushed matches no MLflow version.
            p.versions
                .values()
                .filter_map(|v| Some((remote_form(v, registry.partials()).ok()?, v.version)))
                .collect()
        })
        .unwrap_or_default();
    let mut mapping: BTreeMap<String, u32> = BTreeMap::new();
    for (rv, form, (ext, contents)) in planned {
        if let Some((_, n)) = local.iter().find(|(f, _)| *f == form) {
            mapping.insert(rv.version.clone(), *n);
            report.unchanged.push((rv.version.clone(), *n));
            continue;
        }
        let note = if ext == "yaml" {
            None
        } else {
            rv.description.as_deref()
        };
        let (path, n) = Registry::add_version(root, name, ext, &contents, note)?;
        local.push((form, n));
        mapping.insert(rv.version.clone(), n);
        report.created.push((rv.version.clone(), path, n));
    }
    Ok(mapping)
}

/// Points the local aliases at the versions the MLflow aliases name, and returns the
/// aliases it moved.
fn pull_aliases(
    root: &Path,
    name: &str,
    model: &Value,
    mapping: &BTreeMap<String, u32>,
) -> Result<Vec<(String, u32)>, MlflowError> {
    let (registry, _) = Registry::load(root)?;
    let current = registry
        .get(name)
        .map(|p| p.meta.aliases.clone())
        .unwrap_or_default();
    let mut moved = Vec::new();
    for (alias, version) in aliases_of(model) {
        let Some(&n) = mapping.get(&version) else {
            continue;
        };
        if current.get(&alias) != Some(&n) {
            Registry::set_alias(root, name, &alias, n)?;
            moved.push((alias, n));
        }
    }
    Ok(moved)
}

/// The message templates of a pulled chat version, for tests and callers that compare.
pub fn chat_messages(form: &RemoteForm) -> Option<Vec<MessageTemplate>> {
    let list: Vec<Value> = serde_json::from_str(&form.text).ok()?;
    list.into_iter()
        .map(|m| {
            let role: Role = serde_json::from_value(m.get("role")?.clone()).ok()?;
            Some(MessageTemplate {
                role: role.authored()?,
                content: m.get("content")?.as_str()?.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn versions_round_trip_through_their_remote_form() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path();
        write(
            root,
            "prompts/p/v1.jinja",
            "Hi {{ name }}!\n  {% if x %}x{% endif %}\n\n",
        );
        write(
            root,
            "prompts/p/v2.yaml",
            "note: chat now\nparams:\n  temperature: 0.2\n  stop: [\"\\n\"]\nmessages:\n  - role: system\n    content: |\n      Be brief: \"quoted\" 'single' #hash\n  - role: user\n    content: \"{{ q }}\\ttab\"\n",
        );
        write(
            root,
            "prompts/p/v3.yaml",
            "prompt: \"{{ q }}:\"\nparams: {max_tokens: 4}\n",
        );
        let (registry, _) = Registry::load(root).unwrap();
        let p = registry.get("p").unwrap();

        let dst = tempfile::tempdir().unwrap();
        let partials = registry.partials();
        for v in p.versions.values() {
            let form = remote_form(v, partials).unwrap();
            let (ext, contents) = version_file("p", "7", &form, note_of(p, v)).unwrap();
            Registry::add_version(dst.path(), "p", ext, &contents, None).unwrap();
        }
        let (pulled, warnings) = Registry::load(dst.path()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let q = pulled.get("p").unwrap();
        for (a, b) in p.versions.values().zip(q.versions.values()) {
            assert_eq!(a.params, b.params);
            assert_eq!(
                remote_form(a, partials).unwrap(),
                remote_form(b, pulled.partials()).unwrap()
            );
        }
        // A chat message's final newline is not rendered, and so not pushed either.
        let PromptBody::Chat(m) = &q.versions[&2].body else {
            panic!("chat")
        };
        assert_eq!(m[0].content, "Be brief: \"quoted\" 'single' #hash");
        assert_eq!(q.versions[&2].note.as_deref(), Some("chat now"));
        // A plain template comes back as the same bytes.
        assert_eq!(
            std::fs::read(dst.path().join("prompts/p/v1.jinja")).unwrap(),
            std::fs::read(root.join("prompts/p/v1.jinja")).unwrap()
        );
    }

    #[test]
    fn chat_is_a_json_list_of_messages() {
        let form = RemoteForm {
            text: r#"[{"role":"user","content":"{{x}}"}]"#.into(),
            kind: "chat",
            params: None,
            model_config: None,
        };
        let m = chat_messages(&form).unwrap();
        assert_eq!(m[0].role, Role::User);
        let bad = RemoteForm {
            text: r#"[{"role":"tool","content":"x"}]"#.into(),
            kind: "chat",
            params: None,
            model_config: None,
        };
        let err = version_file("p", "1", &bad, None).unwrap_err();
        assert!(err.to_string().contains("system, user, assistant"), "{err}");
    }

    #[test]
    fn limits_are_checked_before_sending() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "prompts/big/v1.txt",
            &"x".repeat(PROMPT_TEXT_LIMIT + 1),
        );
        let (registry, _) = Registry::load(dir.path()).unwrap();
        let err = check_pushable(registry.get("big").unwrap(), registry.partials()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "big@1: template text is {} characters; MLflow holds at most {PROMPT_TEXT_LIMIT}",
                PROMPT_TEXT_LIMIT + 1
            )
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn reserved_aliases_are_refused() {
        assert!(check_alias("p", "production").is_ok());
        assert!(check_alias("p", "canary-2").is_ok());
        for bad in ["latest", "Latest", "v3", "a.b"] {
            assert!(check_alias("p", bad).is_err(), "{bad}");
        }
    }
}
