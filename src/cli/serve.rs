//! `gpurec recommend` and `gpurec eval`: a saved model of any registered
//! family, served on either backend.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use gpurec::data::Interactions;
use gpurec::device::OnBackend;
use gpurec::eval::{ItemFilter, RankingEval};
use gpurec::model_file::ModelFile;
use gpurec::models::contract::{Model, RatingModel};
use gpurec::models::registry;
use gpurec::{Backend, Gpu};

use super::input;
use super::output::print_table;
use super::DeviceChoice;

/// `gpurec recommend`.
#[derive(Args)]
pub struct RecommendArgs {
    /// A model file written by `gpurec train --output`.
    #[arg(long)]
    model: PathBuf,
    /// Users (original ids); several allowed.
    #[arg(long = "user", required_unless_present_any = ["history", "features"], conflicts_with_all = ["history", "features"])]
    users: Vec<String>,
    /// Recommend what follows these items (original ids, oldest first, comma-separated), for a
    /// user the model need not know, without retraining: every model but I-AutoRec and the graph
    /// models. The embedding models (bpr, mf, neumf) fold the history in by fitting a new user row
    /// against their fixed items; biased MF fits ratings, given as ITEM:RATING.
    #[arg(long, value_delimiter = ',', value_name = "ITEM[:RATING],...", conflicts_with = "features")]
    history: Vec<String>,
    /// Recommend for a new user known only by these features (comma-separated names as the model
    /// lists them, e.g. gender=F,age=25-34,occupation=writer; NAME:VALUE for a weight), from the
    /// features alone (cold start): models with feature embeddings (lightfm). An unknown name is
    /// an error that lists the model's.
    #[arg(long, value_delimiter = ',', value_name = "FEATURE[:VALUE],...")]
    features: Vec<String>,
    /// How many items per user (at most 128: the device top-K keeps each row's sorted list in private memory, one thread per row).
    #[arg(short, default_value_t = 10)]
    k: usize,
    #[command(flatten)]
    lists: ListArgs,
    /// Recommend items the user (or the history) already has too; by default they are excluded.
    #[arg(long)]
    include_seen: bool,
    /// With each item, up to N of the user's (or the history's) items that explain it, the most similar first.
    #[arg(long, value_name = "N")]
    explain: Option<usize>,
    /// Interactions whose items are excluded as already seen (default: the data the model was trained on).
    #[arg(long)]
    data: Option<String>,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The allow and deny lists of `recommend` and `similar`.
#[derive(Args)]
pub struct ListArgs {
    /// Only these items (original ids, comma-separated); applied on the device before the top-K.
    #[arg(long, value_delimiter = ',', value_name = "ITEM,ITEM,...")]
    allow: Option<Vec<String>>,
    /// Never these items (original ids, comma-separated); applied on the device before the top-K.
    #[arg(long, value_delimiter = ',', value_name = "ITEM,ITEM,...")]
    deny: Vec<String>,
}

/// `gpurec similar`.
#[derive(Args)]
pub struct SimilarArgs {
    /// A model file written by `gpurec train --output`.
    #[arg(long)]
    model: PathBuf,
    /// Items (original ids); several allowed.
    #[arg(long = "item", required = true)]
    items: Vec<String>,
    /// How many similar items per item (at most 128).
    #[arg(short, default_value_t = 10)]
    k: usize,
    #[command(flatten)]
    lists: ListArgs,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `gpurec eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A model file written by `gpurec train --output`.
    #[arg(long)]
    model: PathBuf,
    /// Data to evaluate on (default: the data the model was trained on, with its split seed).
    #[arg(long)]
    data: Option<String>,
    /// Also score the NCF paper's sampled protocol: each test positive against N seeded
    /// negatives (items the user never interacted with). Labelled "sampled", never full ranking.
    #[arg(long, value_name = "N")]
    sampled: Option<usize>,
    /// Sampled protocol with fixed negatives from a file in the NCF `.test.negative` format
    /// ("(user,item)<TAB>neg<TAB>neg…", original ids).
    #[arg(long, value_name = "FILE", conflicts_with = "sampled")]
    negatives: Option<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn recommend(args: &RecommendArgs) -> Result<()> {
    let (backend, _) = args.device.device().choose()?;
    backend.run(Job::Recommend(args))
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let (backend, _) = args.device.device().choose()?;
    backend.run(Job::Eval(args))
}

pub fn similar(args: &SimilarArgs) -> Result<()> {
    let (backend, _) = args.device.device().choose()?;
    backend.run(Job::Similar(args))
}

pub fn update(args: &UpdateArgs) -> Result<()> {
    let (backend, _) = args.device.device().choose()?;
    backend.run(Job::Update(args))
}

/// `gpurec update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// A model file of an embedding model (bpr, mf, neumf).
    #[arg(long)]
    model: PathBuf,
    /// New interactions, in any format `--data` reads (user, item[, rating[, timestamp]]).
    #[arg(long)]
    events: String,
    /// Refit the events' items (adding new ones) against the fixed users, instead of their users
    /// (adding new ones) against the fixed items.
    #[arg(long)]
    items: bool,
    /// The data the model was trained on (default: what its file records).
    #[arg(long)]
    data: Option<String>,
    /// Where to write the updated model (default: over --model; written atomically either way).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
}

enum Job<'a> {
    Recommend(&'a RecommendArgs),
    Eval(&'a EvalArgs),
    Similar(&'a SimilarArgs),
    Update(&'a UpdateArgs),
}

impl OnBackend for Job<'_> {
    type Out = Result<()>;

    fn run<B: Backend>(self, b: &B, _: Option<&Gpu>) -> Result<()> {
        match self {
            Job::Recommend(a) => recommend_on(b, a),
            Job::Eval(a) => eval_on(b, a),
            Job::Similar(a) => similar_on(b, a),
            Job::Update(a) => update_on(b, a),
        }
    }
}

/// Interactions a model file holds beyond its recorded training data
/// (`info.seen`: `[user, item]` or `[user, item, value]` in its indices),
/// as written by `gpurec update` and the API; an error for a malformed list.
fn extra_seen(file: &ModelFile) -> Result<Vec<(u32, u32, f32)>> {
    let Some(v) = file.info.get("seen") else { return Ok(Vec::new()) };
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).context("the model file's seen items")?;
    let (nu, ni) = (file.user_ids.len() as f64, file.item_ids.len() as f64);
    rows.iter()
        .map(|r| match r[..] {
            [u, i] | [u, i, _] if !(0.0..nu).contains(&u) || !(0.0..ni).contains(&i) => {
                bail!("the model file's seen items point outside its id maps")
            }
            [u, i] => Ok((u as u32, i as u32, 1.0)),
            [u, i, v] => Ok((u as u32, i as u32, v as f32)),
            _ => bail!("the model file's seen items are not [user, item(, value)]"),
        })
        .collect()
}

/// `gpurec update`: the users (or items) of the events refitted to all
/// their interactions, with the other side fixed, new ones added.
fn update_on<B: Backend>(b: &B, args: &UpdateArgs) -> Result<()> {
    use gpurec::models::refit::{partial_fit, Side};
    let (mut file, mut model) = load_model(b, &args.model)?;
    if model.refit().is_none() {
        bail!("{} has no per-user and per-item rows to refresh (bpr, mf and neumf do); retrain it", model.kind());
    }
    let side = if args.items { Side::Items } else { Side::Users };
    let events = gpurec::data::spec::load(&args.events)?.data;
    if events.is_empty() {
        bail!("{}: no interactions", args.events);
    }
    let (data, _, _) = input::for_model(&file, args.data.as_deref())?;
    // What the model has: its training data (in its own indices, where it knows both ids) and earlier updates.
    let mut all: Vec<(u32, u32, f32)> = (0..data.len())
        .filter_map(|r| {
            let u = file.user_ids.get(data.user_ids.id(data.users[r]))?;
            Some((u, file.item_ids.get(data.item_ids.id(data.items[r]))?, data.ratings[r]))
        })
        .collect();
    let mut seen = extra_seen(&file)?;
    all.extend_from_slice(&seen);
    let (mut named, mut new_rows) = (Vec::new(), 0);
    for r in 0..events.len() {
        let (uid, iid) = (events.user_ids.id(events.users[r]), events.item_ids.id(events.items[r]));
        let (before_u, before_i) = (file.user_ids.len(), file.item_ids.len());
        let (u, i) = match side {
            Side::Users => {
                let Some(i) = file.item_ids.get(iid) else {
                    bail!("{}: item {iid:?} is not in the model (add new items with --items first)", args.events)
                };
                (file.user_ids.intern(uid), i)
            }
            Side::Items => {
                let Some(u) = file.user_ids.get(uid) else {
                    bail!("{}: user {uid:?} is not in the model (add new users without --items first)", args.events)
                };
                (u, file.item_ids.intern(iid))
            }
        };
        new_rows += file.user_ids.len() - before_u + file.item_ids.len() - before_i;
        named.push(if side == Side::Users { u } else { i });
        seen.push((u, i, events.ratings[r]));
        all.push((u, i, events.ratings[r]));
    }
    named.sort_unstable();
    named.dedup();
    // Each named row's interactions, all of them, a repeated pair keeping its latest value.
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); named.len()];
    let mut value = std::collections::HashMap::new();
    for &(u, i, v) in &all {
        let row = if side == Side::Users { u } else { i };
        if let Ok(at) = named.binary_search(&row) {
            let partner = if side == Side::Users { i } else { u };
            if value.insert((u, i), v).is_none() {
                lists[at].push(partner);
            }
        }
    }
    let lists: Vec<(u32, Vec<(u32, f32)>)> = named
        .iter()
        .zip(lists)
        .map(|(&row, l)| {
            let key = |p: u32| if side == Side::Users { (row, p) } else { (p, row) };
            (row, l.into_iter().map(|p| (p, value[&key(p)])).collect())
        })
        .collect();
    let refit = model.refit_mut().expect("checked above");
    let cfg = refit.defaults();
    let t = Instant::now();
    partial_fit(b, refit, side, &lists, &cfg)?;
    let seconds = t.elapsed().as_secs_f64();
    let seen: Vec<serde_json::Value> = seen.iter().map(|&(u, i, v)| serde_json::json!([u, i, v])).collect();
    let mut info = file.info.clone();
    info["seen"] = serde_json::Value::Array(seen);
    let out = args.output.clone().unwrap_or_else(|| args.model.clone());
    let updated = registry::to_file(b, model.as_ref(), info, &file.user_ids, &file.item_ids)?;
    updated.save(&out)?;
    println!(
        "{}: {} {} refitted from {} events ({new_rows} new) in {seconds:.2} s, {} steps at lr {} on {}; wrote {}",
        model.kind(),
        named.len(),
        side.name(),
        events.len(),
        cfg.steps,
        cfg.lr,
        b.describe(),
        out.display()
    );
    Ok(())
}

