//! The one reader for every file parallax is given (topologies, scenarios, OpenAPI documents,
//! certificates, keys, truststores, watch configurations, analyze inputs): regular files only (a
//! symlink is followed and its target checked the same), up to a size cap, every failure named.
//! A FIFO would hang a reload, `/dev/zero` would grow memory without end, and a dangling symlink
//! or a symlink loop must not read as "no resources".

use std::io::Read;
use std::path::Path;

/// The default cap on one analyze input (`analyze --max-input-size` raises it): Terraform plans
/// and CloudTrail archives of real accounts are large.
pub const DEFAULT_MAX_INPUT: u64 = 512 * 1024 * 1024;

/// The default cap on a configuration file (a topology, a scenario, an OpenAPI document, a
/// certificate, a key, a truststore, a watch configuration): far above any real one; the
/// `PARALLAX_MAX_CONFIG_SIZE` environment variable or a command's `--max-config-size` raises it.
pub const DEFAULT_MAX_CONFIG: u64 = 64 * 1024 * 1024;

static CONFIG_LIMIT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_MAX_CONFIG);

/// The cap on configuration files now.
pub fn config_limit() -> u64 {
    CONFIG_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the cap on configuration files (the CLI does, from its flag, before reading any).
pub fn set_config_limit(bytes: u64) {
    CONFIG_LIMIT.store(bytes.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// A configuration file as text, under [`config_limit`].
pub fn read_config(path: &Path) -> Result<String, InputError> {
    read_text(path, config_limit())
}

/// A configuration file's bytes (a certificate, a key), under [`config_limit`].
pub fn read_config_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    let bytes = read_file(open(path)?, config_limit())?;
    if bytes.len() as u64 > config_limit() {
        return Err(InputError::TooLarge {
            limit: config_limit(),
        });
    }
    Ok(bytes)
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Missing, a dangling symlink, a symlink loop, no permission.
    #[error("cannot read: {0}")]
    Unreadable(std::io::Error),
    /// A directory, FIFO, socket or device where a file belongs.
    #[error("not a regular file (it is {0})")]
    NotAFile(&'static str),
    /// A file over the cap.
    #[error(
        "larger than {limit} bytes (raise the limit with --max-input-size for analyze, --max-config-size for other files)"
    )]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A file that is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// A `.gz` file that does not decompress.
    #[error("not gzip: {0}")]
    NotGzip(std::io::Error),
}

/// Reads a regular file (a symlink to one is followed) of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let bytes = read_file(open(path)?, limit)?;
    text(bytes, limit)
}

/// Opens a regular file, checked before and after opening (the path may change in between).
pub fn open(path: &Path) -> Result<std::fs::File, InputError> {
    let meta = std::fs::metadata(path).map_err(InputError::Unreadable)?;
    check_kind(&meta)?;
    let file = std::fs::File::open(path).map_err(InputError::Unreadable)?;
    check_kind(&file.metadata().map_err(InputError::Unreadable)?)?;
    Ok(file)
}

/// At most `limit + 1` bytes: one more than allowed says the input is too large.
pub fn read_bounded(from: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    read_into(from, limit, Vec::new())
}

/// [`read_bounded`] of an opened file, its buffer sized once from the file's length: grown by
/// doubling, a 15 MB template cost a tenth of its import in reallocation, copying and page
/// faults.
fn read_file(file: std::fs::File, limit: u64) -> Result<Vec<u8>, InputError> {
    let expected = file.metadata().map_or(0, |m| m.len()).min(limit);
    let room = usize::try_from(expected).unwrap_or(0).saturating_add(1);
    read_into(file, limit, Vec::with_capacity(room)).map_err(InputError::Unreadable)
}

fn read_into(from: impl Read, limit: u64, mut bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    from.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The bytes as text, refused over `limit`.
pub fn text(bytes: Vec<u8>, limit: u64) -> Result<String, InputError> {
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| InputError::NotText)
}

fn check_kind(meta: &std::fs::Metadata) -> Result<(), InputError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    Err(InputError::NotAFile(kind_name(&t)))
}

fn kind_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Whether anything (a file, a directory, a dangling or looping symlink) is at `path`.
pub fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_not_files() {
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 1024),
            Err(InputError::NotAFile("a device"))
        ));
        assert!(matches!(
            read_text(Path::new("/"), 1024),
            Err(InputError::NotAFile("a directory"))
        ));
        assert!(matches!(
            read_text(Path::new("/nonexistent/parallax"), 1024),
            Err(InputError::Unreadable(_))
        ));
    }
}
