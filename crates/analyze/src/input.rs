//! Reading inputs: regular files only, up to a size cap, every failure named. A FIFO would
//! hang the run, `/dev/zero` would grow it without end, and a dangling symlink or a symlink
//! loop must not read as "no resources".

use std::io::Read;
use std::path::Path;

/// The default cap on one input file (`--max-input-size` raises it).
pub const DEFAULT_MAX_INPUT: u64 = 512 * 1024 * 1024;

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
    /// A file over `--max-input-size`.
    #[error("larger than {limit} bytes (raise the limit with --max-input-size)")]
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
    let file = open(path)?;
    let bytes = read_bounded(file, limit).map_err(InputError::Unreadable)?;
    text(bytes, limit)
}

/// Reads a gzipped regular file whose compressed and decompressed sizes are each at most
/// `limit` bytes (a small file that inflates without end is refused, not followed).
pub fn read_gzip_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let file = open(path)?;
    if file.metadata().map_err(InputError::Unreadable)?.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    let bytes = read_bounded(flate2::read::MultiGzDecoder::new(file), limit)
        .map_err(InputError::NotGzip)?;
    text(bytes, limit)
}

/// Opens a regular file, checked before and after opening (the path may change in between).
fn open(path: &Path) -> Result<std::fs::File, InputError> {
    let meta = std::fs::metadata(path).map_err(InputError::Unreadable)?;
    check_kind(&meta)?;
    let file = std::fs::File::open(path).map_err(InputError::Unreadable)?;
    check_kind(&file.metadata().map_err(InputError::Unreadable)?)?;
    Ok(file)
}

/// At most `limit + 1` bytes: one more than allowed says the input is too large.
fn read_bounded(from: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    from.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn text(bytes: Vec<u8>, limit: u64) -> Result<String, InputError> {
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
    fn a_gzip_that_inflates_past_the_limit_is_refused() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("px-bomb-{}.json.gz", std::process::id()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 1 << 20]).unwrap_or_default();
        let bytes = gz.finish().unwrap_or_default();
        assert!(bytes.len() < 4096, "a megabyte of spaces compresses well");
        std::fs::write(&path, &bytes).unwrap_or_default();
        assert!(matches!(
            read_gzip_text(&path, 64 * 1024),
            Err(InputError::TooLarge { limit: 65536 })
        ));
        assert_eq!(
            read_gzip_text(&path, 2 << 20).map(|t| t.len()).ok(),
            Some(1 << 20)
        );
        let _ = std::fs::remove_file(&path);
    }

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