/// A model file and its model on `b`.
fn load_model<B: Backend>(b: &B, path: &std::path::Path) -> Result<(ModelFile, Box<dyn Model<B>>)> {
    let file = ModelFile::load(path)?;
    let model = registry::load(b, &file)?;
    Ok((file, model))
}

/// Original item ids as the model's item indices, or an error naming the first it lacks.
fn item_indices(file: &ModelFile, ids: &[String]) -> Result<Vec<u32>> {
    ids.iter()
        .map(|id| file.item_ids.get(id).ok_or_else(|| anyhow::anyhow!("item {id:?} is not in the model")))
        .collect()
}

/// Allow and deny lists and `--include-seen`, in the model's item indices.
fn item_filter(file: &ModelFile, lists: &ListArgs, include_seen: bool) -> Result<ItemFilter> {
    let allow = lists.allow.as_deref().map(|a| item_indices(file, a)).transpose()?;
    Ok(ItemFilter { allow, deny: item_indices(file, &lists.deny)?, include_seen })
}

/// The item names (titles) a model file holds (`item_names`, from data that
/// has them), aligned with its items; an error for a list that is not.
fn item_names(file: &ModelFile) -> Result<Option<Vec<String>>> {
    let Some(v) = file.info.get("item_names") else { return Ok(None) };
    let names: Vec<String> = serde_json::from_value(v.clone()).context("the model file's item names")?;
    if names.len() != file.item_ids.len() {
        bail!("the model file holds {} item names for {} items", names.len(), file.item_ids.len());
    }
    Ok(Some(names))
}

