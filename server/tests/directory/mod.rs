//! A real OpenLDAP for the directory login tests: `slapd` (Debian's package, installed by
//! `deploy/slapd` when missing) started on 127.0.0.1 with a slapd.conf generated here and
//! checked by `slaptest`, the `memberof` overlay, a test CA and server certificate made with
//! rcgen, and a small tree of people and nested groups written over LDAP (so that the overlay
//! maintains `memberOf`, which an offline `slapadd` would not).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use stampbook_server::config::DirectoryArgs;
use tempfile::TempDir;

pub const SUFFIX: &str = "dc=example,dc=test";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=test";
const ROOT_PW: &str = "root-secret-for-tests";
pub const SERVICE_DN: &str = "cn=stampbook,ou=services,dc=example,dc=test";
pub const SERVICE_PW: &str = "service-secret-for-tests";

/// The people of the test directory and their passwords.
pub const ALICE: (&str, &str) = ("alice", "alice-pw-1");
pub const BOB: (&str, &str) = ("bob", "bob-pw-2");
pub const CAROL: (&str, &str) = ("carol", "carol-pw-3");
pub const DAVE: (&str, &str) = ("dave", "dave-pw-4");
pub const ERIN: (&str, &str) = ("erin", "erin-pw-5");

pub fn group(cn: &str) -> String {
    format!("cn={cn},ou=groups,{SUFFIX}")
}

pub fn person(uid: &str) -> String {
    format!("uid={uid},ou=people,{SUFFIX}")
}

pub struct Slapd {
    child: tokio::process::Child,
    pub dir: TempDir,
    pub ldaps_port: u16,
    pub ldap_port: u16,
    pub ca_file: PathBuf,
    pub password_file: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The directory holding `slapd` and `slaptest`: `STAMPBOOK_SLAPD`, `/usr/sbin`, or installed
/// now by `deploy/slapd`. `None` (the tests then say they are skipped) only when it cannot be
/// installed here.
fn slapd_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STAMPBOOK_SLAPD") {
        return Some(PathBuf::from(d));
    }
    if Path::new("/usr/sbin/slapd").exists() {
        return Some(PathBuf::from("/usr/sbin"));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/slapd");
    let out = std::process::Command::new(script)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()))
}

/// Writes the test CA and a server certificate for 127.0.0.1 and localhost into `dir`.
fn certificates(dir: &Path) -> PathBuf {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "stampbook test directory CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "ldap.example.test");
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    dir.join("ca.pem")
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
database mdb
maxsize 67108864
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {d}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"#
    )
}

