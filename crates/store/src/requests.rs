//! Reading the just-in-time tables. The rules for changing them live in
//! the workflow crate; every change is an event through [`WriteTx::append`].

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::request::{
    AccessGrantRow, BreakGlassRow, DecisionRow, DelegationRow, DeploymentRow, ExecutionTokenRow,
    RequestRow, RequestStatus,
};
use soxctl_model::time::Timestamp;

/// Which execution tokens to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokensOf<'a> {
    All,
    /// The token with this id.
    Token(&'a str),
    /// The tokens issued for this request.
    Request(&'a str),
}

/// What an identity candidate's key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKeyKind {
    PersonId,
    Email,
    AccountId,
}

/// A person who may be the identity sought, and the key that may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCandidate {
    pub person_id: soxctl_model::ids::PersonId,
    pub key: String,
    pub kind: IdentityKeyKind,
}

/// Which requests to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub request_id: Option<String>,
    pub status: Option<RequestStatus>,
    /// Pending requests whose deadline is at or before this time.
    pub pending_due_before: Option<Timestamp>,
    /// Approved requests never activated or used whose validity ended at
    /// or before this time.
    pub unused_approved_before: Option<Timestamp>,
    pub digest: Option<String>,
}

impl Store {
    pub async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        with_conn!(self, |conn, m| m::requests::requests(conn, filter).await)
    }

    pub async fn request(&self, request_id: &str) -> Result<Option<RequestRow>> {
        let filter = RequestFilter {
            request_id: Some(request_id.to_owned()),
            ..RequestFilter::default()
        };
        Ok(self.requests(&filter).await?.into_iter().next())
    }

    pub async fn decisions(&self, request_id: Option<&str>) -> Result<Vec<DecisionRow>> {
        with_conn!(self, |conn, m| m::requests::decisions(conn, request_id)
            .await)
    }

    pub async fn access_grants(
        &self,
        request_id: Option<&str>,
        open_due_before: Option<Timestamp>,
    ) -> Result<Vec<AccessGrantRow>> {
        with_conn!(self, |conn, m| m::requests::access_grants(
            conn,
            request_id,
            open_due_before
        )
        .await)
    }

    pub async fn delegations(&self) -> Result<Vec<DelegationRow>> {
        with_conn!(self, |conn, m| m::requests::delegations(conn).await)
    }

    pub async fn execution_tokens(&self, of: TokensOf<'_>) -> Result<Vec<ExecutionTokenRow>> {
        with_conn!(self, |conn, m| m::requests::execution_tokens(conn, of)
            .await)
    }

    pub async fn breakglass_uses(&self) -> Result<Vec<BreakGlassRow>> {
        with_conn!(self, |conn, m| m::requests::breakglass_uses(conn).await)
    }

    pub async fn deployments(&self, env: Option<&str>) -> Result<Vec<DeploymentRow>> {
        with_conn!(self, |conn, m| m::requests::deployments(conn, env).await)
    }
}

impl WriteTx {
    pub async fn requests(&mut self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        each!(self, WriteTx, |tx, m| m::requests::requests(
            tx.conn().await?,
            filter
        )
        .await)
    }

    pub async fn request(&mut self, request_id: &str) -> Result<Option<RequestRow>> {
        let filter = RequestFilter {
            request_id: Some(request_id.to_owned()),
            ..RequestFilter::default()
        };
        Ok(self.requests(&filter).await?.into_iter().next())
    }

    pub async fn decisions(&mut self, request_id: Option<&str>) -> Result<Vec<DecisionRow>> {
        each!(self, WriteTx, |tx, m| m::requests::decisions(
            tx.conn().await?,
            request_id
        )
        .await)
    }

    /// The people whose accounts in `system` are called `account_id`
    /// (without case): who a CI platform's login names.
    pub async fn account_owners(
        &mut self,
        system: &soxctl_model::ids::SystemId,
        account_id: &str,
    ) -> Result<Vec<soxctl_model::ids::PersonId>> {
        each!(self, WriteTx, |tx, m| m::rows::account_owners(
            tx.conn().await?,
            system,
            account_id
        )
        .await)
    }

    /// As [`Store::identity_candidates`], inside the write.
    pub async fn identity_candidates(
        &mut self,
        pattern: Option<&str>,
        exact: Option<&str>,
    ) -> Result<Vec<IdentityCandidate>> {
        each!(self, WriteTx, |tx, m| m::rows::identity_candidates(
            tx.conn().await?,
            pattern,
            exact
        )
        .await)
    }

    pub async fn access_grants(
        &mut self,
        request_id: Option<&str>,
        open_due_before: Option<Timestamp>,
    ) -> Result<Vec<AccessGrantRow>> {
        each!(self, WriteTx, |tx, m| m::requests::access_grants(
            tx.conn().await?,
            request_id,
            open_due_before
        )
        .await)
    }

    pub async fn execution_tokens(&mut self, of: TokensOf<'_>) -> Result<Vec<ExecutionTokenRow>> {
        each!(self, WriteTx, |tx, m| m::requests::execution_tokens(
            tx.conn().await?,
            of
        )
        .await)
    }

    pub async fn breakglass_uses(&mut self) -> Result<Vec<BreakGlassRow>> {
        each!(self, WriteTx, |tx, m| m::requests::breakglass_uses(
            tx.conn().await?
        )
        .await)
    }

    pub async fn deployments(&mut self, env: Option<&str>) -> Result<Vec<DeploymentRow>> {
        each!(self, WriteTx, |tx, m| m::requests::deployments(
            tx.conn().await?,
            env
        )
        .await)
    }

    pub async fn delegations(&mut self) -> Result<Vec<DelegationRow>> {
        each!(self, WriteTx, |tx, m| m::requests::delegations(
            tx.conn().await?
        )
        .await)
    }
}