/// Item `i` in original ids, with its name where the model file has one.
fn recommended(file: &ModelFile, names: &Option<Vec<String>>, i: u32, score: f32) -> Recommended {
    let name = names.as_ref().map(|n| n[i as usize].clone()).filter(|n| !n.is_empty());
    Recommended { item: file.item_ids.id(i).to_string(), name, score, because: Vec::new() }
}

/// One recommended item: its id, name (where known), score and the items that explain it.
struct Recommended {
    item: String,
    name: Option<String>,
    score: f32,
    because: Vec<Recommended>,
}

/// Each recommended item with its explanation (`--explain N`: up to N of `history`'s items), in original ids.
fn with_reasons<B: Backend>(
    b: &B,
    model: &dyn Model<B>,
    file: &ModelFile,
    history: &[u32],
    top: Vec<(u32, f32)>,
    explain: Option<usize>,
) -> Result<Vec<Recommended>> {
    let names = item_names(file)?;
    top.into_iter()
        .map(|(i, score)| {
            let because = match explain {
                Some(n) => gpurec::eval::explain(b, model, history, i, file.item_ids.len(), n)?,
                None => Vec::new(),
            };
            let because = because.into_iter().map(|(j, w)| recommended(file, &names, j, w)).collect();
            Ok(Recommended { because, ..recommended(file, &names, i, score) })
        })
        .collect()
}

