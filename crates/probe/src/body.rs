//! Request bodies as curl 7.88 builds them from its flags: the `-d` family joined with `&`,
//! `--json` (joined with nothing), `-F` multipart forms, and `-T` uploads. Reading a file is
//! bounded; a file that cannot be read is an error naming the flag and the path (curl warns
//! and sends an empty body instead).

use std::path::{Path, PathBuf};

/// The most a body read from files or standard input may hold.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Which flag a data argument came with: each reads `@FILE` its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// `-d`, `--data`, `--data-ascii`: `@FILE` with carriage returns and newlines stripped.
    Ascii,
    /// `--data-raw`: no `@` meaning.
    Raw,
    /// `--data-binary`: `@FILE` as it is.
    Binary,
    /// `--data-urlencode`: `content`, `=content`, `name=content`, `@FILE`, `name@FILE`.
    UrlEncode,
    /// `--json`: as `--data-binary`, joined without `&`, and JSON's Content-Type and Accept.
    Json,
}

/// One `-d`-family argument, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataArg {
    /// The flag.
    pub kind: DataKind,
    /// Its value.
    pub value: String,
}

/// One `-F`/`--form-string` part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormPart {
    /// The field name.
    pub name: String,
    /// The content.
    pub content: Vec<u8>,
    /// `filename=` in the part's Content-Disposition (a file upload).
    pub filename: Option<String>,
    /// The part's Content-Type.
    pub content_type: Option<String>,
}

