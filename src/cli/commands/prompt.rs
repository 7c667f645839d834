//! `prompteval prompt …`: the registry from the command line.

use std::collections::BTreeMap;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::{load, Context};
use crate::cli::args::PromptCommand;
use crate::cli::diagnostics::{self, Exit};
use crate::config::project::Project;
use crate::plan::PlanError as Error;
use crate::registry::{self, LockState, PromptBody, PromptRef, Registry};
use crate::template::message::RenderedPrompt;
use crate::template::TemplateSet;

/// Runs a prompt subcommand.
pub(crate) fn prompt(ctx: &Context, cmd: PromptCommand) -> Exit {
    match run(ctx, cmd) {
        Ok(exit) => exit,
        Err(e) => diagnostics::report(&e),
    }
}

fn resolve<'r>(
    registry: &'r Registry,
    reference: &str,
) -> Result<&'r registry::PromptVersion, Error> {
    let r: PromptRef =
        reference
            .parse()
            .map_err(|source| crate::plan::SpecError::BadReference {
                location: crate::diagnostic::Location::file("argument"),
                source,
            })?;
    Ok(registry.resolve(&r)?)
}

fn lock_label(state: &LockState) -> &'static str {
    match state {
        LockState::Locked => "locked",
        LockState::Draft => "draft",
        LockState::Changed { .. } => "CHANGED",
    }
}

fn run(ctx: &Context, cmd: PromptCommand) -> Result<Exit, Error> {
    let (project, registry) = load(ctx)?;
    match cmd {
        PromptCommand::List => list(&registry, ctx.width),
        PromptCommand::Show { reference } => show(&registry, &reference),
        PromptCommand::Diff { old, new } => diff(ctx, &registry, &old, &new),
        PromptCommand::New { name, note, from } => {
            new(&project, &registry, &name, from.as_deref(), note.as_deref())
        }
        PromptCommand::Alias {
            name,
            alias,
            target,
        } => set_alias(&project, &registry, &name, &alias, &target),
        PromptCommand::Render { reference, vars } => render(&registry, &reference, &vars),
        PromptCommand::Lock => lock(&registry),
        PromptCommand::Check => check(&registry),
        PromptCommand::Push { names, mlflow } => {
            push(&project, &registry, &names, mlflow.as_deref())
        }
        PromptCommand::Pull { name, mlflow } => pull(&project, &name, mlflow.as_deref()),
    }
}