fn similar_on<B: Backend>(b: &B, args: &SimilarArgs) -> Result<()> {
    let (file, model) = load_model(b, &args.model)?;
    let items = item_indices(&file, &args.items)?;
    let filter = item_filter(&file, &args.lists, false)?;
    let tops = gpurec::eval::similar_items(b, model.as_ref(), &items, &filter, file.item_ids.len(), args.k)?;
    let names = item_names(&file)?;
    let out: Vec<(String, Vec<Recommended>)> = args
        .items
        .iter()
        .zip(tops)
        .map(|(id, top)| (id.clone(), top.into_iter().map(|(i, s)| recommended(&file, &names, i, s)).collect()))
        .collect();
    print_recommendations("item", &out, args.json)
}

/// `--history`'s items in the model's indices, and their ratings when every
/// entry has one (`ITEM:RATING`); an error names an unknown item, a bad
/// rating, or a history that rates only some of its items.
fn history_items(file: &ModelFile, history: &[String]) -> Result<(Vec<u32>, Option<Vec<f32>>)> {
    let (mut items, mut ratings) = (Vec::with_capacity(history.len()), Vec::new());
    for entry in history {
        let (id, rating) = match entry.rsplit_once(':') {
            Some((id, r)) if file.item_ids.get(entry).is_none() => {
                let r: f32 = r.trim().parse().with_context(|| format!("--history {entry:?}: {r:?} is not a rating"))?;
                if !r.is_finite() {
                    bail!("--history {entry:?}: the rating is not finite");
                }
                (id, Some(r))
            }
            _ => (entry.as_str(), None),
        };
        items.push(file.item_ids.get(id).ok_or_else(|| anyhow::anyhow!("item {id:?} is not in the model"))?);
        ratings.extend(rating);
    }
    match ratings.len() {
        0 => Ok((items, None)),
        n if n == items.len() => Ok((items, Some(ratings))),
        n => bail!("--history rates {n} of its {} items: give every item a rating (ITEM:RATING) or none", items.len()),
    }
}

