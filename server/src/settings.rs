//! What the HTTP server needs to know at startup. Loading it from a file or the environment is
//! the binary's job; this crate only takes the result.

use std::fmt;
use std::net::SocketAddr;

use secrecy::SecretString;

/// The HTTP server's settings.
#[derive(Clone)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (see `Application::port`).
    pub listen: SocketAddr,
    /// The secret GitLab sends in `X-Gitlab-Token` with every webhook.
    pub webhook_secret: SecretString,
    /// The forge's web address, the base of tag links (`http://127.0.0.1:9000`).
    pub forge_web_url: String,
    /// When set, every API mutation needs `Authorization: Bearer <token>`; reads stay open.
    pub api_token: Option<SecretString>,
}

// Written by hand so that no secret can reach a log line through `{:?}`.
impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field("webhook_secret", &"[redacted]")
            .field("forge_web_url", &self.forge_web_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let settings = ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            webhook_secret: SecretString::from("hook-secret-value"),
            forge_web_url: "http://127.0.0.1:9000".to_string(),
            api_token: Some(SecretString::from("api-token-value")),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hook-secret-value"), "{shown}");
        assert!(!shown.contains("api-token-value"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9000"), "{shown}");
    }
}
