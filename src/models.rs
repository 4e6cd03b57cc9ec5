//! `tarjama models list` / `tarjama models show NAME`: the shipped presets, with family, size,
//! languages, licence and whether their files are already in the local Hugging Face cache (and
//! their size on disk); `tarjama models download NAME|REPO[@REV]...` fetches models ahead of
//! time (for offline machines and clusters) and prints where their files are.

use clap::{Args, Subcommand};

use tarjama::hub::{self, HubOptions, Preset, DEFAULT_SUMMARIZER, DEFAULT_TRANSLATOR};
use tarjama::tokenize::languages::family_codes;

/// Flags of `tarjama models`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tarjama models list
  tarjama models show opus-mt-tc-big-ar-en
  tarjama models download opus-mt-tc-big-ar-en distilbart-cnn-12-6@main")]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// One line per preset: name, family, size, task, languages, licence, cached.
    List,
    /// Everything about one preset, its language codes included; or what a local model
    /// directory holds (family, size, tokenizer, generation defaults).
    Show {
        /// The preset name (see `tarjama models list`), or a local model directory.
        name: String,
    },
    /// Download models into the Hugging Face cache now, so later runs (HF_HUB_OFFLINE=1, other
    /// cluster nodes sharing HF_HOME) need no network. Prints one line per model on stdout:
    /// the name, the commit and the snapshot directory holding its files, tab-separated.
    Download {
        /// Presets or Hub repo ids, each optionally with @REVISION (owner/name@v1.0).
        #[arg(required = true, value_name = "NAME|REPO[@REV]", value_parser = super::common::model_name)]
        models: Vec<String>,
        /// No download progress on stderr.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

/// Runs `tarjama models`; returns the exit code.
pub fn run(args: ModelsArgs) -> anyhow::Result<i32> {
    let opts = HubOptions::from_env();
    let out = match args.command {
        ModelsCommand::Download { models, quiet } => return download(&models, quiet),
        ModelsCommand::List => list(&hub::presets(), &opts),
        ModelsCommand::Show { name } => {
            if hub::preset(&name).is_none() && std::path::Path::new(&name).is_dir() {
                print!("{}", show_dir(&name)?);
                return Ok(0);
            }
            let Some(p) = hub::preset(&name) else {
                anyhow::bail!(
                    "no preset {name:?} (presets: {})",
                    hub::preset_names().join(", ")
                );
            };
            show(&p, &opts)
        }
    };
    print!("{out}");
    Ok(0)
}

/// `tarjama models download`: each model resolved (downloaded when not cached), one line each
/// on stdout. A model that fails gets its one-line error on stderr and the others are still
/// fetched; the exit code is 1 if any failed.
fn download(models: &[String], quiet: bool) -> anyhow::Result<i32> {
    super::progress::install(quiet);
    let opts = HubOptions::from_env();
    let mut failed = 0;
    for name in models {
        let fetched = hub::resolve_with(name, None, &opts)
            .map_err(anyhow::Error::from)
            .and_then(|files| match &files.source {
                hub::ModelSource::Local(dir) => Err(anyhow::anyhow!(
                    "{}: is a local directory; models download takes presets and Hub repo ids",
                    dir.display()
                )),
                _ => Ok(files),
            });
        match fetched {
            Ok(files) => println!(
                "{name}\t{}\t{}",
                files.revision.as_deref().unwrap_or("-"),
                files.dir.display()
            ),
            Err(e) => {
                eprintln!("error: {}", super::one_line(&e));
                failed += 1;
            }
        }
    }
    if failed > 0 && models.len() > 1 {
        eprintln!(
            "{failed} of {} models could not be downloaded",
            models.len()
        );
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Bytes on disk under `dir`, following the snapshot's symlinks to their blobs.
fn disk_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => disk_size(&path),
                Ok(m) => m.len(),
                Err(_) => 0,
            }
        })
        .sum()
}

/// `615000000` → `615M`, `1370000000` → `1.4B`.
fn size(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.1}B", n as f64 / 1e9)
    } else {
        format!("{}M", (n as f64 / 1e6).round())
    }
}

/// Where the preset's files are in the local cache, and their size on disk, when every file it
/// needs is there.
fn cached(p: &Preset, opts: &HubOptions) -> Option<(String, u64)> {
    let offline = HubOptions {
        offline: true,
        ..opts.clone()
    };
    hub::resolve_with(&p.repo, Some(&p.revision), &offline)
        .ok()
        .map(|f| (f.dir.display().to_string(), disk_size(&f.dir)))
}

fn languages(p: &Preset) -> String {
    match family_codes(&p.family) {
        Some((_, codes)) => format!(
            "{} → {} ({} codes)",
            p.source_lang,
            p.target_lang,
            codes.len()
        ),
        None => format!("{} → {}", p.source_lang, p.target_lang),
    }
}

fn list(presets: &[Preset], opts: &HubOptions) -> String {
    let header = [
        "NAME",
        "FAMILY",
        "SIZE",
        "TASK",
        "LANGUAGES",
        "LICENSE",
        "CACHED",
    ]
    .map(String::from);
    let mut rows: Vec<[String; 7]> = vec![header];
    for p in presets {
        rows.push([
            p.name.clone(),
            p.family.clone(),
            size(p.approx_parameters),
            p.task.clone(),
            languages(p),
            p.license.clone(),
            match cached(p, opts) {
                Some((_, bytes)) => format!("yes ({})", hub::format_size(bytes)),
                None => "no".into(),
            },
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "\ndefault translator: {DEFAULT_TRANSLATOR}; default summarizer: {DEFAULT_SUMMARIZER}\n\
         `tarjama models show NAME` for details; --model NAME to use one; \
         `tarjama models download NAME...` to fetch ahead of time\n"
    ));
    out
}

fn licence_note(license: &str) -> &'static str {
    if license.to_ascii_lowercase().contains("-nc") {
        " (non-commercial use only)"
    } else {
        ""
    }
}

