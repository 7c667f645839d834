//! Benchmark of the text metrics: ROUGE-L + BLEU + chrF over N output/reference pairs of
//! about 100 words, on every core, then chrF++ and ROUGE-Lsum alone. Run through `scripts/bench-score.sh` (release mode).
//!
//! Usage: `bench_score [PAIRS] [THREADS]` (defaults 20000 and the number of cores).
//! Prints the time of the pure metric functions and of the same three metrics as
//! compiled assertions (value `{{ expected }}` read from each row, reasons and details
//! built), the way `prompteval run` evaluates them.

use std::time::Instant;

use prompteval::diagnostic::Location;
use prompteval::score::chrf::ChrfOptions;
use prompteval::score::{bleu, chrf, rouge, Assertion, AssertionSpec, ScoreInput};
use prompteval::template::TemplateSet;

/// The allocator of the `prompteval` binary (src/main.rs), so that the figures are the
/// binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let pairs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let data = corpus(pairs);
    let words: usize = data
        .iter()
        .map(|(o, r)| o.split(' ').count() + r.split(' ').count())
        .sum();
    println!(
        "{pairs} pairs, {:.1} words per text on average, {threads} threads",
        words as f64 / (2 * pairs) as f64
    );

    // Each metric alone, on one thread, for orientation (`BENCH_EACH=1`), or only one of
    // them (`BENCH_EACH=bleu`), e.g. under `perf record`.
    if let Some(only) = std::env::var_os("BENCH_EACH") {
        let only = only.to_string_lossy().into_owned();
        let time = |name: &str, f: &dyn Fn(&str, &str) -> f64| {
            if only != "1" && only != name {
                return;
            }
            let start = Instant::now();
            let sum: f64 = data.iter().map(|(o, r)| f(o, r)).sum();
            println!(
                "  {name:<8} one thread: {:>7.1} ms ({sum:.1})",
                start.elapsed().as_secs_f64() * 1e3
            );
        };
        time("rouge-l", &|o, r| {
            rouge::rouge(rouge::RougeKind::RougeL, r, o, false).fmeasure
        });
        time("bleu", &|o, r| bleu::sentence_bleu(o, &[r]));
        time("chrf", &|o, r| chrf::sentence_chrf(o, &[r]));
        time("chrf++", &|o, r| {
            chrf::sentence_chrf_with(o, &[r], &CHRF_PLUS_PLUS)
        });
        time("rouge-lsum", &|o, r| {
            rouge::rouge(rouge::RougeKind::RougeLsum, &lines(r), &lines(o), false).fmeasure
        });
        time("13a", &|o, r| {
            (bleu::tokenize_13a(o).len() + bleu::tokenize_13a(r).len()) as f64
        });
        if only != "1" {
            return;
        }
    }

    // The pure metrics.
    let start = Instant::now();
    let sums = parallel(&data, threads, |(output, reference)| {
        let l = rouge::rouge(rouge::RougeKind::RougeL, reference, output, false).fmeasure;
        let b = bleu::sentence_bleu(output, &[reference]);
        let c = chrf::sentence_chrf(output, &[reference]);
        l + b / 100.0 + c / 100.0
    });
    let metrics = start.elapsed();
    println!(
        "metrics    (rouge-l + bleu + chrf): {:>7.1} ms   mean sum {:.4}",
        metrics.as_secs_f64() * 1e3,
        sums / pairs as f64
    );

    // The options of issue 18 on the same pairs: chrF++, and ROUGE-Lsum with a sentence
    // a line (the texts broken after each word ending in a full stop).
    let start = Instant::now();
    let sums = parallel(&data, threads, |(output, reference)| {
        chrf::sentence_chrf_with(output, &[reference], &CHRF_PLUS_PLUS) / 100.0
    });
    println!(
        "chrf++     (word_order 2):          {:>7.1} ms   mean {:.4}",
        start.elapsed().as_secs_f64() * 1e3,
        sums / pairs as f64
    );
    let split: Vec<(String, String)> = data.iter().map(|(o, r)| (lines(o), lines(r))).collect();
    let start = Instant::now();
    let sums = parallel(&split, threads, |(output, reference)| {
        rouge::rouge(rouge::RougeKind::RougeLsum, reference, output, false).fmeasure
    });
    println!(
        "rouge-lsum (newline sentences):     {:>7.1} ms   mean {:.4}",
        start.elapsed().as_secs_f64() * 1e3,
        sums / pairs as f64
    );

    // The same through compiled assertions.
    let mut templates = TemplateSet::new(&Default::default()).expect("template set");
    let origin = Location::line("bench.yaml", 1);
    let assertions: Vec<Assertion> = ["rouge-l", "bleu", "chrf"]
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let spec = AssertionSpec {
                kind: kind.to_string(),
                value: None,
                threshold: None,
                weight: None,
                metric: None,
                measure: None,
                stem: None,
                ..Default::default()
            };
            Assertion::compile(&spec, &format!("a{i}"), &origin, &mut templates).expect("compiles")
        })
        .collect();
    let rows: Vec<minijinja::Value> = data
        .iter()
        .map(|(_, r)| minijinja::context! { expected => r })
        .collect();
    let indexed: Vec<(usize, &(String, String))> = data.iter().enumerate().collect();
    let start = Instant::now();
    let sums = parallel(&indexed, threads, |(i, (output, _))| {
        let input = ScoreInput {
            output,
            vars: &rows[*i],
            latency_ms: 0.0,
            tool_calls: &[],
            tools: None,
            steps: &[],
        };
        assertions
            .iter()
            .map(|a| a.evaluate(&input, &templates).score)
            .sum::<f64>()
    });
    let through = start.elapsed();
    println!(
        "assertions (rouge-l + bleu + chrf): {:>7.1} ms   mean sum {:.4}",
        through.as_secs_f64() * 1e3,
        sums / pairs as f64
    );
}