/// What a body failed on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// A file (or standard input) could not be read.
    #[error("{flag} @{}: {reason}", path.display())]
    Read {
        /// The flag.
        flag: &'static str,
        /// The file (`-` for standard input).
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A `-F` value of a form curl does not take.
    #[error("{flag} `{value}`: {reason}")]
    Form {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads a file named by a flag, or standard input for `-`, at most [`MAX_BODY`] bytes.
pub fn read_source(
    flag: &'static str,
    path: &str,
    stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<Vec<u8>, BodyError> {
    let err = |reason: String| BodyError::Read {
        flag,
        path: PathBuf::from(path),
        reason,
    };
    let bytes = if path == "-" {
        stdin().map_err(|e| err(e.to_string()))?
    } else {
        // A device or a FIFO (`/dev/stdin`, `<(…)`) is read as curl reads it; a folder is not.
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(err("a directory, not a file".to_owned()));
        }
        parallax_model::input::read_bounded(file, MAX_BODY).map_err(|e| err(e.to_string()))?
    };
    if bytes.len() as u64 > MAX_BODY {
        return Err(err(format!("larger than {} MiB", MAX_BODY >> 20)));
    }
    Ok(bytes)
}

/// Standard input, read whole (bounded), for `@-`.
pub fn read_stdin() -> std::io::Result<Vec<u8>> {
    parallax_model::input::read_bounded(std::io::stdin().lock(), MAX_BODY)
}

/// `-d @FILE` as curl 7.88 reads it (its `file2string`): the file in `fgets` pieces of at
/// most 255 bytes, each cut at its first carriage return, then at its first newline, then at
/// its first NUL byte.
pub fn ascii_file(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let line_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let take = line_end.min(255);
        let piece = &rest[..take];
        rest = &rest[take..];
        let cut = piece
            .iter()
            .position(|b| *b == b'\r')
            .unwrap_or(piece.len());
        let piece = &piece[..cut];
        let cut = piece
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(piece.len());
        let piece = &piece[..cut];
        let cut = piece.iter().position(|b| *b == 0).unwrap_or(piece.len());
        out.extend_from_slice(&piece[..cut]);
    }
    out
}

/// `curl_easy_escape`: every byte but the unreserved ones (RFC 3986 §2.3) as `%XX`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One data argument's bytes, as its flag reads it.
fn data_bytes(
    arg: &DataArg,
    stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<Vec<u8>, BodyError> {
    let flag = match arg.kind {
        DataKind::Ascii => "-d",
        DataKind::Raw => "--data-raw",
        DataKind::Binary => "--data-binary",
        DataKind::UrlEncode => "--data-urlencode",
        DataKind::Json => "--json",
    };
    let v = arg.value.as_str();
    match arg.kind {
        DataKind::Raw => Ok(v.as_bytes().to_vec()),
        DataKind::Ascii => match v.strip_prefix('@') {
            Some(path) => Ok(ascii_file(&read_source(flag, path, stdin)?)),
            None => Ok(v.as_bytes().to_vec()),
        },
        DataKind::Binary | DataKind::Json => match v.strip_prefix('@') {
            Some(path) => read_source(flag, path, stdin),
            None => Ok(v.as_bytes().to_vec()),
        },
        DataKind::UrlEncode => {
            // curl looks for `=` first, then `@`: what precedes it is the name (sent as it is).
            let split = v.find('=').or_else(|| v.find('@'));
            let (name, is_file, content) = match split {
                Some(i) => (&v[..i], v.as_bytes()[i] == b'@', &v[i + 1..]),
                None => ("", false, v),
            };
            let content = if is_file {
                read_source(flag, content, stdin)?
            } else {
                content.as_bytes().to_vec()
            };
            // curl 7.88 writes an encoded space as `+` (the form encoding).
            let encoded = escape(&content).replace("%20", "+");
            Ok(if name.is_empty() {
                encoded.into_bytes()
            } else {
                format!("{name}={encoded}").into_bytes()
            })
        }
    }
}

/// The body of the `-d` family and `--json`, in command-line order: each piece is joined to
/// the one before with `&`, except a `--json` piece, which is appended as it is. Returns the
/// bytes and whether any piece was `--json`.
pub fn compose(
    args: &[DataArg],
    stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<(Vec<u8>, bool), BodyError> {
    let mut out = Vec::new();
    let mut json = false;
    for (i, arg) in args.iter().enumerate() {
        let piece = data_bytes(arg, stdin)?;
        if i > 0 && arg.kind != DataKind::Json {
            out.push(b'&');
        }
        json |= arg.kind == DataKind::Json;
        out.extend_from_slice(&piece);
        if out.len() as u64 > MAX_BODY {
            return Err(BodyError::Read {
                flag: "-d",
                path: PathBuf::from("-"),
                reason: format!("the body is larger than {} MiB", MAX_BODY >> 20),
            });
        }
    }
    Ok((out, json))
}

/// The Content-Type curl gives a file part by its name's extension (its mime.c table), else
/// `application/octet-stream`.
pub fn type_for_filename(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    const TABLE: [(&str, &str); 10] = [
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    TABLE
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// Splits `value;type=…;filename=…` into the value and its parameters (curl's `-F` syntax; a
/// value in double quotes may hold `;`).
fn form_params(
    flag: &'static str,
    whole: &str,
    v: &str,
) -> Result<(String, Vec<(String, String)>), BodyError> {
    let bad = |reason: &str| BodyError::Form {
        flag,
        value: whole.to_owned(),
        reason: reason.to_owned(),
    };
    let (value, rest) = if let Some(q) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                c => out.push(c),
            }
        }
        let end = end.ok_or_else(|| bad("an unclosed double quote"))?;
        (out, &q[end..])
    } else {
        match v.find(';') {
            Some(i) => (v[..i].to_owned(), &v[i..]),
            None => (v.to_owned(), ""),
        }
    };
    let mut params = Vec::new();
    for p in rest.split(';').filter(|p| !p.trim().is_empty()) {
        let (k, val) = p
            .split_once('=')
            .ok_or_else(|| bad("a parameter that is not KEY=VALUE"))?;
        let k = k.trim().to_ascii_lowercase();
        let val = val.trim().trim_matches('"').to_owned();
        match k.as_str() {
            "type" | "filename" => params.push((k, val)),
            "headers" | "encoder" => {
                return Err(bad("`headers=` and `encoder=` are not supported"));
            }
            _ => return Err(bad("an unknown parameter (curl takes type= and filename=)")),
        }
    }
    Ok((value, params))
}

/// One `-F NAME=VALUE` (`@FILE` uploads a file, `<FILE` reads the value from a file; `;type=`
/// and `;filename=` follow) or, with `literal`, one `--form-string NAME=VALUE`.
pub fn form_part(
    spec: &str,
    literal: bool,
    stdin: &mut dyn FnMut() -> std::io::Result<Vec<u8>>,
) -> Result<FormPart, BodyError> {
    let flag = if literal { "--form-string" } else { "-F" };
    let (name, v) = spec.split_once('=').ok_or_else(|| BodyError::Form {
        flag,
        value: spec.to_owned(),
        reason: "expected NAME=CONTENT".to_owned(),
    })?;
    if literal {
        return Ok(FormPart {
            name: name.to_owned(),
            content: v.as_bytes().to_vec(),
            filename: None,
            content_type: None,
        });
    }
    let (kind, v) = match v.as_bytes().first() {
        Some(b'@') => (Some('@'), &v[1..]),
        Some(b'<') => (Some('<'), &v[1..]),
        _ => (None, v),
    };
    let (value, params) = form_params(flag, spec, v)?;
    let param = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.clone())
    };
    let mut part = FormPart {
        name: name.to_owned(),
        content: Vec::new(),
        filename: param("filename"),
        content_type: param("type"),
    };
    match kind {
        Some('@') => {
            part.content = read_source(flag, &value, stdin)?;
            if part.filename.is_none() {
                part.filename = Some(if value == "-" {
                    "-".to_owned()
                } else {
                    Path::new(&value)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or(value.clone())
                });
            }
            if part.content_type.is_none() {
                // By the file's own name, whatever `filename=` says.
                part.content_type = Some(type_for_filename(&value).to_owned());
            }
        }
        Some(_) => part.content = read_source(flag, &value, stdin)?,
        None => part.content = value.into_bytes(),
    }
    Ok(part)
}

