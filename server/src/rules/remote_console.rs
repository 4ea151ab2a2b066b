//! Remote Console (`remote_console.*`): the chain from VMM's VMConnect certificates through
//! the Hyper-V hosts' and RD Gateways' trust to the RD Gateway's public face (SPEC §5).
//!
//! [`context()`] resolves the stamp's VMConnect certificates once; [`evaluate_host`] judges one
//! Hyper-V host or RD Gateway; [`evaluate_stamp`] judges the certificates themselves.
//!
//! Missing data never fires a rule, except where the rule is about absence and the data that
//! shows the absence was collected. Decisions where the SPEC is silent:
//! - No VMM host reported a VMConnect thumbprint: nothing in this family can be judged, so
//!   nothing fires (the stamp page shows the VMM settings as not reported).
//! - Several VMM hosts disagree on a thumbprint: the value most of them report is used (ties go
//!   to the lowest host id) and every finding's evidence lists all of them.
//! - `cert_not_deployed` needs the certificate in `My`, with or without a private key, and
//!   fires even when the certificate was found in no store at all; it does not fire when the
//!   host's certificates were not collected.
//! - `root_untrusted` when the certificate's issuer is in no Root store of the stamp: every
//!   Hyper-V host and RD Gateway whose Root store was collected lacks it, so it fires with the
//!   issuer's name as subject (else the root's thumbprint). A certificate found nowhere has no
//!   known root and is left to `cert_not_deployed`.
//! - `vmms_restart_needed` fires only when the root IS in the host's Root store (absence is
//!   `root_untrusted`) and `vmms` reported a start time; a stopped vmms is not this rule's
//!   business. Subject `vmms`.
//! - `host_trusted_issuer`: one finding (subject = Hyper-V thumbprint) naming either or both
//!   faults. SHA-256 in `allowed_hash_algorithms` is any spelling of the name (`SHA256`,
//!   `sha-256`, `SHA_256`, `SHA2-256`, `CALG_SHA_256`) or CryptoAPI's `CALG_SHA_256` id as a
//!   number (32780, 0x800C); see [`is_sha256`].
//! - Trusted-issuer lists are matched with `thumbprint_key` (case, spaces, U+200E ignored),
//!   each entry also split on `;`, `,` and line breaks. An RD Gateway whose settings were
//!   collected with an empty trusted-issuer list lacks the thumbprint and fires.
//! - `rdgw_plugin`: one finding per setting (subject `authentication_plugin` /
//!   `authorization_plugin`); a plugin that was not reported is not judged.
//! - `rdgw_public_cert`: the certificate named by `ssl_certificate_thumbprint` in the host's
//!   `My` (not found there: not judged). With no thumbprint reported, the `My` certificate with
//!   a private key a client would most likely be served: matching `rd_gateway_fqdn` first, then
//!   not self-signed, then fit for Server Authentication, then the latest expiry; if even that
//!   one fails, no certificate there could pass. `My` collected but holding no certificate
//!   with a key fires too (subject = the public name). Without a declared `rd_gateway_fqdn`
//!   only self-signedness is judged.
//! - `cert_eku` fires without an EKU extension and with anyExtendedKeyUsage alone: the SPEC
//!   asks that the EKU lists Client Authentication.
//! - `cert_provider` compares the provider name case-insensitively; a provider that was not
//!   reported is not judged.
//! - Stamp-wide findings carry the reporting VMM host as `host_id`, but they are stamp rules:
//!   the engine must resolve them on stamp runs, not on that host's runs (see `RuleScope`).

mod context;
mod hosts;
mod public_cert;
mod stamp;

pub use context::{
    RemoteConsoleContext, RemoteConsoleInputs, VmConnectCert, VmConnectRole, context,
};
pub use hosts::{evaluate_host, is_sha256};
pub use stamp::evaluate_stamp;

pub const CERT_KEY_USAGE: &str = "remote_console.cert_key_usage";
pub const CERT_EKU: &str = "remote_console.cert_eku";
pub const CERT_PROVIDER: &str = "remote_console.cert_provider";
pub const CERT_NOT_DEPLOYED: &str = "remote_console.cert_not_deployed";
pub const ROOT_UNTRUSTED: &str = "remote_console.root_untrusted";
pub const VMMS_RESTART_NEEDED: &str = "remote_console.vmms_restart_needed";
pub const HOST_TRUSTED_ISSUER: &str = "remote_console.host_trusted_issuer";
pub const RDGW_TRUSTED_ISSUER: &str = "remote_console.rdgw_trusted_issuer";
pub const RDGW_PLUGIN: &str = "remote_console.rdgw_plugin";
pub const RDGW_PUBLIC_CERT: &str = "remote_console.rdgw_public_cert";

/// The only CSP of the classic ones that can sign with SHA-256.
pub const REQUIRED_PROVIDER: &str = "Microsoft Enhanced RSA and AES Cryptographic Provider";
/// The RD Gateway plugin that accepts VMM's signed tokens, as VMM's documentation names it for
/// both settings.
pub const FED_AUTH_PLUGIN: &str = "FedAuthorizationPlugin";
/// The same plugin as the Console Connect installer registers it, per setting
/// (`SetAuthenticationPlugin` / `SetAuthorizationPlugin`; see docs/COLLECTION.md): also correct.
pub const FED_AUTHENTICATION_PLUGIN: &str = "FedAuthAuthenticationPlugin";
pub const FED_AUTHORIZATION_PLUGIN: &str = "FedAuthAuthorizationPlugin";

#[cfg(test)]
mod tests;
