# What `terraform output` tells after an apply (docs/deploy.md uses them).

output "resource_group" {
  description = "The resource group holding everything."
  value       = azurerm_resource_group.main.name
}

output "registry_login_server" {
  description = "The container registry: push the image as <this>/itb:<tag> (the image workflow does)."
  value       = azurerm_container_registry.main.login_server
}

output "registry_name" {
  description = "The container registry's name, for `az acr login --name`."
  value       = azurerm_container_registry.main.name
}

output "key_vault_name" {
  description = "The Key Vault: set a credential out of band with `az keyvault secret set --vault-name <this> --name itb-api-key --value ...`."
  value       = azurerm_key_vault.main.name
}

output "key_vault_secret_names" {
  description = "The Key Vault secret behind each credential itb is given."
  value       = { for k, v in local.used_credentials : k => v.secret_name }
}

output "serve_app_name" {
  description = "The container app running itb serve (`az containerapp logs show --name <this>`)."
  value       = azurerm_container_app.serve.name
}

output "serve_internal_fqdn" {
  description = "The service's address inside the Container Apps environment (/healthz, /readyz, /metrics)."
  value       = azurerm_container_app.serve.latest_revision_fqdn
}

output "pipeline_job_name" {
  description = "The scheduled pipeline job (`az containerapp job start --name <this>` runs it now)."
  value       = azurerm_container_app_job.pipeline.name
}

output "storage_account_name" {
  description = "The storage account: file share itb-data (the data folder) and blob container itb-exports."
  value       = azurerm_storage_account.main.name
}

output "log_analytics_workspace_id" {
  description = "The Log Analytics workspace holding the containers' logs."
  value       = azurerm_log_analytics_workspace.main.workspace_id
}

output "identity_client_id" {
  description = "Client id of the managed identity the service and the job run as."
  value       = azurerm_user_assigned_identity.itb.client_id
}

output "redis_hostname" {
  description = "The Redis cache's host name when redis_enabled (coming: for the distributed pipeline), else null."
  value       = var.redis_enabled ? azurerm_redis_cache.queue[0].hostname : null
}