fn recommend_on<B: Backend>(b: &B, args: &RecommendArgs) -> Result<()> {
    let (file, model) = load_model(b, &args.model)?;
    let n_items = file.item_ids.len();
    let filter = item_filter(&file, &args.lists, args.include_seen)?;
    if !args.history.is_empty() {
        let (items, ratings) = history_items(&file, &args.history)?;
        let top =
            gpurec::eval::top_k_for_history(b, model.as_ref(), &items, ratings.as_deref(), &filter, n_items, args.k)?;
        let top = with_reasons(b, model.as_ref(), &file, &items, top, args.explain)?;
        return print_recommendations("history", &[(args.history.join(","), top)], args.json);
    }
    if !args.features.is_empty() {
        let fm = model.features().ok_or_else(|| {
            anyhow::anyhow!("--features: a {} model has no feature embeddings (lightfm has)", file.kind)
        })?;
        let given: Vec<&str> = args.features.iter().map(String::as_str).collect();
        let x = gpurec::data::side::resolve_features(fm.feature_names(gpurec::models::refit::Side::Users), &given)?;
        let top = gpurec::eval::top_k_for_features(b, model.as_ref(), &x, &filter, n_items, args.k)?;
        let top = with_reasons(b, model.as_ref(), &file, &[], top, None)?;
        return print_recommendations("features", &[(args.features.join(","), top)], args.json);
    }
    let (data, _, _) = input::for_model(&file, args.data.as_deref())?;
    let mut users = Vec::new();
    for id in &args.users {
        users.push(file.user_ids.get(id).ok_or_else(|| anyhow::anyhow!("user {id:?} is not in the model"))?);
    }
    // Seen items, mapped to the model's item indices through the original ids.
    let mut seen = Vec::new();
    for (row, &u) in users.iter().enumerate() {
        let uid = file.user_ids.id(u);
        for r in 0..data.len() {
            if data.user_ids.id(data.users[r]) == uid {
                if let Some(i) = file.item_ids.get(data.item_ids.id(data.items[r])) {
                    seen.push((row as u32, i, 1.0));
                }
            }
        }
    }
    // And what the file holds beyond its training data (`gpurec update`'s events).
    for (u, i, _) in extra_seen(&file)? {
        if let Some(row) = users.iter().position(|&x| x == u) {
            seen.push((row as u32, i, 1.0));
        }
    }
    let tops = gpurec::eval::top_k_filtered(b, model.as_ref(), &users, &seen, &filter, n_items, args.k)?;
    let mut out = Vec::with_capacity(users.len());
    for (row, (id, top)) in args.users.iter().zip(tops).enumerate() {
        let history: Vec<u32> = seen.iter().filter(|s| s.0 == row as u32).map(|s| s.1).collect();
        out.push((id.clone(), with_reasons(b, model.as_ref(), &file, &history, top, args.explain)?));
    }
    print_recommendations("user", &out, args.json)
}

