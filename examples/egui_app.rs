//! A desktop app that hands gpurec its own wgpu device: an eframe window
//! (egui on wgpu 30, the same major version as gpurec) trains BPR-MF on the
//! embedded synthetic data on a background thread while the frame loop keeps
//! running. It shows the frame time, the loss curve as the epochs come in,
//! and, once trained, the recommendations for a chosen user, each with the
//! user's items that explain it.
//!
//!     cargo run --release --example egui_app --features app
//!     scripts/app-screenshot        # headless: under Xvfb with lavapipe, writes target/egui_app.png
//!
//! With `--screenshot FILE.png` the app saves a picture of its window once
//! the recommendations are on screen and exits (with an error after
//! `--timeout SECONDS`, 600 by default, if they never are).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;
use gpurec::api::{Device, Recommender};
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::data::Interactions;
use gpurec::{Backend, Gpu};

/// Epochs the background thread trains.
const EPOCHS: usize = 40;
/// Recommendations shown, and explaining items per recommendation.
const TOP: usize = 8;
const BECAUSE: usize = 3;
/// Frames the frame-time figures cover.
const FRAMES: usize = 120;

/// What the training thread hands the frame loop.
#[derive(Default)]
struct Training {
    losses: Vec<f32>,
    done: Option<Result<Arc<Recommender>, String>>,
    seconds: f64,
}

/// One recommended item, with the user's items that explain it.
struct Row {
    item: String,
    score: f32,
    because: Vec<(String, f32)>,
}

/// A user's index, and their rows once computed (or why not).
type Shown = (usize, Option<Result<Vec<Row>, String>>);

struct App {
    device: String,
    users: Vec<String>,
    user: usize,
    training: Arc<Mutex<Training>>,
    /// The lists on screen: for which user, and (once computed off the frame loop) the rows.
    shown: Arc<Mutex<Option<Shown>>>,
    frame_ms: VecDeque<f32>,
    /// Frames drawn while the model trained: count, total and longest (ms).
    while_training: (usize, f32, f32),
    last_frame: Instant,
    started: Instant,
    screenshot: Option<PathBuf>,
    frames_since_shown: usize,
    timeout: f64,
}

struct Args {
    screenshot: Option<PathBuf>,
    timeout: f64,
}

fn args() -> Result<Args, String> {
    let mut out = Args { screenshot: None, timeout: 600.0 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--screenshot" => out.screenshot = Some(it.next().ok_or("--screenshot needs a file name")?.into()),
            "--timeout" => {
                let v = it.next().ok_or("--timeout needs seconds")?;
                out.timeout = v.parse().map_err(|_| format!("--timeout {v:?} is not a number of seconds"))?;
            }
            other => return Err(format!("unknown argument {other:?} (--screenshot FILE.png, --timeout SECONDS)")),
        }
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: egui::ViewportBuilder::default().with_inner_size([960.0, 720.0]).with_title("gpurec in egui"),
        ..Default::default()
    };
    eframe::run_native(
        "gpurec",
        options,
        Box::new(move |cc| {
            let rs = cc.wgpu_render_state.as_ref().ok_or("eframe started without its wgpu renderer")?;
            // The window's own device and queue: gpurec records its work on them too.
            let gpu = Gpu::from_device(rs.device.clone(), rs.queue.clone());
            let data = generate(&SyntheticConfig::default()); // the embedded data set `gpurec train` uses
            let users = (0..data.n_users() as u32).map(|u| data.user_ids.id(u).to_string()).collect();
            let device = gpu.describe();
            let training = Arc::new(Mutex::new(Training::default()));
            train_in_background(gpu, data, training.clone(), cc.egui_ctx.clone());
            Ok(Box::new(App {
                device,
                users,
                user: 0,
                training,
                shown: Arc::new(Mutex::new(None)),
                frame_ms: VecDeque::with_capacity(FRAMES),
                while_training: (0, 0.0, 0.0),
                last_frame: Instant::now(),
                started: Instant::now(),
                screenshot: args.screenshot,
                frames_since_shown: 0,
                timeout: args.timeout,
            }))
        }),
    )?;
    Ok(())
}

