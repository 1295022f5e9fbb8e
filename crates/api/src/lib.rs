//! The typed requests and views of soxctl's HTTP API (`/api/v1`), shared
//! by the server, which answers with them, and the command line, which
//! reads them and prints the same JSON when it runs a use case itself.
//! One shape per answer, whichever way it is reached. No logic: the
//! application layer decides; these only carry (and map model rows to
//! their views).

pub mod breakglass;
pub mod findings;
pub mod gate;
pub mod inventory;
pub mod ledger;
pub mod people;
pub mod requests;
pub mod sod;
pub mod tokens;