impl Slapd {
    /// A running slapd with the test tree, or `None` when slapd cannot be installed here.
    pub async fn start() -> Option<Slapd> {
        let Some(bin) = slapd_dir() else {
            eprintln!(
                "SKIPPED: slapd is not installed and deploy/slapd could not install it (apt-get); the directory login tests need a real OpenLDAP"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("db")).unwrap();
        let ca_file = certificates(dir.path());
        let conf = dir.path().join("slapd.conf");
        std::fs::write(&conf, config(dir.path())).unwrap();
        // slaptest checks the configuration (-u: the database does not exist before slapd runs)
        let test = tokio::process::Command::new(bin.join("slaptest"))
            .arg("-u")
            .arg("-f")
            .arg(&conf)
            .output()
            .await
            .unwrap();
        assert!(
            test.status.success(),
            "slaptest: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let (ldaps_port, ldap_port) = (free_port(), free_port());
        let child = tokio::process::Command::new(bin.join("slapd"))
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!(
                "ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/"
            ))
            // -d keeps slapd in the foreground (a child of the test, killed with it)
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let password_file = dir.path().join("service-password");
        std::fs::write(&password_file, format!("{SERVICE_PW}\n")).unwrap();
        let slapd = Slapd {
            child,
            dir,
            ldaps_port,
            ldap_port,
            ca_file,
            password_file,
        };
        slapd.populate().await;
        Some(slapd)
    }

    /// Connects as the root DN over plain LDAP on loopback (setting up only), waiting for slapd.
    async fn root(&self) -> ldap3::Ldap {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = format!("ldap://127.0.0.1:{}", self.ldap_port);
            if let Ok((conn, mut ldap)) =
                LdapConnAsync::with_settings(LdapConnSettings::new(), &url).await
            {
                ldap3::drive!(conn);
                if let Ok(r) = ldap.simple_bind(ROOT_DN, ROOT_PW).await
                    && r.rc == 0
                {
                    return ldap;
                }
            }
            assert!(Instant::now() < deadline, "slapd did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn populate(&self) {
        let mut ldap = self.root().await;
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| (*s).to_owned())
                .collect::<HashSet<String>>()
        };
        let mut add = async |dn: String, attrs: Vec<(&str, HashSet<String>)>| {
            let attrs: Vec<(String, HashSet<String>)> =
                attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            ldap.add(&dn, attrs)
                .await
                .unwrap()
                .success()
                .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        };
        add(
            SUFFIX.to_owned(),
            vec![
                ("objectClass", set(&["dcObject", "organization"])),
                ("dc", set(&["example"])),
                ("o", set(&["Example Test"])),
            ],
        )
        .await;
        for ou in ["people", "groups", "services"] {
            add(
                format!("ou={ou},{SUFFIX}"),
                vec![
                    ("objectClass", set(&["organizationalUnit"])),
                    ("ou", set(&[ou])),
                ],
            )
            .await;
        }
        add(
            SERVICE_DN.to_owned(),
            vec![
                (
                    "objectClass",
                    set(&["organizationalRole", "simpleSecurityObject"]),
                ),
                ("cn", set(&["stampbook"])),
                ("userPassword", set(&[SERVICE_PW])),
            ],
        )
        .await;
        for (uid, pw) in [ALICE, BOB, CAROL, DAVE, ERIN] {
            add(
                person(uid),
                vec![
                    ("objectClass", set(&["inetOrgPerson"])),
                    ("uid", set(&[uid])),
                    ("cn", set(&[uid])),
                    ("sn", set(&[uid])),
                    ("userPassword", set(&[pw])),
                ],
            )
            .await;
        }
        // inner groups first: the overlay writes memberOf on members that exist
        for (cn, members) in [
            ("admins", vec![person("alice")]),
            ("noc-night-shift", vec![person("bob")]),
            ("noc-operators", vec![group("noc-night-shift")]),
            ("ams-readers", vec![person("carol")]),
            ("readers", vec![person("erin")]),
            ("unmapped", vec![person("dave")]),
        ] {
            let members: HashSet<String> = members.into_iter().collect();
            add(
                group(cn),
                vec![
                    ("objectClass", set(&["groupOfNames"])),
                    ("cn", set(&[cn])),
                    ("member", members),
                ],
            )
            .await;
        }
        let _ = ldap.unbind().await;
    }

    /// The server's directory settings for this slapd over LDAPS, with `stamp` the stamp
    /// `ams-readers` is limited to.
    pub fn args(&self, stamp: &str) -> DirectoryArgs {
        DirectoryArgs {
            ldap_url: Some(format!("ldaps://127.0.0.1:{}", self.ldaps_port)),
            ldap_ca_file: Some(self.ca_file.clone()),
            ldap_bind_dn: Some(SERVICE_DN.to_owned()),
            ldap_bind_password_file: Some(self.password_file.clone()),
            ldap_user_base: Some(format!("ou=people,{SUFFIX}")),
            ldap_user_attributes: vec!["uid".to_owned()],
            ldap_user_filter: "(objectClass=inetOrgPerson)".to_owned(),
            ldap_groups: Some(format!(
                "admin={};operator={};read@{stamp}={};read={}",
                group("admins"),
                group("noc-operators"),
                group("ams-readers"),
                group("readers")
            )),
            ldap_nested: "walk".to_owned(),
            ldap_nested_depth: 8,
            ldap_timeout_s: 10,
            ldap_failures_per_account_per_min: 5,
            ..DirectoryArgs::default()
        }
    }

    /// The same over `ldap://` upgraded with StartTLS.
    pub fn starttls_args(&self, stamp: &str) -> DirectoryArgs {
        DirectoryArgs {
            ldap_url: Some(format!("ldap://127.0.0.1:{}", self.ldap_port)),
            ldap_starttls: true,
            ..self.args(stamp)
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
