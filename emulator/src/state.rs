//! The state file (`--state FILE`): the tenant read at start if the file
//! exists, written at graceful shutdown. What it holds is described in
//! [`crate::platform::snapshot`]; it is JSON (serde_json), one object whose
//! `format` is `"platform-emulator state"`.
//!
//! Writing goes to a temporary file in the same directory (mode 0600 on
//! Unix: it holds access tokens and passwords, as ThingsBoard's database
//! does), synced, then renamed over the file: a crash or a full disk during
//! the write leaves the previous file whole. A file that cannot be read or
//! is not a state is an error in words, never an empty tenant.

use crate::platform::Snapshot;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, ErrorKind};
use std::path::{Path, PathBuf};

/// Reads the state file at `path`: `Ok(None)` when there is no file yet
/// (a first start), an error naming the file and what is wrong otherwise.
/// Error texts never quote a string value of the file (it may be a token).
pub fn load(path: &Path) -> Result<Option<Snapshot>, String> {
    let shown = path.display();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the state file {shown}: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the state file {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("the state file {shown} is not a regular file"));
    }
    serde_json::from_reader(BufReader::new(file))
        .map(Some)
        .map_err(|e| {
            format!(
                "the state file {shown} is not a readable emulator state ({}); \
                 restore it from a copy, or remove it to start with a new tenant",
                without_strings(&e.to_string())
            )
        })
}

/// Writes `snapshot` to `path` through a temporary file and a rename.
pub fn save(path: &Path, snapshot: &Snapshot) -> Result<u64, String> {
    let tmp = temp_path(path);
    let written = write_new(&tmp, snapshot).and_then(|bytes| {
        fs::rename(&tmp, path)
            .map_err(|e| format!("cannot rename it to {}: {e}", path.display()))?;
        // Make the rename itself durable (best effort: not every file
        // system lets a directory be opened and synced).
        if let Ok(dir) = File::open(directory(path)) {
            let _ = dir.sync_all();
        }
        Ok(bytes)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(|e| {
        format!(
            "cannot save the state to {} (through {}): {e}",
            path.display(),
            tmp.display()
        )
    })
}

/// Checks at start that [`save`] will be able to write next to `path`
/// (the directory exists and takes a new file), so that a wrong path is
/// found before the run rather than at its end.
pub fn check_writable(path: &Path) -> Result<(), String> {
    let tmp = temp_path(path);
    let created = open_new(&tmp).map_err(|e| {
        format!(
            "the state file {} could not be written: cannot create {}: {e}",
            path.display(),
            tmp.display()
        )
    })?;
    drop(created);
    let _ = fs::remove_file(&tmp);
    Ok(())
}

fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `DIR/.NAME.PID.tmp`: hidden, next to the file (a rename never crosses
/// file systems), one per process.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    directory(path).join(format!(".{name}.{}.tmp", std::process::id()))
}

fn open_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_new(tmp: &Path, snapshot: &Snapshot) -> Result<u64, String> {
    let file = open_new(tmp).map_err(|e| format!("cannot create it: {e}"))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer(&mut out, snapshot).map_err(|e| format!("cannot write it: {e}"))?;
    let file = out
        .into_inner()
        .map_err(|e| format!("cannot write it: {}", e.error()))?;
    file.sync_all()
        .map_err(|e| format!("cannot flush it to disk: {e}"))?;
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

/// A serde_json message with the string values it quotes (`invalid type:
/// string "…"`) masked to their first 2 characters, as the log masks tokens.
fn without_strings(message: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at + MARK.len()]);
        let quoted = &rest[at + MARK.len()..];
        // The end of the Debug-formatted string: the first quote not escaped.
        let mut end = quoted.len();
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i;
                    break;
                }
                _ => escaped = false,
            }
        }
        out.push_str(&crate::platform::mask(&quoted[..end]));
        rest = &quoted[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Config, Platform};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "platform-emulator-state-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_missing_file_is_a_first_start_and_a_saved_one_reads_back() {
        let d = dir("roundtrip");
        let path = d.join("tenant.json");
        assert!(load(&path).unwrap().is_none());
        check_writable(&path).unwrap();
        let p = Platform::new(Config::default(), 1_000);
        let bytes = save(&path, &p.snapshot(2_000)).unwrap();
        assert_eq!(bytes, fs::metadata(&path).unwrap().len());
        let back = load(&path).unwrap().expect("a state");
        assert_eq!(back.saved_at, 2_000);
        assert_eq!(back.tenant_id, p.tenant_id());
        // Nothing is left beside it.
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tenant.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only its owner reads the tokens");
        }
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn an_unreadable_or_corrupt_file_is_an_error_in_words() {
        let d = dir("corrupt");
        let path = d.join("tenant.json");
        let p = Platform::new(
            Config {
                gateway_tokens: vec!["SECRET_GW_TOKEN".into()],
                ..Config::default()
            },
            1_000,
        );
        save(&path, &p.snapshot(2_000)).unwrap();
        let whole = fs::read_to_string(&path).unwrap();

        // Cut short, as a crash while writing in place would leave it.
        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            e.contains("tenant.json") && e.contains("is not a readable emulator state"),
            "{e}"
        );
        assert!(e.contains("line 1 column"), "{e}");

        // A token where a number belongs: named by place, not quoted.
        let wrong = whole.replacen(
            "\"lastSession\":0",
            "\"lastSession\":\"SECRET_GW_TOKEN\"",
            1,
        );
        assert_ne!(wrong, whole);
        fs::write(&path, wrong).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("invalid type: string \"SE***\""), "{e}");
        assert!(!e.contains("SECRET_GW_TOKEN"), "{e}");

        for (text, says) in [
            ("", "EOF while parsing"),
            ("7", "invalid type: integer `7`, expected struct Snapshot"),
            ("{\"format\":\"platform-emulator state\"}", "missing field"),
        ] {
            fs::write(&path, text).unwrap();
            let e = load(&path).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }

        // A directory where the file should be.
        let e = load(&d).unwrap_err();
        assert!(e.contains("is not a regular file"), "{e}");
        // A directory that does not exist: found at start.
        let e = check_writable(&d.join("no/such/dir/tenant.json")).unwrap_err();
        assert!(e.contains("could not be written"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn masking_string_values_in_messages() {
        assert_eq!(
            without_strings(r#"invalid type: string "abc\"def", expected u64 at line 1 column 9"#),
            r#"invalid type: string "ab***", expected u64 at line 1 column 9"#
        );
        assert_eq!(
            without_strings("missing field `name`"),
            "missing field `name`"
        );
    }
}
