//! Placeholder for MANAGED deployments (replaced by the deployments work): records nothing.

use crate::api::appconfig as api;
use crate::domain::error::Result;
use crate::domain::{Ctx, Service};
use crate::store::Tx;

pub struct Managed;

pub async fn prepare_managed(
    _svc: &Service,
    _ctx: &Ctx,
    _app_id: &str,
    _env_id: &str,
    _profile_id: &str,
    _description: &str,
    _params: Option<api::DeploymentParameters>,
) -> Result<Managed> {
    Ok(Managed)
}

impl Managed {
    pub async fn reserve(
        &mut self,
        _svc: &Service,
        _ctx: &Ctx,
        _tx: &mut dyn Tx,
    ) -> Result<Option<String>> {
        Ok(None)
    }

    pub async fn commit(self, _svc: &Service, _ctx: &Ctx, tx: Box<dyn Tx>) -> Result<()> {
        Ok(tx.commit().await?)
    }
}