/// Prints each (who, [item]) as a ranked list under `label` ("user",
/// "history", "item"), with each item's name and explanation where it has
/// them, or as JSON.
fn print_recommendations(label: &str, out: &[(String, Vec<Recommended>)], json: bool) -> Result<()> {
    fn to_json(r: &Recommended, value: &str) -> serde_json::Value {
        let mut j = serde_json::json!({"item": r.item, value: r.score});
        if let Some(name) = &r.name {
            j["name"] = serde_json::json!(name);
        }
        if !r.because.is_empty() {
            j["because"] = r.because.iter().map(|c| to_json(c, "weight")).collect();
        }
        j
    }
    let label_of = |r: &Recommended| match &r.name {
        Some(name) => format!("{} {name}", r.item),
        None => r.item.clone(),
    };
    if json {
        let j: Vec<_> = out
            .iter()
            .map(|(u, items)| {
                let items: Vec<_> = items.iter().map(|r| to_json(r, "score")).collect();
                serde_json::json!({ label: u, "items": items })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        for (u, items) in out {
            println!("{label} {u}:");
            for (rank, r) in items.iter().enumerate() {
                let because: Vec<String> =
                    r.because.iter().map(|c| format!("{} ({:.3})", label_of(c), c.score)).collect();
                let because =
                    if because.is_empty() { String::new() } else { format!("  because of {}", because.join(", ")) };
                println!("  {:>3}. {}  ({:.4}){because}", rank + 1, label_of(r), r.score);
            }
        }
    }
    Ok(())
}

fn eval_on<B: Backend>(b: &B, args: &EvalArgs) -> Result<()> {
    let (file, model) = load_model(b, &args.model)?;
    let (data, source, split) = input::for_model(&file, args.data.as_deref())?;
    if let Some(rating) = model.ratings() {
        return eval_ratings(b, rating, &file, &data, &source, args);
    }
    if data.user_ids != file.user_ids || data.item_ids != file.item_ids {
        bail!("{source} does not have the users and items the model was trained on");
    }
    let seed = file.info.get("split_seed").and_then(|v| v.as_u64()).unwrap_or(2024);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    let t = Instant::now();
    // As the training run scored it: seen items masked unless it was run with --keep-seen.
    let masked = file.info.get("seen_masked").and_then(|v| v.as_bool()).unwrap_or(true);
    let nothing = gpurec::sparse::CsrHost::from_triplets(data.n_users(), data.n_items(), &[]);
    let exclude = if masked { &train_valid } else { &nothing };
    let metrics = RankingEval::new(b, &test, exclude, &[10, 20], 1024)?.evaluate(b, model.as_ref())?;
    let secs = t.elapsed().as_secs_f64();
    let sampled = if args.sampled.is_some() || args.negatives.is_some() {
        use gpurec::eval::SampledEval;
        let eval = match (&args.negatives, args.sampled) {
            (Some(path), _) => {
                let negatives = gpurec::data::negatives::load_test_negatives(path, &data.user_ids, &data.item_ids)?;
                SampledEval::with_negatives(b, &test, &negatives, &[1, 5, 10])?
            }
            (None, n) => {
                let seen = data.user_item_csr(&(0..data.len()).collect::<Vec<_>>());
                SampledEval::new(b, &test, &seen, n.unwrap_or(99), &[1, 5, 10], seed)?
            }
        };
        Some(eval.evaluate(b, model.as_ref())?)
    } else {
        None
    };
    if args.json {
        let mut out =
            serde_json::json!({ "model": file.kind, "data": source, "device": b.describe(), "test": metrics });
        if let Some(s) = &sampled {
            out["sampled"] = serde_json::to_value(s)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let seen = if masked { "seen items masked" } else { "seen items ranked too" };
        println!("model {} on {source} (test part of its split, seed {seed}; {seen}), {}", file.kind, b.describe());
        print_table(&metrics, secs);
        if let Some(s) = sampled {
            println!("\n{s}  ({} test positives; not comparable with full ranking)", s.positives);
        }
    }
    Ok(())
}

/// RMSE and MAE of a rating model over every rating in `data` whose user and
/// item the model knows (matched by original id); the others are counted and skipped.
fn eval_ratings<B: Backend>(
    b: &B,
    rating: &dyn RatingModel<B>,
    file: &ModelFile,
    data: &Interactions,
    source: &str,
    args: &EvalArgs,
) -> Result<()> {
    use gpurec::eval::{RatingEval, Ratings};
    if args.sampled.is_some() || args.negatives.is_some() {
        bail!("--sampled and --negatives rank items; a {} model is evaluated on ratings (RMSE, MAE)", file.kind);
    }
    let mut set = Ratings::default();
    for r in 0..data.len() {
        let u = file.user_ids.get(data.user_ids.id(data.users[r]));
        let i = file.item_ids.get(data.item_ids.id(data.items[r]));
        if let (Some(u), Some(i)) = (u, i) {
            set.users.push(u);
            set.items.push(i);
            set.ratings.push(data.ratings[r]);
        }
    }
    let skipped = data.len() - set.len();
    if set.is_empty() {
        bail!("{source}: none of its {} ratings has a user and an item the model knows", data.len());
    }
    let scale = match file.info.get("rating_scale").and_then(|v| serde_json::from_value::<(f32, f32)>(v.clone()).ok()) {
        Some(s) => s,
        None => data.rating_range(),
    };
    let in_sample = args.data.is_none();
    let t = Instant::now();
    let m = RatingEval::new(b, &set, scale, 1 << 16)?.evaluate(b, rating)?;
    let secs = t.elapsed().as_secs_f64();
    if args.json {
        let out = serde_json::json!({
            "model": file.kind, "data": source, "device": b.describe(), "in_sample": in_sample,
            "rmse": m.rmse, "mae": m.mae, "ratings": m.count, "skipped_unknown": skipped, "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("model {} on {source}, {}", file.kind, b.describe());
        if in_sample {
            println!("  (the model was fitted on these ratings: this is the training error; pass --data for held-out ratings)");
        }
        println!(
            "  RMSE {:.4}  MAE {:.4}  over {} ratings, predictions clipped to [{}, {}] ({secs:.3}s)",
            m.rmse, m.mae, m.count, scale.0, scale.1
        );
        if skipped > 0 {
            println!("  skipped {skipped} ratings of users or items the model does not know");
        }
    }
    Ok(())
}