/// `prompt list`: every prompt with its versions, lock states and aliases, in `width`
/// columns: the description is shortened to what is left, or dropped below 12 columns of
/// room; versions and aliases wrap; the prompt name (the key) never does.
fn list(registry: &Registry, width: u16) -> Result<Exit, Error> {
    let rows: Vec<[String; 4]> = registry
        .prompts()
        .map(|p| {
            let versions = p
                .versions
                .values()
                .map(|v| match registry.lock_state(v) {
                    LockState::Locked => format!("{}", v.version),
                    s => format!("{} ({})", v.version, lock_label(&s)),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let aliases = p
                .meta
                .aliases
                .iter()
                .map(|(a, v)| format!("{a}→{v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let description = p.meta.description.clone().unwrap_or_default();
            [p.name.clone(), versions, aliases, description]
        })
        .collect();
    if rows.is_empty() {
        outln!("no prompts yet; `prompteval prompt new NAME` creates one");
        return Ok(Exit::Success);
    }
    let narrow = list_table(&rows, width, None);
    // The room the description has: what the other columns leave, less its border.
    let room = usize::from(width).saturating_sub(crate::report::table_width(&narrow) + 3);
    let widest = rows.iter().map(|r| r[3].chars().count()).max().unwrap_or(0);
    let table = match room >= 12 || (widest > 0 && widest <= room) {
        true if widest > 0 => list_table(&rows, width, Some(room)),
        _ => narrow,
    };
    outln!("{table}");
    Ok(Exit::Success)
}

/// The table of `prompt list`, with the description cut to `description` characters (and
/// without it when `None`).
fn list_table(rows: &[[String; 4]], width: u16, description: Option<usize>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(width);
    let headers = ["prompt", "versions", "aliases", "description"];
    let shown = if description.is_some() { 4 } else { 3 };
    table.set_header(&headers[..shown]);
    for row in rows {
        let mut cells: Vec<String> = row[..3].to_vec();
        if let Some(max) = description {
            cells.push(crate::report::human::truncate(&row[3], max));
        }
        table.add_row(cells);
    }
    if let Some(key) = table.column_mut(0) {
        key.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    if let (Some(_), Some(column)) = (description, table.column_mut(3)) {
        column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    table
}

/// `prompt show REF`: one version, its metadata and its template.
fn show(registry: &Registry, reference: &str) -> Result<Exit, Error> {
    let v = resolve(registry, reference)?;
    outln!("{}  ({})", v.reference(), v.path.display());
    outln!("hash:   {}", v.hash);
    outln!("state:  {}", lock_label(&registry.lock_state(v)));
    if let Some(prompt) = registry.get(&v.name) {
        let aliases: Vec<_> = prompt
            .meta
            .aliases
            .iter()
            .filter(|(_, n)| **n == v.version)
            .map(|(a, _)| a.as_str())
            .collect();
        if !aliases.is_empty() {
            outln!("alias:  {}", aliases.join(", "));
        }
    }
    if let Some(note) = &v.note {
        outln!("note:   {note}");
    }
    for (k, val) in &v.params {
        outln!("param:  {k} = {val}");
    }
    for name in &v.shared_tools {
        let file = registry.shared_tools().get(name).map(|t| t.path.display());
        outln!(
            "tool:   {name} ({})",
            file.map(|f| f.to_string()).unwrap_or_default()
        );
    }
    outln!();
    match &v.body {
        PromptBody::Text(t) => outln!("{}", t.trim_end_matches('\n')),
        PromptBody::Chat(messages) => {
            let parts: Vec<String> = messages
                .iter()
                .map(|m| {
                    format!(
                        "[{}]\n{}",
                        m.role.as_str(),
                        m.content.trim_end_matches('\n')
                    )
                })
                .collect();
            outln!("{}", parts.join("\n\n"));
        }
    }
    let tools = registry::tools_text(&v.tools);
    if !tools.is_empty() {
        outln!();
        outln!("tools:");
        out!("{tools}");
    }
    Ok(Exit::Success)
}

/// `prompt diff OLD NEW`: two versions side by side.
fn diff(ctx: &Context, registry: &Registry, old: &str, new: &str) -> Result<Exit, Error> {
    let a = resolve(registry, old)?;
    let b = resolve(registry, new)?;
    let diff = registry::diff(a, b, ctx.color);
    if diff.is_empty() {
        outln!("{} and {} are identical", a.reference(), b.reference());
    } else {
        out!("{diff}");
    }
    Ok(Exit::Success)
}

/// `prompt new NAME [--from REF]`: a new draft version, and the command that compares it
/// with production (or with the version it was copied from).
fn new(
    project: &Project,
    registry: &Registry,
    name: &str,
    from: Option<&str>,
    note: Option<&str>,
) -> Result<Exit, Error> {
    let from = match from {
        Some(reference) => {
            let (n, of) = alias_target(registry, name, reference)?;
            if of != name {
                errln!("error: --from `{reference}` is a version of {of}, not of {name}");
                errln!("hint: copy a version of {name} (`--from {name}@2`), or create {of}'s next version with `prompteval prompt new {of} --from {reference}`");
                return Ok(Exit::Input);
            }
            Some(n)
        }
        None => None,
    };
    let path = Registry::new_version_from(&project.root, name, from, note)?;
    let prompt = registry.get(name);
    let copied = from.or_else(|| prompt.and_then(|p| p.latest()).map(|v| v.version));
    let new_number = prompt.and_then(|p| p.latest()).map_or(1, |v| v.version + 1);
    match copied {
        Some(c) => outln!(
            "created {} (a copy of {name}@{c})",
            project.relative(&path).display()
        ),
        None => outln!("created {}", project.relative(&path).display()),
    }
    if let Some(copied) = copied {
        let has_production = prompt.is_some_and(|p| p.meta.aliases.contains_key("production"));
        let base = if has_production {
            format!("{name}@production")
        } else {
            format!("{name}@{copied}")
        };
        outln!("next: edit it, then compare it with {base}:");
        outln!("  prompteval run --prompt {base} --prompt {name}@{new_number}");
        outln!(
            "then `prompteval prompt alias {name} production {new_number}` to promote it, and `prompteval prompt lock` to freeze it"
        );
    } else {
        outln!(
            "next: edit it, then write an eval that uses `{name}@latest` and `prompteval run` it"
        );
    }
    Ok(Exit::Success)
}

/// `prompt alias NAME ALIAS VERSION`: points an alias at a version and says where it
/// pointed before (`production: 2 → 3`).
fn set_alias(
    project: &Project,
    registry: &Registry,
    name: &str,
    alias: &str,
    version: &str,
) -> Result<Exit, Error> {
    let (number, of) = alias_target(registry, name, version)?;
    if of != name {
        errln!("error: `{version}` is a version of {of}, not of {name}");
        errln!("hint: give a version of {name}: `3`, `v3` or `{name}@3`");
        return Ok(Exit::Input);
    }
    let before = Registry::set_alias(&project.root, name, alias, number)?;
    match before {
        Some(n) if n == number => outln!("{name}@{alias}: {n} (unchanged)"),
        Some(n) => outln!("{name}@{alias}: {n} → {number}"),
        None => outln!("{name}@{alias}: (new) → {number}"),
    }
    for other in same_version(registry, name, alias, number) {
        errln!(
            "note: {name}@{other} is {number} too: an eval that runs both runs {name}@{number} once, and compares nothing; `prompteval prompt alias {name} {other} N` points {other} elsewhere"
        );
    }
    Ok(Exit::Success)
}

/// The other aliases of prompt `name` that point at `number` (after `alias` was set to it):
/// `production` and `candidate` on one version compare nothing.
fn same_version<'a>(registry: &'a Registry, name: &str, alias: &str, number: u32) -> Vec<&'a str> {
    registry.get(name).map_or_else(Vec::new, |p| {
        p.meta
            .aliases
            .iter()
            .filter(|(a, v)| a.as_str() != alias && **v == number)
            .map(|(a, _)| a.as_str())
            .collect()
    })
}

/// The version number `version` means for prompt `name`: `3`, `v3`, `name@3`, or a
/// reference such as `name@staging` resolved through the registry; with the prompt it names.
fn alias_target(registry: &Registry, name: &str, version: &str) -> Result<(u32, String), Error> {
    let digits = version.strip_prefix('v').unwrap_or(version);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(n) = digits.parse::<u32>() {
            return Ok((n, name.to_string()));
        }
    }
    let reference = if version.contains('@') {
        version.to_string()
    } else {
        format!("{name}@{version}")
    };
    let v = resolve(registry, &reference)?;
    Ok((v.version, v.name.clone()))
}

/// `prompt render REF --var K=V…`: one version rendered with the given variables.
fn render(registry: &Registry, reference: &str, vars: &[String]) -> Result<Exit, Error> {
    let v = resolve(registry, reference)?;
    let mut map = BTreeMap::new();
    for kv in vars {
        let Some((k, val)) = kv.split_once('=') else {
            errln!("error: --var expects KEY=VALUE, got `{kv}`");
            return Ok(Exit::Input);
        };
        map.insert(k.to_string(), val.to_string());
    }
    let mut templates = TemplateSet::new(registry.partials())?;
    templates.add_prompt(v)?;
    let missing: Vec<_> = templates
        .prompt_variables(v)
        .into_iter()
        .filter(|name| !map.contains_key(name))
        .collect();
    if !missing.is_empty() {
        errln!(
            "error: {} needs {}",
            v.reference(),
            missing
                .iter()
                .map(|m| format!("--var {m}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        return Ok(Exit::Input);
    }
    let context = minijinja::Value::from_serialize(&map);
    match templates.render_prompt(v, &context)? {
        RenderedPrompt::Text(t) => outln!("{t}"),
        RenderedPrompt::Chat(messages) => {
            for m in messages {
                outln!("[{}]\n{}\n", m.role.as_str(), m.content);
            }
        }
    }
    Ok(Exit::Success)
}

/// `prompt lock`: records every draft version in `prompts.lock`.
fn lock(registry: &Registry) -> Result<Exit, Error> {
    let report = registry.write_lock()?;
    if report.newly_locked.is_empty() {
        outln!("nothing to lock: every version is already in prompts.lock");
    }
    for r in &report.newly_locked {
        outln!("locked {r}");
    }
    if report.partials_recorded > 0 {
        outln!(
            "recorded the partials of {} versions locked by an older prompteval",
            report.partials_recorded
        );
    }
    Ok(Exit::Success)
}

/// `prompt check`: no locked version changed.
fn check(registry: &Registry) -> Result<Exit, Error> {
    registry.check()?;
    let (mut locked, mut drafts) = (0, 0);
    for p in registry.prompts() {
        for v in p.versions.values() {
            match registry.lock_state(v) {
                LockState::Locked => locked += 1,
                _ => drafts += 1,
            }
        }
    }
    outln!("ok: {locked} locked versions unchanged, {drafts} drafts");
    Ok(Exit::Success)
}

/// `prompt push`: the registry into MLflow.
fn push(
    project: &Project,
    registry: &Registry,
    names: &[String],
    mlflow: Option<&str>,
) -> Result<Exit, Error> {
    let client = match super::mlflow::required(mlflow, project) {
        Ok(c) => c,
        Err(e) => {
            return Ok(diagnostics::report(&e));
        }
    };
    let pushed =
        match super::mlflow::block_on(crate::mlflow::prompts::push(&client, registry, names)) {
            Ok(p) => p,
            Err(exit) => return Ok(exit),
        };
    for p in pushed {
        let new: Vec<String> = p
            .versions
            .iter()
            .filter(|(_, _, created)| *created)
            .map(|(local, remote, _)| format!("{}@{local} → version {remote}", p.name))
            .collect();
        let same = p.versions.len() - new.len();
        if p.created {
            outln!("registered prompt `{}` in {}", p.name, client.uri());
        }
        for line in &new {
            outln!("pushed {line}");
        }
        if same > 0 {
            outln!("{}: {same} versions already in MLflow, unchanged", p.name);
        }
        for (alias, version) in &p.aliases {
            outln!("{}@{alias} → version {version}", p.name);
        }
    }
    Ok(Exit::Success)
}

/// `prompt pull NAME`: a prompt from MLflow into the registry.
fn pull(project: &Project, name: &str, mlflow: Option<&str>) -> Result<Exit, Error> {
    let client = match super::mlflow::required(mlflow, project) {
        Ok(c) => c,
        Err(e) => {
            return Ok(diagnostics::report(&e));
        }
    };
    let report =
        match super::mlflow::block_on(crate::mlflow::prompts::pull(&client, &project.root, name)) {
            Ok(r) => r,
            Err(exit) => return Ok(exit),
        };
    for (remote, path, n) in &report.created {
        outln!(
            "version {remote} → {name}@{n} ({})",
            project.relative(&project.root.join(path)).display()
        );
    }
    if !report.unchanged.is_empty() {
        outln!(
            "{name}: {} versions already here, unchanged",
            report.unchanged.len()
        );
    }
    for (alias, n) in &report.aliases {
        outln!("{name}@{alias} → {name}@{n}");
    }
    if !report.locked.is_empty() {
        outln!("locked {} in prompts.lock", report.locked.join(", "));
    }
    Ok(Exit::Success)
}
