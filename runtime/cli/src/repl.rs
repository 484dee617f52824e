//! The interactive session of `llmagent run` without a prompt: streamed
//! answers, a spinner while the model thinks, tool calls shown as they
//! happen, approval questions, line editing and history, `/exit`.

use llmagent_core::{AgentHandle, TurnEnd};
use rustyline::config::Configurer;
use rustyline::error::ReadlineError;

use crate::run_cmd::{Display, Spinner, model_error_line, one_turn};
use crate::term::safe;

/// Lines of input history kept across sessions.
const HISTORY_LINES: usize = 1000;

pub(crate) async fn run(handle: AgentHandle, spinner: Spinner, api_base: &str) -> Result<u8, u8> {
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start line editing: {e}");
            return Err(crate::exit::RUNTIME);
        }
    };
    let _ = editor.set_max_history_size(HISTORY_LINES);
    let history_file = history_path();
    if let Some(p) = &history_file {
        let _ = editor.load_history(p);
    }
    eprintln!(
        "llmagent: talking to agent `{}` — /exit or Ctrl-D to leave, Ctrl-C cancels an answer",
        handle.name()
    );
    loop {
        let line = tokio::task::block_in_place(|| editor.readline("you> "));
        let line = match line {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: cannot read input: {e}");
                break;
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(text);
        if matches!(text, "/exit" | "/quit") {
            break;
        }
        let mut display = Display {
            verbose: true,
            spinner: spinner.clone(),
            streaming: true,
            streamed: false,
        };
        let outcome = match one_turn(&handle, text, &mut display).await {
            Ok(o) => o,
            Err(code) => return Err(code),
        };
        match &outcome.end {
            TurnEnd::Answer(a) if a.trim().is_empty() => {
                eprintln!("(the model gave an empty answer)");
            }
            // Streamed already: end the line.
            TurnEnd::Answer(_) if display.streamed => println!(),
            TurnEnd::Answer(a) => println!("{}", safe(a.trim_end())),
            TurnEnd::StepLimit { message, .. } => eprintln!("\n{}", safe(message)),
            TurnEnd::ModelError(e) => eprintln!("error: {}", model_error_line(e, api_base)),
            TurnEnd::Cancelled => eprintln!("\n(cancelled)"),
            TurnEnd::Failed(m) => eprintln!("error: {}", safe(m)),
        }
    }
    if let Some(p) = &history_file {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(p);
    }
    Ok(0)
}

/// `$XDG_STATE_HOME/llmagent/repl_history`, else `~/.local/state/…`.
fn history_path() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })?;
    Some(base.join("llmagent").join("repl_history"))
}