fn show(p: &Preset, opts: &HubOptions) -> String {
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<12} {v}\n", format!("{k}:")));
    field("name", p.name.clone());
    field("description", p.description.clone());
    field("repo", format!("{} (revision {})", p.repo, p.revision));
    field(
        "family",
        match p.family.as_str() {
            "nllb" | "m2m100" => format!("{} (model_type m2m_100)", p.family),
            f => f.to_string(),
        },
    );
    field("task", p.task.clone());
    field(
        "size",
        format!("about {} parameters", size(p.approx_parameters)),
    );
    field(
        "licence",
        format!("{}{}", p.license, licence_note(&p.license)),
    );
    match family_codes(&p.family) {
        Some((scheme, codes)) => {
            field(
                "languages",
                format!(
                    "{} → {} by default (--src-lang / --tgt-lang); {} {scheme} codes:",
                    p.source_lang,
                    p.target_lang,
                    codes.len()
                ),
            );
            for chunk in codes.chunks(10) {
                out.push_str(&format!("{:<12} {}\n", "", chunk.join(" ")));
            }
        }
        None => field(
            "languages",
            format!("{} → {}", p.source_lang, p.target_lang),
        ),
    }
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<12} {v}\n", format!("{k}:")));
    field(
        "cached",
        match cached(p, opts) {
            Some((dir, bytes)) => format!("yes ({dir}, {})", hub::format_size(bytes)),
            None => format!(
                "no (downloaded on first use into {})",
                opts.repo_cache_dir(&p.repo).display()
            ),
        },
    );
    if !p.generation.is_empty() {
        let gen: Vec<String> = p
            .generation
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        field("generation", gen.join(" "));
    }
    out
}

/// `tarjama models show DIR`: what the local model directory `dir` holds, read from its
/// `config.json`, `generation_config.json`, the weights' headers (safetensors: parameters
/// counted from the tensor shapes, no tensor data read; `.bin`: file size only) and which
/// tokenizer files it has.
///
/// Errors: the directory is no model (as `--model DIR` would say), a config or header that
/// cannot be read.
fn show_dir(name: &str) -> anyhow::Result<String> {
    let files = hub::ModelFiles::from_dir(std::path::Path::new(name))?;
    let config: serde_json::Value = tarjama::fsio::read_json(&files.config)?;
    let text = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<12} {v}\n", format!("{k}:")));
    field("directory", name.to_string());
    let arch = config
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(|a| a.as_str())
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    field(
        "family",
        format!(
            "{}{arch}",
            text("model_type").unwrap_or_else(|| "unknown (no model_type)".into())
        ),
    );
    let (names, bytes): (Vec<String>, u64) = match &files.weights {
        hub::Weights::Safetensors(p) | hub::Weights::PytorchBin(p) => (
            p.iter()
                .map(|f| {
                    f.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            p.iter()
                .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
                .sum(),
        ),
    };
    let params = match &files.weights {
        hub::Weights::Safetensors(p) => {
            let n = tarjama::model::weights::StreamedSafetensors::open(p)?.parameters();
            let about = if n >= 1_000_000 {
                format!(" ({})", size(n))
            } else {
                String::new()
            };
            format!("{n} parameters{about}, ")
        }
        hub::Weights::PytorchBin(_) => String::new(),
    };
    field(
        "size",
        format!(
            "{params}{} in {}",
            hub::format_size(bytes),
            names.join(", ")
        ),
    );
    use tarjama::tokenize::TokenizerFiles as T;
    field(
        "tokenizer",
        match &files.tokenizer {
            T::TokenizerJson(_) => "tokenizer.json (tokenizers library)".to_string(),
            T::Marian { .. } => "Marian SentencePiece (source.spm, target.spm, vocab.json)".into(),
            T::Spiece(_) => "T5 SentencePiece (spiece.model)".into(),
            T::M2m100 { .. } => "M2M100 SentencePiece (sentencepiece.bpe.model, vocab.json)".into(),
            T::Bpe { .. } => "byte-level BPE (vocab.json, merges.txt)".into(),
        },
    );
    let num = |k: &str| config.get(k).and_then(|v| v.as_u64());
    if let Some(v) = num("vocab_size") {
        let positions = num("max_position_embeddings")
            .map(|p| format!(", {p} positions"))
            .unwrap_or_default();
        field("vocabulary", format!("{v} tokens{positions}"));
    }
    let generation = match &files.generation_config {
        Some(path) => {
            let g: serde_json::Map<String, serde_json::Value> = tarjama::fsio::read_json(path)?;
            let set: Vec<String> = g
                .iter()
                .filter(|(k, _)| k.as_str() != "transformers_version")
                .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
                .collect();
            format!("{} (generation_config.json)", set.join(" "))
        }
        None => "no generation_config.json (config.json's generation keys apply)".into(),
    };
    field("generation", generation);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(76_000_000), "76M");
        assert_eq!(size(615_000_000), "615M");
        assert_eq!(size(1_370_000_000), "1.4B");
        assert_eq!(licence_note("cc-by-nc-4.0"), " (non-commercial use only)");
        assert_eq!(licence_note("mit"), "");
    }
}