/// Fits on a thread of its own; each epoch's loss goes to the frame loop as it comes.
fn train_in_background(gpu: Gpu, data: Interactions, training: Arc<Mutex<Training>>, ctx: egui::Context) {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let (shared, repaint) = (training.clone(), ctx.clone());
        let fitted = Recommender::builder()
            .model_name("bpr")
            .dim(32)
            .lr(0.01)
            .epochs(EPOCHS)
            .batch_size(1024)
            .device(Device::Gpu(gpu))
            .on_epoch(move |r| {
                shared.lock().unwrap_or_else(|e| e.into_inner()).losses.push(r.loss);
                repaint.request_repaint();
            })
            .fit(&data);
        let mut t = training.lock().unwrap_or_else(|e| e.into_inner());
        t.done = Some(fitted.map(Arc::new).map_err(|e| e.to_string()));
        t.seconds = t0.elapsed().as_secs_f64();
        ctx.request_repaint();
    });
}

/// The top items for `user`, each with the user's items that explain it.
fn recommendations(rec: &Recommender, user: &str) -> Result<Vec<Row>, String> {
    let top = rec.recommend(user, TOP).map_err(|e| e.to_string())?;
    top.into_iter()
        .map(|(item, score)| {
            let because = rec.explain(user, &item, BECAUSE).map_err(|e| e.to_string())?;
            Ok(Row { item, score, because })
        })
        .collect()
}

impl App {
    fn frame_times(&mut self) -> (f32, f32) {
        let now = Instant::now();
        if self.frame_ms.len() == FRAMES {
            self.frame_ms.pop_front();
        }
        self.frame_ms.push_back(1e3 * (now - self.last_frame).as_secs_f32());
        self.last_frame = now;
        let mean = self.frame_ms.iter().sum::<f32>() / self.frame_ms.len() as f32;
        (mean, self.frame_ms.iter().copied().fold(0.0, f32::max))
    }