/// A new multipart boundary in curl's shape: 24 dashes and 16 hexadecimal digits.
pub fn new_boundary() -> String {
    let mut raw = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", "-".repeat(24))
}

/// A name or file name in a part's Content-Disposition, as curl writes it for HTTP: `"`, CR
/// and LF percent-encoded.
fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The multipart/form-data body (RFC 7578) of `parts` with `boundary`.
pub fn multipart(parts: &[FormPart], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quoted(&p.name)
        );
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(f)));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(t) = &p.content_type {
            out.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_stdin() -> std::io::Result<Vec<u8>> {
        Ok(b"from stdin\r\n".to_vec())
    }

    /// curl's manual: "If any of these options is used more than once on the same command
    /// line, the data pieces specified will be merged with a separating &-symbol"; --json's
    /// pieces are concatenated.
    #[test]
    fn pieces_join_as_curls_manual_says() {
        let a = |kind, v: &str| DataArg {
            kind,
            value: v.to_owned(),
        };
        let (body, json) = compose(
            &[
                a(DataKind::Ascii, "a=1"),
                a(DataKind::Raw, "@b"),
                a(DataKind::UrlEncode, "c=x y&z"),
                a(DataKind::UrlEncode, "=é"),
                a(DataKind::UrlEncode, "plain text"),
            ],
            &mut no_stdin,
        )
        .expect("body");
        assert_eq!(
            String::from_utf8_lossy(&body),
            "a=1&@b&c=x+y%26z&%C3%A9&plain+text"
        );
        assert!(!json);
        let (body, json) = compose(
            &[a(DataKind::Json, "{\"a\":"), a(DataKind::Json, "1}")],
            &mut no_stdin,
        )
        .expect("json");
        assert_eq!(body, b"{\"a\":1}");
        assert!(json);
        let (body, _) = compose(&[a(DataKind::Ascii, "@-")], &mut no_stdin).expect("stdin");
        assert_eq!(body, b"from stdin");
        let (body, _) = compose(&[a(DataKind::Binary, "@-")], &mut no_stdin).expect("stdin");
        assert_eq!(body, b"from stdin\r\n");
    }

    #[test]
    fn ascii_files_lose_line_ends_as_file2string_does() {
        assert_eq!(ascii_file(b"a=1\r\nb=2\n\nc=3"), b"a=1b=2c=3");
        // A carriage return inside a line ends what is kept of that line.
        assert_eq!(ascii_file(b"ab\rcd\nef"), b"abef");
        let long = vec![b'x'; 300];
        assert_eq!(ascii_file(&long).len(), 300);
    }

    #[test]
    fn form_parts() {
        let p = form_part("a=hello;type=text/x-a", false, &mut no_stdin).expect("part");
        assert_eq!(p.content, b"hello");
        assert_eq!(p.content_type.as_deref(), Some("text/x-a"));
        let q = form_part("q=\"a;b\"", false, &mut no_stdin).expect("quoted");
        assert_eq!(q.content, b"a;b");
        let s = form_part("s=@x;y", true, &mut no_stdin).expect("literal");
        assert_eq!(s.content, b"@x;y");
        assert!(form_part("nope", false, &mut no_stdin).is_err());
        assert!(form_part("a=b;headers=@h", false, &mut no_stdin).is_err());
        assert_eq!(type_for_filename("A.PNG"), "image/png");
        assert_eq!(type_for_filename("data.bin"), "application/octet-stream");
        let b = new_boundary();
        assert_eq!((b.len(), b.starts_with(&"-".repeat(24))), (40, true));
        let body = multipart(
            &[FormPart {
                name: "f".into(),
                content: b"x".to_vec(),
                filename: Some("a\".txt".into()),
                content_type: Some("text/plain".into()),
            }],
            "B",
        );
        assert_eq!(
            String::from_utf8_lossy(&body),
            "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a%22.txt\"\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n"
        );
    }
}