/// chrF++: sacrebleu's `CHRF(word_order=2)`.
const CHRF_PLUS_PLUS: ChrfOptions = ChrfOptions {
    char_order: 6,
    word_order: 2,
    beta: 2,
    lowercase: false,
    whitespace: false,
    eps_smoothing: false,
};

/// `text` with a line break after each word that ends in a full stop.
fn lines(text: &str) -> String {
    text.replace(". ", ".\n")
}

/// Sums `f` over `items`, split in `threads` contiguous chunks.
fn parallel<T: Sync>(items: &[T], threads: usize, f: impl Fn(&T) -> f64 + Sync) -> f64 {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().map(&f).sum::<f64>()))
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    })
}

/// `n` (output, reference) pairs: references of 80–120 words drawn from a Zipf-like
/// vocabulary with some punctuation and numbers; outputs are references with words
/// dropped, replaced, repeated and swapped.
fn corpus(n: usize) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(42);
    let syllables = [
        "ka", "to", "ri", "men", "sa", "lo", "ve", "dan", "pre", "ul", "ex", "or",
    ];
    let vocab: Vec<String> = (0..3000)
        .map(|_| {
            let len = rng.usize(1..4);
            (0..len)
                .map(|_| syllables[rng.usize(..syllables.len())])
                .collect()
        })
        .collect();
    let word = |rng: &mut fastrand::Rng| -> String {
        // Zipf-like: small indices are much more frequent.
        let r = rng.f64();
        let idx = ((vocab.len() as f64).powf(r) as usize).saturating_sub(1);
        let mut w = vocab[idx.min(vocab.len() - 1)].clone();
        match rng.u8(..40) {
            0 => w.push(','),
            1 => w.push('.'),
            2 => w = format!("{}.{}", rng.u8(..100), rng.u8(..10)),
            3 => w = w.to_uppercase(),
            _ => {}
        }
        w
    };
    (0..n)
        .map(|_| {
            let len = rng.usize(80..=120);
            let reference: Vec<String> = (0..len).map(|_| word(&mut rng)).collect();
            let mut output = Vec::with_capacity(len + 10);
            for w in &reference {
                match rng.u8(..20) {
                    0 => {}
                    1 | 2 => output.push(word(&mut rng)),
                    3 => {
                        output.push(w.clone());
                        output.push(w.clone());
                    }
                    _ => output.push(w.clone()),
                }
            }
            if output.len() > 4 {
                let i = rng.usize(..output.len() - 1);
                output.swap(i, i + 1);
            }
            (output.join(" "), reference.join(" "))
        })
        .collect()
}
