//! Where certificates come from. A reference in a topology is either `lab:NAME`, a CA (or a
//! client identity issued by that CA) that the lab makes on first use, or a path to PEM files
//! the user gives. The gateway's own server certificates are issued by the lab's server CA.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::pki::{Ca, Identity, LeafSpec, PkiError};

/// A certificate reference could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The lab could not make a certificate.
    #[error(transparent)]
    Make(#[from] PkiError),
    /// A PEM file (its path) that cannot be read or holds no usable certificate or key.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A file (its path) that `--tls-dir` could not write.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
}

/// The lab's CAs and identities, made on first use and kept for the life of the gateway so
/// that a reconfiguration keeps the same certificates.
#[derive(Debug)]
pub struct LabCerts {
    server_ca: Ca,
    cas: HashMap<String, Ca>,
    clients: HashMap<String, Identity>,
    servers: HashMap<Vec<String>, Identity>,
}

impl LabCerts {
    /// A fresh set of lab CAs and the server identity they sign.
    pub fn new() -> Result<LabCerts, CertError> {
        Ok(LabCerts {
            server_ca: Ca::root("parallax lab server CA")?,
            cas: HashMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
        })
    }

    /// The CA that signs every certificate the gateway serves (clients pass it as `--cacert`).
    pub fn server_ca(&self) -> &Ca {
        &self.server_ca
    }

    /// A server certificate for these names, made once.
    pub fn server(&mut self, names: &[String]) -> Result<Identity, CertError> {
        if let Some(id) = self.servers.get(names) {
            return Ok(id.clone());
        }
        let id = self.server_ca.issue(&LeafSpec {
            common_name: names.first().cloned().unwrap_or_default(),
            dns_names: names.to_vec(),
            server: true,
            ..Default::default()
        })?;
        self.servers.insert(names.to_vec(), id.clone());
        Ok(id)
    }

    /// The lab CA called `name`.
    pub fn ca(&mut self, name: &str) -> Result<&Ca, CertError> {
        if !self.cas.contains_key(name) {
            self.cas
                .insert(name.to_owned(), Ca::root(&format!("parallax lab {name}"))?);
        }
        Ok(&self.cas[name])
    }

    /// A client identity issued by the lab CA `name`.
    pub fn client(&mut self, name: &str) -> Result<Identity, CertError> {
        if let Some(id) = self.clients.get(name) {
            return Ok(id.clone());
        }
        let id = self.ca(name)?.issue(&LeafSpec {
            common_name: format!("{name} client"),
            client: true,
            ..Default::default()
        })?;
        self.clients.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The CA certificates a reference names: `lab:NAME` or a PEM bundle path.
    pub fn ca_certs(&mut self, reference: &str) -> Result<Vec<CertificateDer<'static>>, CertError> {
        match reference.strip_prefix("lab:") {
            Some(name) => Ok(vec![self.ca(name)?.cert_der()]),
            None => read_certs(Path::new(reference)),
        }
    }

    /// The client identity a reference names: `lab:NAME`, or a PEM file with chain and key.
    pub fn identity(&mut self, reference: &str) -> Result<Identity, CertError> {
        match reference.strip_prefix("lab:") {
            Some(name) => self.client(name),
            None => read_identity(Path::new(reference)),
        }
    }

    /// Writes what a person needs to call the lab by hand: `server-ca.pem`, and for every lab CA
    /// `NAME-ca.pem` with a client certificate `NAME-client.pem` and key `NAME-client.key`.
    /// Every file is 0600 and written whole (a temporary file renamed into place); a directory
    /// this creates is 0700. An existing directory keeps its mode: a warning names it when
    /// others can read it.
    pub fn write_to(&mut self, dir: &Path) -> Result<Vec<PathBuf>, CertError> {
        let werr = |path: &Path| {
            let path = path.to_owned();
            move |source| CertError::Write { path, source }
        };
        if !dir.exists() {
            create_private_dir(dir).map_err(werr(dir))?;
        } else if group_or_world_readable(dir) {
            tracing::warn!(
                dir = %dir.display(),
                "the TLS directory can be read by other users; its key files are 0600"
            );
        }
        let write = |name: String, text: &str| -> Result<PathBuf, CertError> {
            let path = dir.join(name);
            write_private(&path, text.as_bytes()).map_err(werr(&path))?;
            Ok(path)
        };
        let mut out = vec![write("server-ca.pem".into(), &self.server_ca.cert_pem())?];
        let mut names: Vec<String> = self.cas.keys().cloned().collect();
        names.sort();
        for name in names {
            out.push(write(
                format!("{name}-ca.pem"),
                &self.cas[&name].cert_pem(),
            )?);
            let id = self.client(&name)?;
            out.push(write(format!("{name}-client.pem"), &id.chain_pem())?);
            out.push(write(format!("{name}-client.key"), &id.key_pem())?);
        }
        Ok(out)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn group_or_world_readable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn group_or_world_readable(_: &Path) -> bool {
    false
}

/// Writes `data` to `path` as a 0600 file, whole or not at all.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads the PEM certificates of a file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let err = |message: String| CertError::File {
        path: path.to_owned(),
        message,
    };
    let bytes = parallax_model::input::read_config_bytes(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block".to_owned()));
    }
    Ok(certs)
}

/// Reads the PEM CRLs of a file.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, CertError> {
    let err = |message: String| CertError::File {
        path: path.to_owned(),
        message,
    };
    let bytes = parallax_model::input::read_config_bytes(path).map_err(|e| err(e.to_string()))?;
    CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))
}

fn read_identity(path: &Path) -> Result<Identity, CertError> {
    let chain = read_certs(path)?;
    let bytes = parallax_model::input::read_config_bytes(path).map_err(|e| CertError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| CertError::File {
        path: path.to_owned(),
        message: format!("no private key: {e}"),
    })?;
    match key {
        PrivateKeyDer::Pkcs8(k) => Ok(Identity {
            chain,
            key: k.clone_key(),
        }),
        _ => Err(CertError::File {
            path: path.to_owned(),
            message: "the key must be PKCS#8 (BEGIN PRIVATE KEY)".to_owned(),
        }),
    }
}