    fn loss_curve(ui: &mut egui::Ui, losses: &[f32]) {
        let size = egui::vec2(ui.available_width(), 180.0);
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        let painter = ui.painter_at(rect);
        let visuals = ui.visuals();
        painter.rect_filled(rect, 4.0, visuals.extreme_bg_color);
        let text = visuals.text_color();
        let font = egui::FontId::proportional(13.0);
        if losses.is_empty() {
            painter.text(rect.center(), egui::Align2::CENTER_CENTER, "waiting for the first epoch…", font, text);
            return;
        }
        let (lo, hi) = losses.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &l| (lo.min(l), hi.max(l)));
        let span = (hi - lo).max(1e-6);
        let inner = rect.shrink(16.0);
        let point = |k: usize, l: f32| {
            let x = inner.left() + inner.width() * k as f32 / (EPOCHS - 1).max(1) as f32;
            egui::pos2(x, inner.bottom() - inner.height() * (l - lo) / span)
        };
        let points: Vec<egui::Pos2> = losses.iter().enumerate().map(|(k, &l)| point(k, l)).collect();
        painter.add(egui::Shape::line(points, egui::Stroke::new(2.0, egui::Color32::from_rgb(90, 170, 255))));
        let label = format!("training loss: {:.4} at epoch 1, {:.4} now", losses[0], losses[losses.len() - 1]);
        painter.text(inner.right_top(), egui::Align2::RIGHT_TOP, label, font.clone(), text);
        let epochs = format!("epoch {} of {EPOCHS}", losses.len());
        painter.text(inner.right_bottom(), egui::Align2::RIGHT_BOTTOM, epochs, font, text);
    }

    /// `--screenshot`: once the recommendations have been on screen for a
    /// few frames, the next frame is saved and the app closes.
    fn maybe_screenshot(&mut self, ctx: &egui::Context, ready: bool) {
        let Some(path) = self.screenshot.clone() else { return };
        if self.started.elapsed().as_secs_f64() > self.timeout {
            eprintln!("egui_app: no recommendations on screen after {} s; no screenshot", self.timeout);
            std::process::exit(1);
        }
        if !ready {
            return;
        }
        self.frames_since_shown += 1;
        if self.frames_since_shown != 5 {
            return;
        }
        let closer = ctx.clone();
        ctx.request_screenshot(move |image| {
            let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_srgba_unmultiplied()).collect();
            let [w, h] = image.size;
            let tmp = path.with_extension("png.tmp");
            let saved = image::save_buffer_with_format(
                &tmp,
                &rgba,
                w as u32,
                h as u32,
                image::ColorType::Rgba8,
                image::ImageFormat::Png,
            )
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()));
            match saved {
                Ok(()) => println!("egui_app: saved {} ({w} × {h})", path.display()),
                Err(e) => {
                    eprintln!("egui_app: writing {}: {e}", path.display());
                    std::process::exit(1);
                }
            }
            closer.send_viewport_cmd(egui::ViewportCommand::Close);
        });
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let (mean, longest) = self.frame_times();
        let (losses, done, seconds) = {
            let t = self.training.lock().unwrap_or_else(|e| e.into_inner());
            (t.losses.clone(), t.done.clone(), t.seconds)
        };
        if done.is_none() {
            let last = self.frame_ms.back().copied().unwrap_or(0.0);
            let (n, total, max) = &mut self.while_training;
            *n += 1;
            *total += last;
            *max = max.max(last);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("gpurec on the window's own wgpu device");
            ui.label(format!("device: {}", self.device));
            ui.label(format!(
                "frame time {mean:.1} ms on average, {longest:.1} ms at most, over the last {} frames",
                self.frame_ms.len()
            ));
            let (n, total, max) = self.while_training;
            if n > 0 {
                ui.label(format!(
                    "while training: {n} frames, {:.1} ms on average, {max:.1} ms at most",
                    total / n as f32
                ));
            }
            ui.separator();
            match &done {
                None => ui.label(format!("training BPR-MF in the background: epoch {} of {EPOCHS}", losses.len())),
                Some(Ok(_)) => ui.label(format!("trained {EPOCHS} epochs in {seconds:.1} s")),
                Some(Err(e)) => ui.colored_label(egui::Color32::RED, format!("training failed: {e}")),
            };
            Self::loss_curve(ui, &losses);
            ui.separator();
            let Some(Ok(rec)) = &done else { return };
            ui.horizontal(|ui| {
                ui.label("recommendations for");
                egui::ComboBox::from_id_salt("user").selected_text(&self.users[self.user]).show_ui(ui, |ui| {
                    for (k, u) in self.users.iter().enumerate() {
                        ui.selectable_value(&mut self.user, k, u);
                    }
                });
                if ui.button("previous").clicked() {
                    self.user = (self.user + self.users.len() - 1) % self.users.len();
                }
                if ui.button("next").clicked() {
                    self.user = (self.user + 1) % self.users.len();
                }
            });
            let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
            if shown.as_ref().map(|s| s.0) != Some(self.user) {
                // Scoring and explaining read results back from the device: off the frame loop.
                *shown = Some((self.user, None));
                let (rec, user, k, out, ctx) =
                    (rec.clone(), self.users[self.user].clone(), self.user, self.shown.clone(), ui.ctx().clone());
                std::thread::spawn(move || {
                    let rows = recommendations(&rec, &user);
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    if o.as_ref().map(|s| s.0) == Some(k) {
                        *o = Some((k, Some(rows)));
                    }
                    ctx.request_repaint();
                });
            }
            match shown.as_ref().and_then(|s| s.1.as_ref()) {
                None => {
                    ui.label("scoring…");
                }
                Some(Ok(rows)) => {
                    egui::Grid::new("recommendations").striped(true).num_columns(4).show(ui, |ui| {
                        for h in ["#", "item", "score", "because the user has"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for (k, r) in rows.iter().enumerate() {
                            ui.label(format!("{}", k + 1));
                            ui.label(&r.item);
                            ui.label(format!("{:.3}", r.score));
                            let because: Vec<String> = r.because.iter().map(|(i, w)| format!("{i} ({w:.2})")).collect();
                            ui.label(because.join(", "));
                            ui.end_row();
                        }
                    });
                }
                Some(Err(e)) => {
                    ui.colored_label(egui::Color32::RED, e);
                }
            }
        });
        if let (Some(_), Some(Err(e))) = (&self.screenshot, &done) {
            eprintln!("egui_app: training failed: {e}");
            std::process::exit(1);
        }
        let ready = matches!(&*self.shown.lock().unwrap_or_else(|e| e.into_inner()), Some((_, Some(Ok(_)))));
        let ctx = ui.ctx().clone();
        self.maybe_screenshot(&ctx, ready);
        // A game-like loop: draw continuously, so the frame time is measured while training runs.
        ctx.request_repaint();
    }
}
