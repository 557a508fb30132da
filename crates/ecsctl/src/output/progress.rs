//! Live progress on a terminal: bars per deployment while a rollout is followed
//! (`apply --wait`, `rollout status`), a line per task (`run-task --wait`, `stop-task
//! --wait`), a spinner while a directory syncs (`sync`).
//!
//! Shown only when stderr is a terminal that can move its cursor ([`Mode::detect`]);
//! otherwise the commands print their plain lines, unchanged, so logs stay readable. The
//! callers feed these views the same state their plain lines come from. What a bar says is
//! decided by pure functions ([`deployment_bar`], [`task_line`]); indicatif draws it.

use api::deployment::{DeploymentStatus, DeploymentSummary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::time::Duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The plain lines (stderr is not a terminal, or `TERM` is unset or `dumb`).
    Plain,
    /// Redrawn bars on stderr; `color: false` under `NO_COLOR`.
    Live { color: bool },
}

impl Mode {
    /// For this process: stderr, `TERM` and `NO_COLOR`.
    pub fn detect() -> Mode {
        Mode::decide(
            std::io::stderr().is_terminal(),
            std::env::var_os("TERM").as_deref(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// A terminal that can redraw: not a pipe or file, and a `TERM` other than `dumb` (a
    /// dumb terminal cannot move its cursor). `NO_COLOR` set to anything but the empty
    /// string turns colors off (no-color.org).
    pub fn decide(
        stderr_is_terminal: bool,
        term: Option<&OsStr>,
        no_color: Option<&OsStr>,
    ) -> Mode {
        let can_redraw = term.is_some_and(|t| !t.is_empty() && t != "dumb");
        if !stderr_is_terminal || !can_redraw {
            return Mode::Plain;
        }
        Mode::Live {
            color: no_color.is_none_or(OsStr::is_empty),
        }
    }
}

/// A set of lines redrawn together on stderr. Lines finished stay on screen when it ends.
#[derive(Debug)]
struct Board {
    multi: MultiProgress,
    color: bool,
}

/// How often spinners turn.
const TICK: Duration = Duration::from_millis(120);

/// What a finished spinner shows (the last tick string).
const TICKS: &[&str] = &["|", "/", "-", "\\", " "];

impl Board {
    fn new(color: bool, target: ProgressDrawTarget) -> Board {
        Board {
            multi: MultiProgress::with_draw_target(target),
            color,
        }
    }

    fn stderr(color: bool) -> Board {
        Board::new(color, ProgressDrawTarget::stderr())
    }

    /// A template, with its color spec (`{x:.green}`) dropped when colors are off.
    fn style(&self, colored: &str, plain: &str) -> ProgressStyle {
        let t = if self.color { colored } else { plain };
        // The templates are constants tested below: a failure is a bug, shown as plain text.
        ProgressStyle::with_template(t).unwrap_or_else(|_| ProgressStyle::default_bar())
    }

    fn spinner(&self) -> ProgressBar {
        let pb = self.multi.add(ProgressBar::new_spinner());
        pb.set_style(
            self.style(
                "{spinner:.cyan} {prefix:.bold}{msg}",
                "{spinner} {prefix}{msg}",
            )
            .tick_strings(TICKS),
        );
        pb.enable_steady_tick(TICK);
        pb
    }

    /// A line above the live ones (a warning), kept on screen.
    fn println(&self, line: &str) {
        if self.multi.println(line).is_err() {
            eprintln!("{line}");
        }
    }
}

/// One deployment as its bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentBar {
    /// `ecs-svc/2 PRIMARY  web:2` (the status padded so that bars line up).
    pub label: String,
    /// Tasks running (the bar's position).
    pub running: u64,
    /// Tasks desired (the bar's length).
    pub desired: u64,
    /// The rollout state, then pending and failed tasks: `IN_PROGRESS, 1 pending, 1 failed`.
    pub detail: String,
    /// The circuit breaker stopped it.
    pub failed: bool,
}

/// What the bar of deployment `d` says.
pub fn deployment_bar(d: &DeploymentSummary) -> DeploymentBar {
    let status = match d.status {
        DeploymentStatus::Unknown => "-",
        s => s.as_str(),
    };
    let state = match d.rollout_state.as_str() {
        "" => "-",
        s => s,
    };
    let mut detail = state.to_string();
    if d.pending_count > 0 {
        detail.push_str(&format!(", {} pending", d.pending_count));
    }
    match d.failed_tasks {
        0 => {}
        1 => detail.push_str(", 1 failed"),
        n => detail.push_str(&format!(", {n} failed")),
    }
    DeploymentBar {
        label: format!(
            "{} {:<8} {}",
            api::text::escape(&d.id),
            status,
            api::text::escape(&d.task_definition)
        ),
        running: u64::from(d.running_count),
        desired: u64::from(d.desired_count),
        detail,
        failed: d.rollout_state.is_failed(),
    }
}

/// The bars of one service's rollout: a spinner with the plain line of the moment, then a
/// bar per deployment (PRIMARY and ACTIVE ones; a deployment once shown keeps its bar when
/// it becomes INACTIVE).
#[derive(Debug)]
pub struct RolloutView {
    board: Board,
    header: ProgressBar,
    bars: Vec<(String, ProgressBar)>,
}

impl RolloutView {
    /// On stderr.
    pub fn new(color: bool) -> RolloutView {
        RolloutView::on(Board::stderr(color))
    }

    fn on(board: Board) -> RolloutView {
        let header = board.spinner();
        RolloutView {
            board,
            header,
            bars: Vec::new(),
        }
    }

    /// Shows `message` (what the plain output prints at this moment) and the deployments.
    pub fn update(&mut self, message: &str, deployments: &[DeploymentSummary]) {
        self.header
            .set_message(api::text::escape(message).into_owned());
        for d in deployments {
            let shown = self.bars.iter().position(|(id, _)| *id == d.id);
            let pb = match shown {
                Some(i) => &self.bars[i].1,
                None if d.status == DeploymentStatus::Inactive => continue,
                None => {
                    let pb = self.board.multi.add(ProgressBar::new(0));
                    self.bars.push((d.id.clone(), pb));
                    &self.bars[self.bars.len() - 1].1
                }
            };
            let bar = deployment_bar(d);
            pb.set_style(self.bar_style(bar.failed));
            pb.set_prefix(bar.label);
            pb.set_length(bar.desired);
            pb.set_position(bar.running);
            pb.set_message(bar.detail);
        }
    }

    fn bar_style(&self, failed: bool) -> ProgressStyle {
        let colored = if failed {
            "  {prefix} [{bar:20.red}] {pos}/{len} {msg:.red}"
        } else {
            "  {prefix} [{bar:20.green}] {pos}/{len} {msg}"
        };
        self.board
            .style(colored, "  {prefix} [{bar:20}] {pos}/{len} {msg}")
            .progress_chars("=> ")
    }

    /// A line above the bars (a warning).
    pub fn println(&self, line: &str) {
        self.board.println(line);
    }

    /// The rollout is over (or no longer followed): the spinner goes, the bars stay as
    /// they are.
    pub fn finish(self) {
        self.header.finish_and_clear();
        for (_, pb) in &self.bars {
            pb.abandon();
        }
    }
}

/// The line of a task: its lastStatus, and why it stopped when it should have run.
pub fn task_line(last_status: &str, stopped: Option<&str>) -> String {
    match stopped {
        Some(why) => format!("{last_status} ({})", api::text::escape(why)),
        None => last_status.to_string(),
    }
}

/// A line per task, each with its lastStatus.
#[derive(Debug)]
pub struct TasksView {
    board: Board,
    lines: Vec<(String, ProgressBar)>,
}

impl TasksView {
    /// On stderr, one line per task id, in this order.
    pub fn new(color: bool, ids: &[String]) -> TasksView {
        TasksView::on(Board::stderr(color), ids)
    }

    fn on(board: Board, ids: &[String]) -> TasksView {
        let lines = ids
            .iter()
            .map(|id| {
                let pb = board.spinner();
                pb.set_prefix(format!("{} ", api::text::escape(id)));
                pb.set_message("-");
                (id.clone(), pb)
            })
            .collect();
        TasksView { board, lines }
    }

    fn line(&self, id: &str) -> Option<&ProgressBar> {
        self.lines.iter().find(|(i, _)| i == id).map(|(_, pb)| pb)
    }

    /// Task `id` is at `text` (see [`task_line`]), still going.
    pub fn set(&self, id: &str, text: &str) {
        if let Some(pb) = self.line(id) {
            pb.set_message(text.to_string());
        }
    }

    /// Task `id` is over for this wait: its line stops turning and stays.
    pub fn done(&self, id: &str, text: &str) {
        if let Some(pb) = self.line(id) {
            pb.finish_with_message(text.to_string());
        }
    }

    /// A line above the tasks.
    pub fn println(&self, line: &str) {
        self.board.println(line);
    }

    /// The wait is over: every line stays as it is.
    pub fn finish(self) {
        for (_, pb) in &self.lines {
            if !pb.is_finished() {
                pb.abandon();
            }
        }
    }
}

/// A spinner while one long request runs (`sync DIR`); cleared when it ends.
#[derive(Debug)]
pub struct Busy {
    _board: Board,
    pb: ProgressBar,
}

impl Busy {
    pub fn new(color: bool, what: &str) -> Busy {
        let board = Board::stderr(color);
        let pb = board.spinner();
        pb.set_message(format!("{} ...", api::text::escape(what)));
        Busy { _board: board, pb }
    }

    pub fn finish(self) {
        self.pb.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::deployment::RolloutState;
    use indicatif::InMemoryTerm;

    fn dep(id: &str, status: DeploymentStatus, running: u32, desired: u32) -> DeploymentSummary {
        DeploymentSummary {
            id: id.into(),
            status,
            task_definition: "web:2".into(),
            desired_count: desired,
            running_count: running,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: RolloutState::InProgress,
            rollout_state_reason: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
            generation: 1,
            rolled_back_from: String::new(),
        }
    }

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn live_only_on_a_terminal_that_can_redraw() {
        assert_eq!(Mode::decide(false, os("xterm"), None), Mode::Plain);
        assert_eq!(Mode::decide(true, os("dumb"), None), Mode::Plain);
        assert_eq!(Mode::decide(true, None, None), Mode::Plain);
        assert_eq!(Mode::decide(true, os(""), None), Mode::Plain);
        assert_eq!(
            Mode::decide(true, os("xterm-256color"), None),
            Mode::Live { color: true }
        );
        assert_eq!(
            Mode::decide(true, os("xterm"), os("1")),
            Mode::Live { color: false }
        );
        // NO_COLOR= (empty) does not count, as no-color.org says.
        assert_eq!(
            Mode::decide(true, os("xterm"), os("")),
            Mode::Live { color: true }
        );
    }

    #[test]
    fn a_deployment_bar_says_counts_state_and_failures() {
        let mut d = dep("ecs-svc/2", DeploymentStatus::Primary, 1, 3);
        d.pending_count = 1;
        d.failed_tasks = 2;
        assert_eq!(
            deployment_bar(&d),
            DeploymentBar {
                label: "ecs-svc/2 PRIMARY  web:2".into(),
                running: 1,
                desired: 3,
                detail: "IN_PROGRESS, 1 pending, 2 failed".into(),
                failed: false,
            }
        );
        d.rollout_state = RolloutState::Failed;
        d.failed_tasks = 1;
        d.pending_count = 0;
        d.status = DeploymentStatus::Active;
        let b = deployment_bar(&d);
        assert_eq!(b.detail, "FAILED, 1 failed");
        assert!(b.failed);
        assert!(b.label.contains(" ACTIVE "), "{}", b.label);
        // Text from the server is escaped.
        d.task_definition = "web\u{1b}[2J:2".into();
        assert!(!deployment_bar(&d).label.contains('\u{1b}'));
    }

    #[test]
    fn task_lines() {
        assert_eq!(task_line("PENDING", None), "PENDING");
        assert_eq!(
            task_line("STOPPED", Some("EssentialContainerExited: exit 1")),
            "STOPPED (EssentialContainerExited: exit 1)"
        );
    }

    fn screen(term: &InMemoryTerm) -> Vec<String> {
        term.contents()
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn rollout_bars_as_drawn() {
        let term = InMemoryTerm::new(10, 100);
        let mut v = RolloutView::on(Board::new(
            false,
            ProgressDrawTarget::term_like(Box::new(term.clone())),
        ));
        let old = dep("ecs-svc/1", DeploymentStatus::Active, 2, 0);
        let inactive = dep("ecs-svc/0", DeploymentStatus::Inactive, 0, 0);
        let new = dep("ecs-svc/2", DeploymentStatus::Primary, 1, 2);
        v.update("Waiting...", &[inactive.clone(), old.clone(), new.clone()]);
        let mut old = old;
        old.status = DeploymentStatus::Inactive;
        old.running_count = 0;
        old.rollout_state = RolloutState::Completed;
        let mut new = new;
        new.running_count = 2;
        new.rollout_state = RolloutState::Completed;
        v.update("Waiting for steady state...", &[inactive, old, new]);
        v.finish();
        assert_eq!(
            screen(&term),
            vec![
                // Nothing left to do counts as full.
                "  ecs-svc/1 INACTIVE web:2 [====================] 0/0 COMPLETED",
                "  ecs-svc/2 PRIMARY  web:2 [====================] 2/2 COMPLETED",
            ]
        );
    }

    #[test]
    fn a_failed_rollout_as_drawn() {
        let term = InMemoryTerm::new(10, 100);
        let mut v = RolloutView::on(Board::new(
            false,
            ProgressDrawTarget::term_like(Box::new(term.clone())),
        ));
        let mut failed = dep("ecs-svc/2", DeploymentStatus::Active, 0, 2);
        failed.rollout_state = RolloutState::Failed;
        failed.failed_tasks = 3;
        let mut back = dep("ecs-svc/3", DeploymentStatus::Primary, 1, 2);
        back.task_definition = "web:1".into();
        v.update("failed", &[failed, back]);
        v.finish();
        assert_eq!(
            screen(&term),
            vec![
                "  ecs-svc/2 ACTIVE   web:2 [                    ] 0/2 FAILED, 3 failed",
                "  ecs-svc/3 PRIMARY  web:1 [==========>         ] 1/2 IN_PROGRESS",
            ]
        );
    }

    #[test]
    fn task_lines_as_drawn() {
        let term = InMemoryTerm::new(10, 100);
        let ids = vec!["aaa".to_string(), "bbb".to_string()];
        let v = TasksView::on(
            Board::new(false, ProgressDrawTarget::term_like(Box::new(term.clone()))),
            &ids,
        );
        v.set("aaa", "PENDING");
        v.done("aaa", "RUNNING");
        v.done(
            "bbb",
            &task_line("STOPPED", Some("TaskFailedToStart: no image")),
        );
        v.finish();
        assert_eq!(
            screen(&term),
            vec![
                "  aaa RUNNING",
                "  bbb STOPPED (TaskFailedToStart: no image)"
            ]
        );
    }

    #[test]
    fn the_colored_templates_parse() {
        let b = Board::new(true, ProgressDrawTarget::hidden());
        for t in [
            "{spinner:.cyan} {prefix:.bold}{msg}",
            "  {prefix} [{bar:20.red}] {pos}/{len} {msg:.red}",
            "  {prefix} [{bar:20.green}] {pos}/{len} {msg}",
        ] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
        drop(b);
    }
}
