//! Connectors bring identities and access in from the systems that hold
//! them: snapshot directories (DESIGN A5) and LDAP / Active Directory; and
//! carry notifications out (email, Slack/Teams and signed webhooks); and
//! verify CI systems' OIDC ID tokens for the change gate (ci_oidc).

pub mod ci_oidc;
pub mod correlate;
pub mod http;
pub mod ldap;
pub mod notify;
pub mod scim;
pub mod snapshot;
pub mod tls;
